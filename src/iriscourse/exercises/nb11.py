"""Exercises of notebook 11: reading Prometheus metrics, a canary config with labels, batching parameters."""
import shutil
import time

import grpc
import requests
from google.protobuf import text_format
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

from .. import export, paths, serving
from ..model_server import batching, errors, monitoring
from . import Wrong, call, exercise

_MODEL_TRAFFIC = {("iris", "OK"): 41, ("iris", "INVALID_ARGUMENT"): 3, ("iris", "NOT_FOUND"): 2,
                  ("iris_warm", "OK"): 7, ("", "INVALID_ARGUMENT"): 1}


def _metrics_page():
    """A Prometheus page as TF Serving prints it, with request counts, a latency histogram and other metrics."""
    registry = monitoring.Registry()
    count = registry.add(monitoring.Counter("/tensorflow/serving/request_count", "model_name", "status"))
    latency = registry.add(monitoring.Histogram("/tensorflow/serving/request_latency",
                                                monitoring.exponential_buckets(10, 1.8, 33),
                                                "model_name", "API", "entrypoint"))
    loads = registry.add(monitoring.Counter("/tensorflow/cc/saved_model/load_attempt_count", "model_path", "status"))
    for (model, status), number in _MODEL_TRAFFIC.items():
        count.increment(model, status, by=number)
        if status == "OK":
            for index in range(number):
                latency.observe(800 + 150 * index, model, "predict", "REST")
    loads.increment("/models/iris/1", "success", by=2)
    return registry.page()


@exercise("11.1", "Read the request counter", "easy", 5,
          "prometheus_client.parser.text_string_to_metric_families(page) yields metric families; keep the "
          "family named ':tensorflow:serving:request_count' (the parser renames a counter's samples to "
          "..._total) and map (sample.labels['model_name'], sample.labels['status']) to int(sample.value).")
def check_request_counts(request_counts):
    """``request_counts(page)`` maps (model_name, status) to the request count on a Prometheus page."""
    got = call(request_counts, _metrics_page())
    if not isinstance(got, dict):
        raise Wrong("return a dict {(model_name, status): count}, not %s" % type(got).__name__)
    normalised = dict(got)
    if any(not isinstance(key, tuple) or len(key) != 2 for key in normalised):
        raise Wrong("each key is a (model_name, status) tuple; got keys like %r" % (next(iter(normalised)),))
    if normalised != _MODEL_TRAFFIC:
        missing = sorted(set(_MODEL_TRAFFIC) - set(normalised), key=str)
        extra = sorted(set(normalised) - set(_MODEL_TRAFFIC), key=str)
        wrong = sorted((key for key in set(_MODEL_TRAFFIC) & set(normalised)
                        if normalised[key] != _MODEL_TRAFFIC[key]), key=str)
        raise Wrong("missing %s, unexpected %s, wrong counts for %s (only :tensorflow:serving:request_count "
                    "lines count; a model name can be empty)" % (missing, extra, wrong))
    return "All %d (model, status) request counts read, e.g. iris OK = 41." % len(_MODEL_TRAFFIC)


def _settle(rest_url, seconds=3.0):
    """Watch the model for a few seconds: a reload returns before versions no longer aspired are unloaded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = requests.get(rest_url + "/v1/models/iris", timeout=10).json()["model_version_status"]
        if any(version["state"] != "AVAILABLE" for version in status):
            return
        time.sleep(0.2)


def _label_versions(rest_url):
    versions = {}
    for label in ("stable", "canary"):
        reply = requests.get(rest_url + "/v1/models/iris/labels/%s/metadata" % label, timeout=10)
        versions[label] = int(reply.json()["model_spec"]["version"]) if reply.status_code == 200 else None
    return versions


@exercise("11.2", "A canary config", "medium", 10,
          "Serve both versions with  model_version_policy { specific { versions: 1 versions: 2 } }  (the default "
          "policy serves only the latest, so a label on the other one would point at a version that is not "
          "loaded), and add  version_labels { key: \"stable\" value: 1 }  and the same for canary inside the "
          "model's config { ... }.")
def check_canary_config(canary_config):
    """``canary_config(base_path, stable, canary)`` serves both versions of iris with the two labels."""
    base = paths.fresh_dir(paths.artifact("exercises", "11.2", "iris")).resolve()
    for version in ("3", "5"):
        shutil.copytree(str(export.ensure_export("raw")), str(base / version))
    text = call(canary_config, str(base), 3, 5)
    if not isinstance(text, str):
        raise Wrong("return the config file's text (a str)")
    request = model_management_pb2.ReloadConfigRequest()
    try:
        text_format.Parse(text, request.config)
    except text_format.ParseError as error:
        raise Wrong("the text is not a ModelServerConfig: %s" % error) from None
    start_config = paths.artifact("exercises", "11.2", "start.config")
    start_config.write_text('model_config_list { config { name: "iris" base_path: "%s" model_platform: "tensorflow" '
                            'model_version_policy { specific { versions: 3 versions: 5 } } } }\n' % base)
    server = serving.start("exercise-11.2", models=["iris"], model_config_file=start_config)
    try:
        with grpc.insecure_channel(server.grpc_target) as channel:
            try:
                model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(request, 30.0)
            except grpc.RpcError as error:
                raise Wrong("the server refused it: %s: %s" % (error.code().name, error.details())) from None
        _settle(server.rest_url)
        versions = _label_versions(server.rest_url)
    finally:
        server.stop()
    unloaded = sorted(label for label, version in versions.items() if version is None)
    if unloaded:
        raise Wrong("after the reload the label(s) %s answer no version: the version behind them was unloaded, "
                    "so keep both versions loaded with the version policy" % ", ".join(unloaded))
    if versions != {"stable": 3, "canary": 5}:
        raise Wrong("after the reload the labels answer %s; expected stable -> 3 and canary -> 5" % versions)
    return "Reloaded over gRPC: stable answers version 3 and canary version 5."


@exercise("11.3", "Batching parameters", "medium", 10,
          "Wrapped fields are written  max_batch_size { value: 16 } ; the timeout is in microseconds "
          "(batch_timeout_micros, so 2 ms is 2000); allowed_batch_sizes is a plain repeated field "
          "(allowed_batch_sizes: 4) whose last entry must equal max_batch_size, so append it when missing.")
def check_batching_parameters(batching_parameters):
    """``batching_parameters(max_batch_size, timeout_ms, allowed)`` is a BatchingParameters file TF Serving loads."""
    for max_size, timeout_ms, allowed, expected_sizes in ((16, 2, [4, 8], [4, 8, 16]), (8, 0.5, [8], [8])):
        text = call(batching_parameters, max_size, timeout_ms, list(allowed))
        if not isinstance(text, str):
            raise Wrong("return the file's text (a str)")
        path = paths.artifact("exercises", "11.3", "batching.config")
        path.write_text(text)
        try:
            parameters = batching.read_parameters(str(path))
            batching.queue_options(parameters)
        except errors.ServingError as error:
            raise Wrong("for (%d, %g, %s) the server refuses it: %s" % (max_size, timeout_ms, allowed, error.message))
        got = (parameters.max_batch_size.value, parameters.batch_timeout_micros.value,
               list(parameters.allowed_batch_sizes))
        expected = (max_size, int(timeout_ms * 1000), expected_sizes)
        if got != expected:
            raise Wrong("for (%d, %g ms, %s) it sets max_batch_size, batch_timeout_micros, allowed_batch_sizes "
                        "to %s; expected %s" % (max_size, timeout_ms, allowed, got, expected))
    return "Both files load: sizes, a timeout in microseconds, and allowed sizes ending at the maximum."
