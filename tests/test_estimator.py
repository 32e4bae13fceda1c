import numpy as np
import pytest
import tensorflow as tf

from iriscourse import data, estimator, paths


def _predict(classifier, inputs=data.PREDICT_X):
    return list(classifier.predict(input_fn=lambda: data.eval_input_fn(inputs, None, 100)))


def test_trained_model_meets_the_course_accuracy_and_predictions(build_dir):
    classifier = estimator.ensure_trained()
    _, (test_x, test_y) = data.load_data()
    metrics = classifier.evaluate(input_fn=lambda: data.eval_input_fn(test_x, test_y, 100))
    assert metrics["global_step"] == 1000
    assert metrics["accuracy"] >= 0.90
    assert [int(p["class_ids"][0]) for p in _predict(classifier)] == data.PREDICT_EXPECTED


def test_same_seed_gives_identical_weights(build_dir):
    first = estimator.train(estimator.make_classifier(paths.artifact("a"), train_steps=50))
    second = estimator.train(estimator.make_classifier(paths.artifact("b"), train_steps=50))
    np.testing.assert_array_equal(first.get_variable_value("dense_2/kernel"),
                                  second.get_variable_value("dense_2/kernel"))


def test_ensure_trained_reuses_a_finished_checkpoint(build_dir):
    model_dir = paths.artifact("m")
    estimator.ensure_trained(model_dir, train_steps=30)
    checkpoint = tf.train.latest_checkpoint(str(model_dir))
    estimator.ensure_trained(model_dir, train_steps=30)
    assert tf.train.latest_checkpoint(str(model_dir)) == checkpoint
    assert estimator.trained_steps(model_dir) == 30


def test_ensure_trained_retrains_from_scratch_when_steps_differ(build_dir):
    model_dir = paths.artifact("m")
    estimator.ensure_trained(model_dir, train_steps=30)
    estimator.ensure_trained(model_dir, train_steps=20)
    assert estimator.trained_steps(model_dir) == 20


def test_trained_steps_is_zero_without_a_checkpoint(build_dir):
    assert estimator.trained_steps(paths.artifact("empty")) == 0


def test_model_fn_hands_its_tensors_to_the_hook_factories(build_dir):
    seen = {}

    def record(mode):
        def factory(tensors):
            seen[mode] = sorted(tensors)
            return []
        return factory

    classifier = estimator.make_classifier(
        paths.artifact("h"), train_steps=2,
        training_hooks=record("train"), evaluation_hooks=record("eval"))
    estimator.train(classifier)
    _, (test_x, test_y) = data.load_data()
    classifier.evaluate(input_fn=lambda: data.eval_input_fn(test_x, test_y, 100))
    expected = ["accuracy", "global_step", "labels", "loss", "predicted_classes"]
    assert seen == {"train": expected, "eval": expected}


def test_run_config_is_seeded_and_single_threaded(build_dir):
    config = estimator.run_config(paths.artifact("c"), seed=7)
    assert config.tf_random_seed == 7
    assert config.session_config.intra_op_parallelism_threads == 1
    assert config.session_config.inter_op_parallelism_threads == 1
    assert config.log_step_count_steps is None


def test_the_seed_hyperparameters_are_pinned():
    assert estimator.HPARAMS == {"hidden_units": [10, 10], "n_classes": 3, "learning_rate": 0.1,
                                 "batch_size": 100, "train_steps": 1000}
    assert estimator.SEED == 42


def test_the_built_estimator_has_the_seed_layers_and_adagrad(build_dir):
    classifier = estimator.make_classifier(paths.artifact("g"))
    assert classifier.config.tf_random_seed == 42
    with tf.Graph().as_default() as graph:
        tf.train.get_or_create_global_step()
        features = {name: tf.constant(values) for name, values in data.PREDICT_X.items()}
        labels = tf.constant(data.PREDICT_EXPECTED, tf.int64)
        classifier.model_fn(features, labels, tf.estimator.ModeKeys.TRAIN, classifier.config)
        shapes = {v.op.name: v.shape.as_list() for v in tf.trainable_variables()}
        assert shapes == {"dense/kernel": [4, 10], "dense/bias": [10], "dense_1/kernel": [10, 10],
                          "dense_1/bias": [10], "dense_2/kernel": [10, 3], "dense_2/bias": [3]}
        slots = {v.op.name for v in tf.global_variables()} - set(shapes) - {"global_step"}
        assert slots == {name + "/Adagrad" for name in shapes}
        updates = [op for op in graph.get_operations() if op.type == "ApplyAdagrad"]
        assert len(updates) == 6
        assert sum(op.type == "Relu" for op in graph.get_operations()) == 2
        with tf.Session() as sess:
            assert [float(sess.run(op.inputs[2])) for op in updates] == [pytest.approx(0.1)] * 6
