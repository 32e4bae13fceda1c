"""Fixtures of the model server tests: test SavedModels and running local_model_server processes."""
import types

import grpc
import pytest
import requests
from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

import saved_model_builders as builders
import server_harness
from server_harness import MAX_BODY_BYTES, REST_TIMEOUT_MS, make_base, model_config


@pytest.fixture(scope="session")
def saved_models(tmp_path_factory):
    """SavedModel templates built once per test session."""
    root = tmp_path_factory.mktemp("saved_models")
    raw_base, parsing_base = builders.build_iris_exports(str(root / "iris"))
    return types.SimpleNamespace(
        half_plus_two=builders.build_half_plus_two(str(root / "half_plus_two")),
        half_plus_three=builders.build_half_plus_two(str(root / "half_plus_three"), offset=3.0),
        raw_base=raw_base,
        parsing_base=parsing_base,
    )


@pytest.fixture(scope="session")
def server(saved_models, tmp_path_factory):
    """One local_model_server for the read-only contract tests.

    Models: half_plus_two (version 123), versioned (versions 1 = half_plus_two
    and 2 = half_plus_three, policy all, labels stable=1 and canary=2, allowed at start-up by
    --allow_version_labels_for_unavailable_models), raw_export_model and parsing_export_model
    (the course's Iris exports).
    """
    root = tmp_path_factory.mktemp("shared_server")
    config = model_config(
        ("half_plus_two", make_base(str(root / "half_plus_two"), {"00000123": saved_models.half_plus_two}), ""),
        ("versioned", make_base(str(root / "versioned"), {"1": saved_models.half_plus_two,
                                                          "2": saved_models.half_plus_three}),
         "    model_version_policy { all {} }\n"
         '    version_labels { key: "stable" value: 1 }\n'
         '    version_labels { key: "canary" value: 2 }\n'),
        ("raw_export_model", saved_models.raw_base, ""),
        ("parsing_export_model", saved_models.parsing_base, ""),
    )
    config_path = root / "models.config"
    config_path.write_text(config)
    process = server_harness.start_server(
        ["--model_config_file=%s" % config_path, "--allow_version_labels_for_unavailable_models",
         "--rest_api_timeout_in_ms=%d" % REST_TIMEOUT_MS,
         "--rest_api_max_body_bytes=%d" % MAX_BODY_BYTES],
        "parsing_export_model", str(root / "server.log"))
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def grpc_channel(server):
    """A channel to the shared server (64 MiB client message limit)."""
    channel = grpc.insecure_channel(server.grpc_target, options=[
        ("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)])
    yield channel
    channel.close()


@pytest.fixture(scope="session")
def prediction_stub(grpc_channel):
    """PredictionService stub on the shared server."""
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)


@pytest.fixture(scope="session")
def model_stub(grpc_channel):
    """ModelService stub on the shared server."""
    return model_service_pb2_grpc.ModelServiceStub(grpc_channel)


@pytest.fixture
def rest(server):
    """Small REST client for the shared server: rest.post(path, body) / rest.get(path)."""
    session = requests.Session()

    def post(path, body=None, **kwargs):
        return session.post(server.url(path), data=body, timeout=30, **kwargs)

    def get(path, **kwargs):
        return session.get(server.url(path), timeout=30, **kwargs)

    yield types.SimpleNamespace(post=post, get=get, request=session.request, url=server.url)
    session.close()
