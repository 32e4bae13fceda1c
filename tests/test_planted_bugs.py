"""`make planted-bugs` stays usable: every catalogued bug still matches the code and names real tests."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_SPEC = importlib.util.spec_from_file_location("planted_bugs", str(ROOT / "scripts" / "planted_bugs.py"))
planted_bugs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(planted_bugs)


@pytest.mark.parametrize("bug", planted_bugs.CATALOGUE, ids=lambda bug: bug.name)
def test_each_planted_bug_matches_its_file_exactly_once_and_changes_it(bug):
    assert (ROOT / bug.path).read_text().count(bug.old) == 1
    assert bug.old != bug.new


@pytest.mark.parametrize("bug", planted_bugs.CATALOGUE, ids=lambda bug: bug.name)
def test_each_planted_bug_names_tests_that_exist(bug):
    for test in bug.tests:
        path, _, name = test.partition("::")
        assert (ROOT / path).is_file(), path
        assert not name or "def %s(" % name in (ROOT / path).read_text(), test
