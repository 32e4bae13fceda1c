import numpy as np
import pytest

from iriscourse import bench


def test_time_calls_times_each_call_after_warmup():
    calls = []
    seconds = bench.time_calls(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and len(seconds) == 5 and (seconds >= 0).all()


def test_summarize_reports_percentiles_in_ms_and_rate():
    summary = bench.summarize(np.array([0.001] * 99 + [0.101]))
    assert summary["p50_ms"] == pytest.approx(1.0)
    assert summary["p99_ms"] == pytest.approx(2.0, rel=1e-6)
    assert summary["calls_per_s"] == pytest.approx(100 / 0.2)
