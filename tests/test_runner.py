from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from iriscourse import paths, runner


def _notebook(folder, name, *sources, parameters=None):
    nb = new_notebook(metadata={"kernelspec": {"name": paths.KERNEL_NAME, "display_name": "course",
                                               "language": "python"}})
    if parameters:
        nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells += [new_code_cell(source) for source in sources]
    path = folder / name
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    return folder


def _run(course, tmp_path, *args):
    return runner.main(["--notebooks-dir", str(course), "--out-dir", str(tmp_path / "out" / "executed"), *args])


def _outputs(path):
    return ["".join(o.get("text", "")) for c in nbformat.read(str(path), 4).cells for o in c.outputs]


def test_notebooks_run_in_numeric_order_filtered_by_prefix(course):
    for name in ("10_b.ipynb", "02_a.ipynb", "01_x.ipynb", "notes.ipynb"):
        _notebook(course, name, "1")
    assert [p.name for p in runner.list_notebooks(course)] == ["01_x.ipynb", "02_a.ipynb", "10_b.ipynb"]
    assert [p.name for p in runner.list_notebooks(course, ["02", "10"])] == ["02_a.ipynb", "10_b.ipynb"]


def test_a_failure_stops_the_run_and_names_notebook_and_cell(course, tmp_path, capsys):
    _notebook(course, "00_ok.ipynb", "print('fine')")
    _notebook(course, "01_fail.ipynb", "x = 1", "raise ValueError('boom')")
    _notebook(course, "02_later.ipynb", "print('never')")
    assert _run(course, tmp_path) == 1
    err = capsys.readouterr().err
    assert "01_fail.ipynb failed at cell 1 (execution count 2): ValueError: boom" in err
    report = (tmp_path / "out" / "course-report.md").read_text()
    assert "| 00_ok.ipynb | ok |" in report
    assert "| 01_fail.ipynb | failed |" in report
    assert "| 02_later.ipynb | not run |  |" in report
    assert not (tmp_path / "out" / "executed" / "02_later.ipynb").exists()


def test_parameters_reach_the_notebooks_that_declare_them(course, tmp_path):
    _notebook(course, "00_p.ipynb", "print(steps * 2)", parameters="steps = 1")
    assert _run(course, tmp_path, "-p", "steps", "21") == 0
    assert "42\n" in _outputs(tmp_path / "out" / "executed" / "00_p.ipynb")


def test_write_back_stores_outputs_without_timing_metadata(course, tmp_path):
    source = _notebook(course, "00_w.ipynb", "print('stored')")
    assert _run(course, tmp_path, "--write-back") == 0
    nb = nbformat.read(str(source), 4)
    assert _outputs(source) == ["stored\n"]
    assert nb.cells[0].execution_count == 1
    assert "papermill" not in nb.metadata
    assert all("papermill" not in c.metadata and "execution" not in c.metadata for c in nb.cells)


def test_write_back_refuses_parameters(course, tmp_path):
    _notebook(course, "00_w.ipynb", "1")
    with pytest.raises(SystemExit, match="without -p"):
        _run(course, tmp_path, "--write-back", "-p", "steps", "3")


@pytest.fixture
def fake_kernel(monkeypatch):
    """``runner.execute`` and ``runner.write_back`` replaced: no kernel starts, every call is recorded.

    Notebooks whose names contain ``fail`` fail at cell 1; the others run ok.
    """
    calls = {"executed": [], "written_back": []}

    def execute(notebook, out_dir, parameters, kernel_name=paths.KERNEL_NAME):
        calls["executed"].append(notebook.name)
        assert kernel_name == paths.KERNEL_NAME
        if "fail" in notebook.name:
            return "failed", 0.1, "cell 1 (execution count 2): ValueError: boom"
        return "ok", 0.1, None

    monkeypatch.setattr(runner, "execute", execute)
    monkeypatch.setattr(runner, "write_back",
                        lambda executed, source: calls["written_back"].append((Path(executed), Path(source))))
    return calls


def test_write_back_copies_every_notebook_that_ran_ok(course, tmp_path, fake_kernel):
    for name in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb"):
        _notebook(course, name, "1")
    assert _run(course, tmp_path, "--write-back") == 0
    assert fake_kernel["executed"] == ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"]
    executed = tmp_path / "out" / "executed"
    assert fake_kernel["written_back"] == [(executed / name, course / name)
                                           for name in ("00_a.ipynb", "01_b.ipynb", "02_c.ipynb")]


def test_write_back_never_follows_a_failure(course, tmp_path, fake_kernel, capsys):
    for name in ("00_ok.ipynb", "01_fail.ipynb", "02_later.ipynb", "03_last.ipynb"):
        _notebook(course, name, "1")
    assert _run(course, tmp_path, "--write-back") == 1
    assert fake_kernel["written_back"] == [(tmp_path / "out" / "executed" / "00_ok.ipynb", course / "00_ok.ipynb")]
    assert "01_fail.ipynb failed at cell 1" in capsys.readouterr().err


def test_after_a_failure_the_remaining_notebooks_are_not_run(course, tmp_path, fake_kernel, capsys):
    for name in ("00_ok.ipynb", "01_fail.ipynb", "02_later.ipynb", "03_last.ipynb"):
        _notebook(course, name, "1")
    assert _run(course, tmp_path) == 1
    assert fake_kernel["executed"] == ["00_ok.ipynb", "01_fail.ipynb"]
    assert fake_kernel["written_back"] == []
    report = (tmp_path / "out" / "course-report.md").read_text()
    assert report.splitlines()[2:8] == [
        "| notebook | status | seconds |", "|---|---|---:|",
        "| 00_ok.ipynb | ok | 0.1 |", "| 01_fail.ipynb | failed | 0.1 |",
        "| 02_later.ipynb | not run |  |", "| 03_last.ipynb | not run |  |"]
    assert "**01_fail.ipynb failed at cell 1 (execution count 2): ValueError: boom**" in report
    assert "FAILED: 01_fail.ipynb failed at cell 1" in capsys.readouterr().err


def test_write_back_with_parameters_is_refused_before_anything_runs(course, tmp_path, fake_kernel):
    _notebook(course, "00_w.ipynb", "1", parameters="steps = 1")
    with pytest.raises(SystemExit, match="without -p"):
        _run(course, tmp_path, "--write-back", "-p", "steps", "3")
    assert fake_kernel == {"executed": [], "written_back": []}


def test_report_is_a_markdown_table():
    table = runner.report([("00_a.ipynb", "ok", 3.14159), ("01_b.ipynb", "not run", None)])
    assert table.splitlines() == [
        "| notebook | status | seconds |", "|---|---|---:|",
        "| 00_a.ipynb | ok | 3.1 |", "| 01_b.ipynb | not run |  |"]
