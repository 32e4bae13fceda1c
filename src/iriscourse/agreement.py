"""Do two runtimes predict the same? Class ids and probabilities compared row by row.

A predictor is any callable from the test inputs (usually a ``[n, 4]`` float32 matrix) to a
``[n, 3]`` array of probabilities. Both predictors get the same inputs.
"""
import collections

import numpy as np

TOLERANCE = 1e-6


class Agreement(collections.namedtuple("Agreement", ["rows", "disagreeing_rows", "max_abs_diff", "tolerance"])):
    """How far two predictors' outputs are apart on the same rows."""

    @property
    def passed(self):
        """True when every class id matches and no probability differs by more than the tolerance."""
        return not self.disagreeing_rows and self.max_abs_diff <= self.tolerance

    def __str__(self):
        return "{} rows: {} class ids differ, max |diff| of probabilities {:.1e} (tolerance {:.0e}): {}".format(
            self.rows, len(self.disagreeing_rows), self.max_abs_diff, self.tolerance,
            "PASS" if self.passed else "FAIL")


def compare(reference, candidate, inputs, tolerance=TOLERANCE):
    """Run both predictors on ``inputs`` and return their ``Agreement``."""
    expected = np.asarray(reference(inputs), dtype=np.float64)
    actual = np.asarray(candidate(inputs), dtype=np.float64)
    if expected.shape != actual.shape:
        raise ValueError("the predictors' outputs have different shapes: {} and {}; both must return "
                         "probabilities [rows, classes]".format(expected.shape, actual.shape))
    differ = np.flatnonzero(expected.argmax(axis=1) != actual.argmax(axis=1))
    max_abs_diff = float(np.max(np.abs(expected - actual))) if expected.size else 0.0
    return Agreement(len(expected), [int(i) for i in differ], max_abs_diff, tolerance)


def assert_agree(reference, candidate, inputs, tolerance=TOLERANCE):
    """``compare``, raising AssertionError (with the rows that disagree) unless the predictors agree."""
    result = compare(reference, candidate, inputs, tolerance)
    if not result.passed:
        details = "; rows whose class ids differ: {}".format(result.disagreeing_rows) if result.disagreeing_rows else ""
        raise AssertionError(str(result) + details)
    return result


def by_name(predict_named, names):
    """A matrix predictor from one fed by name: column ``i`` of the rows becomes input ``names[i]``."""
    return lambda rows: predict_named({name: rows[:, i] for i, name in enumerate(names)})
