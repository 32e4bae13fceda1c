"""Small SavedModels for the model server tests, built in temporary directories.

* half_plus_two: TF Serving's test model (spec section 10) -- scalar variables
  a=0.5, b=offset, c=offset+1; a `tf_example` string placeholder parsed into
  x and x2; signatures serving_default (x -> y = a*x + b), regress_x_to_y,
  regress_x_to_y2, regress_x2_to_y3, classify_x_to_y, classify_x2_to_y3 -- plus
  test-only signatures that reach the server's corner cases: `blocked` (never
  finishes), `echo_bytes` (string in, `text` and `text_bytes` out),
  `scalar_output` (rank-0 output), `uneven_batch` (outputs with different
  batch sizes), `typed` (int32/int64/bool/double inputs), `half` (float16 in/out),
  `custom_method` (a method name predict does not accept).
* the course's Iris estimator exports: raw (four float32 [None] placeholders)
  and parsing (one serialized tf.Example input `examples`).
"""
import os

import numpy as np
import tensorflow as tf

IRIS_FEATURES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
PREDICT_X = {
    "SepalLength": [5.1, 5.9, 6.9],
    "SepalWidth": [3.3, 3.0, 3.1],
    "PetalLength": [1.7, 4.2, 5.4],
    "PetalWidth": [0.5, 1.5, 2.1],
}


def _signature(inputs, outputs, method="tensorflow/serving/predict"):
    info = tf.saved_model.utils.build_tensor_info
    return tf.saved_model.signature_def_utils.build_signature_def(
        {alias: info(tensor) for alias, tensor in inputs.items()},
        {alias: info(tensor) for alias, tensor in outputs.items()}, method)


def build_half_plus_two(export_dir, offset=2.0):
    """Write a half_plus_two-like SavedModel (y = 0.5 * x + offset) to export_dir."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf.Variable(0.5, name="a")
        b = tf.Variable(offset, name="b")
        c = tf.Variable(offset + 1.0, name="c")
        serialized = tf.placeholder(tf.string, name="tf_example")
        parsed = tf.parse_example(serialized, {
            "x": tf.FixedLenFeature([1], tf.float32),
            "x2": tf.FixedLenFeature([1], tf.float32, default_value=[0.0]),
        })
        x = tf.identity(parsed["x"], name="x")
        x2 = tf.identity(parsed["x2"], name="x2")
        y = tf.add(a * x, b, name="y")
        y2 = tf.add(a * x, c, name="y2")
        y3 = tf.add(a * x2, c, name="y3")
        blocked = tf.identity(tf.FIFOQueue(1, tf.float32, shapes=[[]]).dequeue(), name="blocked")
        text = tf.placeholder(tf.string, [None], name="text")
        echo = tf.identity(text, name="echo")
        total = tf.reduce_sum(x, name="total")
        head = tf.identity(x[:1], name="head")
        ints = tf.placeholder(tf.int32, name="ints")
        longs = tf.placeholder(tf.int64, name="longs")
        flags = tf.placeholder(tf.bool, name="flags")
        doubles = tf.placeholder(tf.float64, name="doubles")
        halves = tf.placeholder(tf.float16, name="halves")
        regress, classify = "tensorflow/serving/regress", "tensorflow/serving/classify"
        signatures = {
            "serving_default": _signature({"x": x}, {"y": y}),
            "regress_x_to_y": _signature({"inputs": serialized}, {"outputs": y}, regress),
            "regress_x_to_y2": _signature({"inputs": serialized}, {"outputs": y2}, regress),
            "regress_x2_to_y3": _signature({"inputs": x2}, {"outputs": y3}, regress),
            "classify_x_to_y": _signature({"inputs": serialized}, {"scores": y}, classify),
            "classify_x2_to_y3": _signature({"inputs": x2}, {"scores": y3}, classify),
            "blocked": _signature({"x": x}, {"y": blocked}),
            "echo_bytes": _signature({"text": text}, {"text": echo, "text_bytes": echo}),
            "scalar_output": _signature({"x": x}, {"total": total}),
            "uneven_batch": _signature({"x": x}, {"y": y, "head": head}),
            "typed": _signature({"ints": ints, "longs": longs, "flags": flags, "doubles": doubles},
                                {"ints": ints * 2, "longs": longs + 1, "flags": tf.logical_not(flags),
                                 "doubles": doubles * 2}),
            "half": _signature({"halves": halves}, {"halves": tf.identity(halves)}),
            "custom_method": _signature({"x": x}, {"y": y}, "my/custom_method"),
        }
        with tf.Session(graph=graph) as session:
            session.run(tf.global_variables_initializer())
            builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
            builder.save()
    return export_dir


def _iris_model_fn(features, labels, mode):
    columns = [tf.feature_column.numeric_column(name) for name in IRIS_FEATURES]
    net = tf.feature_column.input_layer(features, columns)
    net = tf.layers.dense(net, 8, activation=tf.nn.relu)
    logits = tf.layers.dense(net, 3)
    if mode == tf.estimator.ModeKeys.PREDICT:
        return tf.estimator.EstimatorSpec(mode, predictions={
            "class_ids": tf.argmax(logits, 1)[:, tf.newaxis],
            "probabilities": tf.nn.softmax(logits),
            "logits": logits,
        })
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = tf.train.AdagradOptimizer(0.1).minimize(loss, global_step=tf.train.get_global_step())
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op)


def build_iris_exports(work_dir):
    """Train a tiny Iris estimator and export it twice; returns (raw base dir, parsing base dir)."""
    estimator = tf.estimator.Estimator(_iris_model_fn, model_dir=os.path.join(work_dir, "checkpoints"),
                                       config=tf.estimator.RunConfig(tf_random_seed=7))

    def input_fn():
        features = {name: np.array(values, np.float32) for name, values in PREDICT_X.items()}
        return tf.data.Dataset.from_tensor_slices((features, np.array([0, 1, 2], np.int32))).repeat().batch(3)

    estimator.train(input_fn, steps=50)
    raw_base, parsing_base = os.path.join(work_dir, "raw"), os.path.join(work_dir, "parsing")
    placeholders = {name: tf.placeholder(tf.float32, [None], name=name) for name in IRIS_FEATURES}
    estimator.export_savedmodel(raw_base, tf.estimator.export.build_raw_serving_input_receiver_fn(placeholders))
    spec = tf.feature_column.make_parse_example_spec(
        [tf.feature_column.numeric_column(name) for name in IRIS_FEATURES])
    estimator.export_savedmodel(parsing_base, tf.estimator.export.build_parsing_serving_input_receiver_fn(spec))
    return raw_base, parsing_base


def iris_examples():
    """The three predict_x rows as serialized tf.Examples (what the course's gRPC client sends)."""
    serialized = []
    for row in range(3):
        feature = {name: tf.train.Feature(float_list=tf.train.FloatList(value=[PREDICT_X[name][row]]))
                   for name in IRIS_FEATURES}
        serialized.append(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return serialized


def write_broken_version(version_dir):
    """A version directory whose saved_model.pb is not a SavedModel."""
    os.makedirs(version_dir)
    with open(os.path.join(version_dir, "saved_model.pb"), "wb") as broken:
        broken.write(b"this is not a SavedModel")
    return version_dir
