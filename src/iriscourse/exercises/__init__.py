"""Exercises with automatic checks: ``check("02.1", answer)``, ``hint("02.1")``, ``solution("02.1")``.

Each notebook's exercises live in a module of this package (``nb02`` for notebook 02), which
registers, per exercise, a check that runs the learner's answer and raises ``Wrong`` with what is
wrong, a hint, and a reference solution in ``solutions``. A starter answer that still raises
``NotImplementedError`` (or is ``...``) is reported as not attempted, so unsolved notebooks run
headlessly. Every verdict is also written to ``build/progress/`` for ``python -m iriscourse.exercises``.
"""
import collections
import importlib
import inspect
import json
import time

from .. import paths

Exercise = collections.namedtuple("Exercise", ["id", "title", "level", "minutes", "hint", "check"])
Verdict = collections.namedtuple("Verdict", ["id", "status", "message"])
SOLVED, WRONG, NOT_ATTEMPTED = "solved", "wrong", "not attempted"
NOTEBOOK_MODULES = ["nb{:02d}".format(n) for n in range(13)]
_REGISTRY = {}


class Wrong(Exception):
    """Raised by a check: the message says what is wrong with the answer."""


class NotAttempted(Exception):
    """Raised by a check when the starter code has not been filled in yet."""


def exercise(id, title, level, minutes, hint):
    """Register the decorated function as the check of exercise ``id``; it returns what is right."""
    def register(check_fn):
        _REGISTRY[id] = Exercise(id, title, level, minutes, hint, check_fn)
        return check_fn
    return register


def call(fn, *args, **kwargs):
    """Call the learner's ``fn``; ``...`` or a starter that raises ``NotImplementedError`` is not attempted."""
    if fn is Ellipsis:
        raise NotAttempted()
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted() from None


def all_exercises():
    """Every registered exercise, in course order."""
    for name in NOTEBOOK_MODULES:
        importlib.import_module("." + name, __name__)
    return sorted(_REGISTRY.values(), key=lambda ex: [int(part) for part in ex.id.split(".")])


def get(id):
    """The exercise ``id`` (e.g. ``"02.1"``)."""
    all_exercises()
    if id not in _REGISTRY:
        raise KeyError("no exercise {!r}; the exercises are {}".format(id, ", ".join(e.id for e in all_exercises())))
    return _REGISTRY[id]


def run(id, answer):
    """Run exercise ``id``'s check on ``answer``; return a ``Verdict`` (nothing printed, nothing recorded)."""
    ex = get(id)
    try:
        right = ex.check(answer)
    except NotAttempted:
        return Verdict(id, NOT_ATTEMPTED, "complete the starter cell above, run it, then run this check again")
    except Wrong as wrong:
        return Verdict(id, WRONG, str(wrong))
    return Verdict(id, SOLVED, right)


def record(verdict):
    """Write a verdict to ``build/progress/<id>.json`` (the room's progress view reads them)."""
    path = paths.artifact("progress", verdict.id + ".json")
    path.write_text(json.dumps(dict(verdict._asdict(), time=int(time.time()))))


def check(id, answer):
    """Check the learner's answer to exercise ``id``; print the verdict and record it."""
    verdict = run(id, answer)
    record(verdict)
    ex = get(id)
    if verdict.status == SOLVED:
        print("Exercise {} solved. {}".format(id, verdict.message))
    elif verdict.status == NOT_ATTEMPTED:
        print("Exercise {} not attempted yet: {}. Stuck? hint(\"{}\")".format(id, verdict.message, id))
    else:
        print("Exercise {} not solved yet: {}\nHint: {}".format(id, verdict.message, ex.hint))


def hint(id):
    """Print the hint of exercise ``id``."""
    print("Hint for {}: {}".format(id, get(id).hint))


def solution_source(id):
    """The source of the reference solution of exercise ``id``."""
    from . import solutions

    return inspect.getsource(getattr(solutions, "ex_" + id.replace(".", "_")))


def solution(id):
    """Print the reference solution of exercise ``id``."""
    print(solution_source(id))


def progress(progress_dir=None):
    """Rows ``(id, title, level, status)`` for every exercise, from the recorded verdicts."""
    progress_dir = progress_dir or paths.build_dir() / "progress"
    rows = []
    for ex in all_exercises():
        path = progress_dir / (ex.id + ".json")
        status = json.loads(path.read_text())["status"] if path.is_file() else "not run"
        rows.append((ex.id, ex.title, ex.level, status))
    return rows
