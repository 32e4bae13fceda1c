"""Latency measurements, reported as percentiles and as ratios measured in one run."""
import time

import numpy as np


def time_calls(call, repeats=200, warmup=20):
    """Seconds taken by each of ``repeats`` calls of ``call()``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    seconds = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        call()
        seconds[i] = time.perf_counter() - start
    return seconds


def summarize(seconds):
    """p50 and p99 latency in milliseconds, and calls per second, of a run of timings."""
    return {
        "p50_ms": float(np.percentile(seconds, 50) * 1e3),
        "p99_ms": float(np.percentile(seconds, 99) * 1e3),
        "calls_per_s": float(len(seconds) / seconds.sum()),
    }
