"""Concurrent clients are all served correctly, and a new version is swapped in under load without a failed request."""
import collections
import json
import os
import shutil
import threading
import time

import grpc
import numpy as np
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import server_harness
from server_harness import make_base


def _rest_predict(session, url, values):
    response = session.post(url, data=json.dumps({"instances": values}), timeout=30)
    assert response.status_code == 200, response.text
    return json.loads(response.text)["predictions"]


def _grpc_predict(stub, model, values):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(values, np.float32)))
    return tf.make_ndarray(stub.Predict(request, 30.0).outputs["y"]).tolist()


def test_concurrent_clients_get_correct_results(server):
    errors, done = [], collections.Counter()
    url = server.url("/v1/models/half_plus_two:predict")

    def client(number):
        session = requests.Session()
        channel = grpc.insecure_channel(server.grpc_target)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            for request in range(40):
                values = [float(number), float(request), float(number * 100 + request)]
                expected = [0.5 * value + 2.0 for value in values]
                result = _rest_predict(session, url, values) if request % 2 else _grpc_predict(
                    stub, "half_plus_two", values)
                if result != expected:
                    errors.append((number, request, result, expected))
                done[number] += 1
        except Exception as error:  # pylint: disable=broad-except
            errors.append((number, repr(error)))
        finally:
            session.close()
            channel.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(done.values()) == 8 * 40


def _status(session, server, model):
    response = session.get(server.url("/v1/models/%s" % model), timeout=10)
    return [(entry["version"], entry["state"]) for entry in json.loads(response.text)["model_version_status"]]


def test_new_version_is_swapped_in_under_load_without_failed_requests(saved_models, tmp_path):
    base = make_base(str(tmp_path / "models" / "half"), {"1": saved_models.half_plus_two})
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--file_system_poll_wait_seconds=1"],
        "half", str(tmp_path / "server.log"))
    stop, failures, answers = threading.Event(), [], collections.Counter()

    def hammer(use_grpc):
        session = requests.Session()
        channel = grpc.insecure_channel(server.grpc_target)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        while not stop.is_set():
            try:
                if use_grpc:
                    answers[_grpc_predict(stub, "half", [1.0])[0]] += 1
                else:
                    answers[_rest_predict(session, server.url("/v1/models/half:predict"), [1.0])[0]] += 1
            except Exception as error:  # pylint: disable=broad-except
                failures.append(repr(error))
        session.close()
        channel.close()

    threads = [threading.Thread(target=hammer, args=(number == 0,)) for number in range(4)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        incoming = os.path.join(base, ".incoming-2")  # not numeric: ignored until renamed
        shutil.copytree(saved_models.half_plus_three, incoming)
        os.rename(incoming, os.path.join(base, "2"))
        session = requests.Session()
        deadline = time.time() + 60
        while _status(session, server, "half") != [("2", "AVAILABLE"), ("1", "END")]:
            assert time.time() < deadline, server.log()
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.stop()
    assert failures == []
    assert answers[2.5] > 0 and answers[3.5] > 0  # version 1 (0.5x + 2), then version 2 (0.5x + 3)
    assert set(answers) == {2.5, 3.5}
    log = server.log()
    assert log.index("Successfully loaded servable version {name: half version: 2}") < log.index(
        "Unloading servable version {name: half version: 1}")
