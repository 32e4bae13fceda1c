"""Exercises of notebook 08: freezing one output, and converting the frozen graph to TensorFlow Lite."""
import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from .. import frozen, lowlevel
from . import Wrong, call, exercise


@exercise("08.1", "Freeze only the probabilities", "easy", 5,
          "tf.graph_util.convert_variables_to_constants(sess, sess.graph.as_graph_def(), "
          "['output/probability/probabilities']): one output op name, no ':0'.")
def check_freeze_probabilities(freeze_probabilities):
    """``freeze_probabilities(sess)`` freezes the inference graph with the probabilities as its only output."""
    sess, net = lowlevel.restore_inference(lowlevel.ensure_checkpoint())
    with sess:
        graph_def = call(freeze_probabilities, sess)
        features, _ = lowlevel.test_set()
        expected = sess.run(net.probabilities, {net.input_features: features})
    if not isinstance(graph_def, tf.GraphDef):
        raise Wrong("return the frozen tf.GraphDef, not {}".format(type(graph_def).__name__))
    ops = frozen.op_counts(graph_def)
    if ops["VariableV2"]:
        raise Wrong("the graph still has {} variables: freeze it".format(ops["VariableV2"]))
    if ops["ArgMax"]:
        raise Wrong("the graph still computes the classes (ArgMax): keep only what the probabilities need")
    got = frozen.run(graph_def, features, lowlevel.PROBABILITIES)
    if not np.array_equal(got, expected):
        raise Wrong("its probabilities differ from the session's")
    return "{} nodes, no ArgMax, the same probabilities.".format(len(graph_def.node))


@exercise("08.2", "Convert the frozen graph to TensorFlow Lite", "medium", 15,
          "tf.lite.TFLiteConverter.from_frozen_graph(str(frozen_file), ['input_features'], "
          "['output/probability/probabilities'], input_shapes={'input_features': [30, 4]}).convert(). The "
          "converter runs the toco_from_protos program next to sys.executable: put that folder on PATH first. "
          "(The class ids output is an op the 1.13 interpreter cannot run: convert the probabilities.)")
def check_to_tflite(to_tflite):
    """``to_tflite(frozen_file)`` returns a TFLite model whose probabilities give the frozen graph's classes."""
    frozen_file = frozen.ensure_frozen()
    path_before = os.environ.get("PATH", "")
    os.environ["PATH"] = os.pathsep.join(p for p in path_before.split(os.pathsep)
                                         if Path(p) != Path(sys.executable).parent)  # as in a Jupyter kernel
    try:
        model = call(to_tflite, str(frozen_file))
    finally:
        os.environ["PATH"] = path_before
    if not isinstance(model, bytes):
        raise Wrong("return the converted model's bytes (what convert() returns), not {}".format(type(model).__name__))
    interpreter = tf.lite.Interpreter(model_content=model)
    interpreter.allocate_tensors()
    features, _ = lowlevel.test_set()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if list(inputs[0]["shape"]) != [30, 4]:
        raise Wrong("its input has shape {}; convert it for a batch of the 30 test rows, [30, 4]".format(
            list(inputs[0]["shape"])))
    interpreter.set_tensor(inputs[0]["index"], features)
    interpreter.invoke()
    probabilities = interpreter.get_tensor(outputs[0]["index"])
    expected = frozen.run(frozen.read_graph_def(frozen_file), features, lowlevel.PROBABILITIES)
    if probabilities.shape != expected.shape:
        raise Wrong("its output has shape {}; convert the probabilities, [30, 3]".format(probabilities.shape))
    if not (probabilities.argmax(1) == expected.argmax(1)).all():
        raise Wrong("its classes differ from the frozen graph's")
    return "{} bytes of TFLite; same classes on the 30 test rows, probabilities within {:.1e}.".format(
        len(model), float(np.abs(probabilities - expected).max()))
