"""Version labels, config reload (gRPC and the config-file poll) and logging_config, as TF Serving 2.x does them.

In-process tests drive ModelRegistry.reload_config (ServerCore::ReloadConfig) with a fake loader; the
subprocess tests check what a user sees: start-up failures, gRPC errors, REST labels and the file poll.
"""
import json
import logging
import os
import threading
import time
import types

import grpc
import pytest
import requests
from google.protobuf import text_format
from tensorflow_serving.apis import get_model_status_pb2, model_management_pb2, model_service_pb2_grpc
from tensorflow_serving.config import model_server_config_pb2

from fake_loading import FakeLoader
import saved_model_builders as builders
import server_harness
from server_harness import make_base, model_config
from iriscourse.model_server import errors, registry, server as model_server

AVAILABLE, END = registry.AVAILABLE, registry.END
NOT_AVAILABLE = "Request to assign label to version %d of model %s, which is not currently available for inference"


# ------------------------------------------------------------------ in-process

def _entry(name, base, versions=(), labels=None, extra=""):
    """Text of one ModelConfig: a specific version policy (when versions are given) and labels."""
    policy = "model_version_policy { specific { %s } }" % " ".join("versions: %d" % v for v in versions)
    label_text = " ".join('version_labels { key: "%s" value: %d }' % item for item in sorted((labels or {}).items()))
    return 'config { name: "%s" base_path: "%s" model_platform: "tensorflow" %s %s %s }' % (
        name, base, policy if versions else "", label_text, extra)


def _config(*entries):
    return text_format.Parse("model_config_list { %s }" % " ".join(entries),
                             model_server_config_pb2.ModelServerConfig())


@pytest.fixture
def base(tmp_path):
    """A model base path with versions 1 and 2."""
    for version in ("1", "2"):
        (tmp_path / "m" / version).mkdir(parents=True)
    return str(tmp_path / "m")


@pytest.fixture
def make_registry():
    """make_registry(loader, allow) -> a started ModelRegistry (closed after the test)."""
    made = []

    def make(loader=None, allow=False):
        models = registry.ModelRegistry(loader or FakeLoader(), poll_wait_seconds=3600, max_load_retries=0,
                                        allow_unavailable_labels=allow)
        models.start()
        made.append(models)
        return models

    yield make
    for models in made:
        models.close()


def _reload(models, server_config):
    models.reload_config(server_config, threading.Event())


def _refused(models, server_config):
    with pytest.raises(errors.ServingError) as caught:
        _reload(models, server_config)
    return caught.value.code, caught.value.message


def _served(models, name="m", version=None, label=None):
    with models.acquire(name, version, label) as servable:
        return servable.version


def _lookup_error(models, label, name="m"):
    with pytest.raises(errors.ServingError) as caught:
        _served(models, name, label=label)
    return caught.value.code, caught.value.message


def _states(models, name="m"):
    return {entry.version: entry.state for entry in models.status(name).model_version_status}


def _wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "condition not reached"
        time.sleep(0.01)


def test_startup_labels_fail_before_anything_loads(make_registry, base):
    loader = FakeLoader()
    models = make_registry(loader)
    assert _refused(models, _config(_entry("m", base, (1, 2), {"stable": 1}))) == (
        errors.FAILED_PRECONDITION, NOT_AVAILABLE % (1, "m"))
    assert loader.loaded == []
    with pytest.raises(errors.ServingError) as caught:
        models.status("m")
    assert caught.value.message == "Could not find any versions of model m"


def test_allow_flag_lets_new_labels_name_versions_not_loaded_yet(make_registry, base):
    models = make_registry(allow=True)
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1, "canary": 2, "next": 3})))
    assert (_served(models, label="stable"), _served(models, label="canary")) == (1, 2)
    assert _lookup_error(models, "next") == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 3)")


def test_allow_flag_does_not_let_an_existing_label_move_to_a_version_not_available(make_registry, base):
    models = make_registry(allow=True)
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1})))
    assert _refused(models, _config(_entry("m", base, (1, 2), {"stable": 3}))) == (
        errors.FAILED_PRECONDITION, NOT_AVAILABLE % (3, "m"))
    assert _served(models, label="stable") == 1


def test_canary_recipe_load_both_versions_then_assign_move_and_roll_back_labels(make_registry, base):
    models = make_registry()
    _reload(models, _config(_entry("m", base, (1,))))
    _reload(models, _config(_entry("m", base, (1, 2))))  # an existing model: its new version is not waited for
    _wait_for(lambda: _states(models).get(2) == AVAILABLE)
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1, "canary": 2})))
    assert (_served(models, label="stable"), _served(models, label="canary")) == (1, 2)
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 2, "canary": 2})))
    assert _served(models, label="stable") == 2
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1, "canary": 2})))
    assert _served(models, label="stable") == 1


def test_a_failed_label_change_changes_nothing(make_registry, base, tmp_path):
    loader = FakeLoader()
    models = make_registry(loader)
    _reload(models, _config(_entry("m", base, (1, 2))))
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1})))
    (tmp_path / "n" / "1").mkdir(parents=True)
    refused = _config(_entry("m", base, (1,), {"stable": 2, "canary": 9}), _entry("n", str(tmp_path / "n")))
    assert _refused(models, refused) == (errors.FAILED_PRECONDITION, NOT_AVAILABLE % (9, "m"))
    assert _served(models, label="stable") == 1  # the old labels stay
    assert _lookup_error(models, "canary") == (errors.INVALID_ARGUMENT, "Unrecognized servable version label: canary")
    models.poll()
    assert ("n", 1) not in loader.loaded  # the new model was not added
    assert _states(models) == {2: AVAILABLE, 1: AVAILABLE}  # nor the version policy changed


def test_label_lookups_and_status(make_registry, base):
    models = make_registry()
    _reload(models, _config(_entry("m", base, (1, 2))))
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1})))
    assert _lookup_error(models, "gold") == (errors.INVALID_ARGUMENT, "Unrecognized servable version label: gold")
    for label in ("stable", "gold"):  # GetModelStatus ignores the label
        assert [entry.version for entry in models.status("m", label=label).model_version_status] == [2, 1]
    _reload(models, _config(_entry("m", base, (2,), {"stable": 1})))  # the label names a version going away
    _wait_for(lambda: _states(models).get(1) == END)
    assert _lookup_error(models, "stable") == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 1)")


def test_a_model_left_out_of_the_list_unloads_and_loses_its_labels(make_registry, base, tmp_path):
    models = make_registry()
    (tmp_path / "n" / "1").mkdir(parents=True)
    _reload(models, _config(_entry("m", base, (1, 2)), _entry("n", str(tmp_path / "n"))))
    _reload(models, _config(_entry("m", base, (1, 2), {"stable": 1}), _entry("n", str(tmp_path / "n"))))
    _reload(models, _config(_entry("n", str(tmp_path / "n"))))
    _wait_for(lambda: _states(models) == {2: END, 1: END})
    assert _lookup_error(models, "stable") == (errors.INVALID_ARGUMENT, "Unrecognized servable version label: stable")


def test_reload_checks_run_in_the_real_order(make_registry, base, tmp_path):
    models = make_registry()
    _reload(models, _config(_entry("m", base, (1, 2))))
    new = str(tmp_path / "new")
    bad_label = {"stable": 7}
    steps = [  # each config fixes the previous problem; the next check in ServerCore::ReloadConfig answers
        (_config(_entry("m", base), _entry("m", base), _entry("x", "relative/x")),
         "Illegal to list model m multiple times in config list"),
        (_config(_entry("m", base), _entry("x", "relative/x")),
         "Expected model x to have an absolute path or URI; got base_path()=relative/x"),
        (_config(_entry("m", base, labels=bad_label).replace('"tensorflow"', '"pytorch"')),
         "Illegal to change a model's platform. For model m platform was tensorflow and new platform requested "
         "is pytorch"),
        (_config(_entry("m", base, labels=bad_label), _entry("new", new).replace('"tensorflow"', '"pytorch"')),
         NOT_AVAILABLE % (7, "m")),
        (_config(_entry("m", base), _entry("new", new).replace('"tensorflow"', '"pytorch"')),
         "Model new requests unsupported platform pytorch"),
        (_config(_entry("m", base), _entry("new", new).replace('model_platform: "tensorflow"', "")),
         "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
         "ModelServerConfig::model_platform, model name is new"),
    ]
    for server_config, message in steps:
        assert _refused(models, server_config)[1] == message
    assert _served(models) == 2


def test_a_list_cannot_be_replaced_by_an_empty_config(make_registry, base):
    models = make_registry()
    _reload(models, _config(_entry("m", base, (1,))))
    assert _refused(models, model_server_config_pb2.ModelServerConfig()) == (
        errors.FAILED_PRECONDITION,
        "Cannot transition to requested config. It is only legal to transition from one ModelConfigList to another.")


def test_an_empty_startup_config_takes_no_action_and_a_later_list_is_the_first(make_registry, base):
    models = make_registry()
    _reload(models, model_server_config_pb2.ModelServerConfig())
    _reload(models, _config(_entry("m", base, (1,))))
    assert _served(models) == 1


def test_reload_does_not_wait_for_new_versions_of_models_already_listed(make_registry, base):
    loader = FakeLoader(hold={2})
    models = make_registry(loader)
    _reload(models, _config(_entry("m", base, (1,))))
    _reload(models, _config(_entry("m", base, (1, 2))))
    try:
        _wait_for(lambda: _states(models).get(2) == registry.LOADING)
    finally:
        loader.release.set()


def test_reload_waits_for_new_models_and_reports_their_failures(make_registry, base, tmp_path):
    models = make_registry(FakeLoader(fail={5}))
    _reload(models, _config(_entry("m", base, (1,))))
    (tmp_path / "n" / "1").mkdir(parents=True)
    _reload(models, _config(_entry("m", base, (1,)), _entry("n", str(tmp_path / "n"))))
    assert _served(models, "n") == 1
    (tmp_path / "broken" / "5").mkdir(parents=True)
    assert _refused(models, _config(_entry("m", base, (1,)), _entry("broken", str(tmp_path / "broken")))) == (
        errors.UNKNOWN, "1 model(s) did not become available: {{{name: broken version: 5} due to error: "
                        "DATA_LOSS: broken version 5}, }")


def test_a_failed_startup_load_names_servables(make_registry, tmp_path):
    (tmp_path / "broken" / "5").mkdir(parents=True)
    models = make_registry(FakeLoader(fail={5}))
    assert _refused(models, _config(_entry("broken", str(tmp_path / "broken")))) == (
        errors.UNKNOWN, "1 servable(s) did not become available: {{{name: broken version: 5} due to error: "
                        "DATA_LOSS: broken version 5}, }")


def test_logging_config_is_refused_after_the_models_are_added(make_registry, base, tmp_path):
    loader = FakeLoader()
    models = make_registry(loader)
    logging_config = 'logging_config { sampling_config { sampling_rate: 1.0 } }'
    assert _refused(models, _config(_entry("m", base, (1,), extra=logging_config))) == (
        errors.INVALID_ARGUMENT, "No request-logger-creator provided.")
    assert loader.loaded == [("m", 1)] and _served(models) == 1
    (tmp_path / "n" / "1").mkdir(parents=True)
    assert _refused(models, _config(_entry("m", base, (1,)), _entry("n", str(tmp_path / "n"), extra=logging_config))) \
        == (errors.INVALID_ARGUMENT, "No request-logger-creator provided.")
    assert _served(models, "n") == 1


class _RecordingRegistry(object):
    """Stands in for ModelRegistry in the config-file poll: records each config, stops after `count`."""

    def __init__(self, count, error=None):
        self.count, self.error, self.configs = count, error, []

    def reload_config(self, server_config, stop):
        self.configs.append(server_config)
        if len(self.configs) >= self.count:
            stop.set()
        if self.error is not None:
            raise self.error


def _poll(path, wait_seconds, models, timeout=30):
    stop = threading.Event()
    flags = types.SimpleNamespace(model_config_file=str(path), model_config_file_poll_wait_seconds=wait_seconds)
    thread = threading.Thread(target=model_server._poll_config_file, args=(flags, models, stop))
    thread.start()
    stop.wait(timeout)
    stop.set()
    thread.join()


def test_config_file_poll_runs_at_once(tmp_path):
    path = tmp_path / "models.config"
    path.write_text(model_config(("m", "/models/m", "")))
    models = _RecordingRegistry(count=1)
    _poll(path, 3600, models)
    assert [config.model_config_list.config[0].name for config in models.configs] == ["m"]


def test_config_file_poll_applies_the_file_every_time_even_unchanged(tmp_path):
    path = tmp_path / "models.config"
    path.write_text(model_config(("m", "/models/m", "")))
    models = _RecordingRegistry(count=3)
    _poll(path, 1, models)
    assert len(models.configs) == 3 and models.configs[0] == models.configs[1] == models.configs[2]


def test_config_file_poll_logs_its_errors_and_goes_on(tmp_path, caplog):
    path = tmp_path / "models.config"
    path.write_text("model_config_list { config { nme: 'x' } }")
    caplog.set_level(logging.INFO)
    models = _RecordingRegistry(count=1, error=errors.failed_precondition("no"))
    stop = threading.Event()
    flags = types.SimpleNamespace(model_config_file=str(path), model_config_file_poll_wait_seconds=1)
    thread = threading.Thread(target=model_server._poll_config_file, args=(flags, models, stop))
    thread.start()
    _wait_for(lambda: "Failed to read ModelServerConfig file: Invalid protobuf file: '%s'" % path in caplog.text)
    path.write_text(model_config(("m", "/models/m", "")))
    thread.join(30)
    assert not thread.is_alive()
    logged = [(record.levelname, record.getMessage().split(":")[0]) for record in caplog.records]
    assert set(logged) == {("ERROR", "Failed to read ModelServerConfig file"),
                           ("ERROR", "PollFilesystemAndReloadConfig failed to ReloadConfig")}
    assert caplog.records[-1].getMessage() == "PollFilesystemAndReloadConfig failed to ReloadConfig: no"


# ------------------------------------------------------------------ subprocess

def _grpc_reload(server, text, timeout=60.0):
    request = model_management_pb2.ReloadConfigRequest()
    text_format.Parse(text, request.config)
    with grpc.insecure_channel(server.grpc_target) as channel:
        return model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(request, timeout)


def _grpc_refused(server, text):
    with pytest.raises(grpc.RpcError) as caught:
        _grpc_reload(server, text)
    return caught.value.code(), caught.value.details()


def _predict(server, path, value=1.0):
    response = requests.post(server.url(path), data=json.dumps({"instances": [value]}), timeout=30)
    return response.status_code, json.loads(response.text)


def _rest_states(server, model):
    response = requests.get(server.url("/v1/models/%s" % model), timeout=10)
    if response.status_code != 200:
        return {}
    return {entry["version"]: entry["state"] for entry in json.loads(response.text)["model_version_status"]}


def _wait_until(predicate, server, timeout=60):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, server.log()
        time.sleep(0.1)


def _labels(**labels):
    return "".join('    version_labels { key: "%s" value: %d }\n' % item for item in sorted(labels.items()))


def _both_versions(**labels):
    return "    model_version_policy { specific { versions: 1 versions: 2 } }\n" + _labels(**labels)


@pytest.fixture(scope="module")
def versioned_base(saved_models, tmp_path_factory):
    """A base path with version 1 = half_plus_two (x/2 + 2) and version 2 = half_plus_three (x/2 + 3)."""
    root = tmp_path_factory.mktemp("versioned")
    return make_base(str(root / "m"), {"1": saved_models.half_plus_two, "2": saved_models.half_plus_three})


@pytest.fixture(scope="module")
def reload_server(versioned_base, tmp_path_factory):
    """A server started with model m, version 1 only (no labels)."""
    root = tmp_path_factory.mktemp("reload_server")
    config_path = root / "models.config"
    config_path.write_text(model_config(("m", versioned_base,
                                         "    model_version_policy { specific { versions: 1 } }\n")))
    server = server_harness.start_server(["--model_config_file=%s" % config_path, "--max_num_load_retries=0"], "m",
                                         str(root / "server.log"))
    yield server
    server.stop()


def test_startup_with_labels_fails_unless_the_allow_flag_is_set(versioned_base, tmp_path):
    config_path = tmp_path / "models.config"
    config_path.write_text(model_config(("m", versioned_base, _both_versions(stable=1))))
    result = server_harness.run_server(["--port=%d" % server_harness.free_ports(1)[0],
                                        "--model_config_file=%s" % config_path])
    assert result.returncode == 255
    assert result.stdout.decode().splitlines()[-1] == (
        "Failed to start server. Error: FAILED_PRECONDITION: " + NOT_AVAILABLE % (1, "m"))
    assert b"Loading servable version" not in result.stderr

    server = server_harness.start_server(["--model_config_file=%s" % config_path,
                                          "--allow_version_labels_for_unavailable_models"], "m",
                                         str(tmp_path / "server.log"))
    try:
        assert _predict(server, "/v1/models/m/labels/stable:predict") == (200, {"predictions": [2.5]})
    finally:
        assert server.stop() == 0


def test_logging_config_fails_startup_after_the_models_load(versioned_base, tmp_path):
    config_path = tmp_path / "models.config"
    config_path.write_text(model_config(("m", versioned_base, "    logging_config { sampling_config { } }\n")))
    result = server_harness.run_server(["--port=%d" % server_harness.free_ports(1)[0],
                                        "--model_config_file=%s" % config_path])
    assert result.returncode == 255
    assert result.stdout.decode().splitlines()[-1] == (
        "Failed to start server. Error: INVALID_ARGUMENT: No request-logger-creator provided.")
    assert b"Successfully loaded servable version {name: m version: 2}" in result.stderr


def test_canary_recipe_over_grpc_and_rest(reload_server, versioned_base):
    m = versioned_base
    assert _grpc_reload(reload_server, model_config(("m", m, _both_versions()))).status.error_code == 0
    _wait_until(lambda: _rest_states(reload_server, "m").get("2") == "AVAILABLE", reload_server)
    _grpc_reload(reload_server, model_config(("m", m, _both_versions(stable=1, canary=2))))
    assert _predict(reload_server, "/v1/models/m/labels/stable:predict") == (200, {"predictions": [2.5]})
    assert _predict(reload_server, "/v1/models/m/labels/canary:predict") == (200, {"predictions": [3.5]})

    _grpc_reload(reload_server, model_config(("m", m, _both_versions(stable=2, canary=2))))  # promote
    assert _predict(reload_server, "/v1/models/m/labels/stable:predict") == (200, {"predictions": [3.5]})
    _grpc_reload(reload_server, model_config(("m", m, _both_versions(stable=1, canary=2))))  # roll back
    assert _predict(reload_server, "/v1/models/m/labels/stable:predict") == (200, {"predictions": [2.5]})

    assert _grpc_refused(reload_server, model_config(("m", m, _both_versions(stable=1, canary=2, beta=7)))) == (
        grpc.StatusCode.FAILED_PRECONDITION, NOT_AVAILABLE % (7, "m"))
    assert _predict(reload_server, "/v1/models/m/labels/canary:predict") == (200, {"predictions": [3.5]})
    assert _predict(reload_server, "/v1/models/m/labels/beta:predict") == (
        400, {"error": "Unrecognized servable version label: beta"})

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name, request.model_spec.version_label = "m", "canary"
    with grpc.insecure_channel(reload_server.grpc_target) as channel:
        status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(request, 30.0)
    assert [entry.version for entry in status.model_version_status] == [2, 1]


def test_grpc_reload_errors(reload_server, versioned_base, tmp_path, saved_models):
    m = model_config(("m", versioned_base, _both_versions()))
    only_list = ("ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is "
                 "currently supported")
    assert _grpc_refused(reload_server, "custom_model_config {}") == (grpc.StatusCode.INVALID_ARGUMENT, only_list)
    assert _grpc_refused(reload_server, "") == (grpc.StatusCode.INVALID_ARGUMENT, only_list)
    assert _grpc_refused(reload_server, model_config(("m", versioned_base, ""), ("m", versioned_base, ""))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Illegal to list model m multiple times in config list")
    assert _grpc_refused(reload_server, model_config(("m", "models/m", ""))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Expected model m to have an absolute path or URI; got base_path()=models/m")
    assert _grpc_refused(reload_server, m.replace('"tensorflow"', '"pytorch"')) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Illegal to change a model's platform. For model m platform was tensorflow "
                                          "and new platform requested is pytorch")

    broken = str(tmp_path / "broken")
    builders.write_broken_version(os.path.join(broken, "1"))
    code, details = _grpc_refused(reload_server, model_config(("m", versioned_base, _both_versions()),
                                                              ("broken", broken, "")))
    assert code == grpc.StatusCode.UNKNOWN
    assert details.startswith("1 model(s) did not become available: {{{name: broken version: 1} due to error: ")

    logged = make_base(str(tmp_path / "logged"), {"1": saved_models.half_plus_two})
    assert _grpc_refused(reload_server, model_config(
        ("m", versioned_base, _both_versions()), ("logged", logged, "    logging_config { }\n"))) == (
        grpc.StatusCode.INVALID_ARGUMENT, "No request-logger-creator provided.")
    assert _predict(reload_server, "/v1/models/logged:predict") == (200, {"predictions": [2.5]})  # it was added
    assert "ReloadConfig failed: No request-logger-creator provided." in reload_server.log()


def test_config_file_poll_applies_edits_and_reverts_rpc_configs(versioned_base, saved_models, tmp_path):
    config_path = tmp_path / "models.config"
    only_m = model_config(("m", versioned_base, ""))
    config_path.write_text(only_m)
    server = server_harness.start_server(["--model_config_file=%s" % config_path,
                                          "--model_config_file_poll_wait_seconds=1"], "m",
                                         str(tmp_path / "server.log"))
    try:
        added = make_base(str(tmp_path / "added"), {"1": saved_models.half_plus_two})
        config_path.write_text(model_config(("m", versioned_base, ""), ("added", added, "")))  # right after start-up
        _wait_until(lambda: _rest_states(server, "added").get("1") == "AVAILABLE", server)

        by_rpc = make_base(str(tmp_path / "by_rpc"), {"1": saved_models.half_plus_two})
        response = _grpc_reload(server, model_config(("m", versioned_base, ""), ("added", added, ""),
                                                     ("by_rpc", by_rpc, "")))
        assert response.status.error_code == 0  # by_rpc was loaded
        _wait_until(lambda: _rest_states(server, "by_rpc").get("1") == "END", server)  # the file wins again

        config_path.write_text("model_config_list { config { nme: 'x' } }")
        _wait_until(lambda: "Failed to read ModelServerConfig file: Invalid protobuf file: " in server.log(), server)
        config_path.write_text(model_config(("m", versioned_base, _labels(stable=1))))
        _wait_until(lambda: "PollFilesystemAndReloadConfig failed to ReloadConfig: " + NOT_AVAILABLE % (1, "m")
                    in server.log(), server)
        assert _rest_states(server, "added") == {"1": "AVAILABLE"}  # the failed configs changed nothing
        assert _predict(server, "/v1/models/m:predict") == (200, {"predictions": [3.5]})
    finally:
        assert server.stop() == 0
