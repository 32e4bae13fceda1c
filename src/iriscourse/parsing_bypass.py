"""The way around ParseExample: the parsing export's inference graph, fed floats instead of tf.Examples.

Neither converter can translate ParseExample. The network behind the parsing signature needs only
the four float columns ParseExample produces, so this cuts the graph there: a ``features`` matrix
(``[None, 4]`` in ``lowlevel.INPUT_ORDER``) feeds the parsed columns, and ``probabilities`` is the
output, with the weights frozen into constants.
"""
import tensorflow as tf

from . import export, frozen, lowlevel, paths

INPUT = "features:0"
OUTPUT = "probabilities:0"


def _parsed_columns(graph):
    """``{feature name: dense output tensor name}`` of the graph's one ParseExample op."""
    ops = [op for op in graph.get_operations() if op.type == "ParseExample"]
    if len(ops) != 1:
        raise ValueError("expected one ParseExample op in the parsing export, found {}".format(len(ops)))
    op = ops[0]
    n_sparse = op.get_attr("Nsparse")
    dense_keys = op.inputs[2 + n_sparse:2 + n_sparse + len(op.get_attr("Tdense"))]
    sess = tf.Session(graph=graph)
    try:
        keys = [key.decode() for key in sess.run(list(dense_keys))]
    finally:
        sess.close()
    dense_values = op.outputs[3 * n_sparse:]
    return {key: tensor.name for key, tensor in zip(keys, dense_values)}


def inference_graph_def(export_dir, signature_key="serving_default"):
    """A frozen GraphDef of the export's network from the parsed features on: ``features`` -> ``probabilities``."""
    graph = tf.Graph()
    with tf.Session(graph=graph, config=lowlevel.session_config()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def[signature_key]
        probabilities = signature.outputs["probabilities"].name
        columns = _parsed_columns(graph)
        weights = tf.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), [probabilities.split(":")[0]])
    with tf.Graph().as_default() as cut:
        features = tf.placeholder(tf.float32, [None, len(lowlevel.INPUT_ORDER)], name=INPUT.split(":")[0])
        split = tf.split(features, len(lowlevel.INPUT_ORDER), axis=1)
        input_map = {columns[name]: column for name, column in zip(lowlevel.INPUT_ORDER, split)}
        (output,) = tf.import_graph_def(weights, input_map=input_map, return_elements=[probabilities], name="network")
        tf.identity(output, name=OUTPUT.split(":")[0])
    return tf.graph_util.extract_sub_graph(cut.as_graph_def(), [OUTPUT.split(":")[0]])


def graph_path():
    """Where the parsing export's inference graph is written."""
    return paths.artifact("parsing_bypass", "inference_graph.pb")


def ensure_graph():
    """Path of the parsing export's inference graph, cut from ``export.ensure_export("parsing")`` first if missing."""
    target = graph_path()
    if not target.is_file():
        frozen.write_graph_def(inference_graph_def(export.ensure_export("parsing")), target)
    return target
