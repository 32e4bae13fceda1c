"""Keep TensorFlow 1.13's console output to what a lesson is about."""
import contextlib
import logging
import os
import re

FROM_PREFIX = re.compile(r"^From \S+:\d+: ")


def quiet():
    """Hide TF's C++ start-up logs and its deprecation notices; keep tf.logging at WARN.

    Call it before TensorFlow is imported (the C++ level is read at import time).
    TF 1.13 prints a deprecation notice for many 1.x APIs this course teaches on
    purpose; each notice also carries a machine-specific file path.
    ``deprecation_notices()`` shows them when you want to read them.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    from tensorflow.python.util import deprecation

    deprecation._PRINT_DEPRECATION_WARNINGS = False
    tf.logging.set_verbosity(tf.logging.WARN)


class _Collect(logging.Handler):
    def __init__(self, notices):
        super().__init__()
        self.notices = notices

    def emit(self, record):
        self.notices.append(FROM_PREFIX.sub("", record.getMessage()))


@contextlib.contextmanager
def deprecation_notices():
    """Collect, into the yielded list, the deprecation notices TF prints inside the block, without file paths.

    Each notice is printed once per process, so a block shows the ones not yet seen.
    """
    import tensorflow as tf
    from tensorflow.python.util import deprecation

    logger = tf.get_logger()
    notices = []
    saved = deprecation._PRINT_DEPRECATION_WARNINGS, logger.handlers[:], logger.propagate
    deprecation._PRINT_DEPRECATION_WARNINGS = True
    logger.handlers[:] = [_Collect(notices)]
    logger.propagate = False
    try:
        yield notices
    finally:
        deprecation._PRINT_DEPRECATION_WARNINGS, logger.handlers[:], logger.propagate = saved
