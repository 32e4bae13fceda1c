"""Model warm-up as TF Serving 2.x does it: assets.extra/tf_serving_warmup_requests is replayed inside the load.

In-process tests drive the reader and the replay on a loaded half_plus_two; the
server tests write warm-up files the way users do (a TFRecordWriter of
PredictionLog protos) and watch the versions' states.
"""
import logging
import os
import shutil
import time
import types

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import (classification_pb2, get_model_status_pb2, inference_pb2,
                                     model_service_pb2_grpc, predict_pb2, prediction_log_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

import saved_model_builders as builders
import server_harness
from iriscourse.model_server import errors, servable, warmup
from server_harness import make_base

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
DATA_LOSS_HINT = ". Please verify your warmup data is in TFRecord format."
_State = get_model_status_pb2.ModelVersionStatus


# ------------------------------------------------------------------ warm-up files, written as users write them

def _predict_log(signature_name="", model_name="half", **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    for alias, values in inputs.items():
        request.inputs[alias].CopyFrom(tf.make_tensor_proto(values))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def _example(x):
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}))


def _classify_log(signature_name, x):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.signature_name = signature_name
    request.input.example_list.examples.add().CopyFrom(_example(x))
    return prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=request))


def _regress_log(signature_name, x):
    request = regression_pb2.RegressionRequest()
    request.model_spec.signature_name = signature_name
    request.input.example_list.examples.add().CopyFrom(_example(x))
    return prediction_log_pb2.PredictionLog(regress_log=prediction_log_pb2.RegressLog(request=request))


def _multi_inference_log(x, *signature_names):
    request = inference_pb2.MultiInferenceRequest()
    for name in signature_names:
        task = request.tasks.add(method_name="tensorflow/serving/regress")
        task.model_spec.name, task.model_spec.signature_name = "half", name
    request.input.example_list.examples.add().CopyFrom(_example(x))
    return prediction_log_pb2.PredictionLog(
        multi_inference_log=prediction_log_pb2.MultiInferenceLog(request=request))


def _write_records(path, records):
    """A TFRecord file of raw records (protos are written serialized)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.python_io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record if isinstance(record, bytes) else record.SerializeToString())
    return path


# ------------------------------------------------------------------ in-process: reader and replay

@pytest.fixture(scope="module")
def half(saved_models, tmp_path_factory):
    """half_plus_two loaded without warm-up from a copy whose warm-up file each test writes."""
    export_dir = str(tmp_path_factory.mktemp("warmup") / "1")
    shutil.copytree(saved_models.half_plus_two, export_dir)
    loaded = servable.Servable("half", 1, export_dir, ["serve"])
    yield loaded
    loaded.close()


@pytest.fixture
def runs(half, monkeypatch):
    """The (fed tensors, fetched tensors) of every graph run of `half`, in order."""
    seen, run = [], half.run

    def recording_run(feeds, fetches, timeout_ms=0):
        seen.append((sorted(feeds), list(fetches)))
        return run(feeds, fetches, timeout_ms)

    monkeypatch.setattr(half, "run", recording_run)
    return seen


@pytest.fixture
def warmup_path(half):
    """The warm-up file of `half`, removed before the test."""
    path = os.path.join(half.path, WARMUP_FILE)
    if os.path.exists(path):
        os.remove(path)
    return path


def _fails(half, code, message):
    with pytest.raises(errors.ServingError) as failure:
        warmup.run(half)
    assert (errors.code_name(failure.value.code), failure.value.message) == (code, message)


def test_each_log_type_replays_its_request_in_file_order(half, runs, warmup_path, caplog):
    _write_records(warmup_path, [
        _predict_log(model_name="another_model", x=np.array([1.0], np.float32)),
        _classify_log("classify_x_to_y", 2.0),
        _regress_log("regress_x_to_y2", 3.0),
        _multi_inference_log(4.0, "regress_x_to_y", "regress_x_to_y2"),
    ])
    with caplog.at_level(logging.INFO):
        warmup.run(half)
    assert runs == [(["x:0"], ["y:0"]), (["tf_example:0"], ["y:0"]), (["tf_example:0"], ["y2:0"]),
                    (["tf_example:0"], ["y2:0", "y:0"])]
    assert ("Starting to read warmup data for model at %s with model-warmup-options "
            'model_name: "half"\nmodel_version: 1' % warmup_path) in caplog.text
    assert ("Finished reading warmup data for model at %s. Number of warmup records read: 4. "
            "Elapsed time (microseconds): " % warmup_path) in caplog.text


def test_records_use_their_signature_name_and_ignore_their_model_spec(half, runs, warmup_path):
    log = _predict_log("scalar_output", x=np.array([[1.0], [2.0]], np.float32))
    log.predict_log.request.model_spec.version.value = 99
    _write_records(warmup_path, [log])
    warmup.run(half)
    assert runs == [(["x:0"], ["total:0"])]


def test_an_empty_record_is_skipped_but_counted(half, runs, warmup_path, caplog):
    _write_records(warmup_path, [prediction_log_pb2.PredictionLog(), _predict_log(x=np.array([1.0], np.float32))])
    with caplog.at_level(logging.INFO):
        warmup.run(half)
    assert len(runs) == 1
    assert "Number of warmup records read: 2." in caplog.text


@pytest.mark.parametrize("record, number", [
    (prediction_log_pb2.PredictionLog(session_run_log=prediction_log_pb2.SessionRunLog()), 5),
    (b"\x3a\x00", 7),  # predict_streamed_log (TF Serving 2.12+), unknown to the 1.13 protos
])
def test_logs_without_a_replayable_request_are_unimplemented(half, warmup_path, record, number):
    _write_records(warmup_path, [record])
    _fails(half, "UNIMPLEMENTED", "Unsupported log_type for warmup: %d" % number)


def test_a_failing_request_fails_warm_up_with_its_error_and_stops_it(half, runs, warmup_path):
    _write_records(warmup_path, [_predict_log(x=np.array([1.0], np.float32)), _predict_log("nope"),
                                 _predict_log(x=np.array([2.0], np.float32))])
    _fails(half, "FAILED_PRECONDITION", 'Serving signature key "nope" not found.')
    assert len(runs) == 1
    _write_records(warmup_path, [_classify_log("serving_default", 1.0)])
    _fails(half, "INVALID_ARGUMENT",
           "Expected classification signature method_name to be tensorflow/serving/classify. "
           "Was: tensorflow/serving/predict")


def test_an_unparsable_record_is_invalid_argument(half, warmup_path):
    _write_records(warmup_path, [b"\xff\xfe not a PredictionLog"])
    _fails(half, "INVALID_ARGUMENT",
           "Failed to parse warmup record: \ufffd\ufffd not a PredictionLog from %s" % warmup_path)


def test_at_most_1000_records(half, warmup_path, caplog):
    _write_records(warmup_path, [b""] * 1000)
    with caplog.at_level(logging.INFO):
        warmup.run(half)
    assert "Number of warmup records read: 1000." in caplog.text
    _write_records(warmup_path, [b""] * 1001)
    _fails(half, "INVALID_ARGUMENT", "Number of warmup records exceeds the maximum (1000) at %s" % warmup_path)


def _two_records(warmup_path):
    _write_records(warmup_path, [_predict_log(x=np.array([1.0], np.float32)),
                                 _predict_log(x=np.array([2.0], np.float32))])
    with open(warmup_path, "rb") as written:
        data = written.read()
    first_length = 12 + int.from_bytes(data[:8], "little") + 4
    return data, first_length


def _rewrite(path, data):
    with open(path, "wb") as damaged:
        damaged.write(data)


def test_a_truncated_file_is_data_loss_after_the_records_before_it(half, runs, warmup_path, caplog):
    data, first_length = _two_records(warmup_path)
    _rewrite(warmup_path, data[:-1])
    _fails(half, "DATA_LOSS", "truncated record at %d' failed with Read less bytes than requested%s"
           % (first_length, DATA_LOSS_HINT))
    assert len(runs) == 1
    _rewrite(warmup_path, data[:first_length + 11])  # inside the second header: the reader stops there
    with caplog.at_level(logging.INFO):
        warmup.run(half)
    assert "Number of warmup records read: 1." in caplog.text


def test_a_corrupted_file_is_data_loss(half, warmup_path):
    data, first_length = _two_records(warmup_path)
    corrupted = bytearray(data)
    corrupted[first_length + 12] ^= 1  # first byte of the second record's data
    _rewrite(warmup_path, bytes(corrupted))
    _fails(half, "DATA_LOSS", "corrupted record at %d%s" % (first_length + 12, DATA_LOSS_HINT))
    _rewrite(warmup_path, b'{"instances": [[1.0], [2.0]]}')  # JSON is not a TFRecord file
    _fails(half, "DATA_LOSS", "corrupted record at 0 (Is this even a TFRecord file?)" + DATA_LOSS_HINT)


def test_an_unreadable_file_fails_with_tensorflows_error(half, warmup_path):
    os.makedirs(warmup_path)
    try:
        _fails(half, "FAILED_PRECONDITION", "%s; Is a directory" % warmup_path)
    finally:
        os.rmdir(warmup_path)


@pytest.mark.parametrize("iterations, runs_per_record", [(3, 3), (1, 1), (0, 1), (-2, 1)])
def test_each_record_is_replayed_num_request_iterations_times(half, runs, warmup_path, caplog, iterations,
                                                              runs_per_record):
    _write_records(warmup_path, [_predict_log(x=np.array([1.0], np.float32)),
                                 _regress_log("regress_x_to_y", 2.0)])
    with caplog.at_level(logging.INFO):
        warmup.run(half, iterations)
    assert len(runs) == 2 * runs_per_record
    assert runs[0] == runs[runs_per_record - 1] == (["x:0"], ["y:0"])
    shown = "num_request_iterations {\n  value: %d\n}\nmodel_name" % iterations
    assert (shown in caplog.text) == (iterations > 0)
    assert "Number of warmup records read: 2." in caplog.text


def test_version_0_is_left_out_of_the_logged_options_as_proto3_prints_no_zero(half, warmup_path, caplog):
    _write_records(warmup_path, [b""])
    with caplog.at_level(logging.INFO):
        warmup.run(types.SimpleNamespace(name="half", version=0, path=half.path), 4)
    assert ('with model-warmup-options num_request_iterations {\n  value: 4\n}\nmodel_name: "half"\n'
            in caplog.text)
    assert "model_version" not in caplog.text


def test_no_warmup_file_is_fine(half, runs, warmup_path, caplog):
    with caplog.at_level(logging.INFO):
        warmup.run(half)
    assert "No warmup data file found at %s" % warmup_path in caplog.text
    assert runs == []


def test_a_failed_warm_up_fails_the_servable_load_and_closes_its_session(half, warmup_path, monkeypatch):
    _write_records(warmup_path, [_predict_log("nope")])
    closed, close = [], servable.Servable.close

    def recording_close(self):
        closed.append(self.version)
        close(self)

    monkeypatch.setattr(servable.Servable, "close", recording_close)
    with pytest.raises(errors.ServingError, match='Serving signature key "nope" not found.'):
        servable.Servable("half", 2, half.path, ["serve"], warmup_iterations=0)
    assert closed == [2]
    unwarmed = servable.Servable("half", 3, half.path, ["serve"], warmup_iterations=None)  # file not read
    assert closed == [2]
    unwarmed.close()


# ------------------------------------------------------------------ the server

def _model_status(stub, name, version):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    request.model_spec.version.value = version
    return stub.GetModelStatus(request, 10.0).model_version_status[0]


def _wait_for_state(stub, server, name, version, state, timeout=90):
    deadline = time.time() + timeout
    while True:
        try:
            status = _model_status(stub, name, version)
            if status.state == state:
                return status
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.NOT_FOUND, error  # version not seen yet
        assert time.time() < deadline, server.log()
        time.sleep(0.1)


def _add_version(base, version, source, warmup_records=None, warmup_bytes=None):
    """Copy a SavedModel (with a warm-up file) into base/version, appearing at once."""
    incoming = os.path.join(base, ".incoming-%d" % version)  # not numeric: ignored until renamed
    shutil.copytree(source, incoming)
    if warmup_records is not None:
        _write_records(os.path.join(incoming, WARMUP_FILE), warmup_records)
    if warmup_bytes is not None:
        os.makedirs(os.path.join(incoming, "assets.extra"))
        _rewrite(os.path.join(incoming, WARMUP_FILE), warmup_bytes)
    os.rename(incoming, os.path.join(base, str(version)))


def _predict(stub, name, version=None, **inputs):
    request = _predict_log(model_name=name, **inputs).predict_log.request
    if version is not None:
        request.model_spec.version.value = version
    return stub.Predict(request, 30.0)


@pytest.fixture
def stubs():
    """(PredictionService, ModelService) stubs for a server: stubs(server)."""
    channels = []

    def connect(server):
        channels.append(grpc.insecure_channel(server.grpc_target))
        return (prediction_service_pb2_grpc.PredictionServiceStub(channels[-1]),
                model_service_pb2_grpc.ModelServiceStub(channels[-1]))

    yield connect
    for channel in channels:
        channel.close()


def test_server_replays_the_course_export_warm_up_before_the_version_is_available(saved_models, tmp_path,
                                                                                  stubs):
    base = str(tmp_path / "raw")
    export = os.path.join(saved_models.raw_base, os.listdir(saved_models.raw_base)[0])
    os.makedirs(base)
    inputs = {name: np.array(values, np.float32) for name, values in builders.PREDICT_X.items()}
    _add_version(base, 1, export, [_predict_log("serving_default", "raw", **inputs)] * 3)
    server = server_harness.start_server(
        ["--model_name=raw", "--model_base_path=%s" % base, "--num_request_iterations_for_warmup=2"], "raw",
        str(tmp_path / "server.log"))
    try:
        prediction, models = stubs(server)
        assert _model_status(models, "raw", 1).state == _State.AVAILABLE
        assert _predict(prediction, "raw", **inputs).model_spec.version.value == 1
    finally:
        server.stop()
    log, path = server.log(), os.path.join(base, "1", WARMUP_FILE)
    started = log.index("Starting to read warmup data for model at %s with model-warmup-options "
                        'num_request_iterations {\n  value: 2\n}\nmodel_name: "raw"\nmodel_version: 1\n' % path)
    finished = log.index("Finished reading warmup data for model at %s. Number of warmup records read: 3. "
                         "Elapsed time (microseconds): " % path)
    assert started < finished < log.index("Successfully loaded servable version {name: raw version: 1}")


def test_a_broken_warm_up_file_fails_the_new_version_while_the_old_one_serves(saved_models, tmp_path, stubs):
    base = make_base(str(tmp_path / "half"), {"1": saved_models.half_plus_two})
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--max_num_load_retries=0"], "half",
        str(tmp_path / "server.log"))
    try:
        prediction, models = stubs(server)
        _add_version(base, 2, saved_models.half_plus_three, warmup_bytes=b'{"instances": [[1.0]]}')
        status = _wait_for_state(models, server, "half", 2, _State.END)
        assert (status.status.error_code, status.status.error_message) == (
            errors.DATA_LOSS, "corrupted record at 0 (Is this even a TFRecord file?)" + DATA_LOSS_HINT)
        answer = _predict(prediction, "half", x=np.array([1.0], np.float32))
        assert (answer.model_spec.version.value, tf.make_ndarray(answer.outputs["y"]).tolist()) == (1, [2.5])
        assert _model_status(models, "half", 1).state == _State.AVAILABLE
    finally:
        server.stop()
    assert "No warmup data file found at %s" % os.path.join(base, "1", WARMUP_FILE) in server.log()


def test_warm_up_disabled_leaves_the_file_unread(saved_models, tmp_path):
    base = str(tmp_path / "half")
    os.makedirs(base)
    _add_version(base, 1, saved_models.half_plus_two, warmup_bytes=b"not a TFRecord file at all")
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--enable_model_warmup=false"], "half",
        str(tmp_path / "server.log"))
    server.stop()
    assert "Successfully loaded servable version {name: half version: 1}" in server.log()
    assert "warmup data" not in server.log()


def test_start_up_fails_when_the_warm_up_of_the_only_version_fails(saved_models, tmp_path):
    base = str(tmp_path / "half")
    os.makedirs(base)
    _add_version(base, 1, saved_models.half_plus_two, [_predict_log("nope")])
    port, = server_harness.free_ports(1)
    result = server_harness.run_server(["--port=%d" % port, "--model_name=half", "--model_base_path=%s" % base,
                                        "--max_num_load_retries=0"])
    assert result.returncode == 255
    assert result.stdout.decode() == (
        "Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: half version: 1} "
        'due to error: FAILED_PRECONDITION: Serving signature key "nope" not found.}, }\n')


def _build_wait_for_file(export_dir):
    """A SavedModel whose serving_default polls until the file at input `path` exists (60 s at most)."""
    graph = tf.Graph()
    with graph.as_default():
        path = tf.placeholder(tf.string, [], name="path")
        start = tf.timestamp()

        def waiting(_):
            return tf.logical_and(tf.equal(tf.size(tf.matching_files(path)), 0), tf.timestamp() - start < 60.0)

        polls = tf.while_loop(waiting, lambda count: count + 1, [tf.constant(0, tf.int64)])
        info = tf.saved_model.utils.build_tensor_info
        signature = tf.saved_model.signature_def_utils.build_signature_def(
            {"path": info(path)}, {"polls": info(polls)}, "tensorflow/serving/predict")
        with tf.Session(graph=graph) as session:
            builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={"serving_default": signature})
            builder.save()
    return export_dir


def test_a_version_is_loading_and_unserved_until_its_warm_up_ends(tmp_path, stubs):
    model = _build_wait_for_file(str(tmp_path / "wait_for_file"))
    release = str(tmp_path / "release")
    base = str(tmp_path / "wait")
    os.makedirs(base)
    _add_version(base, 1, model)
    server = server_harness.start_server(["--model_name=wait", "--model_base_path=%s" % base], "wait",
                                         str(tmp_path / "server.log"))
    try:
        prediction, models = stubs(server)
        _add_version(base, 2, model, [_predict_log(model_name="wait", path=release)])
        started = "Starting to read warmup data for model at %s" % os.path.join(base, "2", WARMUP_FILE)
        deadline = time.time() + 90
        while started not in server.log():
            assert time.time() < deadline, server.log()
            time.sleep(0.1)
        assert _model_status(models, "wait", 2).state == _State.LOADING
        with pytest.raises(grpc.RpcError) as refused:
            _predict(prediction, "wait", 2, path=release)
        assert (refused.value.code(), refused.value.details()) == (
            grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(wait, 2)")
        assert _predict(prediction, "wait", path=server.log_path).model_spec.version.value == 1
        assert _model_status(models, "wait", 2).state == _State.LOADING  # so the refusal came while loading
        open(release, "w").close()
        _wait_for_state(models, server, "wait", 2, _State.AVAILABLE)
        assert _predict(prediction, "wait", 2, path=release).model_spec.version.value == 2
    finally:
        open(release, "w").close()  # never leave the server polling for it
        server.stop()
    assert "Number of warmup records read: 1." in server.log()


def test_the_warmup_latency_is_recorded_when_reading_ends_and_not_when_a_request_fails(half, warmup_path):
    """saved_model_warmup_util.cc records model_warmup_latency after the read loop, with the read status
    (without the TFRecord hint); a bad record or a failing request returns before it."""
    from iriscourse.model_server import monitoring
    latency = monitoring.WARMUP_LATENCY
    _write_records(warmup_path, [_predict_log(x=np.array([1.0], np.float32))])
    before = latency.count(half.path, "OK")
    warmup.run(half)
    assert latency.count(half.path, "OK") == before + 1
    data, first_length = _two_records(warmup_path)
    _rewrite(warmup_path, data[:-1])
    status = "DATA_LOSS: truncated record at %d' failed with Read less bytes than requested" % first_length
    truncated_before = latency.count(half.path, status)
    _fails(half, "DATA_LOSS", status[len("DATA_LOSS: "):] + DATA_LOSS_HINT)
    assert latency.count(half.path, status) == truncated_before + 1
    _write_records(warmup_path, [_predict_log(y=np.array([1.0], np.float32))])  # no such input: the request fails
    with pytest.raises(errors.ServingError):
        warmup.run(half)
    assert latency.count(half.path, "OK") == before + 1


def test_with_batching_on_the_warm_up_requests_go_through_the_batcher(saved_models, tmp_path):
    """As in TF Serving, warm-up runs on the session the requests will use: the batching session."""
    base = str(tmp_path / "raw")
    export = os.path.join(saved_models.raw_base, os.listdir(saved_models.raw_base)[0])
    os.makedirs(base)
    inputs = {name: np.array(values, np.float32) for name, values in builders.PREDICT_X.items()}
    _add_version(base, 1, export, [_predict_log("serving_default", "raw", **inputs)])
    parameters = tmp_path / "batching.config"
    parameters.write_text("max_batch_size { value: 2 }\n")  # the 3-row warm-up request is larger than a batch
    port, = server_harness.free_ports(1)
    result = server_harness.run_server(["--port=%d" % port, "--model_name=raw", "--model_base_path=%s" % base,
                                        "--max_num_load_retries=0", "--enable_batching",
                                        "--batching_parameters_file=%s" % parameters])
    assert result.returncode == 255
    assert result.stdout.decode() == (
        "Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: raw version: 1} "
        "due to error: INVALID_ARGUMENT: Task size 3 is larger than maximum input batch size 2}, }\n")
