"""Prometheus monitoring of local_model_server: the text page, the config file, the metrics it counts."""
import os
import re
import threading
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from prometheus_client.parser import text_string_to_metric_families
from tensorflow_serving.apis import (get_model_metadata_pb2, inference_pb2, predict_pb2,
                                     prediction_service_pb2_grpc)

import saved_model_builders as builders
import server_harness
from iriscourse.model_server import errors, monitoring, servable

DEFAULT_PATH = "/monitoring/prometheus/metrics"
NOT_FOUND_PAGE = b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n</BODY></HTML>\n"
_LINE = re.compile(r'(\S+)\{(.*)\} (\S+)\Z')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _values(page):
    """{(name, ((label, value), ...)): number} of every value line of a page."""
    values = {}
    for line in page.splitlines():
        if not line.startswith("#"):
            name, labels, value = _LINE.match(line).groups()
            values[(name, tuple(_LABEL.findall(labels)))] = float(value)
    return values


def _value(values, name, **labels):
    """A value line's number (0 when the page has no such line)."""
    key = (name, tuple((label, labels[label]) for label in labels))
    return values.get(key, 0.0)


# ---------------------------------------------------------------- the page, in process

def _registry(*metrics):
    registry = monitoring.Registry()
    for metric in metrics:
        registry.add(metric)
    return registry


def test_counter_page_is_tf_servings_text():
    counter = monitoring.Counter("/test/path/total", "name")
    counter.increment("abc", by=2)
    assert _registry(counter).page() == '# TYPE :test:path:total counter\n:test:path:total{name="abc"} 2\n'


def test_gauge_page_is_tf_servings_text():
    gauge = monitoring.Gauge("/test/path/gague", "x", "y")
    gauge.set(5, "abc", "def")
    assert _registry(gauge).page() == '# TYPE :test:path:gague gauge\n:test:path:gague{x="abc",y="def"} 5\n'


def test_metric_without_labels_prints_empty_braces():
    counter = monitoring.Counter("/tensorflow/core/graph_runs")
    counter.increment(by=5)
    assert _registry(counter).page() == "# TYPE :tensorflow:core:graph_runs counter\n:tensorflow:core:graph_runs{} 5\n"


def test_metric_without_cells_prints_only_its_type_line():
    assert _registry(monitoring.Counter("/a/b", "x")).page() == "# TYPE :a:b counter\n"


def test_histogram_page_is_tf_servings_text():
    histogram = monitoring.Histogram("/test/path/histogram", monitoring.exponential_buckets(1, 2, 10), "status")
    for value in (2, 20, 200):  # a value equal to a limit goes to the next bucket, as in TensorFlow
        histogram.observe(value, "good")
    expected = ['# TYPE :test:path:histogram histogram']
    cumulative = {"1": 0, "2": 0, "4": 1, "8": 1, "16": 1, "32": 2, "64": 2, "128": 2, "256": 3, "512": 3,
                  "+Inf": 3}
    expected += [':test:path:histogram_bucket{status="good",le="%s"} %d' % item for item in cumulative.items()]
    expected += [':test:path:histogram_sum{status="good"} 222', ':test:path:histogram_count{status="good"} 3']
    assert _registry(histogram).page() == "\n".join(expected) + "\n"


def test_histogram_without_labels_and_sum_in_six_significant_digits():
    histogram = monitoring.Histogram("/h", [10.0])
    histogram.observe(1234567)
    assert _registry(histogram).page() == ('# TYPE :h histogram\n:h_bucket{le="10"} 0\n:h_bucket{le="+Inf"} 1\n'
                                           ':h_sum{} 1.23457e+06\n:h_count{} 1\n')


def test_names_and_label_values_are_sanitized_like_the_exporter():
    assert monitoring.prometheus_name("/tensorflow/serving/request_count") == ":tensorflow:serving:request_count"
    assert monitoring.prometheus_name("0/path-total_count") == "_0:path:total_count"
    counter = monitoring.Counter("/test/path/total", "my-name+1")
    counter.increment('"abc\\"', by=2)
    assert _registry(counter).page().splitlines()[1] == r':test:path:total{my_name_1="\"abc\\\""} 2'


def test_metrics_sort_by_tensorflow_name_and_cells_by_label_values():
    first, second = monitoring.Counter("/b/x", "m"), monitoring.Counter("0/a")
    first.increment("z")
    first.increment("a", by=3)
    second.increment()
    assert _registry(second, first).page().splitlines() == [
        "# TYPE :b:x counter", ':b:x{m="a"} 3', ':b:x{m="z"} 1', "# TYPE _0:a counter", "_0:a{} 1"]


def test_cells_need_one_value_per_label():
    with pytest.raises(ValueError) as caught:
        monitoring.Counter("/a", "model_path", "status").increment("/m/1")
    assert str(caught.value) == "/a takes labels ('model_path', 'status'), got ('/m/1',)"


def test_a_metric_name_is_registered_once():
    with pytest.raises(ValueError) as caught:
        _registry(monitoring.Counter("/a"), monitoring.Gauge("/a"))
    assert str(caught.value) == "metric /a is already registered"


def test_concurrent_updates_are_all_counted():
    counter = monitoring.Counter("/c", "m")
    histogram = monitoring.Histogram("/h", [10.0], "m")

    def work():
        for _ in range(2000):
            counter.increment("x")
            histogram.observe(1, "x")

    workers = [threading.Thread(target=work) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert (counter.value("x"), histogram.count("x")) == (16000, 16000)


def test_latency_buckets_are_tf_servings():
    histogram = monitoring.Histogram("/l", monitoring.exponential_buckets(10, 1.8, 33))
    histogram.observe(5)
    limits = [re.search(r'le="([^"]+)"', line).group(1)
              for line in _registry(histogram).page().splitlines() if "_bucket" in line]
    assert len(limits) == 34  # 33 limits and the bucket above the last one
    assert limits[:6] + limits[-4:] == ["10", "18", "32.4", "58.32", "104.976", "188.957",
                                        "4.55172e+08", "8.19309e+08", "1.47476e+09", "+Inf"]


def test_prometheus_client_parses_every_kind_of_line():
    histogram = monitoring.Histogram("/test/path/histogram", monitoring.exponential_buckets(1, 2, 3), "status")
    histogram.observe(3, "good")
    gauge = monitoring.Gauge("/test/gauge", "x")
    gauge.set(7, 'quote " and \\ backslash')
    plain = monitoring.Counter("/test/plain")
    plain.increment(by=4)
    families = {family.name: family for family in text_string_to_metric_families(
        _registry(histogram, gauge, plain).page())}
    assert {name: family.type for name, family in families.items()} == {
        ":test:path:histogram": "histogram", ":test:gauge": "gauge", ":test:plain": "counter"}
    assert families[":test:gauge"].samples[0].labels == {"x": 'quote " and \\ backslash'}
    assert families[":test:plain"].samples[0].value == 4
    assert [sample.value for sample in families[":test:path:histogram"].samples] == [0, 0, 1, 1, 3, 1]


# ---------------------------------------------------------------- the config file, in process

def test_config_messages_have_tf_servings_field_numbers():
    config = monitoring.MonitoringConfig()
    config.prometheus_config.enable = True
    config.prometheus_config.path = "/m"
    assert config.SerializeToString() == b"\n\x06\x08\x01\x12\x02/m"
    assert monitoring.MonitoringConfig.DESCRIPTOR.full_name == "tensorflow.serving.MonitoringConfig"


@pytest.mark.parametrize("text, path", [
    ('prometheus_config { enable: true, path: "/metrics" }', "/metrics"),
    ("prometheus_config { enable: true }", DEFAULT_PATH),
    ('prometheus_config { enable: false, path: "/metrics" }', None),
    ("", None),
])
def test_config_file_gives_the_metrics_path(tmp_path, text, path):
    config_file = tmp_path / "monitoring.config"
    config_file.write_text(text)
    assert monitoring.metrics_path(monitoring.read_config_file(str(config_file))) == path


def test_unparsable_config_file_is_an_invalid_protobuf_file(tmp_path):
    config_file = tmp_path / "monitoring.config"
    config_file.write_text("prometheus_config { enable: yes_please }")
    with pytest.raises(errors.ServingError) as caught:
        monitoring.read_config_file(str(config_file))
    assert str(caught.value) == "INVALID_ARGUMENT: Invalid protobuf file: '%s'" % config_file


def test_missing_config_file_is_not_found(tmp_path):
    missing = str(tmp_path / "missing.config")
    with pytest.raises(errors.ServingError) as caught:
        monitoring.read_config_file(missing)
    assert str(caught.value) == "NOT_FOUND: %s; No such file or directory" % missing


def test_page_request_with_a_query_is_rejected_like_the_real_handler():
    assert monitoring.metrics_page("/m", "/m?x=1") == (400, "Unexpected path: /m?x=1. Should be /m")
    status, page = monitoring.metrics_page("/m", "/m")
    assert status == 200 and "# TYPE :tensorflow:serving:request_count counter\n" in page


# ---------------------------------------------------------------- the recording functions, in process

def test_record_warmup_fills_model_warmup_latency():
    monitoring.record_warmup("/models/warm/1", "OK", 15)
    monitoring.record_warmup("/models/warm/1", "INVALID_ARGUMENT: bad record", 20)
    values = _values(monitoring.REGISTRY.page())
    name = ":tensorflow:serving:model_warmup_latency"
    assert _value(values, name + "_bucket", model_path="/models/warm/1", status="OK", le="10") == 0
    assert _value(values, name + "_bucket", model_path="/models/warm/1", status="OK", le="18") == 1
    assert _value(values, name + "_sum", model_path="/models/warm/1", status="OK") == 15
    assert _value(values, name + "_count", model_path="/models/warm/1", status="INVALID_ARGUMENT: bad record") == 1


class _Request(object):
    """A request for model rpc_model whose call raises `failure` (when set)."""

    def __init__(self, failure=None):
        self.model_spec = type("ModelSpec", (), {"name": "rpc_model"})()
        self.failure = failure


def test_counted_rpc_counts_every_status_and_times_successes():
    @monitoring.counted_rpc("Predict")
    def call(_servicer, request, _context):
        if request.failure:
            raise request.failure
        return "response"

    assert call(None, _Request(), None) == "response"
    with pytest.raises(errors.ServingError):
        call(None, _Request(errors.not_found("no")), None)
    with pytest.raises(KeyError):
        call(None, _Request(KeyError("bug")), None)
    counts = [monitoring.REQUEST_COUNT.value("rpc_model", status) for status in ("OK", "NOT_FOUND", "INTERNAL")]
    assert counts == [1, 1, 1]
    assert monitoring.REQUEST_LATENCY.count("rpc_model", "Predict", "GRPC") == 1


@pytest.fixture(scope="module")
def half_plus_two(tmp_path_factory):
    """The half_plus_two SavedModel (one version directory)."""
    return builders.build_half_plus_two(str(tmp_path_factory.mktemp("monitoring") / "half_plus_two"))


def test_load_attempts_are_counted_by_path_and_status(half_plus_two, tmp_path):
    successes = monitoring.LOAD_ATTEMPT_COUNT.value(half_plus_two, "success")
    servable.Servable("half", 1, half_plus_two, ["serve"]).close()
    broken = builders.write_broken_version(str(tmp_path / "broken" / "1"))
    with pytest.raises(errors.ServingError):
        servable.Servable("broken", 1, broken, ["serve"])
    empty = str(tmp_path / "empty")
    os.makedirs(empty)
    with pytest.raises(errors.ServingError):  # no saved_model.pb: TF Serving never calls the loader
        servable.Servable("empty", 1, empty, ["serve"])
    assert monitoring.LOAD_ATTEMPT_COUNT.value(half_plus_two, "success") == successes + 1
    assert monitoring.LOAD_ATTEMPT_COUNT.value(broken, "fail") == 1
    assert monitoring.LOAD_ATTEMPT_COUNT.value(empty, "fail") == 0
    assert monitoring.LOAD_LATENCY.value(broken) > 0
    assert ':tensorflow:cc:saved_model:load_attempt_count{model_path="%s",status="fail"} 1\n' % broken in \
        monitoring.REGISTRY.page()


def test_graph_runs_count_successful_runs(half_plus_two):
    loaded = servable.Servable("half", 1, half_plus_two, ["serve"])
    try:
        runs, micros = monitoring.GRAPH_RUNS.value(), monitoring.GRAPH_RUN_TIME.value()
        assert loaded.run({"x:0": np.array([[1.0]], np.float32)}, ["y:0"])[0].tolist() == [[2.5]]
        with pytest.raises(errors.ServingError):
            loaded.run({"x:0": np.array([["text"]], object)}, ["y:0"])
        assert monitoring.GRAPH_RUNS.value() == runs + 1
        assert monitoring.GRAPH_RUN_TIME.value() > micros
    finally:
        loaded.close()


# ---------------------------------------------------------------- the server

def _start(tmp_path, half_plus_two, config_text, *extra):
    base = server_harness.make_base(str(tmp_path / "half"), {"1": half_plus_two})
    config = tmp_path / "monitoring.config"
    config.write_text(config_text)
    args = ["--model_name=half", "--model_base_path=%s" % base, "--monitoring_config_file=%s" % config] + list(extra)
    return server_harness.start_server(args, "half", str(tmp_path / "server.log")), base


def _scrape(server, path=DEFAULT_PATH):
    response = requests.get(server.url(path), timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain"
    return response.text


def _example(x):
    return tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[x]))}))


def _traffic(server):
    """REST and gRPC calls on model half: 6 that succeed (5 with a graph run), 3 that fail, 2 not counted."""
    session = requests.Session()

    def post(path, body):
        return session.post(server.url(path), data=body, timeout=30).status_code

    assert post("/v1/models/half:predict", '{"instances": [1.0]}') == 200
    assert post("/v1/models/half:predict", '{"instances": [2.0, 3.0]}') == 200
    assert post("/v1/models/half:classify", '{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}') == 200
    assert post("/v1/models/half:regress", '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}') == 200
    assert session.get(server.url("/v1/models/half/metadata"), timeout=30).status_code == 200
    assert post("/v1/models/nosuch:predict", '{"instances": [1.0]}') == 404
    assert post("/v1/models/half:predict", '{"instances": [1.0') == 400
    session.close()
    channel = grpc.insecure_channel(server.grpc_target)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half"
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([1.0], np.float32)))
    stub.Predict(request, 30)
    request.model_spec.signature_name = "nope"
    with pytest.raises(grpc.RpcError) as failure:
        stub.Predict(request, 30)
    assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    multi = inference_pb2.MultiInferenceRequest()
    for signature, method in [("regress_x_to_y", "tensorflow/serving/regress"),
                              ("classify_x_to_y", "tensorflow/serving/classify")]:
        task = multi.tasks.add(method_name=method)
        task.model_spec.name, task.model_spec.signature_name = "half", signature
    multi.input.example_list.examples.extend([_example(1.0), _example(2.0)])
    stub.MultiInference(multi, 30)
    metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    metadata.model_spec.name = "half"
    stub.GetModelMetadata(metadata, 30)
    channel.close()


def test_scrape_counts_requests_latencies_runs_and_loads(tmp_path, half_plus_two):
    server, base = _start(tmp_path, half_plus_two, "prometheus_config { enable: true }")
    try:
        before = _values(_scrape(server))
        _traffic(server)
        page = _scrape(server)
    finally:
        exit_code = server.stop()
    after = _values(page)

    def delta(name, **labels):
        return _value(after, name, **labels) - _value(before, name, **labels)

    serving = ":tensorflow:serving:"
    assert delta(serving + "request_count", model_name="half", status="OK") == 6
    assert delta(serving + "request_count", model_name="half", status="INVALID_ARGUMENT") == 1
    assert delta(serving + "request_count", model_name="half", status="FAILED_PRECONDITION") == 1
    assert delta(serving + "request_count", model_name="nosuch", status="NOT_FOUND") == 1
    latency_counts = {(api, entrypoint): delta(serving + "request_latency_count", model_name="half", API=api,
                                                entrypoint=entrypoint)
                      for api, entrypoint in [("predict", "REST"), ("classify", "REST"), ("regress", "REST"),
                                              ("", "REST"), ("Predict", "GRPC")]}
    assert latency_counts == {("predict", "REST"): 2, ("classify", "REST"): 1, ("regress", "REST"): 1,
                              ("", "REST"): 1, ("Predict", "GRPC"): 1}
    assert {api: delta(serving + "runtime_latency_count", model_name="half", API=api, runtime="TF1")
            for api in ("Predict", "Classify", "Regress")} == {"Predict": 3, "Classify": 1, "Regress": 1}
    assert delta(serving + "request_example_count_total", model="half") == 2
    assert delta(serving + "request_example_counts_sum", model="half") == 2
    assert delta(":tensorflow:core:graph_runs") == 6
    assert delta(":tensorflow:core:graph_run_time_usecs") > 0
    version_path = os.path.join(base, "1")
    assert _value(after, ":tensorflow:cc:saved_model:load_attempt_count", model_path=version_path,
                  status="success") == 1
    assert _value(after, ":tensorflow:cc:saved_model:load_latency", model_path=version_path) > 0
    families = {family.name: family.type for family in text_string_to_metric_families(page)}
    assert families[":tensorflow:serving:request_latency"] == "histogram"
    assert families[":tensorflow:serving:request_count"] == "counter"
    assert "--monitoring_config_file is accepted for compatibility and ignored" not in server.log()
    assert exit_code == 0


def test_page_at_a_configured_path_answers_any_method_and_rejects_queries(tmp_path, half_plus_two):
    server, _ = _start(tmp_path, half_plus_two, 'prometheus_config { enable: true path: "/custom/metrics" }')
    try:
        assert "# TYPE :tensorflow:core:graph_runs counter\n" in _scrape(server, "/custom/metrics")
        posted = requests.post(server.url("/custom/metrics"), data="x", timeout=30)
        assert posted.status_code == 200 and posted.text.startswith("# TYPE ")
        query = requests.get(server.url("/custom/metrics?name=x"), timeout=30)
        assert (query.status_code, query.headers["Content-Type"], query.text) == (
            400, "text/plain", "Unexpected path: /custom/metrics?name=x. Should be /custom/metrics")
        default = requests.get(server.url(DEFAULT_PATH), timeout=30)
        assert (default.status_code, default.content) == (404, NOT_FOUND_PAGE)
    finally:
        assert server.stop() == 0


def test_disabled_prometheus_config_serves_no_page(tmp_path, half_plus_two):
    server, _ = _start(tmp_path, half_plus_two, "prometheus_config { enable: false }")
    try:
        response = requests.get(server.url(DEFAULT_PATH), timeout=30)
        assert (response.status_code, response.content) == (404, NOT_FOUND_PAGE)
    finally:
        assert server.stop() == 0


def test_bad_monitoring_config_file_fails_startup_with_the_real_message(tmp_path, half_plus_two):
    base = server_harness.make_base(str(tmp_path / "half"), {"1": half_plus_two})
    config = tmp_path / "monitoring.config"
    config.write_text("prometheus_config { enable: yes_please }")
    grpc_port, rest_port = server_harness.free_ports(2)
    result = server_harness.run_server(
        ["--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port, "--model_name=half",
         "--model_base_path=%s" % base, "--monitoring_config_file=%s" % config], timeout=180)
    assert result.returncode == 255
    assert result.stdout.decode().splitlines() == [
        "Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '%s'" % config]
    assert b"Error parsing text-format tensorflow.serving.MonitoringConfig" in result.stderr


def test_monitoring_config_is_not_read_without_a_rest_port(tmp_path, half_plus_two):
    base = server_harness.make_base(str(tmp_path / "half"), {"1": half_plus_two})
    config = tmp_path / "monitoring.config"
    config.write_text("not a MonitoringConfig")
    server = server_harness.ServerProcess(
        ["--model_name=half", "--model_base_path=%s" % base, "--monitoring_config_file=%s" % config],
        str(tmp_path / "server.log"), server_harness.free_ports(1)[0], 0)
    try:
        deadline = time.time() + server_harness.START_TIMEOUT_SECONDS
        while "Running gRPC ModelServer at" not in server.log():
            assert time.time() < deadline and server.process.poll() is None, server.log()
            time.sleep(0.1)
        time.sleep(0.5)
        assert server.process.poll() is None, server.log()
        assert "Invalid protobuf file" not in server.log() and "Exporting HTTP/REST API" not in server.log()
    finally:
        assert server.stop() == 0
