"""What a saved model file carries besides the inference graph: training ops, input pipeline, training rows."""
import collections
from pathlib import Path

import numpy as np
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import saved_model_pb2

from . import data

Report = collections.namedtuple("Report", [
    "nodes", "optimizer_ops", "input_pipeline_ops", "library_functions", "training_columns_found"])


def graph_defs(path):
    """The GraphDefs at ``path``: a SavedModel folder (binary or text), a checkpoint ``.meta``, a frozen ``.pb``."""
    path = Path(path)
    if path.is_dir():
        saved_model = saved_model_pb2.SavedModel()
        if (path / "saved_model.pb").is_file():
            saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
        else:  # written with save(as_text=True)
            text_format.Merge((path / "saved_model.pbtxt").read_text(), saved_model)
        return [meta_graph.graph_def for meta_graph in saved_model.meta_graphs]
    if path.suffix == ".meta":
        meta_graph = tf.MetaGraphDef()
        meta_graph.ParseFromString(path.read_bytes())
        return [meta_graph.graph_def]
    graph_def = tf.GraphDef()
    graph_def.ParseFromString(path.read_bytes())
    return [graph_def]


def is_optimizer_op(op):
    """Ops that only training runs: optimizer updates and gradients."""
    return (op.startswith(("Apply", "ResourceApply")) or op.endswith("Grad")
            or op in ("BroadcastGradientArgs", "PreventGradient"))


def is_input_pipeline_op(op):
    """``tf.data`` datasets and iterators."""
    return "Iterator" in op or op.endswith(("Dataset", "DatasetV2"))


def training_columns_in(blob):
    """Which training-set columns (4 features, labels) appear byte for byte in ``blob`` (float64/32, int64)."""
    (train_x, train_y), _ = data.load_data()
    columns = dict(train_x.items(), Species=train_y)
    found = []
    for name, column in columns.items():
        dtypes = (np.int64, np.int32) if name == "Species" else (np.float64, np.float32)
        if any(np.asarray(column, dtype).tobytes() in blob for dtype in dtypes):
            found.append(name)
    return found


def inspect(path):
    """A ``Report`` of the model at ``path`` (every graph in it, functions included, and its files' bytes)."""
    path = Path(path)
    graphs = graph_defs(path)
    ops = [node.op for g in graphs for node in g.node]
    ops += [node.op for g in graphs for f in g.library.function for node in f.node_def]
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    blob = b"".join(p.read_bytes() for p in files)
    return Report(
        nodes=sum(len(g.node) for g in graphs),
        optimizer_ops=sum(map(is_optimizer_op, ops)),
        input_pipeline_ops=sum(map(is_input_pipeline_op, ops)),
        library_functions=sorted(f.signature.name for g in graphs for f in g.library.function),
        training_columns_found=training_columns_in(blob))


def is_clean(report):
    """True when a report shows no optimizer op, no input pipeline, no function and no training column."""
    return not (report.optimizer_ops or report.input_pipeline_ops or report.library_functions
                or report.training_columns_found)
