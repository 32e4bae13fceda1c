"""Request batching (`--enable_batching`) as TF Serving 2.x does it.

* `BatchingParameters`: the text proto of `--batching_parameters_file`
  (session_bundle_config.proto, which tensorflow-serving-api 1.13 does not ship),
  with the same field numbers and wrapper types.
* `SharedBatchScheduler`: TensorFlow's shared batch scheduler. `num_batch_threads`
  threads serve every queue in turn; a queue's open batch closes when it is full or
  `batch_timeout_micros` after its first task arrived; at most
  `max_enqueued_batches` batches wait per queue.
* `BatchingSession`: one servable's batched runs (TF Serving's BatchingSession).
  One queue per signature's tensor set, made at load, and, as in 2.6+, one per any
  other feed/fetch set, made on first use. Tasks are concatenated on dimension 0,
  padded up to the next `allowed_batch_sizes` entry (padding rows repeat a row of
  the last task) and the outputs are split back per task.
"""
import collections
import functools
import logging
import math
import os
import threading
import time

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2

from . import errors

LOG = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE = 1000  # SharedBatchScheduler::QueueOptions defaults
DEFAULT_MAX_ENQUEUED_BATCHES = 10
DEFAULT_THREAD_POOL_NAME = "batch_threads"
SERVER_THREAD_POOL_NAME = "model_server_batch_threads"  # what the server names the pool when no file is given
_PAD_MAX_RANK = 6
_SIZE_T = 1 << 64


def _message_class():
    """BatchingParameters, built from a descriptor with session_bundle_config.proto's field numbers."""
    field = descriptor_pb2.FieldDescriptorProto
    wrapped = [("max_batch_size", 1, "Int64Value"), ("batch_timeout_micros", 2, "Int64Value"),
               ("max_enqueued_batches", 3, "Int64Value"), ("num_batch_threads", 4, "Int64Value"),
               ("thread_pool_name", 5, "StringValue"), ("enable_large_batch_splitting", 8, "BoolValue"),
               ("max_execution_batch_size", 9, "Int64Value")]
    proto = descriptor_pb2.FileDescriptorProto(name="iriscourse/model_server/batching_parameters.proto",
                                               package="tensorflow.serving", syntax="proto3",
                                               dependency=[wrappers_pb2.DESCRIPTOR.name])
    message = proto.message_type.add(name="BatchingParameters")
    for name, number, wrapper in wrapped:
        message.field.add(name=name, number=number, type=field.TYPE_MESSAGE, label=field.LABEL_OPTIONAL,
                          type_name=".google.protobuf." + wrapper)
    message.field.add(name="allowed_batch_sizes", number=6, type=field.TYPE_INT64, label=field.LABEL_REPEATED)
    message.field.add(name="pad_variable_length_inputs", number=7, type=field.TYPE_BOOL,
                      label=field.LABEL_OPTIONAL)
    pool = descriptor_pool.Default()
    pool.AddSerializedFile(proto.SerializeToString())
    return message_factory.MessageFactory(pool).GetPrototype(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


BatchingParameters = _message_class()


def default_parameters():
    """The parameters of `--enable_batching` without a file: every default, the server's pool name."""
    parameters = BatchingParameters()
    parameters.thread_pool_name.value = SERVER_THREAD_POOL_NAME
    return parameters


def read_parameters(path):
    """Parse a text BatchingParameters file, with ParseProtoTextFile's errors."""
    try:
        with open(path, "rb") as parameters_file:
            text = parameters_file.read()
    except (IOError, OSError) as error:
        code = errors.NOT_FOUND if isinstance(error, FileNotFoundError) else errors.UNKNOWN
        raise errors.ServingError(code, "%s; %s" % (path, error.strerror))
    try:
        return text_format.Parse(text.decode("utf-8"), BatchingParameters())
    except (text_format.ParseError, UnicodeDecodeError):
        raise errors.invalid_argument("Invalid protobuf file: '%s'" % path)


def _wrapped(parameters, name, default):
    return getattr(parameters, name).value if parameters.HasField(name) else default


QueueOptions = collections.namedtuple(
    "QueueOptions", "input_batch_size_limit batch_timeout_s max_enqueued_batches max_execution_batch_size "
                    "large_batch_splitting")


def queue_options(parameters):
    """A queue's options from the parameters, checked as a version load checks them (INVALID_ARGUMENT)."""
    # These options are size_t in C++: a negative value wraps around to a huge one there, and here.
    limit = _wrapped(parameters, "max_batch_size", DEFAULT_MAX_BATCH_SIZE) % _SIZE_T
    timeout_micros = _wrapped(parameters, "batch_timeout_micros", 0)
    max_enqueued = _wrapped(parameters, "max_enqueued_batches", DEFAULT_MAX_ENQUEUED_BATCHES) % _SIZE_T
    splitting = _wrapped(parameters, "enable_large_batch_splitting", False)
    execution_limit = _wrapped(parameters, "max_execution_batch_size", limit) % _SIZE_T if splitting else limit
    if parameters.allowed_batch_sizes:
        last = parameters.allowed_batch_sizes[-1]
        expected = _wrapped(parameters, "max_batch_size", DEFAULT_MAX_BATCH_SIZE)
        if last != expected:
            raise errors.invalid_argument("Last entry in allowed_batch_sizes must match max_batch_size; last "
                                          "entry was %d; expected %d" % (last, expected))
    if not splitting and max_enqueued == 0:
        max_enqueued = 1  # SharedBatchScheduler::AddQueue keeps old low-QPS configs working this way
    if limit == 0:
        raise errors.invalid_argument("input_batch_size_limit must be positive; was 0")
    if timeout_micros < 0:
        raise errors.invalid_argument("batch_timeout_micros must be non-negative; was %d" % timeout_micros)
    if max_enqueued == 0:
        raise errors.invalid_argument("max_enqueued_batches must be positive; was 0")
    if splitting and limit < execution_limit:
        # StrCat glues the three values to the sentence, as here.
        raise errors.invalid_argument(
            "When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal "
            "to max_execution_batch_size.1%d%d" % (limit, execution_limit))
    return QueueOptions(limit, timeout_micros / 1e6, max_enqueued, max(execution_limit, 1), splitting)


# ------------------------------------------------------------------ tasks and queues


class _Call(object):
    """One Run() call waiting for its rows: one piece, or several when large batch splitting cut it up."""

    __slots__ = ("fetches", "deadline", "_pieces", "_left", "_error", "_lock", "_done")

    def __init__(self, fetches, deadline):
        self.fetches, self.deadline = fetches, deadline
        self._pieces, self._left, self._error = [], 0, None
        self._lock, self._done = threading.Lock(), threading.Event()

    def expect(self, count):
        """Set the number of pieces (before any of them can finish)."""
        self._pieces, self._left = [None] * count, count

    def finish(self, index, outputs=None, error=None):
        """Record piece `index`'s outputs or error; the call is done once every piece is."""
        with self._lock:
            self._pieces[index] = outputs
            if error is not None and self._error is None:
                self._error = error
            self._left -= 1
            if self._left:
                return
        self._done.set()

    def result(self):
        """Wait for every piece; the fetched arrays in fetch order, or the first error raised."""
        self._done.wait()
        if self._error is not None:
            raise errors.ServingError(self._error.code, self._error.message)
        if len(self._pieces) == 1:
            return self._pieces[0]
        return [np.concatenate([piece[index] for piece in self._pieces]) for index in range(len(self.fetches))]


class _Task(object):
    """A piece of a call in a batch: its input arrays and its number of rows."""

    __slots__ = ("inputs", "size", "call", "index")

    def __init__(self, inputs, size, call, index):
        self.inputs, self.size, self.call, self.index = inputs, size, call, index


class _Batch(object):
    __slots__ = ("tasks", "size")

    def __init__(self):
        self.tasks, self.size = [], 0

    def add(self, task):
        self.tasks.append(task)
        self.size += task.size


def _piece_sizes(size, room, limit):
    """How large batch splitting cuts a task: the open batch's room first, then full batches."""
    pieces = []
    if room > 0:
        pieces.append(min(room, size))
        size -= pieces[0]
    while size > 0:
        pieces.append(min(limit, size))
        size -= pieces[-1]
    return pieces


class _Queue(object):
    """One task type's batches (the last one open); every method runs under the scheduler's lock."""

    def __init__(self, options, process):
        self.options, self.process = options, process
        self.batches = collections.deque([_Batch()])
        self.open_since = 0.0
        self.processing = 0
        self.closed = False
        self.listed = True

    def schedule(self, inputs, size, call, now):
        """Add a call's rows to the open batch (or start new ones); raises when they do not fit."""
        options, open_batch = self.options, self.batches[-1]
        if size > options.input_batch_size_limit:
            raise errors.invalid_argument("Task size %d is larger than maximum input batch size %d"
                                          % (size, options.input_batch_size_limit))
        if options.large_batch_splitting:
            capacity = ((options.max_enqueued_batches - len(self.batches)) * options.max_execution_batch_size
                        + options.max_execution_batch_size - open_batch.size)
            if size > capacity:
                raise errors.ServingError(errors.UNAVAILABLE, (
                    "The batch scheduling queue to which this task was submitted is full; task size is %d but "
                    "scheduling capacity is only %d (num_enqueued_batches=%d, max_enqueued_batches=%d, "
                    "open_batch_size=%d, max_execution_batch_size=%d)")
                    % (size, capacity, len(self.batches), options.max_enqueued_batches, open_batch.size,
                       options.max_execution_batch_size))
        elif open_batch.size + size > options.input_batch_size_limit \
                and len(self.batches) >= options.max_enqueued_batches:
            raise errors.ServingError(errors.UNAVAILABLE, (
                "The batch scheduling queue to which this task was submitted is full; currently %d batches "
                "enqueued and max_enqueued_batches is %d") % (len(self.batches), options.max_enqueued_batches))
        room = options.max_execution_batch_size - open_batch.size
        pieces = _piece_sizes(size, room, options.max_execution_batch_size) \
            if options.large_batch_splitting and size > room else [size]
        call.expect(len(pieces))
        start = 0
        for index, piece in enumerate(pieces):
            if self.batches[-1].size + piece > options.max_execution_batch_size:
                self.batches.append(_Batch())
            if not self.batches[-1].tasks:
                self.open_since = now
            piece_inputs = inputs if len(pieces) == 1 else {
                name: array[start:start + piece] for name, array in inputs.items()}
            self.batches[-1].add(_Task(piece_inputs, piece, call, index))
            start += piece

    def _open_batch_due(self, now):
        batch = self.batches[-1]
        return bool(batch.tasks) and (self.closed or batch.size >= self.options.max_execution_batch_size
                                      or now >= self.open_since + self.options.batch_timeout_s)

    def take(self, now):
        """The next closed batch to process (closing the open one when it is due), or None."""
        if len(self.batches) == 1 and self._open_batch_due(now):
            self.batches.append(_Batch())
        if len(self.batches) < 2:
            return None
        self.processing += 1
        return self.batches.popleft()

    def due_at(self):
        """When the open batch's timeout closes it, or None when it holds nothing."""
        return self.open_since + self.options.batch_timeout_s if self.batches[-1].tasks else None

    def idle(self):
        """Nothing queued and nothing being processed."""
        return len(self.batches) == 1 and not self.batches[0].tasks and not self.processing


class SharedBatchScheduler(object):
    """The server's batch threads, shared by every queue of every servable (TensorFlow's SharedBatchScheduler)."""

    def __init__(self, parameters):
        threads = _wrapped(parameters, "num_batch_threads", os.cpu_count() or 1)
        if threads < 1:
            raise errors.invalid_argument("num_batch_threads must be positive; was %d" % threads)
        self.parameters = parameters
        self._cond = threading.Condition()
        self._queues, self._next, self._stopped = [], 0, False
        name = _wrapped(parameters, "thread_pool_name", DEFAULT_THREAD_POOL_NAME)
        self._threads = [threading.Thread(target=self._work, name="%s_%d" % (name, number), daemon=True)
                         for number in range(threads)]
        for thread in self._threads:
            thread.start()

    def add_queue(self, options, process):
        """A new queue whose batches go to process(batch)."""
        queue = _Queue(options, process)
        with self._cond:
            self._queues.append(queue)
        return queue

    def schedule(self, queue, inputs, size, fetches, timeout_ms):
        """Queue one Run() call; returns its _Call (raises when the queue refuses it)."""
        now = time.monotonic()
        call = _Call(fetches, now + timeout_ms / 1e3 if timeout_ms > 0 else None)
        with self._cond:
            if not queue.listed:  # a closed queue dropped from the rotation gets a late call
                self._queues.append(queue)
                queue.listed = True
            queue.schedule(inputs, size, call, now)
            self._cond.notify()
        return call

    def close_queue(self, queue):
        """Accept no more waiting: the queue's batches are processed at once from now on."""
        with self._cond:
            queue.closed = True
            self._cond.notify_all()

    def close(self):
        """Stop the batch threads once they finish the batches they hold (batches still queued never run)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()

    def _next_batch(self, now):
        """Round-robin over the queues: (queue, batch) for the first one with a batch to process."""
        count = len(self._queues)
        for offset in range(count):
            queue = self._queues[(self._next + offset) % count]
            batch = queue.take(now)
            if batch is not None:
                self._next = (self._next + offset + 1) % count
                return queue, batch
        for queue in [queue for queue in self._queues if queue.closed and queue.idle()]:
            self._queues.remove(queue)
            queue.listed = False
        return None

    def _wait_seconds(self, now):
        due = [at for at in (queue.due_at() for queue in self._queues) if at is not None]
        return max(min(due) - now, 0.0) if due else None

    def _work(self):
        while True:
            with self._cond:
                while True:
                    if self._stopped:
                        return
                    now = time.monotonic()
                    found = self._next_batch(now)
                    if found is not None:
                        break
                    self._cond.wait(self._wait_seconds(now))
            queue, batch = found
            try:
                queue.process(batch)
            finally:
                with self._cond:
                    queue.processing -= 1


# ------------------------------------------------------------------ batched runs


def input_batch_size(feeds):
    """The rows of a Run() call: every input's 0th dimension, which must agree (INVALID_ARGUMENT)."""
    if not feeds:
        raise errors.invalid_argument("Batching Run() must have at least one input tensor")
    size = None
    for name in sorted(feeds):
        array = feeds[name]
        if array.ndim == 0:
            raise errors.invalid_argument("Batching Run() input tensors must have at least one dimension")
        if size is not None and array.shape[0] != size:
            raise errors.invalid_argument("Batching Run() input tensors must have equal 0th-dimension size")
        size = array.shape[0]
    return size


def _padded(array, shape):
    """The array grown to shape (dimensions 1 and up) with copies of its first value."""
    if array.ndim > _PAD_MAX_RANK:
        raise errors.invalid_argument("Only tensors with rank from 1 to 6 can be padded.")
    target = (array.shape[0],) + tuple(int(size) for size in shape[1:])
    if int(np.prod(target)) == array.size:
        return array.reshape(target)
    if array.size == 0:
        raise errors.invalid_argument("Got empty tensor in batch of non-empty tensors.")
    padded = np.full(target, array.flat[0], dtype=array.dtype)
    padded[tuple(slice(0, size) for size in array.shape)] = array
    return padded


def _power_of_two_ms(seconds):
    """A session timeout in milliseconds, rounded up to a power of two so few callables are made."""
    milliseconds = max(int(math.ceil(seconds * 1e3)), 1)
    return 1 << (milliseconds - 1).bit_length()


class BatchingSession(object):
    """One servable's batched runs: run(feeds, fetches, timeout_ms) goes through its queue.

    `run_batch(feeds, fetches, timeout_ms)` is the servable's own (unbatched) graph run.
    """

    def __init__(self, scheduler, signatures, run_batch):
        LOG.info("Wrapping session to perform batch processing")
        parameters = scheduler.parameters
        self._options = queue_options(parameters)
        self._allowed = list(parameters.allowed_batch_sizes)
        self._pad_inputs = parameters.pad_variable_length_inputs
        self._scheduler, self._run_batch = scheduler, run_batch
        self._lock = threading.Lock()
        self._queues = {}
        for signature in signatures:
            self._queue((frozenset(info.name for info in signature.inputs.values()),
                         frozenset(info.name for info in signature.outputs.values())))

    def _queue(self, key):
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = self._scheduler.add_queue(
                    self._options, functools.partial(self._process, key))
        return queue

    def run(self, feeds, fetches, timeout_ms=0):
        """Run through the batcher: one array per fetched name, this call's rows only."""
        key = (frozenset(feeds), frozenset(fetches))
        queue = self._queues.get(key) or self._queue(key)
        size = input_batch_size(feeds)
        return self._scheduler.schedule(queue, feeds, size, list(fetches), timeout_ms).result()

    def close(self):
        """Close every queue: what still waits is processed at once."""
        with self._lock:
            queues = list(self._queues.values())
        for queue in queues:
            self._scheduler.close_queue(queue)

    def _process(self, key, batch):
        """Run one batch and hand each task its rows (or the batch's error)."""
        try:
            outputs = self._run(key, batch)
        except errors.ServingError as error:
            outputs = error
        except Exception as error:  # pylint: disable=broad-except  # the callers must hear of it, or wait forever
            outputs = errors.ServingError(errors.UNKNOWN, "%s: %s" % (type(error).__name__, error))
        for number, task in enumerate(batch.tasks):
            if isinstance(outputs, errors.ServingError):
                task.call.finish(task.index, error=outputs)
            else:
                task.call.finish(task.index, [outputs[name][number] for name in task.call.fetches])

    def _run(self, key, batch):
        now = time.monotonic()
        deadlines = [task.call.deadline for task in batch.tasks]
        live = [deadline for deadline in deadlines if deadline is None or deadline > now]
        if not live:
            raise errors.ServingError(errors.RESOURCE_EXHAUSTED,
                                      "Run() timeout exceeded while waiting in batching queue")
        timeout_ms = 0 if None in live else _power_of_two_ms(max(live) - now)
        padding = 0
        if batch.size:
            padding = next((size for size in self._allowed if size >= batch.size), batch.size) - batch.size
        input_names, output_names = sorted(key[0]), sorted(key[1])
        feeds = {name: self._merged(name, batch, padding) for name in input_names}
        values = self._run_batch(feeds, output_names, timeout_ms)
        sizes = [task.size for task in batch.tasks]
        split_at = np.cumsum(sizes)
        outputs = {}
        for name, value in zip(output_names, values):
            if value.ndim == 0:
                raise errors.failed_precondition("Batched output tensor has 0 dimensions")
            if value.shape[0] != batch.size + padding:
                raise errors.failed_precondition(
                    "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes "
                    "of the input tensors")
            outputs[name] = np.split(value, split_at)[:len(sizes)]
        return outputs

    def _merged(self, name, batch, padding):
        """One input of the batch: the tasks' arrays (padded to one shape if asked) on dimension 0."""
        arrays = [task.inputs[name] for task in batch.tasks]
        if self._pad_inputs:
            if len({array.ndim for array in arrays}) == 1:  # else the concatenation below fails
                shape = np.max([array.shape for array in arrays], axis=0)
                arrays = [_padded(array, shape) for array in arrays]
        elif any(array.shape[1:] != arrays[0].shape[1:] for array in arrays):
            raise errors.failed_precondition(
                "Tensors with name '%s' from different tasks have different shapes and padding is turned off. "
                "Set pad_variable_length_inputs to true, or ensure that all tensors with the same name have "
                "equal dimensions starting with the first dim." % name)
        if padding:
            row = next(array[:1] for array in reversed(arrays) if len(array))
            arrays.append(np.repeat(row, padding, axis=0))
        try:
            return np.concatenate(arrays)
        except ValueError as error:
            raise errors.ServingError(errors.INTERNAL, "Tensor concat operation failed: %s" % error)
