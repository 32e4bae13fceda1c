"""The exercise framework: verdicts printed and recorded, hints, solutions, progress, and the course's rules."""
import json

import pytest

from iriscourse import exercises
from iriscourse.exercises import NOT_ATTEMPTED, SOLVED, WRONG


def test_a_solved_check_prints_what_is_right_and_records_it(build_dir, capsys):
    assert exercises.check("00.2", lambda row: [row[name] for name in sorted(row)]) is None  # nothing to display
    assert capsys.readouterr().out.startswith("Exercise 00.2 solved. Sorted by name")
    assert json.loads((build_dir / "progress" / "00.2.json").read_text())["status"] == SOLVED


def test_a_wrong_answer_prints_what_is_wrong_and_the_hint_without_raising(build_dir, capsys):
    exercises.check("00.2", lambda row: list(row.values()))
    out = capsys.readouterr().out
    assert json.loads((build_dir / "progress" / "00.2.json").read_text())["status"] == WRONG
    assert out.startswith("Exercise 00.2 not solved yet: for the row")
    assert "\nHint: input_layer does not keep the order" in out
    assert "AssertionError" not in out


def test_an_untouched_starter_says_not_attempted(build_dir, capsys):
    def starter(row):
        raise NotImplementedError

    exercises.check("00.2", starter)
    assert json.loads((build_dir / "progress" / "00.2.json").read_text())["status"] == NOT_ATTEMPTED
    assert capsys.readouterr().out == (
        'Exercise 00.2 not attempted yet: complete the starter cell above, run it, then run this check again. '
        'Stuck? hint("00.2")\n')


def test_an_error_inside_the_answer_is_not_hidden(build_dir):
    with pytest.raises(ZeroDivisionError):
        exercises.check("00.2", lambda row: 1 / 0)


def test_hint_and_solution_print_for_the_learner(capsys):
    exercises.hint("02.1")
    exercises.solution("02.1")
    out = capsys.readouterr().out
    assert out.startswith("Hint for 02.1: Make one placeholder")
    assert "def ex_02_1():" in out and "ServingInputReceiver" in out


def test_an_unknown_exercise_lists_the_known_ones():
    for unknown in ("00.9", "99.1", "nonsense"):
        with pytest.raises(KeyError, match="no exercise '{}'; the exercises are 00.1, 00.2, 01.1".format(unknown)):
            exercises.hint(unknown)


def test_progress_reports_each_exercise_from_the_recorded_verdicts(build_dir):
    exercises.check("00.2", lambda row: [row[name] for name in sorted(row)])
    exercises.check("00.1", lambda batch_size: [9] * batch_size)
    rows = {id: status for id, _, _, status in exercises.progress()}
    assert rows["00.2"] == SOLVED and rows["00.1"] == WRONG and rows["03.2"] == "not run"


def test_every_exercise_is_graded_timed_and_every_notebook_module_has_two_to_four():
    found = exercises.all_exercises()
    assert all(ex.level in ("easy", "medium", "hard") and 5 <= ex.minutes <= 15 for ex in found)
    per_notebook = {}
    for ex in found:
        per_notebook.setdefault(ex.id.split(".")[0], []).append(ex.id)
    assert all(2 <= len(ids) <= 4 for ids in per_notebook.values()), per_notebook
    for ids in per_notebook.values():
        assert ids == ["{}.{}".format(ids[0].split(".")[0], n) for n in range(1, len(ids) + 1)]


def test_the_progress_command_prints_a_table_and_a_total(build_dir):
    import os
    import subprocess
    import sys

    exercises.check("00.2", lambda row: [row[name] for name in sorted(row)])
    out = subprocess.run([sys.executable, "-m", "iriscourse.exercises"], capture_output=True, text=True, check=True,
                         env=dict(os.environ, IRISCOURSE_BUILD_DIR=str(build_dir))).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["id", "exercise", "level", "status"]
    assert any(line.startswith("00.2") and line.rstrip().endswith("solved") for line in lines)
    assert lines[-1] == "1 of {} exercises solved".format(len(exercises.all_exercises()))
