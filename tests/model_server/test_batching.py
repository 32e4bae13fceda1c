"""Request batching (--enable_batching): parameters, the shared scheduler, batched runs, and the served behaviour."""
import json
import queue
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import server_harness
from server_harness import make_base
from iriscourse.model_server import batching, errors, servable


def _parameters(text):
    return text_format.Parse(text, batching.BatchingParameters())


def _signature(inputs, outputs):
    signature = meta_graph_pb2.SignatureDef(method_name="tensorflow/serving/predict")
    for name in inputs:
        signature.inputs[name].name = name
    for name in outputs:
        signature.outputs[name].name = name
    return signature


class _Model(object):
    """A stand-in for a servable's graph run: y = 2 * x and rows = x's 0th dimension; records every batch."""

    def __init__(self, hold=False):
        self.batches, self.timeouts = [], []
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.started = threading.Event()

    def __call__(self, feeds, fetches, timeout_ms):
        self.batches.append({name: array.copy() for name, array in feeds.items()})
        self.timeouts.append(timeout_ms)
        self.started.set()
        self.release.wait()
        values = {"y": feeds["x"] * 2, "rows": np.int64(len(feeds["x"])), "first": feeds["x"][:1]}
        return [values[name] for name in fetches]


@pytest.fixture
def batcher():
    """make(parameters text, model) -> a BatchingSession with signature x -> y; schedulers closed afterwards."""
    schedulers = []

    def make(text, model, signatures=(_signature(["x"], ["y"]),)):
        scheduler = batching.SharedBatchScheduler(_parameters(text))
        schedulers.append(scheduler)
        return batching.BatchingSession(scheduler, signatures, model)
    yield make
    for scheduler in schedulers:
        scheduler.close()


def _in_threads(calls):
    """Run each call in its own thread; returns their results (or ServingErrors) in order."""
    results = [None] * len(calls)

    def run(index):
        try:
            results[index] = calls[index]()
        except errors.ServingError as error:
            results[index] = error
    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _rows(first, count):
    return np.arange(first, first + count, dtype=np.float32).reshape(count, 1)


# ------------------------------------------------------------------ parameters


def test_parameters_file_reads_tf_servings_text_format(tmp_path):
    path = tmp_path / "batching.config"
    path.write_text("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 5000 }\n"
                    "max_enqueued_batches { value: 3 }\nnum_batch_threads { value: 2 }\n"
                    'thread_pool_name { value: "pool" }\nallowed_batch_sizes: 4\nallowed_batch_sizes: 8\n'
                    "pad_variable_length_inputs: true\nenable_large_batch_splitting { value: true }\n"
                    "max_execution_batch_size { value: 4 }\n")
    parameters = batching.read_parameters(str(path))
    assert (parameters.max_batch_size.value, parameters.batch_timeout_micros.value,
            parameters.max_enqueued_batches.value, parameters.num_batch_threads.value,
            parameters.thread_pool_name.value, list(parameters.allowed_batch_sizes),
            parameters.pad_variable_length_inputs, parameters.enable_large_batch_splitting.value,
            parameters.max_execution_batch_size.value) == (8, 5000, 3, 2, "pool", [4, 8], True, True, 4)
    numbers = {field.name: field.number for field in batching.BatchingParameters.DESCRIPTOR.fields}
    assert numbers == {"max_batch_size": 1, "batch_timeout_micros": 2, "max_enqueued_batches": 3,
                       "num_batch_threads": 4, "thread_pool_name": 5, "allowed_batch_sizes": 6,
                       "pad_variable_length_inputs": 7, "enable_large_batch_splitting": 8,
                       "max_execution_batch_size": 9}


def test_unparsable_or_missing_parameters_file_is_reported(tmp_path):
    path = tmp_path / "batching.config"
    path.write_text("max_batch_size: 8\n")  # a wrapper field needs { value: 8 }
    with pytest.raises(errors.ServingError) as failure:
        batching.read_parameters(str(path))
    assert (failure.value.code, failure.value.message) == (errors.INVALID_ARGUMENT,
                                                           "Invalid protobuf file: '%s'" % path)
    with pytest.raises(errors.ServingError) as failure:
        batching.read_parameters(str(tmp_path / "missing"))
    assert failure.value.code == errors.NOT_FOUND
    assert failure.value.message == "%s; No such file or directory" % (tmp_path / "missing")


def test_flag_without_file_uses_the_defaults():
    parameters = batching.default_parameters()
    assert parameters.thread_pool_name.value == "model_server_batch_threads"
    assert batching.queue_options(parameters) == batching.QueueOptions(1000, 0.0, 10, 1000, False)


@pytest.mark.parametrize("text, message", [
    ("allowed_batch_sizes: 2 allowed_batch_sizes: 8",
     "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 8; expected 1000"),
    ("max_batch_size { value: 4 } allowed_batch_sizes: 2",
     "Last entry in allowed_batch_sizes must match max_batch_size; last entry was 2; expected 4"),
    ("max_batch_size { value: 0 }", "input_batch_size_limit must be positive; was 0"),
    ("batch_timeout_micros { value: -1 }", "batch_timeout_micros must be non-negative; was -1"),
    ("max_enqueued_batches { value: 0 } enable_large_batch_splitting { value: true }",
     "max_enqueued_batches must be positive; was 0"),
    ("max_batch_size { value: 4 } enable_large_batch_splitting { value: true } max_execution_batch_size { value: 8 }",
     "When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal to "
     "max_execution_batch_size.148"),
])
def test_parameters_a_version_load_rejects(text, message):
    with pytest.raises(errors.ServingError) as failure:
        batching.queue_options(_parameters(text))
    assert (failure.value.code, failure.value.message) == (errors.INVALID_ARGUMENT, message)


def test_zero_max_enqueued_batches_means_one_without_splitting():
    assert batching.queue_options(_parameters("max_enqueued_batches { value: 0 }")).max_enqueued_batches == 1


def test_scheduler_needs_a_positive_thread_count():
    with pytest.raises(errors.ServingError) as failure:
        batching.SharedBatchScheduler(_parameters("num_batch_threads { value: 0 }"))
    assert (failure.value.code, failure.value.message) == (errors.INVALID_ARGUMENT,
                                                           "num_batch_threads must be positive; was 0")


# ------------------------------------------------------------------ scheduling


def test_concurrent_calls_each_get_exactly_their_own_rows(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 8 } batch_timeout_micros { value: 2000 } "
                      "num_batch_threads { value: 2 }", model)
    calls = [lambda first=100 * number, count=1 + number % 3: (first, count,
                                                              session.run({"x": _rows(first, count)}, ["y"]))
             for number in range(64)]
    for first, count, outputs in _in_threads(calls):
        np.testing.assert_array_equal(outputs[0], _rows(first, count) * 2)
    assert sum(len(batch["x"]) for batch in model.batches) == sum(1 + number % 3 for number in range(64))
    assert len(model.batches) < 64 and max(len(batch["x"]) for batch in model.batches) <= 8


def test_batch_runs_as_soon_as_it_is_full(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 30000000 }", model)
    began = time.monotonic()
    results = _in_threads([lambda: session.run({"x": _rows(1, 1)}, ["y"]),
                           lambda: session.run({"x": _rows(5, 1)}, ["y"])])
    assert time.monotonic() - began < 20  # far below the 30 s batch timeout
    assert [result[0].tolist() for result in results] == [[[2.0]], [[10.0]]]
    assert [len(batch["x"]) for batch in model.batches] == [2]


def test_lone_call_waits_for_the_batch_timeout(batcher):
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 300000 }", _Model())
    began = time.monotonic()
    assert session.run({"x": _rows(1, 1)}, ["y"])[0].tolist() == [[2.0]]
    assert time.monotonic() - began >= 0.3


def test_batches_are_padded_to_the_next_allowed_size_with_a_row_of_the_last_task(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 8 } allowed_batch_sizes: [2, 4, 8]", model)
    assert session.run({"x": _rows(7, 3)}, ["y"])[0].tolist() == [[14.0], [16.0], [18.0]]
    assert model.batches[0]["x"].ravel().tolist() == [7.0, 8.0, 9.0, 7.0]


def _two_tasks(session, first, second):
    return _in_threads([lambda: session.run({"x": first}, ["y"]), lambda: session.run({"x": second}, ["y"])])


def test_variable_length_inputs_are_padded_with_their_first_value(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 30000000 } "
                      "pad_variable_length_inputs: true", model)
    short, long = np.array([[5.0, 6.0]], np.float32), np.array([[1.0, 2.0, 3.0]], np.float32)
    results = _two_tasks(session, short, long)
    assert results[0][0].tolist() == [[10.0, 12.0, 10.0]] and results[1][0].tolist() == [[2.0, 4.0, 6.0]]
    assert model.batches[0]["x"].shape == (2, 3)


def test_differing_shapes_without_padding_fail_every_task(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 30000000 }", model)
    results = _two_tasks(session, np.zeros((1, 2), np.float32), np.zeros((1, 3), np.float32))
    for result in results:
        assert result.code == errors.FAILED_PRECONDITION
        assert result.message == (
            "Tensors with name 'x' from different tasks have different shapes and padding is turned off. Set "
            "pad_variable_length_inputs to true, or ensure that all tensors with the same name have equal "
            "dimensions starting with the first dim.")
    assert model.batches == []


def test_padding_rows_come_from_a_task_that_has_rows(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 4 } allowed_batch_sizes: 4 batch_timeout_micros { value: 200000 }",
                      model)
    results = _two_tasks(session, _rows(3, 2), np.zeros((0, 1), np.float32))
    assert results[0][0].ravel().tolist() == [6.0, 8.0] and results[1][0].shape == (0, 1)
    assert [3.0, 4.0, 3.0, 3.0] in [batch["x"].ravel().tolist() for batch in model.batches]


@pytest.mark.parametrize("first, second, code, message", [
    (np.zeros((1, 0), np.float32), np.zeros((1, 2), np.float32), errors.INVALID_ARGUMENT,
     "Got empty tensor in batch of non-empty tensors."),
    (np.zeros((1, 1, 1, 1, 1, 1, 1), np.float32), np.zeros((1, 1, 1, 1, 1, 1, 1), np.float32),
     errors.INVALID_ARGUMENT, "Only tensors with rank from 1 to 6 can be padded."),
    (np.zeros((1, 2), np.float32), np.zeros((1, 2, 1), np.float32), errors.INTERNAL,
     "Tensor concat operation failed: "),
])
def test_inputs_that_cannot_be_padded_fail_the_batch(batcher, first, second, code, message):
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 30000000 } "
                      "pad_variable_length_inputs: true", _Model())
    for result in _two_tasks(session, first, second):
        assert result.code == code and result.message.startswith(message)


def test_task_larger_than_max_batch_size_is_rejected(batcher):
    session = batcher("max_batch_size { value: 2 }", _Model())
    with pytest.raises(errors.ServingError) as failure:
        session.run({"x": _rows(0, 5)}, ["y"])
    assert (failure.value.code, failure.value.message) == (
        errors.INVALID_ARGUMENT, "Task size 5 is larger than maximum input batch size 2")


@pytest.mark.parametrize("feeds, message", [
    ({"x": np.float32(1.0)}, "Batching Run() input tensors must have at least one dimension"),
    ({"x": _rows(0, 2), "z": _rows(0, 3)}, "Batching Run() input tensors must have equal 0th-dimension size"),
    ({}, "Batching Run() must have at least one input tensor"),
])
def test_inputs_must_share_a_batch_dimension(batcher, feeds, message):
    session = batcher("", _Model())
    with pytest.raises(errors.ServingError) as failure:
        session.run(feeds, ["y"])
    assert (failure.value.code, failure.value.message) == (errors.INVALID_ARGUMENT, message)


def test_full_queue_turns_tasks_away(batcher):
    model = _Model(hold=True)
    session = batcher("max_batch_size { value: 1 } max_enqueued_batches { value: 1 } num_batch_threads { value: 1 }",
                      model)
    running = threading.Thread(target=session.run, args=({"x": _rows(0, 1)}, ["y"]))
    running.start()
    assert model.started.wait(30)
    outcomes = queue.Queue()

    def call(first):
        try:
            outcomes.put(session.run({"x": _rows(first, 1)}, ["y"])[0].tolist())
        except errors.ServingError as error:
            outcomes.put((error.code, error.message))
    # While the only thread is busy the queue holds one batch of one task: of two more calls, one waits in it
    # and the other is turned away at once.
    callers = [threading.Thread(target=call, args=(first,)) for first in (1, 2)]
    for caller in callers:
        caller.start()
    try:
        turned_away = outcomes.get(timeout=30)
    finally:
        model.release.set()
        for thread in [running] + callers:
            thread.join(30)
    assert turned_away == (errors.UNAVAILABLE, "The batch scheduling queue to which this task was submitted is "
                                               "full; currently 1 batches enqueued and max_enqueued_batches is 1")
    assert outcomes.get(timeout=30) in ([[2.0]], [[4.0]])


def test_tasks_whose_deadline_passes_in_the_queue_are_not_run(batcher):
    model = _Model()
    session = batcher("batch_timeout_micros { value: 300000 }", model)
    with pytest.raises(errors.ServingError) as failure:
        session.run({"x": _rows(0, 1)}, ["y"], timeout_ms=50)
    assert (failure.value.code, failure.value.message) == (errors.RESOURCE_EXHAUSTED,
                                                           "Run() timeout exceeded while waiting in batching queue")
    assert model.batches == []


def test_batch_run_gets_the_time_its_latest_task_has_left(batcher):
    model = _Model()
    session = batcher("", model)
    session.run({"x": _rows(0, 1)}, ["y"], timeout_ms=30000)
    session.run({"x": _rows(0, 1)}, ["y"])
    assert model.timeouts == [32768, 0]  # rounded up to a power of two ms; no deadline, no timeout


@pytest.mark.parametrize("fetch, message", [
    ("rows", "Batched output tensor has 0 dimensions"),
    ("first", "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of the "
              "input tensors")])
def test_outputs_without_the_batch_dimension_fail(batcher, fetch, message):
    session = batcher("", _Model(), signatures=(_signature(["x"], [fetch]),))
    with pytest.raises(errors.ServingError) as failure:
        session.run({"x": _rows(0, 2)}, [fetch])
    assert (failure.value.code, failure.value.message) == (errors.FAILED_PRECONDITION, message)


def test_large_tasks_are_split_across_batches_when_splitting_is_on(batcher):
    model = _Model()
    session = batcher("max_batch_size { value: 8 } enable_large_batch_splitting { value: true } "
                      "max_execution_batch_size { value: 2 }", model)
    assert session.run({"x": _rows(1, 5)}, ["y"])[0].ravel().tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]
    assert sorted(len(batch["x"]) for batch in model.batches) == [1, 2, 2]


def test_split_task_needs_room_in_the_whole_queue(batcher):
    session = batcher("max_batch_size { value: 8 } enable_large_batch_splitting { value: true } "
                      "max_execution_batch_size { value: 2 } max_enqueued_batches { value: 1 }", _Model())
    with pytest.raises(errors.ServingError) as failure:
        session.run({"x": _rows(1, 5)}, ["y"])
    assert (failure.value.code, failure.value.message) == (errors.UNAVAILABLE, (
        "The batch scheduling queue to which this task was submitted is full; task size is 5 but scheduling "
        "capacity is only 2 (num_enqueued_batches=1, max_enqueued_batches=1, open_batch_size=0, "
        "max_execution_batch_size=2)"))


def test_a_failed_batch_run_fails_each_of_its_tasks(batcher):
    def failing(feeds, fetches, timeout_ms):
        raise errors.ServingError(errors.INTERNAL, "broken graph")
    session = batcher("max_batch_size { value: 2 } batch_timeout_micros { value: 30000000 }", failing)
    results = _two_tasks(session, _rows(0, 1), _rows(1, 1))
    assert [(result.code, result.message) for result in results] == [(errors.INTERNAL, "broken graph")] * 2


# ------------------------------------------------------------------ servables


@pytest.fixture
def batching_scheduler():
    scheduler = batching.SharedBatchScheduler(_parameters(
        "max_batch_size { value: 4 } batch_timeout_micros { value: 1000 } num_batch_threads { value: 2 }"))
    yield scheduler
    scheduler.close()


def test_servable_runs_go_through_the_batcher(saved_models, batching_scheduler):
    half_plus_two = servable.Servable("half", 1, saved_models.half_plus_two, ["serve"], batching=batching_scheduler)
    try:
        calls = [lambda value=float(value): half_plus_two.run({"x:0": np.array([[value]], np.float32)}, ["y:0"])
                 for value in range(16)]
        assert [result[0].tolist() for result in _in_threads(calls)] == [[[0.5 * v + 2]] for v in range(16)]
        with pytest.raises(errors.ServingError) as failure:  # more rows than max_batch_size: the batcher saw it
            half_plus_two.run({"x:0": np.zeros((5, 1), np.float32)}, ["y:0"])
        assert failure.value.message == "Task size 5 is larger than maximum input batch size 4"
        # Feeds and fetches of no signature (an output_filter, say) are batched in a queue of their own, as in 2.6+.
        with pytest.raises(errors.ServingError) as failure:
            half_plus_two.run({"x:0": np.zeros((5, 1), np.float32)}, ["y:0", "y2:0"])
        assert failure.value.message == "Task size 5 is larger than maximum input batch size 4"
        assert half_plus_two.run({"x:0": np.ones((2, 1), np.float32)}, ["y2:0", "y:0"])[0].tolist() == [[3.5]] * 2
    finally:
        half_plus_two.close()
    with pytest.raises(errors.ServingError):  # after close, a late call fails instead of hanging
        half_plus_two.run({"x:0": np.ones((1, 1), np.float32)}, ["y:0"])


def test_output_without_batch_dimension_fails_only_with_batching(saved_models, batching_scheduler):
    feeds = {"x:0": np.ones((2, 1), np.float32)}
    plain = servable.Servable("half", 1, saved_models.half_plus_two, ["serve"])
    batched = servable.Servable("half", 1, saved_models.half_plus_two, ["serve"], batching=batching_scheduler)
    try:
        assert plain.run(feeds, ["total:0"])[0].tolist() == 2.0
        with pytest.raises(errors.ServingError) as failure:
            batched.run(feeds, ["total:0"])
        assert failure.value.message == "Batched output tensor has 0 dimensions"
    finally:
        plain.close()
        batched.close()


def test_servable_load_fails_on_parameters_its_queues_reject(saved_models):
    scheduler = batching.SharedBatchScheduler(_parameters("max_batch_size { value: 4 } allowed_batch_sizes: 8"))
    try:
        with pytest.raises(errors.ServingError) as failure:
            servable.Servable("half", 1, saved_models.half_plus_two, ["serve"], batching=scheduler)
        assert failure.value.message == ("Last entry in allowed_batch_sizes must match max_batch_size; last entry "
                                         "was 8; expected 4")
    finally:
        scheduler.close()


# ------------------------------------------------------------------ the server


@pytest.fixture(scope="module")
def batching_server(saved_models, tmp_path_factory):
    """A server on half_plus_two with max_batch_size 2, a 3 s batch timeout and a 1 s REST timeout."""
    root = tmp_path_factory.mktemp("batching_server")
    parameters = root / "batching.config"
    parameters.write_text("max_batch_size { value: 2 }\nbatch_timeout_micros { value: 3000000 }\n"
                          "num_batch_threads { value: 2 }\n")
    base = make_base(str(root / "half"), {"1": saved_models.half_plus_two})
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--enable_batching",
         "--batching_parameters_file=%s" % parameters, "--rest_api_timeout_in_ms=1000"],
        "half", str(root / "server.log"))
    yield server
    server.stop()


def _grpc_predict(server, rows, signature="serving_default", timeout=30):
    channel = grpc.insecure_channel(server.grpc_target)
    try:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "half"
        request.model_spec.signature_name = signature
        request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array(rows, np.float32).reshape(-1, 1)))
        response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout)
        return tf.make_ndarray(next(iter(response.outputs.values()))).ravel().tolist()
    finally:
        channel.close()


def test_served_task_larger_than_max_batch_size_is_a_400(batching_server):
    response = requests.post(batching_server.url("/v1/models/half:predict"),
                             data=json.dumps({"instances": [[1.0]] * 5}), timeout=30)
    assert (response.status_code, response.json()) == (
        400, {"error": "Task size 5 is larger than maximum input batch size 2"})
    with pytest.raises(grpc.RpcError) as failure:
        _grpc_predict(batching_server, [1.0] * 5)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.value.details() == "Task size 5 is larger than maximum input batch size 2"
    assert "Wrapping session to perform batch processing" in batching_server.log()


def test_served_concurrent_requests_share_a_batch_and_a_lone_one_waits(batching_server):
    began = time.monotonic()
    results = _in_threads([lambda: _grpc_predict(batching_server, [1.0]),
                           lambda: _grpc_predict(batching_server, [3.0])])
    paired = time.monotonic() - began
    assert sorted(results) == [[2.5], [3.5]]
    began = time.monotonic()
    assert _grpc_predict(batching_server, [5.0]) == [4.5]
    alone = time.monotonic() - began
    assert alone >= 3.0 and paired < 2.5, (paired, alone)


def test_served_request_whose_rest_timeout_passes_in_the_queue_is_a_429(batching_server):
    response = requests.post(batching_server.url("/v1/models/half:predict"),
                             data=json.dumps({"instances": [[1.0]]}), timeout=30)
    assert (response.status_code, response.json()) == (
        429, {"error": "Run() timeout exceeded while waiting in batching queue"})


def test_served_output_without_batch_dimension_fails(batching_server):
    body = json.dumps({"signature_name": "scalar_output", "inputs": [[1.0], [2.0]]})
    response = requests.post(batching_server.url("/v1/models/half:predict"), data=body, timeout=30)
    assert (response.status_code, response.json()) == (400, {"error": "Batched output tensor has 0 dimensions"})


def _start_failure(saved_models, tmp_path, parameters_text, extra=()):
    parameters = tmp_path / "batching.config"
    parameters.write_text(parameters_text)
    base = make_base(str(tmp_path / "half"), {"1": saved_models.half_plus_two})
    grpc_port, = server_harness.free_ports(1)
    finished = server_harness.run_server(
        ["--port=%d" % grpc_port, "--model_name=half", "--model_base_path=%s" % base, "--enable_batching",
         "--batching_parameters_file=%s" % parameters, "--max_num_load_retries=0"] + list(extra), timeout=120)
    return finished.returncode, finished.stdout.decode(), finished.stderr.decode(), parameters


def test_unparsable_parameters_file_stops_the_server(saved_models, tmp_path):
    code, out, _, path = _start_failure(saved_models, tmp_path, "max_batch_size: 2\n")
    assert (code, out) == (255, "Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '%s'\n"
                           % path)


def test_zero_batch_threads_stop_the_server(saved_models, tmp_path):
    code, out, _, _ = _start_failure(saved_models, tmp_path, "num_batch_threads { value: 0 }\n")
    assert (code, out) == (255, "Failed to start server. Error: INVALID_ARGUMENT: num_batch_threads must be "
                                "positive; was 0\n")


def test_parameters_a_load_rejects_fail_the_version(saved_models, tmp_path):
    code, out, err, _ = _start_failure(saved_models, tmp_path, "max_batch_size { value: 4 }\nallowed_batch_sizes: 8\n")
    assert code == 255 and out.startswith("Failed to start server. Error: ")
    assert ("Loading servable: {name: half version: 1} failed: INVALID_ARGUMENT: Last entry in allowed_batch_sizes "
            "must match max_batch_size; last entry was 8; expected 4") in err


def test_parameters_file_without_enable_batching_is_refused(tmp_path):
    finished = server_harness.run_server(["--model_base_path=%s" % tmp_path,
                                          "--batching_parameters_file=%s" % (tmp_path / "batching.config")])
    assert finished.returncode == 255
    assert finished.stdout.decode() == (
        "Failed to start server. Error: INVALID_ARGUMENT: server_options.batching_parameters_file is set without "
        "setting server_options.enable_batching to true.\n")
