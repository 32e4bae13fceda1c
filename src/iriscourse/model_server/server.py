"""Start and stop the model server: load the models, open the gRPC and REST ports, shut down cleanly.

Like tensorflow_model_server, the ports open only once every configured model
has its aspired versions available.
"""
import logging
import threading
import time

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from . import batching, errors, grpc_service, monitoring, registry, rest, servable

LOG = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0


class StartupError(Exception):
    """The server cannot start; the message follows 'Failed to start server. Error: '."""


def read_config_file(path):
    """Parse a text ModelServerConfig file."""
    try:
        with open(path) as config_file:
            return text_format.Parse(config_file.read(), model_server_config_pb2.ModelServerConfig())
    except (IOError, OSError, text_format.ParseError, UnicodeDecodeError) as error:
        raise errors.invalid_argument("Invalid protobuf file: '%s': %s" % (path, error))


def _server_config(flags):
    if flags.model_config_file:
        return read_config_file(flags.model_config_file)
    LOG.info("Building single TensorFlow model file config:  model_name: %s model_base_path: %s",
             flags.model_name, flags.model_base_path)
    server_config = model_server_config_pb2.ModelServerConfig()
    server_config.model_config_list.config.add(name=flags.model_name, base_path=flags.model_base_path,
                                               model_platform="tensorflow")
    return server_config


def _channel_arguments(text):
    arguments = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = (part.strip() for part in item.partition("="))
        arguments.append((key, int(value) if value.lstrip("-").isdigit() else value))
    return arguments


def _host_port(address, port):
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def _batch_scheduler(flags):
    """The shared batch scheduler of --enable_batching (with --batching_parameters_file), or None."""
    if not flags.enable_batching:
        return None
    if flags.batching_parameters_file:
        parameters = batching.read_parameters(flags.batching_parameters_file)
    else:
        parameters = batching.default_parameters()
    return batching.SharedBatchScheduler(parameters)


def _load_models(flags, stop):
    """Apply the start-up config to a new registry, which waits until every model is served."""
    try:
        server_config = _server_config(flags)
        batch_scheduler = _batch_scheduler(flags)
    except errors.ServingError as error:
        raise StartupError(error)
    tags = [tag.strip() for tag in flags.saved_model_tags.split(",") if tag.strip()]
    session_config = servable.session_config(
        flags.tensorflow_intra_op_parallelism or flags.tensorflow_session_parallelism,
        flags.tensorflow_inter_op_parallelism or flags.tensorflow_session_parallelism)

    warmup_iterations = flags.num_request_iterations_for_warmup if flags.enable_model_warmup else None

    def load(name, version, path):
        return servable.Servable(name, version, path, tags, session_config, batching=batch_scheduler,
                                 warmup_iterations=warmup_iterations)

    models = registry.ModelRegistry(load, flags.file_system_poll_wait_seconds, max(flags.max_num_load_retries, 0),
                                    max(flags.load_retry_interval_micros, 0) / 1e6,
                                    flags.allow_version_labels_for_unavailable_models)
    models.start()
    try:
        models.reload_config(server_config, stop)
    except errors.ServingError as error:
        models.close()
        raise StartupError(error)
    return models


def _start_grpc(flags, models, stop):
    def reload_config(server_config):
        models.reload_config(server_config, stop)

    server = grpc_service.create_server(models, reload_config, flags.rest_api_num_threads,
                                        _channel_arguments(flags.grpc_channel_arguments))
    address = _host_port(flags.bind_address, flags.port)
    try:
        server.add_insecure_port(address)
        if flags.grpc_socket_path:
            server.add_insecure_port("unix:" + flags.grpc_socket_path)
    except RuntimeError as error:
        raise StartupError("INVALID_ARGUMENT: Failed to BuildAndStart gRPC server (%s: %s)" % (address, error))
    server.start()
    LOG.info("Running gRPC ModelServer at %s ...", address)
    if flags.grpc_socket_path:
        LOG.info("Running gRPC ModelServer at UNIX socket %s ...", flags.grpc_socket_path)
    return server


def _metrics_path(flags):
    """Where --monitoring_config_file puts the Prometheus page (None: nowhere); raises StartupError."""
    if not flags.monitoring_config_file:
        return None
    try:
        return monitoring.metrics_path(monitoring.read_config_file(flags.monitoring_config_file))
    except errors.ServingError as error:
        raise StartupError(error)


def _start_rest(flags, models):
    """The REST server, or None when it is off or cannot bind (logged, as the real server does)."""
    if not flags.rest_api_port:
        return None
    if flags.rest_api_port == flags.port:
        LOG.error("--rest_api_port cannot be the same as --port. Please use a different port for HTTP/REST API. "
                  "Skipped exporting HTTP/REST API.")
        return None
    metrics_path = _metrics_path(flags)
    shown = _host_port("localhost" if flags.bind_address == "127.0.0.1" else flags.bind_address,
                       flags.rest_api_port)
    try:
        api = rest.RestApi(models, flags.rest_api_timeout_in_ms, metrics_path)
        server = rest.RestServer(api, flags.bind_address, flags.rest_api_port, flags.rest_api_num_threads,
                                 flags.rest_api_max_body_bytes)
    except OSError as error:
        LOG.error("Failed to start HTTP Server at %s: %s", shown, error)
        return None
    server.start()
    LOG.info("Exporting HTTP/REST API at:%s ...", shown)
    return server


def _poll_config_file(flags, models, stop):
    """Apply --model_config_file, changed or not, at once and then every N seconds (PollFilesystemAndReloadConfig)."""
    while True:
        started = time.time()
        try:
            server_config = read_config_file(flags.model_config_file)
        except errors.ServingError as error:
            LOG.error("Failed to read ModelServerConfig file: %s", error.message)
        else:
            try:
                models.reload_config(server_config, stop)
            except errors.ServingError as error:
                LOG.error("PollFilesystemAndReloadConfig failed to ReloadConfig: %s", error.message)
        if stop.wait(max(started + flags.model_config_file_poll_wait_seconds - time.time(), 0)):
            return


def _shut_down(grpc_server, rest_server, models):
    """Stop accepting, let requests in flight finish for a grace period, then close the sessions.

    Closing a session cancels whatever still runs in it, so nothing outlives the grace period.
    """
    LOG.info("Stopping: no new requests, waiting up to %g seconds for requests in flight", SHUTDOWN_GRACE_SECONDS)
    deadline = time.time() + SHUTDOWN_GRACE_SECONDS
    grpc_done = grpc_server.stop(SHUTDOWN_GRACE_SECONDS)
    if rest_server is not None:
        rest_server.stop_accepting()
    while time.time() < deadline and not (grpc_done.is_set() and (rest_server is None or not rest_server.in_flight)):
        time.sleep(0.05)
    models.close(max(deadline - time.time(), 0.0))
    if rest_server is not None:
        rest_server.close()
    grpc_done.wait()
    LOG.info("Server stopped.")


def run(flags, stop):
    """Serve the configured models until `stop` is set (by SIGTERM/SIGINT); raises StartupError."""
    tf.logging.set_verbosity(tf.logging.ERROR)
    models = _load_models(flags, stop)
    if stop.is_set():
        models.close()
        return
    if flags.model_config_file and flags.model_config_file_poll_wait_seconds > 0:
        threading.Thread(target=_poll_config_file, args=(flags, models, stop), name="config-file-poll",
                         daemon=True).start()
    try:
        grpc_server = _start_grpc(flags, models, stop)
    except StartupError:
        models.close()
        raise
    try:
        rest_server = _start_rest(flags, models)
    except StartupError:
        grpc_server.stop(None).wait()
        models.close()
        raise
    while not stop.wait(0.5):
        pass
    _shut_down(grpc_server, rest_server, models)
