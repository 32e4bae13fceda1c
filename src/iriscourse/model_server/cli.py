"""`local_model_server`: tensorflow_model_server's command line and log format (server.py runs the server).

Flags keep tensorflow_model_server's names and defaults (`--flag=value` or
`--flag value`). Two flags are our own: `--bind_address` (default 127.0.0.1,
loopback only, where the real server binds every interface) and
`--rest_api_max_body_bytes` (REST request body limit).
"""
import argparse
import collections
import logging
import os
import signal
import sys
import threading
import time

SERVER_VERSION = "1.13.0-local"
EXIT_FAILURE = 255

LOG = logging.getLogger("iriscourse.model_server")

Flag = collections.namedtuple("Flag", "name kind default help ignored")

FLAGS = [
    Flag("port", "int32", 8500, "Port to listen on for gRPC API", None),
    Flag("grpc_socket_path", "string", "", "If non-empty, listen to a UNIX socket for gRPC API on the given path",
         None),
    Flag("rest_api_port", "int32", 0, "Port to listen on for HTTP/REST API. If set to zero HTTP/REST API will not "
         "be exported. This port must be different than the one specified in --port.", None),
    Flag("rest_api_num_threads", "int32", 4 * (os.cpu_count() or 1),
         "Number of threads for HTTP/REST API processing. If not set, will be auto set based on number of CPUs.",
         None),
    Flag("rest_api_timeout_in_ms", "int32", 30000, "Timeout for HTTP/REST API calls.", None),
    Flag("enable_batching", "bool", False, "enable batching", None),
    Flag("batching_parameters_file", "string", "", "If non-empty, read an ascii BatchingParameters protobuf "
         "from the supplied file name and use the contained values instead of the defaults.", None),
    Flag("model_config_file", "string", "", "If non-empty, read an ascii ModelServerConfig protobuf from the "
         "supplied file name, and serve the models in that file. If --model_config_file is used, --model_name "
         "and --model_base_path are ignored.", None),
    Flag("model_config_file_poll_wait_seconds", "int32", 0, "Interval in seconds between each poll of the "
         "model config file. 0 means the file is read only at startup.", None),
    Flag("model_name", "string", "default", "name of model (ignored if --model_config_file flag is set)", None),
    Flag("model_base_path", "string", "", "path to export (ignored if --model_config_file flag is set, otherwise "
         "required)", None),
    Flag("max_num_load_retries", "int32", 5, "maximum number of times it retries loading a model after the "
         "first failure, before giving up. If set to 0, a load is attempted only once.", None),
    Flag("load_retry_interval_micros", "int64", 60 * 1000 * 1000, "The interval, in microseconds, between each "
         "servable load retry. If set negative, it doesn't wait.", None),
    Flag("file_system_poll_wait_seconds", "int32", 1, "Interval in seconds between each poll of the filesystem "
         "for new model version. If set to zero poll will be exactly done once and not periodically. Setting "
         "this to negative value will disable polling entirely causing ModelServer to indefinitely wait for a "
         "new model at startup.", None),
    Flag("flush_filesystem_caches", "bool", True, "If true (the default), filesystem caches will be flushed "
         "after the initial load of all servables.", "there is no file-system cache to flush"),
    Flag("tensorflow_session_parallelism", "int64", 0, "Number of threads to use for running a Tensorflow "
         "session. Auto-configured by default.", None),
    Flag("tensorflow_intra_op_parallelism", "int64", 0, "Number of threads to use to parallelize the execution "
         "of an individual op. Auto-configured by default.", None),
    Flag("tensorflow_inter_op_parallelism", "int64", 0, "Controls the number of operators that can be executed "
         "simultaneously. Auto-configured by default.", None),
    Flag("ssl_config_file", "string", "", "If non-empty, read an ascii SSLConfig protobuf from the supplied "
         "file name and set up a secure gRPC channel", "gRPC is served WITHOUT TLS"),
    Flag("platform_config_file", "string", "", "If non-empty, read an ascii PlatformConfigMap protobuf from "
         "the supplied file name, and use that platform config instead of the Tensorflow platform.",
         "only the TensorFlow SavedModel platform is served"),
    Flag("per_process_gpu_memory_fraction", "float", 0.0, "Fraction that each process occupies of the GPU "
         "memory space.", "sessions use TensorFlow's GPU defaults"),
    Flag("saved_model_tags", "string", "serve", "Comma-separated set of tags corresponding to the meta graph "
         "def to load from SavedModel.", None),
    Flag("grpc_channel_arguments", "string", "", "A list of comma-separated gRPC channel arguments, e.g. "
         "grpc.max_connection_age_ms=2000", None),
    Flag("enable_model_warmup", "bool", True, "Enables model warmup, which triggers lazy initializations "
         "(such as TF optimizations) at load time, to reduce first request latency.", None),
    Flag("num_request_iterations_for_warmup", "int32", 0, "Number of times a request is iterated during "
         "warmup replay. This value is used only if > 0.", None),
    Flag("monitoring_config_file", "string", "", "If non-empty, read an ascii MonitoringConfig protobuf from "
         "the supplied file name", None),
    Flag("allow_version_labels_for_unavailable_models", "bool", False, "If true, allows assigning unused "
         "version labels to models that are not available yet.", None),
    Flag("version", "bool", False, "Display version", None),
    Flag("bind_address", "string", "127.0.0.1", "local_model_server only: address the gRPC and HTTP/REST "
         "ports bind to. The default serves this machine only; 0.0.0.0 serves every IPv4 interface (what "
         "tensorflow_model_server does).", None),
    Flag("rest_api_max_body_bytes", "int64", 16 * 1024 * 1024, "local_model_server only: largest HTTP/REST "
         "request body accepted; larger bodies get HTTP 413.", None),
]


def usage():
    """The usage text printed for bad command lines."""
    lines = ["usage: local_model_server", "Flags:"]
    for flag in FLAGS:
        default = str(flag.default).lower() if flag.kind == "bool" else flag.default
        lines.append("\t%-33s\t%s\t%s" % ("--%s=%s" % (flag.name, default), flag.kind, flag.help))
    return "\n".join(lines) + "\n"


def _parse_bool(text):
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % text)


def _parse_int(bits):
    def parse(text):
        value = int(text)
        if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
            raise argparse.ArgumentTypeError("%s does not fit in int%d" % (text, bits))
        return value
    return parse


_TYPES = {"int32": _parse_int(32), "int64": _parse_int(64), "float": float, "string": str, "bool": _parse_bool}


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """Report a bad command line to parse_flags instead of exiting with argparse's code 2."""
        raise _UsageError(message)


def parse_flags(argv):
    """Parse the command line; returns the flags, or an exit code when the process should end."""
    parser = _Parser(prog="local_model_server", add_help=False, allow_abbrev=False)
    for flag in FLAGS:
        if flag.kind == "bool":
            parser.add_argument("--" + flag.name, type=_parse_bool, nargs="?", const=True, default=flag.default)
        else:
            parser.add_argument("--" + flag.name, type=_TYPES[flag.kind], default=flag.default)
    parser.add_argument("--help", "-h", action="store_true")
    try:
        flags, extra = parser.parse_known_args(argv)
    except _UsageError as error:
        sys.stdout.write("%s\n%s" % (error, usage()))
        return EXIT_FAILURE
    unknown = [arg for arg in extra if arg.startswith("-")]
    if unknown:
        sys.stdout.write("ERROR: unknown command line flag '%s'\n%s" % (unknown[0].lstrip("-"), usage()))
        return EXIT_FAILURE
    for arg in extra:
        sys.stdout.write("unknown argument: %s\n%s" % (arg, usage()))
    if flags.help:
        sys.stdout.write(usage())
        return 0
    flags.explicit = {arg.lstrip("-").split("=", 1)[0] for arg in argv if arg.startswith("--")}
    return flags


class _Formatter(logging.Formatter):
    """TensorFlow's C++ log line layout: `2019-03-01 12:00:00.123456: I file.py:42] message`."""

    def format(self, record):
        """One log line."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(record.created))
        line = "%s.%06d: %s %s:%d] %s" % (stamp, int(record.msecs * 1000), record.levelname[0],
                                          record.filename, record.lineno, record.getMessage())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _configure_logging():
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    LOG.addHandler(handler)
    LOG.setLevel(logging.INFO)
    LOG.propagate = False


def _fail(message):
    sys.stdout.write("Failed to start server. Error: %s\n" % message)
    sys.stdout.flush()
    return EXIT_FAILURE


def _check_flags(flags):
    """Startup errors of tensorflow_model_server that come from flag values alone (text or None)."""
    if flags.port == 0:
        return "INVALID_ARGUMENT: server_options.grpc_port is not set."
    if flags.batching_parameters_file and not flags.enable_batching:
        return ("INVALID_ARGUMENT: server_options.batching_parameters_file is set without setting "
                "server_options.enable_batching to true.")
    parallelism = (flags.tensorflow_session_parallelism, flags.tensorflow_intra_op_parallelism,
                   flags.tensorflow_inter_op_parallelism)
    if all(value > 0 for value in parallelism):
        return ("INVALID_ARGUMENT: Either --tensorflow_session_parallelism or --tensorflow_intra_op_parallelism "
                "and --tensorflow_inter_op_parallelism should be set, not all three")
    if flags.rest_api_num_threads < 1 or flags.rest_api_max_body_bytes < 0:
        return ("INVALID_ARGUMENT: --rest_api_num_threads must be positive and --rest_api_max_body_bytes "
                "non-negative")
    return None


def _log_ignored_flags(flags):
    for flag in FLAGS:
        if flag.ignored and flag.name in flags.explicit and getattr(flags, flag.name) != flag.default:
            LOG.warning("--%s is accepted for compatibility and ignored by local_model_server: %s",
                        flag.name, flag.ignored)


def _install_signal_handlers(stop):
    def handle(signum, _frame):
        LOG.info("Received signal %d, shutting down", signum)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def main(argv=None):
    """Console entry point of local_model_server; returns the exit code."""
    flags = parse_flags(sys.argv[1:] if argv is None else argv)
    if isinstance(flags, int):
        return flags
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if flags.version else "1")
    if flags.version:
        import tensorflow as tf
        sys.stdout.write("TensorFlow ModelServer: %s\nTensorFlow Library: %s\n" % (SERVER_VERSION, tf.VERSION))
        return 0
    if not flags.model_base_path and not flags.model_config_file:
        sys.stdout.write(usage())
        return EXIT_FAILURE
    _configure_logging()
    stop = threading.Event()
    _install_signal_handlers(stop)
    problem = _check_flags(flags)
    if problem:
        return _fail(problem)
    _log_ignored_flags(flags)
    from . import server  # TensorFlow is imported only now, once the command line is known to be good
    try:
        server.run(flags, stop)
    except server.StartupError as error:
        return _fail(error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
