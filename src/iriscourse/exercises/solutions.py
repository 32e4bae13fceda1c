"""Reference solutions, one function per exercise (``ex_02_1`` answers exercise 02.1); ``make test`` checks each."""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from .. import data, estimator, export, paths


def ex_00_1(batch_size):
    _, (test_x, test_y) = data.load_data()
    features, labels = data.eval_input_fn(test_x, test_y, batch_size).make_one_shot_iterator().get_next()
    with tf.Session() as sess:
        return sess.run(labels)


def ex_00_2(row):
    return [row[name] for name in sorted(row)]


def ex_01_1(tensors):
    bias = tf.trainable_variables()[-1]  # dense_2/bias, the last variable created
    return [tf.train.LoggingTensorHook({"dense_2/bias": bias}, every_n_iter=100)]


def ex_01_2():
    (train_x, train_y), _ = data.load_data()
    return tf.data.Dataset.from_tensor_slices((dict(train_x), train_y)).batch(50)


def ex_02_1():
    matrix = tf.placeholder(tf.float32, [None, 4], name="features")
    features = {name: matrix[:, i] for i, name in enumerate(data.FEATURE_NAMES)}
    return tf.estimator.export.ServingInputReceiver(features=features, receiver_tensors={"features": matrix})


def ex_02_2():
    parsing_dir = export.ensure_export("parsing")
    with tf.Session(graph=tf.Graph()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(parsing_dir)).signature_def["serving_default"]
    return signature.outputs["probabilities"].name


def ex_02_3(base):
    warmup_file = paths.artifact("exercises", "warmup_requests.tfrecord")
    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = "serving_default"
    for name, values in data.PREDICT_X.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(values, dtype=tf.float32))
    log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
    with tf.python_io.TFRecordWriter(str(warmup_file)) as writer:
        writer.write(log.SerializeToString())
    exported = estimator.ensure_trained().export_savedmodel(
        str(base), export.raw_serving_input_receiver_fn,
        assets_extra={"tf_serving_warmup_requests": str(warmup_file)})
    return Path(exported.decode())


def ex_03_1():
    return "DT_FLOAT", (-1, 3)


def ex_03_2():
    _, (test_x, _) = data.load_data()
    return ";".join("{}={}".format(name, test_x[name][:5].tolist()) for name in data.FEATURE_NAMES)


def ex_04_1(rest_url, rows):
    import requests

    body = {"inputs": {name: rows[name].tolist() for name in data.FEATURE_NAMES}}
    reply = requests.post(rest_url + "/v1/models/raw_export_model:predict", json=body, timeout=10)
    return [ids[0] for ids in reply.json()["outputs"]["class_ids"]]


def ex_04_2(base_path, version):
    return """model_config_list {{
  config {{
    name: "raw_export_model"
    base_path: "{}"
    model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: {} }} }}
  }}
}}
""".format(base_path, version)


def ex_05_1(stub):
    from tensorflow_serving.apis import classification_pb2

    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "classify_export_model"
    request.model_spec.signature_name = "classification"
    rows = [dict(zip(data.PREDICT_X, values)) for values in zip(*data.PREDICT_X.values())]
    for row in rows:
        request.input.example_list.examples.add().CopyFrom(data.to_example(row))
    result = stub.Classify(request, 10.0).result
    return [max(c.classes, key=lambda pair: pair.score).label for c in result.classifications]


def ex_05_2(target):
    import grpc
    import numpy as np
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "raw_export_model"
    request.inputs["SepalLength"].CopyFrom(tf.make_tensor_proto(np.array([5.1], np.float32)))
    with grpc.insecure_channel(target) as channel:
        try:
            prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=2.0)
        except grpc.RpcError as error:
            return error.code()
    return None


def ex_06_1(sess, net, base):
    import os
    import time

    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)}, {"logits": info(net.logits), "class_ids": info(net.class_ids)},
        tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    version = int(time.time())
    temp_dir = Path(base) / "temp-{}".format(version)
    builder = tf.saved_model.builder.SavedModelBuilder(str(temp_dir))
    builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
    builder.save()
    final_dir = Path(base) / str(version)
    os.rename(str(temp_dir), str(final_dir))
    return final_dir


def ex_06_2(sess, net, export_dir):
    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)},
        {"class_ids": info(net.class_ids), "probabilities": info(net.probabilities)},
        tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
    builder.add_meta_graph_and_variables(sess, ["iris_mobile"], signature_def_map={"predict": signature})
    builder.save()


def ex_07_1(checkpoint_dir):
    state = tf.train.get_checkpoint_state(checkpoint_dir)
    return [int(path.rsplit("-", 1)[1]) for path in state.all_model_checkpoint_paths]


def ex_07_2(checkpoint_500):
    from .. import lowlevel

    tf.set_random_seed(lowlevel.SEED)
    net = lowlevel.build_network()
    batch = lowlevel.training_batches()
    saver = tf.train.Saver()
    with tf.Session(config=lowlevel.session_config()) as sess:
        sess.run(tf.local_variables_initializer())
        saver.restore(sess, checkpoint_500)
        for _ in range(500):  # the iterator is not in the checkpoint: skip the batches already used
            sess.run(batch)
        for _ in range(500):
            features, labels = sess.run(batch)
            sess.run(net.train_op, {net.input_features: features, net.input_labels: labels})
        return {v.op.name: value for v, value in zip(tf.global_variables(), sess.run(tf.global_variables()))}


def ex_08_1(sess):
    return tf.graph_util.convert_variables_to_constants(
        sess, sess.graph.as_graph_def(), ["output/probability/probabilities"])


def ex_08_2(frozen_file):
    import os
    import sys

    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    converter = tf.lite.TFLiteConverter.from_frozen_graph(
        frozen_file, ["input_features"], ["output/probability/probabilities"],
        input_shapes={"input_features": [30, 4]})
    return converter.convert()


def ex_09_1():
    from tensorflow.contrib import tensorrt as trt

    missing = [what for what, ok in (("TensorRT support in this TensorFlow build", trt.is_tensorrt_enabled()),
                                     ("a GPU", tf.test.is_gpu_available())) if not ok]
    if missing:
        raise RuntimeError("TF-TRT cannot build TensorRT engines here: missing " + " and ".join(missing))


def ex_09_2(input_dir, output_dir):
    from tensorflow.contrib import tensorrt as trt

    trt.create_inference_graph(None, None, max_batch_size=30, precision_mode="FP32",
                               input_saved_model_dir=input_dir, input_saved_model_tags=["serve"],
                               output_saved_model_dir=output_dir)


def ex_10_1(base):
    from .. import formats, lowlevel

    sess, net = lowlevel.restore_inference(lowlevel.ensure_checkpoint())
    folder = Path(base) / "1"
    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)}, {"class_ids": info(net.class_ids)},
        tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    with sess, sess.graph.as_default():
        builder = tf.saved_model.builder.SavedModelBuilder(str(folder))
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.save(as_text=True)
    return formats.Format("text SavedModel", [folder], folder, lambda: formats.load_savedmodel(folder))


def ex_10_2():
    from .. import formats, frozen, lowlevel

    checkpoint = lowlevel.ensure_checkpoint()
    checkpoint_bytes = formats.disk_bytes([checkpoint + s for s in (".index", ".meta", ".data-00000-of-00001")])
    return checkpoint_bytes / formats.disk_bytes([frozen.ensure_optimized()])


def ex_11_1(page):
    from prometheus_client.parser import text_string_to_metric_families

    return {(sample.labels["model_name"], sample.labels["status"]): int(sample.value)
            for family in text_string_to_metric_families(page) if family.name == ":tensorflow:serving:request_count"
            for sample in family.samples}


def ex_11_2(base_path, stable, canary):
    return """model_config_list {{
  config {{
    name: "iris"
    base_path: "{}"
    model_platform: "tensorflow"
    model_version_policy {{ specific {{ versions: {} versions: {} }} }}
    version_labels {{ key: "stable" value: {} }}
    version_labels {{ key: "canary" value: {} }}
  }}
}}
""".format(base_path, stable, canary, stable, canary)


def ex_11_3(max_batch_size, timeout_ms, allowed):
    sizes = list(allowed) if allowed and allowed[-1] == max_batch_size else list(allowed) + [max_batch_size]
    return "max_batch_size {{ value: {} }}\nbatch_timeout_micros {{ value: {} }}\n{}".format(
        max_batch_size, int(timeout_ms * 1000), "".join("allowed_batch_sizes: {}\n".format(s) for s in sizes))


def ex_12_1(expected, actual, tolerance):
    same_classes = (np.argmax(expected, axis=1) == np.argmax(actual, axis=1)).all()
    return bool(same_classes and np.abs(np.asarray(expected) - np.asarray(actual)).max() <= tolerance)


def ex_12_2(model_path, rows):
    import onnxruntime

    session = onnxruntime.InferenceSession(str(model_path))
    return session.run(["probabilities"], {"features": np.asarray(rows, dtype=np.float32)})[0]


def ex_12_3(model_path):
    import onnx

    return {node.op_type for node in onnx.load(str(model_path)).graph.node
            if not onnx.defs.has(node.op_type, node.domain)}
