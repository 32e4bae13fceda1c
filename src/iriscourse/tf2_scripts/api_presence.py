"""Which of the TF 1 APIs the course used still exist in this TensorFlow: writes {name: present}."""
import json
import sys

import tensorflow as tf

NAMES = [
    "tf.estimator", "tf.contrib", "tf.compat.v1.estimator", "tf.compat.v1.train.Saver", "tf.train.Checkpoint",
    "tf.compat.v1.saved_model.loader.load", "tf.compat.v1.saved_model.simple_save", "tf.saved_model.save",
    "tf.saved_model.load", "tf.compat.v1.graph_util.convert_variables_to_constants", "tf.lite.TFLiteConverter",
]


def present(name):
    """True when the dotted name resolves, attribute by attribute, from the tf module."""
    value = tf
    for part in name.split(".")[1:]:
        try:
            value = getattr(value, part)
        except (AttributeError, ImportError):
            return False
    return True


with open(sys.argv[1], "w") as result:
    json.dump({"tensorflow": tf.__version__, "present": {name: present(name) for name in NAMES}}, result)
