"""Exercises of notebook 01: LoggingTensorHook and input functions for evaluation."""
import logging
import re

import numpy as np
import tensorflow as tf

from .. import data, estimator, paths
from . import Wrong, call, exercise


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@exercise("01.1", "Watch the output layer's bias", "easy", 10,
          "Inside bias_hooks(tensors), the graph exists: tf.trainable_variables()[-1] is dense_2/bias. Return "
          "[tf.train.LoggingTensorHook({'dense_2/bias': that_variable}, every_n_iter=100)], with no formatter.")
def check_bias_hooks(bias_hooks):
    """``bias_hooks(tensors)`` returns hooks that log ``dense_2/bias`` every 100 training steps."""
    (train_x, train_y), _ = data.load_data()
    with tf.Graph().as_default():  # a dry run in a training graph: is the starter filled in, are they hooks?
        tf.train.create_global_step()
        features, labels = data.train_input_fn(train_x, train_y, 100).make_one_shot_iterator().get_next()
        answers = []
        estimator.model_fn(features, labels, tf.estimator.ModeKeys.TRAIN, dict(
            estimator.HPARAMS, feature_columns=data.feature_columns(),
            training_hooks=lambda tensors: answers.append(call(bias_hooks, tensors)) or []))
        hooks = answers[0]
    if not isinstance(hooks, (list, tuple)) or not all(isinstance(h, tf.train.SessionRunHook) for h in hooks):
        raise Wrong("return a list of hooks, e.g. [tf.train.LoggingTensorHook(...)], not {!r}".format(hooks))
    model_dir = paths.fresh_dir(paths.artifact("exercises", "01.1"))
    classifier = estimator.make_classifier(model_dir, training_hooks=bias_hooks)
    logger, records = tf.get_logger(), _Records()
    saved = tf.logging.get_verbosity(), logger.handlers[:], logger.propagate
    logger.handlers[:], logger.propagate = [records], False
    tf.logging.set_verbosity(tf.logging.INFO)
    try:
        classifier.train(lambda: data.train_input_fn(train_x, train_y, 100, seed=estimator.SEED), steps=200)
    finally:
        level, logger.handlers[:], logger.propagate = saved
        tf.logging.set_verbosity(level)
    logged = [line for line in records.lines if "dense_2/bias" in line]
    if not logged:
        raise Wrong("no log line mentions dense_2/bias: log the tensor under the key 'dense_2/bias'")
    if len(logged) != 2:
        raise Wrong("{} lines logged dense_2/bias in 200 steps; every 100 steps gives 2 (steps 1 and "
                    "101)".format(len(logged)))
    arrays = [re.search(r"\[([^\]]*)\]", line.split("dense_2/bias", 1)[1]) for line in logged]
    values = [[float(v) for v in array.group(1).split()] if array else [] for array in arrays]
    if any(len(v) != 3 for v in values):
        raise Wrong("each line should show the 3 values of dense_2/bias, but they read {}".format(logged))
    if np.allclose(values[0], values[1]):
        raise Wrong("both lines show the same values: log the variable itself, which changes as it trains")
    return "Logged at steps 1 and 101: {} then {}.".format(values[0], values[1])


@exercise("01.2", "One pass over the training set", "medium", 10,
          "Like data.eval_input_fn: Dataset.from_tensor_slices((dict(train_x), train_y)).batch(50), with no "
          "shuffle() and no repeat(), so evaluate() stops after the 120 rows.")
def check_train_eval_input_fn(train_eval_input_fn):
    """``train_eval_input_fn()`` is one unshuffled pass over the 120 training rows in batches of 50."""
    (train_x, train_y), _ = data.load_data()
    sizes, labels = [], []
    with tf.Graph().as_default():
        dataset = call(train_eval_input_fn)
        if not isinstance(dataset, tf.data.Dataset):
            raise Wrong("it returned a {}, not a tf.data.Dataset".format(type(dataset).__name__))
        features, batch_labels = dataset.make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            for _ in range(10):
                try:
                    batch = sess.run(batch_labels)
                except tf.errors.OutOfRangeError:
                    break
                sizes.append(len(batch))
                labels.extend(batch.tolist())
            else:
                raise Wrong("it yields more than 10 batches: did you repeat()? evaluate() would never end")
    if sorted(features) != sorted(data.FEATURE_NAMES):
        raise Wrong("the features dict has keys {}, not the four feature names".format(sorted(features)))
    if sizes != [50, 50, 20]:
        raise Wrong("the batches have {} rows; 120 rows in batches of 50 are [50, 50, 20]".format(sizes))
    if labels != train_y.tolist():
        raise Wrong("the labels are not the training labels in file order: no shuffle() here")
    metrics = estimator.ensure_trained().evaluate(train_eval_input_fn)
    return "Three batches, all 120 rows once; the course model's training-set accuracy is {:.4f}.".format(
        metrics["accuracy"])
