import numpy as np
import pytest

from iriscourse import savedmodel_cli

PRINTED = """Result for output key class_ids:
[[0]
 [1]
 [2]]
Result for output key logits:
[[ 14.755957    7.0408473 -17.931906 ]
 [ -4.5766354   3.543953   -3.9703183]
 [-11.06933    -0.2620072   1.739962 ]]
Result for output key probabilities:
[[9.99554098e-01 4.45837795e-04 6.36279673e-15]
 [2.97103339e-04 9.99158144e-01 5.44788199e-04]
 [2.40974964e-06 1.18996054e-01 8.81001592e-01]]
"""


def test_parse_results_reads_every_printed_array():
    results = savedmodel_cli.parse_results(PRINTED)
    assert sorted(results) == ["class_ids", "logits", "probabilities"]
    assert results["class_ids"].tolist() == [[0], [1], [2]]
    assert results["logits"].shape == (3, 3)
    assert results["logits"][1, 2] == pytest.approx(-3.9703183)
    assert results["probabilities"][0, 2] == pytest.approx(6.36279673e-15)


def test_parse_results_handles_vectors_scalars_and_non_finite_values():
    results = savedmodel_cli.parse_results(
        "Result for output key v:\n[1. 2.5 nan]\nResult for output key s:\n3\nResult for output key i:\n[ inf -inf]\n")
    assert results["v"][:2].tolist() == [1.0, 2.5] and np.isnan(results["v"][2])
    assert results["s"] == 3
    assert results["i"].tolist() == [np.inf, -np.inf]


def test_last_error_keeps_the_final_exception_line():
    stderr = ("Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: first\n\nDuring handling...\n"
              "InvalidArgumentError (see above for traceback): Data types don't match\n\t [[node ParseExample]]\n")
    assert savedmodel_cli.last_error(stderr) == "InvalidArgumentError: Data types don't match"
    assert savedmodel_cli.last_error("usage: saved_model_cli\nerror: bad flag\n") == "error: bad flag"
    assert savedmodel_cli.last_error("") == "(no error message)"


def test_shell_words_quote_like_the_docs():
    words = savedmodel_cli.shell_words(["show", "--dir", "../build/x/1", "examples=[{'a':[5.0]}]", "it's\""])
    assert words == "show --dir ../build/x/1 \"examples=[{'a':[5.0]}]\" 'it'\"'\"'s\"'"


def test_run_returns_stdout_and_echoes_the_command(capsys):
    out = savedmodel_cli.run("--help")
    assert "show" in out and "run" in out and "scan" in out
    assert capsys.readouterr().out.startswith("$ saved_model_cli --help\n")


def test_a_failing_command_raises_with_its_error_line(tmp_path):
    with pytest.raises(savedmodel_cli.CommandFailed) as failure:
        savedmodel_cli.run("show", "--dir", tmp_path / "missing", echo=False)
    assert failure.value.returncode != 0
    assert "SavedModel file does not exist" in failure.value.error
