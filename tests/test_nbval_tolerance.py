"""nbval accepts the float round-off that differs between CPUs, and still catches every real change."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from nbval_tolerance import within_round_off

# Seen between two CPUs: the same training run, the same saved_model_cli call.
STORED_LOG = "INFO:tensorflow:Loss for final step: 0.097858116.\ntrained to global step 1000\n"
FRESH_LOG = "INFO:tensorflow:Loss for final step: 0.09785813.\ntrained to global step 1000\n"
STORED_ARRAY = "[[ -4.5766354   3.543953   -3.9703183]\n [-11.069337    -0.26200795   1.7399613 ]]"
FRESH_ARRAY = "[[ -4.576635   3.5439522  -3.9703176]\n [-11.06933    -0.2620072   1.739962 ]]"


@pytest.mark.parametrize("stored, fresh", [
    (STORED_LOG, FRESH_LOG),
    (STORED_ARRAY, FRESH_ARRAY),
    ("[[9.9955410e-01 4.4584012e-04 6.3627967e-15]]", "[[9.99554098e-01 4.45837795e-04 6.36279673e-15]]"),
    ("test accuracy 0.9667, test loss 0.0613", "test accuracy 0.9667, test loss 0.0614"),  # printed rounding
], ids=["loss-log", "realigned-array", "probabilities", "last-printed-digit"])
def test_round_off_between_cpus_is_accepted(stored, fresh):
    assert within_round_off(stored, fresh)


@pytest.mark.parametrize("stored, fresh", [
    (STORED_LOG, FRESH_LOG.replace("step 1000", "step 999")),
    (STORED_LOG, FRESH_LOG.replace("final step", "last step")),
    ("test loss 0.0613", "test loss 0.0616"),
    ("loss 0.097858116", "loss 0.0979681"),
    ("class ids [0 2 1]", "class ids [0 1 1]"),
    ("[1.5, 2.5]", "[1.5, 2.5, 3.5]"),
], ids=["integer", "text", "two-printed-digits", "float-beyond-1e-4", "class-id", "one-more-number"])
def test_every_other_change_is_still_a_difference(stored, fresh):
    assert not within_round_off(stored, fresh)


def _notebook(path, stored, printed):
    cell = new_code_cell("print({!r}, end='')".format(printed), execution_count=1,
                         outputs=[new_output("stream", name="stdout", text=stored)])
    nbformat.write(new_notebook(cells=[cell]), str(path))


def _nbval(path, *plugin):
    tests = str(Path(__file__).resolve().parent)  # where the plugin module lives
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in [tests, os.environ.get("PYTHONPATH")] if p))
    return subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-p", "no:cacheprovider", *plugin,
                           "--nbval", "--nbval-current-env", str(path)], cwd=str(path.parent), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)


def test_nbval_passes_round_off_only_with_the_plugin_and_still_fails_a_real_change(tmp_path):
    round_off, real = tmp_path / "round_off.ipynb", tmp_path / "real.ipynb"
    _notebook(round_off, STORED_LOG, FRESH_LOG)
    _notebook(real, STORED_LOG, FRESH_LOG.replace("0.09785813", "0.0981"))
    plugin = ("-p", "nbval_tolerance")
    strict = _nbval(round_off)
    assert strict.returncode == 1 and "0.097858116" in strict.stdout, strict.stdout[-2000:]
    tolerant = _nbval(round_off, *plugin)
    assert tolerant.returncode == 0, tolerant.stdout[-2000:]
    changed = _nbval(real, *plugin)
    assert changed.returncode == 1 and "0.0981" in changed.stdout, changed.stdout[-2000:]
