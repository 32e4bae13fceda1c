"""Load a TensorFlow 1.x SavedModel in TensorFlow 2, predict, and time it (one CPU thread).

    python savedmodel_predict.py RESULT.json EXPORT_DIR INPUTS.npz API

INPUTS.npz holds one array per input of the ``serving_default`` signature. API is ``load``
(``tf.saved_model.load``, the TF 2 way) or ``compat.v1`` (``tf.compat.v1.saved_model.loader.load``
into a Session, the TF 1 way). The result is written to RESULT.json.
"""
import json
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

REPEATS = 50
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)


def load(export_dir):
    """TF 2: the signature is a function of named tensors that returns a dict of tensors."""
    serving_default = tf.saved_model.load(export_dir, tags=["serve"]).signatures["serving_default"]
    return lambda feed: {name: t.numpy() for name, t in serving_default(**feed).items()}


def load_compat_v1(export_dir):
    """TF 1 style: import the graph into a Session and feed the signature's tensor names."""
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
    sess = tf.compat.v1.Session(graph=tf.Graph(), config=config)
    meta_graph = tf.compat.v1.saved_model.loader.load(sess, ["serve"], export_dir)
    signature = meta_graph.signature_def["serving_default"]
    inputs = {name: info.name for name, info in signature.inputs.items()}
    outputs = {name: info.name for name, info in signature.outputs.items()}
    return lambda feed: sess.run(outputs, {inputs[name]: value for name, value in feed.items()})


def median_ms(predict, feed):
    """Median wall time of one call, in milliseconds, after a warm-up call."""
    predict(feed)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        predict(feed)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def main(result_path, export_dir, inputs_path, api):
    loaders = {"load": load, "compat.v1": load_compat_v1}
    feed = dict(np.load(inputs_path, allow_pickle=False))
    start = time.perf_counter()
    predict = loaders[api](export_dir)
    load_seconds = time.perf_counter() - start
    outputs = predict(feed)
    batch_size = len(next(iter(feed.values())))
    result = {
        "tensorflow": tf.__version__,
        "api": api,
        "load_seconds": load_seconds,
        "outputs": {name: {"dtype": str(a.dtype), "values": a.tolist()} for name, a in outputs.items()},
        "latency_ms": {
            1: median_ms(predict, {name: value[:1] for name, value in feed.items()}),
            batch_size: median_ms(predict, feed),
        },
    }
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
