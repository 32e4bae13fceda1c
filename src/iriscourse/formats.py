"""Every saved form of the course's Iris models, loadable the same way for a side-by-side comparison.

Each loader returns ``predict(rows)``: class ids for a ``[batch, 4]`` float32 matrix of test rows in
CSV order (``data.FEATURE_NAMES``). Loaders of low-level formats reorder the columns themselves.
"""
import collections
from pathlib import Path

import numpy as np
import tensorflow as tf

from . import data, export, frozen, lowlevel

Format = collections.namedtuple("Format", ["name", "files", "load"])
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
    if "examples" in signature.inputs:
        name = signature.inputs["examples"].name
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


def course_formats(trt_graph_path):
    """The six formats compared in notebook 10, each built first if missing."""
    checkpoint = lowlevel.ensure_checkpoint()
    estimator_export = export.ensure_export("raw")
    lowlevel_export = lowlevel.ensure_savedmodel()
    frozen_file = frozen.ensure_frozen()
    optimized_file = frozen.ensure_optimized()
    return [
        Format("checkpoint", sorted(Path(p) for p in tf.gfile.Glob(checkpoint + ".*")),
               lambda: load_checkpoint(checkpoint)),
        Format("Estimator SavedModel", [estimator_export], lambda: load_savedmodel(estimator_export)),
        Format("low-level SavedModel", [lowlevel_export], lambda: load_savedmodel(lowlevel_export)),
        Format("frozen graph", [frozen_file], lambda: load_graph_def(frozen_file)),
        Format("optimised frozen graph", [optimized_file], lambda: load_graph_def(optimized_file)),
        Format("TF-TRT graph", [trt_graph_path], lambda: load_graph_def(trt_graph_path)),
    ]


def accuracy(predict):
    """Accuracy of ``predict`` on the 30 test rows."""
    _, (test_x, test_y) = data.load_data()
    return float(np.mean(predict(test_x[data.FEATURE_NAMES].values.astype(np.float32)) == test_y.values))
