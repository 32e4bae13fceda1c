"""The course's second environment, ``.venv-tf2`` (TensorFlow 2.21): find it and run scripts in it.

The course package runs on Python 3.7 with TF 1.13; TF 2 needs a newer Python, so its code lives in
small scripts (``tf2_scripts/``, importing only the standard library, TensorFlow and NumPy) run by
that environment's interpreter. A script is called as ``script RESULT.json ARG...`` and writes its
result as JSON to ``RESULT.json``: TensorFlow's log lines on stdout and stderr can't garble it.
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import paths

SCRIPTS_DIR = Path(__file__).resolve().parent / "tf2_scripts"
APIS = ("load", "compat.v1")
STDERR_TAIL = 3000


class TF2EnvironmentMissing(RuntimeError):
    """There is no TensorFlow 2 environment to run in (``make setup`` builds it)."""


class TF2ScriptError(RuntimeError):
    """A script in the TF 2 environment failed; ``stderr`` holds the end of its error output."""

    def __init__(self, message, stderr=""):
        super().__init__(message)
        self.stderr = stderr


def venv_dir():
    """Folder of the TF 2 environment: ``.venv-tf2`` in the course folder, or ``$IRISCOURSE_TF2_VENV``."""
    return Path(os.environ.get("IRISCOURSE_TF2_VENV", paths.REPO_ROOT / ".venv-tf2"))


def python():
    """Path of the TF 2 environment's interpreter; ``TF2EnvironmentMissing`` says what to do if it is absent."""
    venv = venv_dir()
    interpreter = venv / "bin" / "python"
    if os.access(str(interpreter), os.X_OK):
        return interpreter
    if "IRISCOURSE_TF2_VENV" in os.environ:
        where = "IRISCOURSE_TF2_VENV={} has no bin/python".format(venv)
        todo = ("unset IRISCOURSE_TF2_VENV to use the course's .venv-tf2, or point it at a virtual "
                "environment made from requirements-tf2.txt")
    else:
        where = "the TensorFlow 2 environment {} is missing".format(paths.shown(venv))
        todo = ("run `make setup` in the course folder: it builds .venv-tf2 next to .venv "
                "(it needs Python 3.11; README, Prerequisites)")
    raise TF2EnvironmentMissing("{}: {}.".format(where, todo))


def script(name):
    """Path of one of the course's TF 2 scripts, e.g. ``script("savedmodel_predict.py")``."""
    return SCRIPTS_DIR / name


def run(script_path, *args, timeout=300):
    """Run a script file in the TF 2 environment with ``RESULT.json`` and ``args``; return its JSON result.

    A script that fails, runs past ``timeout`` seconds or writes no result raises ``TF2ScriptError``
    with the end of its stderr.
    """
    interpreter = python()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory(prefix="tf2env-") as tmp:
        result_path = Path(tmp) / "result.json"
        command = [str(interpreter), "-I", str(script_path), str(result_path)] + [str(a) for a in args]
        try:
            done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  universal_newlines=True, timeout=timeout)
        except subprocess.TimeoutExpired as timed_out:
            stderr = _text(timed_out.stderr)[-STDERR_TAIL:]
            raise TF2ScriptError("{} ran past its timeout of {} s; its stderr ends:\n{}".format(
                Path(script_path).name, timeout, stderr), stderr) from None
        stderr = done.stderr[-STDERR_TAIL:]
        if done.returncode != 0:
            raise TF2ScriptError("{} failed in the TF 2 environment (exit status {}); its stderr ends:\n{}".format(
                Path(script_path).name, done.returncode, stderr), stderr)
        if not result_path.is_file():
            raise TF2ScriptError("{} exited without writing its result file; its stderr ends:\n{}".format(
                Path(script_path).name, stderr), stderr)
        return json.loads(result_path.read_text())


def _text(output):
    """Captured output as text (``TimeoutExpired`` may hold bytes or None)."""
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def _input_array(name, values):
    """One signature input as an array ``.npz`` can hold exactly (byte strings must not end in NUL)."""
    array = np.asarray(values)
    if array.dtype.kind in "SO":
        array = np.asarray([bytes(v) for v in values], dtype=bytes)
        if any(v.endswith(b"\0") for v in values):
            raise ValueError("input {!r}: a byte string that ends in NUL does not survive .npz; "
                             "pass it another way".format(name))
    return array


def predict_savedmodel(export_dir, inputs, api="load", timeout=300):
    """Predict with a SavedModel in TF 2 (``savedmodel_predict.py``) through its ``serving_default`` signature.

    ``inputs`` maps the signature's input names to arrays (byte strings for serialized ``tf.Example``s);
    ``api`` is ``"load"`` (``tf.saved_model.load``) or ``"compat.v1"`` (``loader.load`` in a Session).
    Returns ``{"tensorflow": version, "api": api, "load_seconds": float, "outputs": {name: ndarray},
    "latency_ms": {1: median ms at batch 1, n: median ms at the full batch of n rows}}``.
    """
    if api not in APIS:
        raise ValueError("api must be one of {}, not {!r}".format(APIS, api))
    with tempfile.TemporaryDirectory(prefix="tf2env-") as tmp:
        inputs_path = Path(tmp) / "inputs.npz"
        np.savez(str(inputs_path), **{name: _input_array(name, v) for name, v in inputs.items()})
        result = run(script("savedmodel_predict.py"), Path(export_dir).resolve(), inputs_path, api,
                     timeout=timeout)
    result["outputs"] = {name: np.array(o["values"], dtype=o["dtype"]) for name, o in result["outputs"].items()}
    result["latency_ms"] = {int(batch): ms for batch, ms in result["latency_ms"].items()}
    return result
