"""TensorFlow Lite around TF 1.13's converter: make it runnable from a kernel, save its bytes, run the model."""
import collections
import os
import shutil
import sys

import numpy as np
import tensorflow as tf

from . import atomic, paths

# The 1.13 converter's post_training_quantize leaves weights smaller than this (in elements) as float32.
QUANTIZE_MIN_ELEMENTS = 1024


def ensure_converter_on_path():
    """Put the running Python's ``bin`` folder on PATH (once) and return the ``toco_from_protos`` found there.

    ``TFLiteConverter.convert`` starts the ``toco_from_protos`` program that pip installed next to
    this Python. A shell with the venv activated has that folder on PATH; a Jupyter kernel started
    by path does not, and the conversion fails with "toco_from_protos: not found".
    """
    bin_dir = os.path.dirname(sys.executable)
    folders = os.environ.get("PATH", "").split(os.pathsep)
    if bin_dir not in folders:
        os.environ["PATH"] = os.pathsep.join([bin_dir] + [f for f in folders if f])
    found = shutil.which("toco_from_protos")
    if found is None:
        raise FileNotFoundError("toco_from_protos is not in {}: reinstall TensorFlow in this environment "
                                "(make setup)".format(bin_dir))
    return found


def path(name):
    """Where a ``.tflite`` model called ``name`` lives under build/."""
    return paths.artifact("tflite", name + ".tflite")


def write(model_bytes, name):
    """Write a converted model's bytes to ``path(name)`` atomically (a temporary file, then a rename)."""
    return atomic.write_bytes(path(name), model_bytes)


def _output_index(interpreter, output):
    details = interpreter.get_output_details()
    matches = [d["index"] for d in details if output in d["name"]]
    if len(matches) != 1:
        raise ValueError("expected one output whose name contains {!r}; the model's outputs are {}".format(
            output, [d["name"] for d in details]))
    return matches[0]


def predictor(model_path, output="probabilities"):
    """A callable running the ``.tflite`` model on a ``[n, 4]`` float32 matrix, for any ``n``.

    Returns the output whose tensor name contains ``output``. The input is resized to the batch
    whenever the batch size changes (the converter fixes it, to 1 unless told otherwise).
    """
    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    (input_details,) = interpreter.get_input_details()
    index = _output_index(interpreter, output)
    shape = [None]

    def predict(rows):
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        if shape[0] != rows.shape:
            interpreter.resize_tensor_input(input_details["index"], list(rows.shape))
            interpreter.allocate_tensors()
            shape[0] = rows.shape
        interpreter.set_tensor(input_details["index"], rows)
        interpreter.invoke()
        return interpreter.get_tensor(index).copy()
    return predict


def dtype_counts(model_path):
    """How many tensors of each dtype the ``.tflite`` model holds (quantized weights show as uint8)."""
    interpreter = tf.lite.Interpreter(model_path=str(model_path))
    return collections.Counter(np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details())
