import numpy as np
import pytest

from iriscourse import agreement

ROWS = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]], dtype=np.float32)


def softmax_of_first_three(rows):
    exp = np.exp(rows[:, :3])
    return exp / exp.sum(axis=1, keepdims=True)


def test_identical_predictors_pass_with_zero_difference():
    result = agreement.compare(softmax_of_first_three, softmax_of_first_three, ROWS)
    assert result == agreement.Agreement(3, [], 0.0, agreement.TOLERANCE)
    assert result.passed
    assert str(result).endswith("PASS") and str(result).startswith("3 rows: 0 class ids differ")


def test_a_difference_within_the_tolerance_passes_and_one_beyond_it_fails():
    nudged = lambda rows: softmax_of_first_three(rows) + 5e-7
    assert agreement.compare(softmax_of_first_three, nudged, ROWS).passed
    result = agreement.compare(softmax_of_first_three, nudged, ROWS, tolerance=1e-7)
    assert not result.passed and result.disagreeing_rows == []
    assert result.max_abs_diff == pytest.approx(5e-7, rel=0.05)
    assert str(result).endswith("FAIL")


def test_a_wrong_predictor_fails_the_assertion_naming_the_rows_that_disagree():
    swapped = lambda rows: softmax_of_first_three(rows)[:, [1, 0, 2]]
    with pytest.raises(AssertionError, match=r"rows whose class ids differ: \[0, 1\]"):
        agreement.assert_agree(softmax_of_first_three, swapped, ROWS)


def test_assert_agree_returns_the_agreement_when_it_passes():
    assert agreement.assert_agree(softmax_of_first_three, softmax_of_first_three, ROWS).rows == 3


def test_outputs_of_different_shapes_are_an_error_not_a_verdict():
    with pytest.raises(ValueError, match="different shapes"):
        agreement.compare(softmax_of_first_three, lambda rows: softmax_of_first_three(rows)[:, :2], ROWS)


def test_by_name_feeds_each_column_under_its_name():
    seen = {}

    def named(feed):
        seen.update(feed)
        return softmax_of_first_three(np.stack([feed["a"], feed["b"], feed["c"], feed["d"]], axis=1))

    result = agreement.compare(softmax_of_first_three, agreement.by_name(named, ["a", "b", "c", "d"]), ROWS)
    assert result.passed and result.max_abs_diff == 0.0
    assert seen["b"].tolist() == [0.0, 1.0, 0.0]
