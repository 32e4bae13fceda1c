"""Every saved form of the course's Iris models, loadable the same way for a side-by-side comparison.

Each loader returns ``predict(rows)``: class ids for a ``[batch, 4]`` float32 matrix of test rows in
CSV order (``data.FEATURE_NAMES``). Loaders of low-level formats reorder the columns themselves.
"""
import collections
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import data, frozen, lowlevel

# files: what it takes on disk; graph_file: where its graph is stored (what audit.inspect reads).
Format = collections.namedtuple("Format", ["name", "files", "graph_file", "load"])
TO_MODEL_ORDER = [data.FEATURE_NAMES.index(name) for name in lowlevel.INPUT_ORDER]


def disk_bytes(paths):
    """Total size of files and folders (recursively)."""
    total = 0
    for path in map(Path, paths):
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in files)
    return total


def _session(graph):
    return tf.Session(graph=graph, config=lowlevel.session_config())


def load_checkpoint(checkpoint):
    """``import_meta_graph`` + ``Saver.restore``, looked up by tensor name."""
    graph = tf.Graph()
    with graph.as_default():
        saver = tf.train.import_meta_graph(checkpoint + ".meta", clear_devices=True)
    sess = _session(graph)
    saver.restore(sess, checkpoint)
    return lambda rows: sess.run(lowlevel.PREDICTED_CLASSES, {lowlevel.INPUT: rows[:, TO_MODEL_ORDER]})


def load_savedmodel(export_dir, signature_key="serving_default"):
    """``tf.saved_model.loader.load``, fed through the signature (named or matrix inputs)."""
    graph = tf.Graph()
    sess = _session(graph)
    signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def[signature_key]
    class_ids = signature.outputs["class_ids"].name
    if "features" in signature.inputs:
        name = signature.inputs["features"].name
        return lambda rows: sess.run(class_ids, {name: rows[:, TO_MODEL_ORDER]})[:, 0]
    names = [signature.inputs[feature].name for feature in data.FEATURE_NAMES]
    return lambda rows: sess.run(class_ids, dict(zip(names, rows.T)))[:, 0]


def load_graph_def(path):
    """``tf.import_graph_def`` of a frozen (optionally optimised or converted) GraphDef file."""
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen.read_graph_def(path), name="")
    sess = _session(graph)
    return lambda rows: sess.run(lowlevel.PREDICTED_CLASSES, {lowlevel.INPUT: rows[:, TO_MODEL_ORDER]})


def course_formats(checkpoint, estimator_export, lowlevel_export, frozen_file, optimized_file, trt_graph_path=None):
    """The formats compared in notebook 10, from the artifacts the earlier notebooks made.

    A TF-TRT graph is added only when given: on a build without TensorRT the converter builds
    no engine, and its output is just the frozen graph rewritten by Grappler.
    """
    found = [
        Format("checkpoint", sorted(Path(p) for p in tf.gfile.Glob(checkpoint + ".*")), Path(checkpoint + ".meta"),
               lambda: load_checkpoint(checkpoint)),
        Format("Estimator SavedModel", [estimator_export], estimator_export, lambda: load_savedmodel(estimator_export)),
        Format("low-level SavedModel", [lowlevel_export], lowlevel_export, lambda: load_savedmodel(lowlevel_export)),
        Format("frozen graph", [frozen_file], frozen_file, lambda: load_graph_def(frozen_file)),
        Format("optimised frozen graph", [optimized_file], optimized_file, lambda: load_graph_def(optimized_file)),
    ]
    if trt_graph_path is not None:
        found.append(Format("TF-TRT graph", [trt_graph_path], trt_graph_path, lambda: load_graph_def(trt_graph_path)))
    return found


def accuracy(predict):
    """Accuracy of ``predict`` on the 30 test rows."""
    _, (test_x, test_y) = data.load_data()
    return float(np.mean(predict(test_x[data.FEATURE_NAMES].values.astype(np.float32)) == test_y.values))
