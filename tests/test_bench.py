import threading
import time

import numpy as np
import pandas as pd
import pytest

from iriscourse import bench, export, serving


def test_time_calls_times_each_call_after_warmup():
    calls = []
    seconds = bench.time_calls(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and len(seconds) == 5 and (seconds >= 0).all()


def test_summarize_reports_percentiles_in_ms_and_rate():
    summary = bench.summarize(np.array([0.001] * 99 + [0.101]))
    assert summary["p50_ms"] == pytest.approx(1.0)
    assert summary["p99_ms"] == pytest.approx(2.0, rel=1e-6)
    assert summary["calls_per_s"] == pytest.approx(100 / 0.2)


def test_latency_table_gives_ratios_to_the_first_path_of_each_batch():
    table = bench.latency_table({"fast": lambda columns: None, "slow": lambda columns: time.sleep(0.002)},
                                {1: {}, 30: {}}, repeats=5)
    assert table.loc[(1, "fast"), "ratio_p50"] == 1.0 and table.loc[(30, "fast"), "ratio_p50"] == 1.0
    assert table.loc[(1, "slow"), "ratio_p50"] > 1.0


def test_verdicts_judge_each_served_row_against_its_api_target():
    table = pd.DataFrame(
        {"ratio_p50": [1.0, 2.5, 3.5, 4.0, 6.0, 9.0]},
        index=pd.MultiIndex.from_tuples([(1, "in-process session.run"), (1, "gRPC"), (1, "gRPC, lean"),
                                         (1, "REST"), (1, "REST, lean"), (30, "REST")], names=["batch", "path"]))
    assert bench.verdicts(table) == [
        "gRPC: p50 at batch 1 is 2.50x in-process, meets the target of 3x",
        "gRPC, lean: p50 at batch 1 is 3.50x in-process, misses the target of 3x",
        "REST: p50 at batch 1 is 4.00x in-process, meets the target of 5x",
        "REST, lean: p50 at batch 1 is 6.00x in-process, misses the target of 5x",
    ]


@pytest.fixture(scope="module")
def served(module_build_dir):
    """The raw export and a server on it, for the benchmark's clients."""
    export_dir = export.ensure_export("raw")
    with serving.start("bench-test", model_name=bench.MODEL, model_base_path=export_dir.parent) as server:
        yield export_dir, server


def test_every_client_predicts_what_session_run_predicts(served):
    export_dir, server = served
    expected = bench.in_process(export_dir)
    clients = {"gRPC": bench.over_grpc(server.grpc_target),
               "gRPC, tensor_content": bench.over_grpc_tensor_content(server.grpc_target),
               "REST": bench.over_rest(server.rest_url),
               "REST, http.client": bench.over_rest_http_client(server.rest_url)}
    for size, columns in bench.test_batches((1, 30)).items():
        wanted = expected(columns)
        assert wanted.shape == (size, 1)
        for name, predict in clients.items():
            np.testing.assert_array_equal(predict(columns), wanted, err_msg=name)


def test_floor_calls_are_status_round_trips(served):
    _, server = served
    grpc_status = bench.grpc_status_call(server.grpc_target)(None)
    assert [entry.state for entry in grpc_status.model_version_status] == [30]  # AVAILABLE
    rest_status = bench.rest_status_call(server.rest_url)(None)
    assert rest_status["model_version_status"][0]["state"] == "AVAILABLE"


def test_load_test_counts_failed_requests():
    calls = iter(range(100))

    def flaky(columns):
        if next(calls) % 10 == 0:
            raise RuntimeError("lost")
    result = bench.load_test(flaky, {}, total=100, concurrency=4)
    assert (result["requests"], result["errors"]) == (100, 10)


def test_load_test_reports_latency_percentiles():
    result = bench.load_test(lambda columns: time.sleep(0.002), {}, total=20, concurrency=2)
    assert 2.0 <= result["p50_ms"] <= result["p99_ms"] and result["requests_per_s"] > 0


def test_per_thread_gives_each_thread_its_own_client():
    made = []

    def make():
        made.append(threading.get_ident())
        return lambda columns: made[-1]
    predict = bench.per_thread(make)
    threads = [threading.Thread(target=lambda: [predict({}) for _ in range(3)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 4


def test_batching_table_gives_ratios_with_batching_to_without():
    table = bench.batching_table({"REST": lambda columns: time.sleep(0.004)}, {"REST": lambda columns: None}, {},
                                 total=20, concurrencies=(2, 4))
    assert list(table.index) == [("REST", 2), ("REST", 4)]
    assert (table["throughput_ratio"] > 1).all() and (table["p50_ratio"] < 1).all() and (table["errors"] == 0).all()
