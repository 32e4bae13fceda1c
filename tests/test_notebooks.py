"""Lint of the committed notebooks: structure, kernel, stored outputs, risky magics.

nbval (run by the same pytest command) re-executes them and compares the outputs.
"""
import ast
import re

import nbformat
import pytest

from iriscourse import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb"))
MACHINE_PATH = re.compile(r"(/home/|/root/|/Users/|/tmp/|/work/|/opt/|[A-Za-z]:\\)")
SILENT_SHELL = re.compile(r"^\s*(!|%sx\b|%system\b|%%bash\s+--bg|%%script\s.*--bg)", re.M)


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def _headings(nb, level):
    prefix = "#" * level + " "
    return [line[len(prefix):].strip() for c in nb.cells if c.cell_type == "markdown"
            for line in c.source.splitlines() if line.startswith(prefix)]


def test_the_course_has_notebooks_numbered_from_00():
    names = [p.name for p in NOTEBOOKS]
    assert names and all(re.match(r"^\d\d_[a-z0-9_]+\.ipynb$", n) for n in names), names
    assert [n[:2] for n in names] == ["{:02d}".format(i) for i in range(len(names))]


def checks_that_pass_without_an_error(source):
    """Line numbers of ``try`` blocks that assert inside ``except`` with no ``else: raise``.

    Such a check passes when the expected error never comes. Use ``expect.raises`` instead.
    """
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    found = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, ast.Try):
            continue
        asserts = any(isinstance(n, ast.Assert) for h in node.handlers for n in ast.walk(h))
        else_raises = any(isinstance(n, ast.Raise) for s in node.orelse for n in ast.walk(s))
        if asserts and not else_raises:
            found.append(node.lineno)
    return found


@pytest.mark.parametrize("source, expected", [
    ("try:\n    f()\nexcept ValueError as e:\n    assert 'x' in str(e)\n", [1]),
    ("try:\n    f()\nexcept ValueError as e:\n    assert 'x' in str(e)\n    raise\n", [1]),
    ("x = 1\ntry:\n    f()\nexcept Exception:\n    if True:\n        assert False\nelse:\n    pass\n", [2]),
    ("try:\n    f()\nexcept ValueError as e:\n    assert 'x' in str(e)\nelse:\n    raise AssertionError('no error')\n", []),
    ("try:\n    f()\nexcept ValueError:\n    print('no assert here')\n", []),
    ("%matplotlib inline\nwith expect.raises(ValueError):\n    f()\n", []),
])
def test_the_except_lint_flags_exactly_the_checks_that_cannot_fail(source, expected):
    assert checks_that_pass_without_an_error(source) == expected


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def nb(request):
    return _read(request.param)


def test_is_valid_nbformat(nb):
    nbformat.validate(nb)


def test_names_the_course_kernel(nb):
    assert nb.metadata["kernelspec"]["name"] == paths.KERNEL_NAME


def test_has_one_title_what_you_will_learn_setup_and_recap(nb):
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert len(_headings(nb, 1)) == 1
    sections = [h.lower() for h in _headings(nb, 2)]
    for required in ("what you will learn", "setup", "recap"):
        assert required in sections, required


def test_every_code_cell_was_executed_in_order(nb):
    counts = [c.execution_count for c in _code(nb) if c.source.strip()]
    assert None not in counts, "run `make notebooks` to store outputs"
    assert counts == list(range(1, len(counts) + 1))


def test_stores_no_error_outputs(nb):
    errors = [o for c in _code(nb) for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_runs_no_shell_command_whose_failure_would_pass_silently(nb):
    for cell in _code(nb):
        assert not SILENT_SHELL.search(cell.source), cell.source
        assert "%tensorflow_version" not in cell.source


def test_contains_no_absolute_machine_paths(nb):
    for cell in nb.cells:
        texts = [cell.source] + [str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                                 for o in cell.get("outputs", [])]
        for text in texts:
            assert not MACHINE_PATH.search(text), text[:300]


def test_no_check_asserts_inside_except_without_failing_when_no_error_comes(nb):
    for cell in _code(nb):
        assert not checks_that_pass_without_an_error(cell.source), (
            "assert inside `except` with no `else: raise`: use `with expect.raises(...)`:\n" + cell.source)


def test_every_exercise_has_its_check_cell_committed_unsolved():
    from iriscourse import exercises

    for ex in exercises.all_exercises():
        path = next(paths.NOTEBOOKS_DIR.glob(ex.id.split(".")[0] + "_*.ipynb"))
        cells = [c for c in _code(_read(path)) if c.source.startswith('check("{}", '.format(ex.id))]
        assert len(cells) == 1, (path.name, ex.id)
        text = "".join(o.get("text", "") for o in cells[0].outputs)
        assert text.startswith("Exercise {} not attempted yet".format(ex.id)), text
        assert "### {} · {} ({}, {} min)".format(ex.id, ex.title, ex.level, ex.minutes) in "".join(
            c.source for c in _read(path).cells if c.cell_type == "markdown"), ex.id


def test_the_readme_course_map_counts_each_notebooks_exercises():
    from iriscourse import exercises

    counts = {}
    for ex in exercises.all_exercises():
        counts[ex.id.split(".")[0]] = counts.get(ex.id.split(".")[0], 0) + 1
    readme = (paths.REPO_ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        row = next(line for line in readme.splitlines() if "](notebooks/{})".format(path.name) in line)
        assert row.rstrip(" |").rsplit("|", 1)[1].strip() == str(counts.get(path.name[:2], "–")), row


def test_the_workshop_guide_names_only_real_exercises_and_counts_them_all():
    from iriscourse import exercises

    guide = (paths.REPO_ROOT / "docs" / "workshop.md").read_text()
    ids = {ex.id for ex in exercises.all_exercises()}
    named = set(re.findall(r"(?<![\d.])(\d\d\.\d)(?![\d.]\d)", guide))  # not 3.11.9
    assert named and named <= ids, named - ids
    assert "({} in all)".format(len(ids)) in guide


def test_every_notebook_ends_with_two_to_four_exercises(nb, request):
    from iriscourse import exercises

    prefix = request.node.callspec.id[:2]
    ids = [ex.id for ex in exercises.all_exercises() if ex.id.startswith(prefix + ".")]
    assert 2 <= len(ids) <= 4, (prefix, ids)
    sections = [h.lower() for h in _headings(nb, 2)]
    assert sections[-1] == "exercises", sections


def test_each_starter_has_the_signature_of_its_reference_solution():
    import inspect

    from iriscourse import exercises
    from iriscourse.exercises import solutions

    for ex in exercises.all_exercises():
        path = next(paths.NOTEBOOKS_DIR.glob(ex.id.split(".")[0] + "_*.ipynb"))
        cells = _code(_read(path))
        index = next(i for i, c in enumerate(cells) if c.source.startswith('check("{}", '.format(ex.id)))
        starter = ast.parse(cells[index - 1].source).body[0]
        name = cells[index].source.split(", ", 1)[1].rstrip(")")
        assert isinstance(starter, ast.FunctionDef) and starter.name == name, ex.id
        assert [a.arg for a in starter.args.args] == list(
            inspect.signature(getattr(solutions, "ex_" + ex.id.replace(".", "_"))).parameters), ex.id
        assert "NotImplementedError" in cells[index - 1].source, ex.id
