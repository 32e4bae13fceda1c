"""Frozen GraphDefs of the low-level network: freeze a checkpoint, read, write, run."""
import collections

import tensorflow as tf
from tensorflow.python.tools import optimize_for_inference_lib

from . import atomic, lowlevel, paths

# Op names (no ":0") of every output a frozen graph keeps.
OUTPUT_NODES = [name.split(":")[0] for name in (
    lowlevel.PREDICTED_CLASSES, lowlevel.CLASS_IDS, lowlevel.LOGITS, lowlevel.PROBABILITIES)]


def freeze_checkpoint(checkpoint, output_nodes=OUTPUT_NODES):
    """The clean inference graph with the checkpoint's weights restored and folded into constants."""
    sess, _ = lowlevel.restore_inference(checkpoint)
    try:
        return tf.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), output_nodes)
    finally:
        sess.close()


def read_graph_def(path):
    """Parse a binary GraphDef file."""
    graph_def = tf.GraphDef()
    with tf.gfile.GFile(str(path), "rb") as f:
        graph_def.ParseFromString(f.read())
    return graph_def


def write_graph_def(graph_def, path):
    """Write a GraphDef as a binary ``.pb`` file atomically (a temporary file, then a rename); return its path."""
    atomic.write_bytes(path, graph_def.SerializeToString())
    return path


def frozen_path():
    """Where notebook 08 writes the frozen low-level model."""
    return paths.artifact("lowlevel", "frozen", "frozen_model.pb")


def ensure_frozen():
    """Path of the frozen low-level model, freezing the latest checkpoint first if missing."""
    path = frozen_path()
    if not path.is_file():
        write_graph_def(freeze_checkpoint(lowlevel.ensure_checkpoint()), path)
    return path


def optimize(graph_def):
    """``optimize_for_inference`` over the low-level network's input and outputs."""
    return optimize_for_inference_lib.optimize_for_inference(
        graph_def, [lowlevel.INPUT.split(":")[0]], OUTPUT_NODES, tf.float32.as_datatype_enum)


def optimized_path():
    """Where notebook 08 writes the optimised frozen model."""
    return paths.artifact("lowlevel", "frozen", "optimized_model.pb")


def ensure_optimized():
    """Path of the optimised frozen model, building it (and what it needs) first if missing."""
    path = optimized_path()
    if not path.is_file():
        write_graph_def(optimize(read_graph_def(ensure_frozen())), path)
    return path


def run(graph_def, features, fetch=lowlevel.PREDICTED_CLASSES):
    """Import ``graph_def`` into a new graph and run ``fetch`` on ``features`` (``[batch, 4]``)."""
    with tf.Graph().as_default() as graph:
        tf.import_graph_def(graph_def, name="")
        with tf.Session(graph=graph, config=lowlevel.session_config()) as sess:
            return sess.run(fetch, {lowlevel.INPUT: features})


def op_counts(graph_def):
    """How many nodes of each op type a GraphDef holds."""
    return collections.Counter(node.op for node in graph_def.node)
