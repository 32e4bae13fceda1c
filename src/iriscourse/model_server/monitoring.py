"""Prometheus monitoring as TF Serving 2.x does it: MonitoringConfig, the metrics, and the text page.

`--monitoring_config_file` holds a text `MonitoringConfig`; with
`prometheus_config { enable: true }` the REST port serves every metric at
`prometheus_config.path` (default /monitoring/prometheus/metrics) in the text
format of TF Serving's `util/prometheus_exporter.cc`: metrics sorted by name,
a `# TYPE` line each (no HELP), `name{label="value",...} value` lines (`name{}`
without labels), histograms as cumulative `_bucket` lines ending in
`le="+Inf"`, then `_sum` and `_count`. Names are TensorFlow's metric names with
every character outside [A-Za-z0-9_] replaced by ':'.

prometheus_client cannot print that page (it adds HELP lines, `_total` and
`_created` series, prints `name 5.0` instead of `name{} 5`, and counts a value
equal to a bucket limit in that bucket, where TensorFlow's histograms count
it in the next one), so the small store and exposition here are our own.
"""
import bisect
import contextlib
import functools
import logging
import re
import sys
import threading
import time

import tensorflow as tf
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format

from . import errors

LOG = logging.getLogger(__name__)

DEFAULT_PATH = "/monitoring/prometheus/metrics"
CONTENT_TYPE = "text/plain"
_DBL_MAX = sys.float_info.max


def _config_classes():
    """MonitoringConfig and PrometheusConfig of tensorflow_serving/config/monitoring_config.proto.

    tensorflow-serving-api 1.13.1 does not ship monitoring_config_pb2, so the
    messages are built here with the real field numbers (in a pool of their own).
    """
    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="tensorflow_serving/config/monitoring_config.proto",
                                               package="tensorflow.serving", syntax="proto3")
    prometheus = proto.message_type.add(name="PrometheusConfig")
    prometheus.field.add(name="enable", number=1, type=field.TYPE_BOOL, label=field.LABEL_OPTIONAL)
    prometheus.field.add(name="path", number=2, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    monitoring = proto.message_type.add(name="MonitoringConfig")
    monitoring.field.add(name="prometheus_config", number=1, type=field.TYPE_MESSAGE, label=field.LABEL_OPTIONAL,
                         type_name=".tensorflow.serving.PrometheusConfig")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    factory = message_factory.MessageFactory(pool)
    return tuple(factory.GetPrototype(pool.FindMessageTypeByName("tensorflow.serving." + name))
                 for name in ("MonitoringConfig", "PrometheusConfig"))


MonitoringConfig, PrometheusConfig = _config_classes()


def read_config_file(path):
    """Parse a text MonitoringConfig file; ServingError with tensorflow_model_server's message when it cannot."""
    try:
        with tf.gfile.GFile(path, "rb") as config_file:
            text = config_file.read()
    except tf.errors.OpError as error:
        raise errors.from_tf_error(error)
    try:
        return text_format.Parse(text, MonitoringConfig())
    except (text_format.ParseError, UnicodeDecodeError) as error:
        LOG.error("Error parsing text-format tensorflow.serving.MonitoringConfig: %s", error)
        raise errors.invalid_argument("Invalid protobuf file: '%s'" % path)


def metrics_path(config):
    """The path of the metrics page, or None when Prometheus export is off."""
    if not config.prometheus_config.enable:
        return None
    return config.prometheus_config.path or DEFAULT_PATH


def metrics_page(path, uri):
    """(HTTP status, text) for a request to the metrics page at `path`; uri is the request target."""
    if uri != path:  # the page's handler is found by path; a query string then fails this check
        return 400, "Unexpected path: %s. Should be %s" % (uri, path)
    return 200, REGISTRY.page()


# ---------------------------------------------------------------- the metric store and its text page

def prometheus_name(name):
    """A TensorFlow metric name as Prometheus sees it (`/a/b-c` -> `:a:b:c`)."""
    name = re.sub(r"[^a-zA-Z0-9_]", ":", name)
    return "_" + name if name[:1].isdigit() else name


def _label_name(name):
    name = re.sub(r"[^a-zA-Z0-9]", "_", name)
    return "_" + name if name[:1].isdigit() else name


def _label_value(value):
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _number(value):
    """A double as absl::StrCat prints it (%g, six significant digits)."""
    return "%.6g" % value


def exponential_buckets(scale, growth_factor, bucket_count):
    """Bucket limits of TensorFlow's monitoring::Buckets::Exponential (a last bucket up to DBL_MAX follows)."""
    limits, bound = [], float(scale)
    for _ in range(bucket_count):
        limits.append(bound)
        bound *= growth_factor
    return limits


class _Metric(object):
    """A metric with labelled cells; thread-safe."""

    def __init__(self, name, kind, label_names):
        self.name, self.kind, self.label_names = name, kind, tuple(label_names)
        self._cells = {}
        self._lock = threading.Lock()

    def _key(self, labels):
        if len(labels) != len(self.label_names):
            raise ValueError("%s takes labels %s, got %r" % (self.name, self.label_names, labels))
        return tuple(labels)

    def _labels(self, values, extra=()):
        return ['%s="%s"' % (_label_name(name), _label_value(value))
                for name, value in zip(self.label_names, values)] + list(extra)

    def lines(self):
        """The metric's lines of the text page: its TYPE line, then its cells in label order."""
        with self._lock:
            cells = sorted((labels, self._snapshot(cell)) for labels, cell in self._cells.items())
        name = prometheus_name(self.name)
        lines = ["# TYPE %s %s" % (name, self.kind)]
        for labels, cell in cells:
            lines.extend(self._cell_lines(name, labels, cell))
        return lines


class _Scalar(_Metric):
    """An int64 per cell, printed as `name{labels} value`."""

    def value(self, *labels):
        """The cell's value (0 when it does not exist)."""
        with self._lock:
            return self._cells.get(self._key(labels), 0)

    @staticmethod
    def _snapshot(cell):
        return cell

    def _cell_lines(self, name, labels, value):
        return ["%s{%s} %d" % (name, ",".join(self._labels(labels)), value)]


class Counter(_Scalar):
    """TensorFlow's monitoring::Counter: a cumulative int64."""

    def __init__(self, name, *label_names):
        super(Counter, self).__init__(name, "counter", label_names)

    def increment(self, *labels, by=1):
        """Add `by` to the cell of these label values."""
        key = self._key(labels)
        with self._lock:
            self._cells[key] = self._cells.get(key, 0) + int(by)


class Gauge(_Scalar):
    """TensorFlow's monitoring::Gauge<int64>: a value that is set."""

    def __init__(self, name, *label_names):
        super(Gauge, self).__init__(name, "gauge", label_names)

    def set(self, value, *labels):
        """Set the cell of these label values."""
        key = self._key(labels)
        with self._lock:
            self._cells[key] = int(value)


class Histogram(_Metric):
    """TensorFlow's monitoring::Sampler: a value goes to the first bucket whose limit is above it."""

    def __init__(self, name, limits, *label_names):
        super(Histogram, self).__init__(name, "histogram", label_names)
        self.limits = list(limits) + ([] if limits[-1] == _DBL_MAX else [_DBL_MAX])

    def observe(self, value, *labels):
        """Add one sample to the cell of these label values."""
        key = self._key(labels)
        bucket = min(bisect.bisect_right(self.limits, value), len(self.limits) - 1)
        with self._lock:
            cell = self._cells.get(key)
            if cell is None:
                cell = self._cells[key] = [[0] * len(self.limits), 0.0]
            cell[0][bucket] += 1
            cell[1] += value

    def count(self, *labels):
        """Number of samples in the cell (0 when it does not exist)."""
        with self._lock:
            cell = self._cells.get(self._key(labels))
            return sum(cell[0]) if cell else 0

    @staticmethod
    def _snapshot(cell):
        return list(cell[0]), cell[1]

    def _cell_lines(self, name, labels, cell):
        counts, total = cell
        lines, cumulative = [], 0
        for index, count in enumerate(counts):
            cumulative += count
            limit = _number(self.limits[index]) if index < len(counts) - 1 else "+Inf"
            lines.append('%s_bucket{%s} %d' % (name, ",".join(self._labels(labels, ['le="%s"' % limit])),
                                               cumulative))
        plain = ",".join(self._labels(labels))
        lines.append("%s_sum{%s} %s" % (name, plain, _number(total)))
        lines.append("%s_count{%s} %d" % (name, plain, cumulative))
        return lines


class Registry(object):
    """Metrics by TensorFlow name, and the page that shows them all (sorted by name)."""

    def __init__(self):
        self._metrics = {}
        self._lock = threading.Lock()

    def add(self, metric):
        """Register a metric and return it."""
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError("metric %s is already registered" % metric.name)
            self._metrics[metric.name] = metric
        return metric

    def page(self):
        """The Prometheus text page of every metric."""
        with self._lock:
            metrics = [self._metrics[name] for name in sorted(self._metrics)]
        lines = []
        for metric in metrics:
            lines.extend(metric.lines())
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the server's metrics (TF Serving 2.x names)

REGISTRY = Registry()
_LATENCY_BUCKETS = exponential_buckets(10, 1.8, 33)  # microseconds, up to about 20 minutes
REQUEST_COUNT = REGISTRY.add(Counter("/tensorflow/serving/request_count", "model_name", "status"))
REQUEST_LATENCY = REGISTRY.add(Histogram("/tensorflow/serving/request_latency", _LATENCY_BUCKETS,
                                         "model_name", "API", "entrypoint"))
RUNTIME_LATENCY = REGISTRY.add(Histogram("/tensorflow/serving/runtime_latency", _LATENCY_BUCKETS,
                                         "model_name", "API", "runtime"))
EXAMPLE_COUNTS = REGISTRY.add(Histogram("/tensorflow/serving/request_example_counts",
                                        exponential_buckets(1, 2, 15), "model"))
EXAMPLE_COUNT_TOTAL = REGISTRY.add(Counter("/tensorflow/serving/request_example_count_total", "model"))
WARMUP_LATENCY = REGISTRY.add(Histogram("/tensorflow/serving/model_warmup_latency", _LATENCY_BUCKETS,
                                        "model_path", "status"))
LOAD_ATTEMPT_COUNT = REGISTRY.add(Counter("/tensorflow/cc/saved_model/load_attempt_count", "model_path", "status"))
LOAD_LATENCY = REGISTRY.add(Counter("/tensorflow/cc/saved_model/load_latency", "model_path"))
GRAPH_RUNS = REGISTRY.add(Counter("/tensorflow/core/graph_runs"))
GRAPH_RUN_TIME = REGISTRY.add(Counter("/tensorflow/core/graph_run_time_usecs"))
GRAPH_RUN_TIME_HISTOGRAM = REGISTRY.add(Histogram("/tensorflow/core/graph_run_time_usecs_histogram",
                                                  exponential_buckets(1000, 2, 20)))


def _micros_since(started):
    return int((time.monotonic() - started) * 1e6)


def record_request(model_name, api, entrypoint, code, started):
    """Count a front-end call by model and status; time it when it succeeded (started: time.monotonic())."""
    REQUEST_COUNT.increment(model_name, errors.code_name(code))
    if code == errors.OK:
        REQUEST_LATENCY.observe(_micros_since(started), model_name, api, entrypoint)


def counted_rpc(api):
    """Decorator of a PredictionService method: request_count and request_latency with entrypoint GRPC."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(servicer, request, context):
            started, code = time.monotonic(), errors.INTERNAL  # what the front end makes of other failures
            try:
                response = method(servicer, request, context)
                code = errors.OK
                return response
            except errors.ServingError as error:
                code = error.code
                raise
            finally:
                record_request(request.model_spec.name, api, "GRPC", code, started)
        return wrapper
    return decorate


@contextlib.contextmanager
def runtime_latency(model_name, api):
    """Time a successful session run of a Predict / Classify / Regress call (runtime TF1)."""
    started = time.monotonic()
    yield
    RUNTIME_LATENCY.observe(_micros_since(started), model_name, api, "TF1")


@contextlib.contextmanager
def graph_run():
    """Count and time a successful graph run, as TensorFlow's DirectSession does."""
    started = time.monotonic()
    yield
    micros = _micros_since(started)
    if micros > 0:
        GRAPH_RUNS.increment()
        GRAPH_RUN_TIME.increment(by=micros)
        GRAPH_RUN_TIME_HISTOGRAM.observe(micros)


@contextlib.contextmanager
def saved_model_load(model_path):
    """Count a SavedModel load attempt (status success / fail) and add its time to load_latency."""
    started, status = time.monotonic(), "fail"
    try:
        yield
        status = "success"
    finally:
        LOAD_ATTEMPT_COUNT.increment(model_path, status)
        LOAD_LATENCY.increment(model_path, by=_micros_since(started))


def record_example_count(model_name, count):
    """Examples of one MultiInference request (request_example_counts and request_example_count_total)."""
    EXAMPLE_COUNTS.observe(count, model_name)
    EXAMPLE_COUNT_TOTAL.increment(model_name, by=count)


def record_warmup(model_path, status, microseconds):
    """A model warm-up's time; status is "OK" or the error as `CODE: message` (absl Status::ToString)."""
    WARMUP_LATENCY.observe(microseconds, model_path, status)
