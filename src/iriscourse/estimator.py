"""The seed's custom Estimator: model_fn, reproducible RunConfig, train-if-missing."""
import tensorflow as tf

from . import data, paths

SEED = 42
HPARAMS = {
    "hidden_units": [10, 10],
    "n_classes": 3,
    "learning_rate": 0.1,
    "batch_size": 100,
    "train_steps": 1000,
}


def model_fn(features, labels, mode, params):
    """Two dense ReLU layers of 10 units, softmax over 3 classes, Adagrad(0.1).

    Optional ``params``: ``training_hooks`` / ``evaluation_hooks``, callables that take
    a dict of tensors (global_step, loss, accuracy, labels, predicted_classes) and
    return a list of hooks; ``export_outputs``, a callable that takes the predictions
    dict and returns ``EstimatorSpec.export_outputs``.
    """
    net = tf.feature_column.input_layer(features, params["feature_columns"])
    for units in params["hidden_units"]:
        net = tf.layers.dense(net, units=units, activation=tf.nn.relu)
    logits = tf.layers.dense(net, params["n_classes"], activation=None)
    predicted_classes = tf.argmax(logits, 1)

    if mode == tf.estimator.ModeKeys.PREDICT:
        predictions = {
            "class_ids": predicted_classes[:, tf.newaxis],
            "probabilities": tf.nn.softmax(logits),
            "logits": logits,
        }
        export_outputs = params.get("export_outputs")
        return tf.estimator.EstimatorSpec(
            mode, predictions=predictions,
            export_outputs=export_outputs(predictions) if export_outputs else None)

    loss = tf.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
    accuracy = tf.metrics.accuracy(labels=labels, predictions=predicted_classes, name="acc_op")
    tf.summary.scalar("accuracy", accuracy[1])
    watched = {
        "global_step": tf.train.get_global_step(),
        "loss": loss,
        "accuracy": accuracy[1],
        "labels": labels,
        "predicted_classes": predicted_classes,
    }

    if mode == tf.estimator.ModeKeys.EVAL:
        hooks = params.get("evaluation_hooks")
        return tf.estimator.EstimatorSpec(
            mode, loss=loss, eval_metric_ops={"accuracy": accuracy},
            evaluation_hooks=hooks(watched) if hooks else None)

    optimizer = tf.train.AdagradOptimizer(learning_rate=params["learning_rate"])
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    hooks = params.get("training_hooks")
    return tf.estimator.EstimatorSpec(
        mode, loss=loss, train_op=train_op, training_hooks=hooks(watched) if hooks else None)


def run_config(model_dir, seed=SEED):
    """A RunConfig with a fixed graph seed, one thread, and no timing log lines."""
    session_config = tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    return tf.estimator.RunConfig(
        model_dir=str(model_dir), tf_random_seed=seed, session_config=session_config,
        log_step_count_steps=None)


def make_classifier(model_dir=None, seed=SEED, **params):
    """A ``tf.estimator.Estimator`` over ``model_fn`` with the seed's hyperparameters."""
    merged = dict(HPARAMS, feature_columns=data.feature_columns(), **params)
    return tf.estimator.Estimator(
        model_fn=model_fn, params=merged,
        config=run_config(model_dir or paths.estimator_dir(), seed))


def train(classifier, steps=None):
    """Train ``classifier`` on the Iris training set for ``steps`` (default 1000)."""
    (train_x, train_y), _ = data.load_data()
    params = classifier.params
    classifier.train(
        input_fn=lambda: data.train_input_fn(train_x, train_y, params["batch_size"],
                                             seed=classifier.config.tf_random_seed),
        steps=steps or params["train_steps"])
    return classifier


def trained_steps(model_dir):
    """Global step of the latest checkpoint in ``model_dir`` (0 when there is none)."""
    checkpoint = tf.train.latest_checkpoint(str(model_dir))
    if checkpoint is None:
        return 0
    return int(tf.train.load_variable(checkpoint, "global_step"))


def ensure_trained(model_dir=None, **params):
    """The notebook-01 Estimator, trained from scratch first if its checkpoint is missing."""
    model_dir = model_dir or paths.estimator_dir()
    classifier = make_classifier(model_dir, **params)
    if trained_steps(model_dir) != classifier.params["train_steps"]:
        paths.fresh_dir(model_dir)
        train(classifier)
    return classifier
