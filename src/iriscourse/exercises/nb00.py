"""Exercises of notebook 00: tf.data batches and the feature order of input_layer."""
import numpy as np
import tensorflow as tf

from .. import data
from . import Wrong, call, exercise


@exercise("00.1", "Labels of the first test batch", "easy", 5,
          "Build the dataset with data.eval_input_fn(test_x, test_y, batch_size), take "
          "make_one_shot_iterator().get_next(), run it in a tf.Session, and return the labels part "
          "(the second element of the (features, labels) pair).")
def check_first_test_labels(first_test_labels):
    """``first_test_labels(batch_size)`` returns the labels of the first batch of the test set."""
    _, (_, test_y) = data.load_data()
    for batch_size in (3, 7):
        with tf.Graph().as_default():
            got = call(first_test_labels, batch_size)
        got = np.asarray(got)
        if got.shape != (batch_size,):
            raise Wrong("for batch_size={} it returned shape {}, not ({},): return only the labels of one "
                        "batch".format(batch_size, got.shape, batch_size))
        expected = test_y.values[:batch_size]
        if not np.array_equal(got, expected):
            raise Wrong("for batch_size={} it returned {}, but the test set starts with {}: is it the test "
                        "set, unshuffled?".format(batch_size, got.tolist(), expected.tolist()))
    return "The first batches of 3 and 7 test labels are {}.".format(test_y.values[:7].tolist())


def _input_layer_order(names):
    with tf.Graph().as_default():
        positions = {name: tf.constant([float(i)]) for i, name in enumerate(names)}
        columns = [tf.feature_column.numeric_column(name) for name in names]
        dense = tf.feature_column.input_layer(positions, columns)
        with tf.Session() as sess:
            return [names[int(i)] for i in sess.run(dense)[0]]


@exercise("00.2", "Put a row in the model's column order", "medium", 10,
          "input_layer does not keep the order you list the columns in: it sorts them by name, exactly as "
          "Python's sorted() sorts strings. Return [row[name] for name in ...] in that order.")
def check_to_model_order(to_model_order):
    """``to_model_order(row)`` lists a row's values in the column order ``input_layer`` produces."""
    rows = [
        dict(zip(data.FEATURE_NAMES, [5.1, 3.3, 1.7, 0.5])),
        {"width": 1.0, "Length": 2.0, "area": 3.0, "Zone": 4.0, "height": 5.0},
    ]
    for row in rows:
        names = list(row)
        expected = [row[name] for name in _input_layer_order(names)]
        got = call(to_model_order, dict(row))
        if list(got) != expected:
            raise Wrong("for the row {} it returned {}, but input_layer gives {}: the order must follow the "
                        "names, for any names".format(row, list(got), expected))
    return "Sorted by name, as input_layer does, for the Iris names and for names you had not seen."
