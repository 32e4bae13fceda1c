"""Keep TensorFlow 1.13's console output to what a lesson is about."""
import os


def quiet():
    """Hide TF's C++ start-up logs and its deprecation notices; keep tf.logging at WARN.

    Call it before TensorFlow is imported (the C++ level is read at import time).
    TF 1.13 prints a deprecation notice for many 1.x APIs this course teaches on
    purpose; each notice also carries a machine-specific file path.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    from tensorflow.python.util import deprecation

    deprecation._PRINT_DEPRECATION_WARNINGS = False
    tf.logging.set_verbosity(tf.logging.WARN)
