"""ONNX with tf2onnx and onnxruntime: the conversion command, a checked conversion into build/, a predictor.

Named ``onnx_export`` so that it never shadows the ``onnx`` package.
"""
import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import paths

# onnxruntime 1.10 runs opsets up to 15; 13 is what tf2onnx 1.16 recommends.
OPSET = 13
_UNSUPPORTED = re.compile(r"Unsupported ops: Counter\((\{.*?\})\)")


class UnsupportedOpsError(RuntimeError):
    """tf2onnx could not translate some TensorFlow ops (it still exits 0 and writes a model)."""


def path(name):
    """Where an ONNX model called ``name`` lives under build/."""
    return paths.artifact("onnx", name + ".onnx")


def saved_model_command(export_dir, output, opset=OPSET):
    """The tf2onnx command (an argv list) converting a SavedModel's ``serving_default`` signature."""
    return [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(export_dir),
            "--opset", str(opset), "--output", str(output)]


def graph_def_command(graph_def_path, inputs, outputs, output, opset=OPSET):
    """The tf2onnx command (an argv list) converting a frozen GraphDef between the named tensors."""
    return [sys.executable, "-m", "tf2onnx.convert", "--graphdef", str(graph_def_path),
            "--inputs", ",".join(inputs), "--outputs", ",".join(outputs),
            "--opset", str(opset), "--output", str(output)]


def unsupported_ops(model_path):
    """Op types in the ONNX model that ONNX does not define (tf2onnx leaves untranslated TF ops as they were)."""
    import onnx
    model = onnx.load(str(model_path))
    return sorted({node.op_type for node in model.graph.node if not onnx.defs.has(node.op_type, node.domain)})


def _start(command):
    at = command.index("--output") + 1
    final, temp = str(command[at]), str(command[at]) + ".tmp"
    process = subprocess.Popen(command[:at] + [temp] + command[at + 1:], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True)
    return command, process, temp, final


def _finish(command, process, temp, final):
    log = process.communicate()[0]
    try:
        if process.returncode != 0:
            raise subprocess.CalledProcessError(process.returncode, command, output=log)
        reported = _UNSUPPORTED.search(log)
        ops = set(ast.literal_eval(reported.group(1))) if reported else set()
        ops = sorted(ops | set(unsupported_ops(temp)))
        if ops:
            raise UnsupportedOpsError(
                "tf2onnx could not convert {}; ONNX has no such op. Convert the inference graph behind "
                "the signature instead (parsing_bypass.ensure_graph() for ParseExample).".format(", ".join(ops)))
        os.replace(temp, final)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return Path(final)


def convert(command):
    """Run a tf2onnx ``command``, writing to a temporary file, then renaming it to the command's ``--output``.

    Raises UnsupportedOpsError (naming the ops) when tf2onnx reports ops it could not convert or the
    model holds ops ONNX does not define, and CalledProcessError (with tf2onnx's log) when it fails.
    Returns the model's path.
    """
    return _finish(*_start(command))


def convert_all(commands):
    """``convert`` several commands at once (each tf2onnx start-up takes seconds); their paths, in order."""
    started = [_start(command) for command in commands]
    try:
        return [_finish(*one) for one in started]
    finally:
        for _, process, temp, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
            if os.path.exists(temp):
                os.remove(temp)


def session(model_path):
    """An onnxruntime session on one thread (intra- and inter-op), on the CPU."""
    import onnxruntime
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def input_names(model_path):
    """The ONNX model's input names, in order."""
    return [i.name for i in session(model_path).get_inputs()]


def predictor(model_path, output="probabilities"):
    """A callable running the model with onnxruntime; it returns the output whose name contains ``output``.

    A model with one input takes a ``[n, 4]`` float32 matrix; one with several takes a dict
    ``{input name: column}`` (wrap it with ``agreement.by_name``).
    """
    sess = session(model_path)
    names = [o.name for o in sess.get_outputs() if output in o.name]
    if len(names) != 1:
        raise ValueError("expected one output whose name contains {!r}; the model's outputs are {}".format(
            output, [o.name for o in sess.get_outputs()]))
    inputs = [i.name for i in sess.get_inputs()]

    def predict(feed):
        if not isinstance(feed, dict):
            (name,) = inputs
            feed = {name: feed}
        return sess.run(names, {k: np.asarray(v, dtype=np.float32) for k, v in feed.items()})[0]
    return predict
