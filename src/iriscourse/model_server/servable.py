"""One loaded SavedModel version: its own graph and session, its signatures, and graph runs.

Runs go through callables made from `CallableOptions`, which feed the C++
session directly: like TF Serving, no Python-side static shape check, the graph
decides which fed shapes work. String inputs that reach a ParseExample-family
op are checked with the protobuf parser first, because TF 1.13's parser can
take the whole process down on malformed bytes.
"""
import os
import threading
import weakref
from collections import OrderedDict

import numpy as np
import tensorflow as tf
from google.protobuf.message import DecodeError
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import config_pb2
from tensorflow_serving.apis import get_model_metadata_pb2

from . import batching as batching_module
from . import errors, monitoring, warmup


_PARSE_OPS = {
    "ParseExample": example_pb2.Example,
    "ParseExampleV2": example_pb2.Example,
    "ParseSingleExample": example_pb2.Example,
    "ParseSequenceExample": example_pb2.SequenceExample,
    "ParseSequenceExampleV2": example_pb2.SequenceExample,
    "ParseSingleSequenceExample": example_pb2.SequenceExample,
}
_PASS_THROUGH_OPS = {"Identity", "IdentityN", "StopGradient", "Snapshot", "PlaceholderWithDefault",
                     "Reshape", "ExpandDims", "Squeeze"}
_CALLABLE_CACHE_SIZE = 64
# RunOptions.inter_op_thread_pool = -1 runs the graph in the request's own thread instead of handing it to
# TensorFlow's inter-op pool and back: the front end's thread pool is the pool (ops still use intra-op threads).
_CALLER_THREAD = -1
_MESSAGE_VALUE_LIMIT = 256


def session_config(intra_op_threads=0, inter_op_threads=0):
    """Session options for a servable (0 threads lets TensorFlow use every core)."""
    return config_pb2.ConfigProto(intra_op_parallelism_threads=intra_op_threads,
                                  inter_op_parallelism_threads=inter_op_threads,
                                  allow_soft_placement=True)


def _as_array(value):
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, bytes):
        array = np.empty((), dtype=object)
        array[()] = value
        return array
    return np.asarray(value)


def _load_error(error, path):
    if isinstance(error, tf.errors.OpError):
        return errors.from_tf_error(error)
    if isinstance(error, RuntimeError):  # the loader's "MetaGraphDef ... could not be found"
        return errors.not_found(str(error))
    if isinstance(error, (IOError, OSError)):
        return errors.not_found("%s (export directory: %s)" % (error, path))
    if isinstance(error, DecodeError):
        return errors.ServingError(errors.DATA_LOSS, "Could not parse SavedModel at %s: %s" % (path, error))
    return errors.ServingError(errors.UNKNOWN, "%s: %s" % (type(error).__name__, error))


class Servable(object):
    """A SavedModel version loaded into its own tf.Graph and tf.Session."""

    def __init__(self, name, version, path, tags, config=None, batching=None, warmup_iterations=None):
        """batching: the server's batching.SharedBatchScheduler or None; warmup_iterations: None skips warm-up."""
        self.name, self.version, self.path = name, version, path
        if not any(tf.gfile.Exists(os.path.join(path, filename))
                   for filename in ("saved_model.pb", "saved_model.pbtxt")):
            raise errors.not_found(
                "Could not find SavedModel .pb or .pbtxt at supplied export directory path: %s" % path)
        self._graph = tf.Graph()
        self._session = tf.Session(graph=self._graph, config=config or session_config())
        try:
            with monitoring.saved_model_load(path):
                meta_graph = tf.saved_model.loader.load(self._session, list(tags), path)
        except Exception as error:  # any loader failure becomes a load status, never a crash
            self._session.close()
            raise _load_error(error, path)
        self.signatures = dict(meta_graph.signature_def)
        self._example_inputs = self._find_example_inputs()
        self._callables = OrderedDict()
        self._lock = threading.Lock()
        self._batching = None
        if batching is not None:
            try:
                self._batching = batching_module.BatchingSession(batching, self.signatures.values(), self._run)
            except errors.ServingError:
                self._session.close()
                raise
        if warmup_iterations is not None:  # None: --enable_model_warmup=false; a failure fails the load
            try:
                warmup.run(self, warmup_iterations)
            except Exception:
                self.close()
                raise

    def signature_def_map(self):
        """The signatures as the SignatureDefMap that model metadata returns."""
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, signature in self.signatures.items():
            signature_map.signature_def[key].CopyFrom(signature)
        return signature_map

    def _find_example_inputs(self):
        """Map string input tensors that feed a ParseExample-family op to the proto they parse."""
        found = {}
        for signature in self.signatures.values():
            for info in signature.inputs.values():
                if info.dtype == types_pb2.DT_STRING and info.name not in found:
                    proto_class = self._parsed_as(info.name)
                    if proto_class is not None:
                        found[info.name] = proto_class
        return found

    def _parsed_as(self, tensor_name):
        try:
            pending = [self._graph.get_tensor_by_name(tensor_name)]
        except (KeyError, ValueError):
            return None
        seen = set()
        while pending:
            tensor = pending.pop()
            for op in tensor.consumers():
                if op.type in _PARSE_OPS and op.inputs[0].name == tensor.name:
                    return _PARSE_OPS[op.type]
                if op.type in _PASS_THROUGH_OPS and op.name not in seen:
                    seen.add(op.name)
                    pending.extend(op.outputs)
        return None

    def _checked_feed(self, tensor_name, array):
        """Validate (and re-serialize) serialized protos bound for a parse op."""
        proto_class = self._example_inputs.get(tensor_name)
        if proto_class is None or array.dtype != object:
            return array
        checked = np.empty(array.shape, dtype=object)
        for index, raw in np.ndenumerate(array):
            if not isinstance(raw, bytes):
                return array  # not strings: the session reports the type mismatch
            message = proto_class()
            try:
                message.ParseFromString(raw)
            except (DecodeError, RuntimeError, ValueError):
                shown = raw[:_MESSAGE_VALUE_LIMIT].decode("utf-8", "surrogateescape")
                raise errors.invalid_argument("Could not parse example input, value: '%s'" % shown)
            checked[index] = message.SerializeToString()
        return checked

    def _callable(self, feeds, fetches, timeout_ms):
        key = (feeds, fetches, timeout_ms)
        with self._lock:
            run = self._callables.pop(key, None)
            if run is None:
                options = config_pb2.CallableOptions(feed=feeds, fetch=fetches)
                options.run_options.inter_op_thread_pool = _CALLER_THREAD
                if timeout_ms:
                    options.run_options.timeout_in_ms = timeout_ms
                run = self._session._make_callable_from_options(options)  # pylint: disable=protected-access
            self._callables[key] = run
            while len(self._callables) > _CALLABLE_CACHE_SIZE:
                self._callables.popitem(last=False)
        return run

    def run(self, feeds, fetches, timeout_ms=0):
        """Run the graph, batched when batching is on: feeds maps tensor names to arrays; one array per fetch."""
        checked = {name: self._checked_feed(name, array) for name, array in feeds.items()}
        if self._batching is not None:
            return self._batching.run(checked, fetches, timeout_ms)
        return self._run(checked, fetches, timeout_ms)

    def _run(self, feeds, fetches, timeout_ms):
        feed_names = tuple(sorted(feeds))
        arrays = [feeds[name] for name in feed_names]
        unique_fetches = tuple(OrderedDict.fromkeys(fetches))
        try:
            run = self._callable(feed_names, unique_fetches, int(timeout_ms))
            with monitoring.graph_run():  # the run itself: building the callable is no graph run
                values = run(*arrays)
        except tf.errors.OpError as error:
            raise errors.from_tf_error(error)
        except (TypeError, ValueError) as error:
            raise errors.invalid_argument(str(error))
        by_name = dict(zip(unique_fetches, (_as_array(value) for value in values)))
        return [by_name[name] for name in fetches]

    def close(self):
        """Close the batch queues, release the callables, close the session (cancelling runs in progress)."""
        if self._batching is not None:
            self._batching.close()
        with self._lock:
            cached = [weakref.ref(run) for run in self._callables.values()]
            self._callables.clear()  # callables no request holds are released here
        self._session.close()
        for reference in cached:
            run = reference()
            if run is not None:
                # Still held by a request whose run the close cancelled: its handle died with the
                # session, and releasing it later would only print a CancelledError.
                run._handle = None  # pylint: disable=protected-access
