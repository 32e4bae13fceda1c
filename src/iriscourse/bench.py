"""Latency and throughput of the served Iris model against in-process ``session.run``.

All figures come from one run on one machine and are reported as ratios to the
in-process baseline measured in that same run:

    python -m iriscourse.bench [--repeats 500] [--requests 10000] [--concurrency 8] [--batching-requests 4000]

Each API is measured with two clients: the one the notebooks teach (gRPC with
``tf.make_tensor_proto``, REST with ``requests``) and a lean one (a TensorProto
built from the array's bytes; one keep-alive ``http.client`` connection), so
that client-side cost and server-side cost can be told apart. The round trip of
a status request (a handler that does almost nothing) shows the transport floor.

The batching rows load-test batch-1 predict requests at concurrency 8 and 32
against the same export served twice in one run, without and with
``--enable_batching`` (``BATCHING_PARAMETERS``), each client thread on its own
connection, and give throughput and p50/p99 latency with batching as ratios to
without.
"""
import argparse
import concurrent.futures
import http.client
import json
import threading
import time
from urllib.parse import urlsplit

import grpc
import numpy as np
import pandas as pd
import requests
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
from tensorflow_serving.apis import (get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc)

from . import data, paths

MODEL = "raw_export_model"
# Batches of up to 32 requests, closed 2 ms after their first request; one batch thread per core (2 here).
BATCHING_PARAMETERS = ("max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\n"
                       "max_enqueued_batches { value: 100 }\nnum_batch_threads { value: 2 }\n")
BATCHING_CONCURRENCY = (8, 32)
TARGETS = {"gRPC": 3.0, "REST": 5.0}  # p50 at batch 1, as a multiple of in-process session.run


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


def test_batches(sizes=(1, 30)):
    """The first ``n`` test rows as ``{feature: float32 array}``, for each batch size ``n``."""
    _, (test_x, _) = data.load_data()
    return {n: {name: test_x[name].values[:n].astype(np.float32) for name in data.FEATURE_NAMES} for n in sizes}


def in_process(export_dir):
    """``predict(columns) -> class ids``: the raw export loaded here and run with ``session.run``."""
    sess = tf.Session(graph=tf.Graph(), config=tf.ConfigProto(intra_op_parallelism_threads=1,
                                                              inter_op_parallelism_threads=1))
    signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def["serving_default"]
    inputs = {name: signature.inputs[name].name for name in data.FEATURE_NAMES}
    output = signature.outputs["class_ids"].name
    return lambda columns: sess.run(output, {inputs[name]: columns[name] for name in inputs})


def over_grpc(target, model=MODEL):
    """``predict(columns) -> class ids`` through ``PredictionService.Predict``."""
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))

    def predict(columns):
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model
        request.output_filter.append("class_ids")
        for name, values in columns.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(values))
        return tf.make_ndarray(stub.Predict(request, 10.0).outputs["class_ids"])
    return predict


def _tensor_content_proto(values):
    """A TensorProto holding the array's raw bytes in tensor_content (what make_tensor_proto does, minus checks)."""
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size)
                                                   for size in values.shape])
    return tensor_pb2.TensorProto(dtype=tf.as_dtype(values.dtype).as_datatype_enum, tensor_shape=shape,
                                  tensor_content=values.tobytes())


def _int64_array(proto):
    """The int64 tensor of a response TensorProto (typed int64_val, or tensor_content)."""
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if proto.tensor_content:
        return np.frombuffer(proto.tensor_content, np.int64).reshape(shape)
    return np.fromiter(proto.int64_val, np.int64, len(proto.int64_val)).reshape(shape)


def over_grpc_tensor_content(target, model=MODEL):
    """Like over_grpc, with a lean client: TensorProtos built from array bytes, the answer read with numpy."""
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(target))

    def predict(columns):
        request = predict_pb2.PredictRequest(
            model_spec={"name": model}, output_filter=["class_ids"],
            inputs={name: _tensor_content_proto(values) for name, values in columns.items()})
        return _int64_array(stub.Predict(request, 10.0).outputs["class_ids"])
    return predict


def grpc_status_call(target, model=MODEL):
    """``call(_) -> status``: a ModelService.GetModelStatus round trip, the gRPC transport floor."""
    stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(target))
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model
    return lambda _: stub.GetModelStatus(request, 10.0)


def over_rest(base_url, model=MODEL):
    """``predict(columns) -> class ids`` through ``POST /v1/models/<model>:predict`` (columnar)."""
    http = requests.Session()
    url = "{}/v1/models/{}:predict".format(base_url, model)

    def predict(columns):
        response = http.post(url, json={"inputs": {name: values.tolist() for name, values in columns.items()}})
        response.raise_for_status()
        return np.array(response.json()["outputs"]["class_ids"])
    return predict


def _keep_alive_request(base_url):
    """``send(method, path, body=None) -> parsed JSON`` over one keep-alive http.client connection."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)

    def send(method, path, body=None):
        connection.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = connection.getresponse()
        text = response.read()
        if response.status != 200:
            raise RuntimeError("HTTP {}: {}".format(response.status, text[:200]))
        return json.loads(text)
    return send


def over_rest_http_client(base_url, model=MODEL):
    """Like over_rest, with a lean client: the standard library's http.client on one keep-alive connection."""
    send = _keep_alive_request(base_url)
    path = "/v1/models/{}:predict".format(model)

    def predict(columns):
        body = json.dumps({"inputs": {name: values.tolist() for name, values in columns.items()}})
        return np.array(send("POST", path, body)["outputs"]["class_ids"])
    return predict


def rest_status_call(base_url, model=MODEL):
    """``call(_) -> status``: a ``GET /v1/models/<model>`` round trip with http.client, the REST floor."""
    send = _keep_alive_request(base_url)
    path = "/v1/models/{}".format(model)
    return lambda _: send("GET", path)


def latency_table(predictors, batches, repeats=300):
    """p50/p99/calls per second of each predictor at each batch size, with p50 ratios to the first."""
    rows = []
    for size, columns in batches.items():
        baseline = None
        for name, predict in predictors.items():
            stats = summarize(time_calls(lambda: predict(columns), repeats))
            baseline = baseline or stats["p50_ms"]
            rows.append(dict(path=name, batch=size, ratio_p50=stats["p50_ms"] / baseline, **stats))
    return pd.DataFrame(rows).set_index(["batch", "path"])


def load_test(predict, columns, total=10000, concurrency=8):
    """Send ``total`` requests from ``concurrency`` threads; return errors, seconds, requests/s and p50/p99 ms."""
    def one(_):
        began = time.perf_counter()
        try:
            predict(columns)
            return 0, time.perf_counter() - began
        except Exception:  # noqa: BLE001 - every failed request is counted, none may escape
            return 1, time.perf_counter() - began
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        outcomes = np.array(list(pool.map(one, range(total))))
    seconds = time.perf_counter() - start
    return {"requests": total, "errors": int(outcomes[:, 0].sum()), "seconds": seconds,
            "requests_per_s": total / seconds, "p50_ms": float(np.percentile(outcomes[:, 1], 50) * 1e3),
            "p99_ms": float(np.percentile(outcomes[:, 1], 99) * 1e3)}


def per_thread(make_predict):
    """``predict(columns)`` that gives each calling thread its own client, made by ``make_predict()``."""
    local = threading.local()

    def predict(columns):
        if not hasattr(local, "predict"):
            local.predict = make_predict()
        return local.predict(columns)
    return predict


def batching_table(without, with_batching, columns, total=4000, concurrencies=BATCHING_CONCURRENCY):
    """Load tests of each API at each concurrency, without and then with batching, and their ratios."""
    rows = []
    for api in without:
        for concurrency in concurrencies:
            off = load_test(without[api], columns, total, concurrency)
            on = load_test(with_batching[api], columns, total, concurrency)
            rows.append({"api": api, "concurrency": concurrency,
                         "req_per_s": off["requests_per_s"], "req_per_s_batching": on["requests_per_s"],
                         "throughput_ratio": on["requests_per_s"] / off["requests_per_s"],
                         "p50_ms": off["p50_ms"], "p50_ms_batching": on["p50_ms"],
                         "p50_ratio": on["p50_ms"] / off["p50_ms"],
                         "p99_ms": off["p99_ms"], "p99_ms_batching": on["p99_ms"],
                         "p99_ratio": on["p99_ms"] / off["p99_ms"], "errors": off["errors"] + on["errors"]})
    return pd.DataFrame(rows).set_index(["api", "concurrency"])


def measure_batching(server, export_dir, total):
    """batching_table of ``server`` against a second server on the same export with --enable_batching."""
    from . import serving

    parameters = paths.artifact("serving", "bench-batching", "batching.config")
    parameters.write_text(BATCHING_PARAMETERS)
    with serving.start("bench-batching", model_name=MODEL, model_base_path=export_dir.parent, grpc_port=8510,
                       rest_port=8511, extra_args=["--enable_batching",
                                                   "--batching_parameters_file={}".format(parameters)]) as batched:
        return batching_table(_batch_one_clients(server), _batch_one_clients(batched), test_batches((1,))[1], total)


def _batch_one_clients(server, model=MODEL):
    """REST (http.client) and gRPC (tensor_content) batch-1 predictors, one client per thread."""
    return {"REST": per_thread(lambda: over_rest_http_client(server.rest_url, model)),
            "gRPC": per_thread(lambda: over_grpc_tensor_content(server.grpc_target, model))}


def verdicts(table):
    """One line per served row at batch 1: its p50 ratio to in-process and whether it meets its API's target."""
    lines = []
    for path, ratio in table["ratio_p50"].loc[1].items():
        api = path.split(",")[0].split(" ")[0]
        if api in TARGETS:
            lines.append("{}: p50 at batch 1 is {:.2f}x in-process, {} the target of {:g}x".format(
                path, ratio, "meets" if ratio <= TARGETS[api] else "misses", TARGETS[api]))
    return lines


def main(argv=None):
    """Start a server on the raw export, measure in-process vs gRPC vs REST, then load-test both."""
    from . import export, serving, tflog

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=500, help="timed calls per path and batch size")
    parser.add_argument("--requests", type=int, default=10000, help="requests per load test")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads in the load tests")
    parser.add_argument("--batching-requests", type=int, default=4000,
                        help="requests per load test of the batching rows (0 skips them)")
    args = parser.parse_args(argv)
    tflog.quiet()
    export_dir = export.ensure_export("raw")
    with serving.start("bench", model_name=MODEL, model_base_path=export_dir.parent) as server:
        print("server:", server.kind, "| model:", export_dir)
        in_process_run = in_process(export_dir)
        predictors = {"in-process session.run": in_process_run,
                      "gRPC": over_grpc(server.grpc_target),
                      "gRPC, tensor_content client": over_grpc_tensor_content(server.grpc_target),
                      "REST": over_rest(server.rest_url),
                      "REST, http.client": over_rest_http_client(server.rest_url)}
        floors = {"in-process session.run": in_process_run,
                  "gRPC GetModelStatus (floor)": grpc_status_call(server.grpc_target),
                  "REST GET status, http.client (floor)": rest_status_call(server.rest_url)}
        table = latency_table(predictors, test_batches(), args.repeats)
        floor_table = latency_table(floors, test_batches((1,)), args.repeats)
        with pd.option_context("display.width", 160, "display.max_columns", None, "display.precision", 3):
            print(table)
            print(floor_table)
        batch_one = test_batches((1,))[1]
        loads = {name: load_test(predictors[name], batch_one, args.requests, args.concurrency)
                 for name in ("gRPC", "REST")}
        batching_rows = measure_batching(server, export_dir, args.batching_requests) if args.batching_requests \
            else None
    print(pd.DataFrame(loads).T.round(2))
    if batching_rows is not None:
        print("batch-1 predict without / with --enable_batching ({})".format(
            BATCHING_PARAMETERS.replace("\n", " ").strip()))
        with pd.option_context("display.width", 200, "display.max_columns", None, "display.precision", 2):
            print(batching_rows)
    for line in verdicts(table):
        print(line)
    for path, result in loads.items():
        print("{}: {} errors in {} requests at concurrency {}".format(
            path, result["errors"], result["requests"], args.concurrency))
    batching_errors = 0 if batching_rows is None else int(batching_rows["errors"].sum())
    return 0 if batching_errors == 0 and all(result["errors"] == 0 for result in loads.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
