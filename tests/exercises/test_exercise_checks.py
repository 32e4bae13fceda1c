"""Every exercise: its reference solution passes its check, its starter is 'not attempted', wrong answers fail."""
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from iriscourse import data, estimator, exercises
from iriscourse.exercises import NOT_ATTEMPTED, SOLVED, WRONG, solutions

IDS = [ex.id for ex in exercises.all_exercises()]


def _starter(*args, **kwargs):
    raise NotImplementedError


@pytest.mark.parametrize("id", IDS)
def test_the_reference_solution_passes_its_check(module_build_dir, id):
    verdict = exercises.run(id, getattr(solutions, "ex_" + id.replace(".", "_")))
    assert verdict.status == SOLVED, verdict


@pytest.mark.parametrize("id", IDS)
def test_an_untouched_starter_is_not_attempted_rather_than_wrong(module_build_dir, id):
    assert exercises.run(id, _starter).status == NOT_ATTEMPTED
    assert exercises.run(id, ...).status == NOT_ATTEMPTED


def _shuffled_labels(batch_size):
    _, (_, test_y) = data.load_data()
    dataset = tf.data.Dataset.from_tensor_slices(test_y.values).shuffle(30, seed=1).batch(batch_size)
    with tf.Session() as sess:
        return sess.run(dataset.make_one_shot_iterator().get_next())


def _whole_test_set(batch_size):
    return data.load_data()[1][1].values


def _csv_order(row):
    return list(row.values())


def _iris_order_only(row):
    return [row[name] for name in ["PetalLength", "PetalWidth", "SepalLength", "SepalWidth"] if name in row] or [0]


def _hook_every_50(tensors):
    return [tf.train.LoggingTensorHook({"dense_2/bias": tf.trainable_variables()[-1]}, every_n_iter=50)]


def _hook_on_loss(tensors):
    return [tf.train.LoggingTensorHook({"loss": tensors["loss"]}, every_n_iter=100)]


def _repeated_dataset():
    (train_x, train_y), _ = data.load_data()
    return tf.data.Dataset.from_tensor_slices((dict(train_x), train_y)).repeat().batch(50)


def _shuffled_dataset():
    (train_x, train_y), _ = data.load_data()
    return tf.data.Dataset.from_tensor_slices((dict(train_x), train_y)).shuffle(120, seed=3).batch(50)


def _alphabetical_matrix_receiver():
    matrix = tf.placeholder(tf.float32, [None, 4])
    features = {name: matrix[:, i] for i, name in enumerate(sorted(data.FEATURE_NAMES))}
    return tf.estimator.export.ServingInputReceiver(features, {"features": matrix})


def _four_inputs_receiver():
    placeholders = {name: tf.placeholder(tf.float32, [None], name=name) for name in data.FEATURE_NAMES}
    return tf.estimator.export.ServingInputReceiver(placeholders, placeholders)


def _export_without_warmup(base):
    from iriscourse import export
    return Path(estimator.ensure_trained().export_savedmodel(
        str(base), export.raw_serving_input_receiver_fn).decode())


def _three_rows_exprs():
    _, (test_x, _) = data.load_data()
    return ";".join("{}={}".format(name, test_x[name][:3].tolist()) for name in data.FEATURE_NAMES)


def _rows_not_columns_exprs():
    _, (test_x, _) = data.load_data()
    return ";".join("{}={}".format(name, test_x.iloc[i].tolist()[:5] + [0.0])
                    for i, name in enumerate(data.FEATURE_NAMES))


def _rows_reversed(rest_url, rows):
    return list(reversed(solutions.ex_04_1(rest_url, rows)))


def _latest_config(base_path, version):
    return solutions.ex_04_2(base_path, version).replace(
        "    model_version_policy {{ specific {{ versions: {} }} }}\n".format(version), "")


def _first_class_label(stub):
    return ["Setosa"] * 3


def _returns_none(*args):
    return None


def _visible_too_early(sess, net, base):
    import time
    version_dir = Path(base) / str(int(time.time()))
    builder = tf.saved_model.builder.SavedModelBuilder(str(version_dir))
    builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={
        "serving_default": tf.saved_model.signature_def_utils.predict_signature_def(
            {"features": net.input_features}, {"logits": net.logits})})
    builder.save()
    return version_dir


def _serve_tag_too(sess, net, export_dir):
    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)}, {"class_ids": info(net.class_ids)}, "tensorflow/serving/predict")
    builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
    builder.add_meta_graph_and_variables(sess, ["iris_mobile", "serve"], signature_def_map={"predict": signature})
    builder.save()


def _resume_without_skipping(checkpoint_500):
    from iriscourse import lowlevel
    tf.set_random_seed(lowlevel.SEED)
    net = lowlevel.build_network()
    batch = lowlevel.training_batches()
    saver = tf.train.Saver()
    with tf.Session(config=lowlevel.session_config()) as sess:
        saver.restore(sess, checkpoint_500)
        for _ in range(500):
            features, labels = sess.run(batch)
            sess.run(net.train_op, {net.input_features: features, net.input_labels: labels})
        return {v.op.name: value for v, value in zip(tf.global_variables(), sess.run(tf.global_variables()))}


def _freeze_everything(sess):
    from iriscourse import frozen
    return tf.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), frozen.OUTPUT_NODES)


def _tflite_batch_of_one(frozen_file):
    import os
    import sys
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    return tf.lite.TFLiteConverter.from_frozen_graph(
        frozen_file, ["input_features"], ["output/probability/probabilities"]).convert()


def _quiet_guard():
    pass


def _value_error_guard():
    raise ValueError("no TensorRT")


def _copy_instead_of_converting(input_dir, output_dir):
    import shutil
    shutil.copytree(input_dir, str(Path(output_dir).parent / "elsewhere"))


def _binary_savedmodel_format(base):
    from iriscourse import formats, lowlevel
    sess, net = lowlevel.restore_inference(lowlevel.ensure_checkpoint())
    with sess:
        folder = lowlevel.save_clean(sess, net, Path(base))
    return formats.Format("binary SavedModel", [folder], folder, lambda: formats.load_savedmodel(folder))


def _counts_from_every_request_metric(page):
    from prometheus_client.parser import text_string_to_metric_families

    return {(sample.labels.get("model_name"), sample.labels.get("status")): int(sample.value)
            for family in text_string_to_metric_families(page) for sample in family.samples
            if "model_name" in sample.labels and not sample.name.endswith(("_sum", "_bucket"))}


def _labels_without_policy(base_path, stable, canary):
    return ('model_config_list { config { name: "iris" base_path: "%s" model_platform: "tensorflow" '
            'version_labels { key: "stable" value: %d } version_labels { key: "canary" value: %d } } }'
            % (base_path, stable, canary))


def _labels_swapped(base_path, stable, canary):
    return solutions.ex_11_2(base_path, canary, stable).replace("versions: %d versions: %d" % (canary, stable),
                                                                "versions: %d versions: %d" % (stable, canary))


def _timeout_in_ms(max_batch_size, timeout_ms, allowed):
    return solutions.ex_11_3(max_batch_size, timeout_ms / 1000.0, allowed)


def _allowed_sizes_as_given(max_batch_size, timeout_ms, allowed):
    return "max_batch_size { value: %d }\nbatch_timeout_micros { value: %d }\n%s" % (
        max_batch_size, int(timeout_ms * 1000), "".join("allowed_batch_sizes: %d\n" % size for size in allowed))


def _class_ids_only(expected, actual, tolerance):
    return bool((np.argmax(expected, axis=1) == np.argmax(actual, axis=1)).all())


def _max_diff_only(expected, actual, tolerance):
    return bool(np.abs(np.asarray(expected) - np.asarray(actual)).max() <= tolerance)


def _onnx_logits(model_path, rows):
    import onnxruntime

    return onnxruntime.InferenceSession(str(model_path)).run(["logits"], {"features": rows})[0]


def _onnx_class_ids(model_path, rows):
    import onnxruntime

    return onnxruntime.InferenceSession(str(model_path)).run(["class_ids"], {"features": rows})[0]


def _every_op(model_path):
    import onnx

    return {node.op_type for node in onnx.load(str(model_path)).graph.node}


def _only_parse_example(model_path):
    import onnx

    return {node.op_type for node in onnx.load(str(model_path)).graph.node} & {"ParseExample"}


WRONG_ANSWERS = [
    ("00.1", _shuffled_labels, "unshuffled"),
    ("00.1", _whole_test_set, "return only the labels of one batch"),
    ("00.2", _csv_order, "input_layer gives"),
    ("00.2", _iris_order_only, "for any names"),
    ("01.1", _hook_every_50, "every 100 steps gives 2"),
    ("01.1", _hook_on_loss, "no log line mentions dense_2/bias"),
    ("01.1", lambda tensors: tf.train.LoggingTensorHook({"loss": tensors["loss"]}, 100), "return a list of hooks"),
    ("01.2", _repeated_dataset, "did you repeat()"),
    ("01.2", _shuffled_dataset, "no shuffle() here"),
    ("02.1", _alphabetical_matrix_receiver, "differ from the Estimator's"),
    ("02.1", _four_inputs_receiver, "the signature has 4 inputs"),
    ("02.2", lambda: "probabilities", "is the output's alias"),
    ("02.2", lambda: "Softmax", "is not the tensor behind"),
    ("02.3", _export_without_warmup, "has no assets.extra/tf_serving_warmup_requests"),
    ("03.1", lambda: ("DT_FLOAT", (3,)), "batch dimension is -1"),
    ("03.1", lambda: ("float32", (-1, 3)), "is not what the CLI prints"),
    ("03.1", lambda: "DT_FLOAT", "return a pair"),
    ("03.2", _three_rows_exprs, "five rows"),
    ("03.2", lambda: "SepalLength=[5.1]", "saved_model_cli refused it"),
    ("03.2", _rows_not_columns_exprs, "each feature's own column"),
    ("04.1", _rows_reversed, "one class id per row, in row order"),
    ("04.2", _latest_config, "the policy does not pin version 1"),
    ("04.2", lambda base_path, version: 'model_config_list { config { name: "iris" } }', "serving a model named"),
    ("05.1", _first_class_label, "one of each species"),
    ("05.2", _returns_none, "ends with StatusCode.UNAVAILABLE"),
    ("06.1", _visible_too_early, "already existed while save() was still writing"),
    ("06.1", lambda sess, net, base: None, "SavedModelBuilder.save() was never called"),
    ("06.2", _serve_tag_too, "tagged [['iris_mobile', 'serve']]: save one MetaGraph tagged iris_mobile only"),
    ("07.1", lambda checkpoint_dir: [500, 750, 1000], "not a list you know"),
    ("07.2", _resume_without_skipping, "skip the 500 batches already used"),
    ("08.1", _freeze_everything, "keep only what the probabilities need"),
    ("08.2", _tflite_batch_of_one, "its input has shape [1, 4]"),
    ("08.2", lambda frozen_file: frozen_file, "return the converted model's bytes"),
    ("09.1", _quiet_guard, "a guard must fail loudly"),
    ("09.1", _value_error_guard, "not RuntimeError"),
    ("09.2", _copy_instead_of_converting, "holds no saved_model.pb"),
    ("10.1", _binary_savedmodel_format, "save with as_text=True"),
    ("10.2", lambda: 82930 / 3169, "is not the measured ratio"),
    ("11.1", _counts_from_every_request_metric, "unexpected [('iris', None)"),
    ("11.1", lambda page: [], "return a dict"),
    ("11.2", _labels_without_policy, "stable answer no version: the version behind them was unloaded"),
    ("11.2", _labels_swapped, "expected stable -> 3 and canary -> 5"),
    ("11.2", lambda base_path, stable, canary: "model_config_list { config {", "is not a ModelServerConfig"),
    ("11.3", _timeout_in_ms, "batch_timeout_micros"),
    ("11.3", _allowed_sizes_as_given, "Last entry in allowed_batch_sizes must match max_batch_size"),
    ("12.1", _class_ids_only, "probabilities differ by more than the tolerance"),
    ("12.1", _max_diff_only, "a class id differs"),
    ("12.1", lambda expected, actual, tolerance: np.isclose(expected, actual, atol=tolerance), "return True or False"),
    ("12.2", _onnx_logits, "these are not probabilities (logits?)"),
    ("12.2", _onnx_class_ids, "expected probabilities of shape (30, 3), got shape (30, 1)"),
    ("12.3", _every_op, "for the clean model converted by tf2onnx it returned"),
    ("12.3", _only_parse_example, "expected ['DecodeCSV', 'StringToHashBucketFast']"),
]


@pytest.mark.parametrize("id, answer, why", WRONG_ANSWERS, ids=[w[0] + "-" + w[2][:20] for w in WRONG_ANSWERS])
def test_each_check_rejects_a_wrong_answer_and_says_why(module_build_dir, id, answer, why):
    verdict = exercises.run(id, answer)
    assert verdict.status == WRONG, verdict
    assert why in verdict.message, verdict.message


def test_every_exercise_has_at_least_one_wrong_answer_test():
    assert {w[0] for w in WRONG_ANSWERS} == set(IDS)
