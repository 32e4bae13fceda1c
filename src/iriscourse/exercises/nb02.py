"""Exercises of notebook 02: serving input receivers, SignatureDefs, and warm-up requests in assets_extra."""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from .. import data, estimator, export, paths
from . import Wrong, call, exercise


def _signature(export_dir, key="serving_default"):
    with tf.Session(graph=tf.Graph()) as sess:
        return tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def[key]


def _run(export_dir, feed_by_alias, key="serving_default"):
    with tf.Session(graph=tf.Graph()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def[key]
        feed = {signature.inputs[alias].name: value for alias, value in feed_by_alias.items()}
        return sess.run({alias: info.name for alias, info in signature.outputs.items()}, feed)


def _estimator_classes(rows):
    predictions = estimator.ensure_trained().predict(lambda: data.eval_input_fn(rows, None, 100))
    return np.array([p["class_ids"][0] for p in predictions])


@exercise("02.1", "A receiver for one [None, 4] matrix in CSV order", "medium", 15,
          "Make one placeholder tf.float32 of shape [None, 4]; the model_fn wants a dict of four [None] "
          "features, so build it with {name: matrix[:, i] for i, name in enumerate(data.FEATURE_NAMES)}; "
          "return tf.estimator.export.ServingInputReceiver(features=that_dict, "
          "receiver_tensors={'features': matrix}).")
def check_matrix_receiver(matrix_receiver_fn):
    """Export with ``matrix_receiver_fn``: one ``[None, 4]`` input, CSV order, predicting like the Estimator."""
    base = paths.fresh_dir(paths.artifact("exercises", "02.1"))
    receiver = lambda: call(matrix_receiver_fn)  # noqa: E731 - the Estimator calls it inside its graph
    export_dir = Path(estimator.ensure_trained().export_savedmodel(str(base), receiver).decode())
    signature = _signature(export_dir)
    if len(signature.inputs) != 1:
        raise Wrong("the signature has {} inputs ({}); it should take one matrix".format(
            len(signature.inputs), ", ".join(sorted(signature.inputs))))
    alias, info = next(iter(signature.inputs.items()))
    shape = [d.size for d in info.tensor_shape.dim]
    if info.dtype != tf.float32.as_datatype_enum or shape != [-1, 4]:
        raise Wrong("its input {!r} is {} of shape {}; it should be float32 of shape [-1, 4]".format(
            alias, tf.as_dtype(info.dtype).name, shape))
    _, (test_x, _) = data.load_data()
    rows = test_x[data.FEATURE_NAMES].values.astype(np.float32)
    served = _run(export_dir, {alias: rows})["class_ids"][:, 0]
    expected = _estimator_classes(test_x)
    wrong = int((served != expected).sum())
    if wrong:
        raise Wrong("fed the 30 test rows in CSV order, {} of its classes differ from the Estimator's: are the "
                    "columns mapped to the right features, in CSV order?".format(wrong))
    return "One input {!r} of shape [-1, 4]; the 30 test rows in CSV order get the Estimator's classes.".format(alias)


@exercise("02.2", "Find the tensor behind an output", "easy", 5,
          "Read the parsing export's SignatureDef (read_saved_model(parsing_dir).meta_graphs[0]"
          ".signature_def['serving_default']) and return outputs['probabilities'].name.")
def check_probabilities_tensor(probabilities_tensor_name):
    """``probabilities_tensor_name()`` returns the graph tensor behind the parsing export's ``probabilities``."""
    expected = _signature(export.ensure_export("parsing")).outputs["probabilities"].name
    got = call(probabilities_tensor_name)
    if got == "probabilities":
        raise Wrong("'probabilities' is the output's alias; the tensor name is what the graph calls it")
    if got != expected:
        raise Wrong("{!r} is not the tensor behind outputs['probabilities'] (a tensor name ends in ':0')".format(got))
    return "outputs['probabilities'] is the tensor {}.".format(expected)


@exercise("02.3", "Ship warm-up requests in assets.extra", "hard", 15,
          "Write a TFRecord file (tf.python_io.TFRecordWriter) of PredictionLog protos: each has "
          "predict_log.request, a PredictRequest with model_spec.signature_name 'serving_default' and one "
          "inputs[name] = tf.make_tensor_proto(values, dtype=tf.float32) per feature. Then export with "
          "assets_extra={'tf_serving_warmup_requests': str(that_file)}.")
def check_warmup_export(export_with_warmup):
    """``export_with_warmup(base)`` exports the raw model with valid warm-up requests; returns the version folder."""
    base = paths.fresh_dir(paths.artifact("exercises", "02.3"))
    export_dir = Path(str(call(export_with_warmup, base)))
    warmup = export_dir / "assets.extra" / "tf_serving_warmup_requests"
    if not warmup.is_file():
        raise Wrong("{} has no assets.extra/tf_serving_warmup_requests: pass assets_extra={{"
                    "'tf_serving_warmup_requests': path}} to export_savedmodel".format(export_dir))
    signature = _signature(export_dir)
    records = list(tf.python_io.tf_record_iterator(str(warmup)))
    if not records:
        raise Wrong("the warm-up file holds no record")
    for number, record in enumerate(records, 1):
        log = prediction_log_pb2.PredictionLog.FromString(record)
        if log.WhichOneof("log_type") != "predict_log":
            raise Wrong("record {} is a {}, not a predict_log".format(number, log.WhichOneof("log_type")))
        request = log.predict_log.request
        if sorted(request.inputs) != sorted(signature.inputs):
            raise Wrong("record {} sends inputs {}, but the signature takes {}".format(
                number, sorted(request.inputs), sorted(signature.inputs)))
        if request.model_spec.signature_name not in ("", "serving_default"):
            raise Wrong("record {} asks for the signature {!r}; the export has only serving_default".format(
                number, request.model_spec.signature_name))
        feed = {alias: tf.make_ndarray(tensor) for alias, tensor in request.inputs.items()}
        classes = _run(export_dir, feed)["class_ids"]
    return "{} warm-up record(s); each one runs through the signature (the last gave classes {}).".format(
        len(records), classes.ravel().tolist())
