"""Model warm-up as TF Serving 2.x does it: replay the requests of `assets.extra/tf_serving_warmup_requests`.

The file is a TFRecord file of serialized `tensorflow.serving.PredictionLog`s.
Each record's request runs on the version being loaded, in file order, before
the version becomes AVAILABLE; any failure fails the load. The messages are
those of tensorflow_serving/servables/tensorflow/saved_model_warmup_util.cc and
of TensorFlow's TFRecord reader (tsl/lib/io/record_reader.cc).
"""
import logging
import os
import re
import time

import tensorflow as tf
from google.protobuf import text_encoding
from google.protobuf.message import DecodeError
from tensorflow_serving.apis import prediction_log_pb2

from . import errors, grpc_service, monitoring

LOG = logging.getLogger(__name__)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000
_SESSION_RUN_LOG = prediction_log_pb2.PredictionLog.SESSION_RUN_LOG_FIELD_NUMBER
_PREDICT_STREAMED_LOG = 7  # TF Serving 2.12+; unknown to the 1.13 protos this server reads
_REPLAYS = {
    "predict_log": grpc_service.run_predict,
    "classify_log": grpc_service.run_classify,
    "regress_log": grpc_service.run_regress,
    "multi_inference_log": grpc_service.run_multi_inference,
}
# TF 1.13's reader says "truncated record at N"; current TensorFlow adds where the read stopped, and a
# reminder about the format when the first record's checksum fails.
_TRUNCATED = re.compile(r"truncated record at \d+\Z")
_FIRST_RECORD_CORRUPTED = "corrupted record at 0"


def _data_loss(message):
    if _TRUNCATED.match(message):
        message += "' failed with Read less bytes than requested"
    elif message == _FIRST_RECORD_CORRUPTED:
        message += " (Is this even a TFRecord file?)"
    return errors.ServingError(errors.DATA_LOSS, message)


def read_records(path):
    """The records of a TFRecord file, in order; a damaged file raises DATA_LOSS with TensorFlow's message.

    Like TensorFlow's reader, a file that ends inside a record's 12-byte header ends the records there.
    """
    try:
        for record in tf.python_io.tf_record_iterator(path):
            yield record
    except tf.errors.DataLossError as error:
        raise _data_loss(error.message)
    except tf.errors.OpError as error:
        raise errors.from_tf_error(error)


def _parse(record, path):
    log = prediction_log_pb2.PredictionLog()
    try:
        log.ParseFromString(record)
    except DecodeError:
        raise errors.invalid_argument("Failed to parse warmup record: %s from %s"
                                      % (record.decode("utf-8", "replace"), path))
    return log


def replay(servable, log):
    """Run one PredictionLog's request on the servable (a log without a request does nothing)."""
    kind = log.WhichOneof("log_type")
    if kind in _REPLAYS:
        _REPLAYS[kind](servable, getattr(log, kind).request)
    elif kind == "session_run_log":
        raise errors.unimplemented("Unsupported log_type for warmup: %d" % _SESSION_RUN_LOG)
    elif any(field.field_number == _PREDICT_STREAMED_LOG for field in log.UnknownFields()):
        raise errors.unimplemented("Unsupported log_type for warmup: %d" % _PREDICT_STREAMED_LOG)


def _options_text(servable, num_request_iterations):
    """ModelWarmupOptions.DebugString() of the options the real server builds (without the last newline)."""
    lines = ["num_request_iterations {", "  value: %d" % num_request_iterations, "}"] \
        if num_request_iterations > 0 else []
    lines.append('model_name: "%s"' % text_encoding.CEscape(servable.name, as_utf8=True))
    if servable.version:  # proto3 prints no zero
        lines.append("model_version: %d" % servable.version)
    return "\n".join(lines)


def run(servable, num_request_iterations=0):
    """Replay the servable's warm-up file, each record num_request_iterations times (values below 1 mean 1).

    Raises the ServingError that fails the version's load. No file is not an error.
    """
    start = time.monotonic()
    path = os.path.join(servable.path, WARMUP_FILE)
    if not tf.gfile.Exists(path):
        LOG.info("No warmup data file found at %s", path)
        return
    LOG.info("Starting to read warmup data for model at %s with model-warmup-options %s", path,
             _options_text(servable, num_request_iterations))
    count, records, read_failure = 0, read_records(path), None
    while True:
        try:
            record = next(records)
        except StopIteration:
            break
        except errors.ServingError as error:
            read_failure = error
            break
        log = _parse(record, path)
        for _ in range(max(num_request_iterations, 1)):
            replay(servable, log)
        count += 1
        if count > MAX_RECORDS:
            raise errors.invalid_argument("Number of warmup records exceeds the maximum (%d) at %s"
                                          % (MAX_RECORDS, path))
    _finished(servable.path, count, int((time.monotonic() - start) * 1e6), read_failure)


def _finished(export_dir, count, elapsed_micros, failure):
    """The end of reading the file (failure: a read error or None): record the latency, log, raise the failure.

    As in TF Serving, a bad record or a failing request ends the warm-up before this point, unrecorded.
    """
    path = os.path.join(export_dir, WARMUP_FILE)
    monitoring.record_warmup(export_dir, "OK" if failure is None else "%s: %s" % (
        errors.code_name(failure.code), failure.message), elapsed_micros)
    if failure is not None and failure.code == errors.DATA_LOSS:
        raise errors.ServingError(errors.DATA_LOSS,
                                  failure.message + ". Please verify your warmup data is in TFRecord format.")
    if failure is not None:
        raise failure
    LOG.info("Finished reading warmup data for model at %s. Number of warmup records read: %d. "
             "Elapsed time (microseconds): %d.", path, count, elapsed_micros)
