"""Command line of local_model_server: flags, config files, version policies, failed loads, shutdown."""
import json
import os
import shutil
import threading
import time

import grpc
import requests
from google.protobuf import text_format
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

import saved_model_builders as builders
import server_harness
from server_harness import make_base, model_config
from iriscourse.model_server import cli


def _status(server, model):
    response = requests.get(server.url("/v1/models/%s" % model), timeout=10)
    return [(entry["version"], entry["state"]) for entry in json.loads(response.text)["model_version_status"]]


def _wait_for_status(server, model, expected, timeout=60):
    deadline = time.time() + timeout
    while _status(server, model) != expected:
        assert time.time() < deadline, server.log()
        time.sleep(0.1)


def _predict(server, path, values):
    response = requests.post(server.url(path), data=json.dumps({"instances": values}), timeout=30)
    assert response.status_code == 200, response.text
    return json.loads(response.text)["predictions"]


def test_flags_accept_both_value_forms():
    flags = cli.parse_flags(["--port", "9000", "--model_name=m", "--model_base_path", "/models/m",
                             "--enable_batching", "--enable_model_warmup=false", "--saved_model_tags=serve,gpu"])
    assert (flags.port, flags.model_name, flags.model_base_path) == (9000, "m", "/models/m")
    assert flags.enable_batching is True and flags.enable_model_warmup is False
    assert (flags.rest_api_port, flags.rest_api_timeout_in_ms, flags.file_system_poll_wait_seconds) == (0, 30000, 1)
    assert (flags.bind_address, flags.rest_api_max_body_bytes) == ("127.0.0.1", 16 * 1024 * 1024)


def test_unknown_flag_prints_usage_and_exits_255():
    result = server_harness.run_server(["--model_base_path=/tmp/x", "--no_such_flag=1"])
    assert result.returncode == 255
    assert b"no_such_flag" in result.stdout and b"usage: local_model_server" in result.stdout
    assert b"--rest_api_timeout_in_ms=30000" in result.stdout


def test_bad_flag_value_prints_usage_and_exits_255():
    result = server_harness.run_server(["--model_base_path=/tmp/x", "--port=eighty"])
    assert result.returncode == 255 and b"usage: local_model_server" in result.stdout


def test_no_model_prints_usage_and_exits_255():
    result = server_harness.run_server(["--port=8500"])
    assert result.returncode == 255 and b"usage: local_model_server" in result.stdout


def test_version_flag():
    result = server_harness.run_server(["--version"])
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("TensorFlow ModelServer: ") and lines[0].endswith("-local")
    assert lines[1] == "TensorFlow Library: 1.13.2"


def test_port_zero_is_rejected_like_the_real_server():
    result = server_harness.run_server(["--port=0", "--model_base_path=/tmp/x"])
    assert result.returncode == 255
    assert b"Failed to start server. Error: INVALID_ARGUMENT: server_options.grpc_port is not set." in result.stdout


def test_invalid_model_config_file_fails_startup(tmp_path):
    config = tmp_path / "bad.config"
    config.write_text("model_config_list { config { nme: 'x' } }")
    result = server_harness.run_server(["--model_config_file=%s" % config])
    assert result.returncode == 255
    assert b"Invalid protobuf file: '%s'" % str(config).encode() in result.stdout


def test_startup_fails_when_the_aspired_version_cannot_load(tmp_path):
    base = str(tmp_path / "broken")
    builders.write_broken_version(os.path.join(base, "1"))
    result = server_harness.run_server(["--model_name=broken", "--model_base_path=%s" % base,
                                        "--max_num_load_retries=0"])
    assert result.returncode == 255
    assert b"1 servable(s) did not become available: {{{name: broken version: 1} due to error:" in result.stdout


def test_config_file_with_two_models_version_policies_labels_and_reload(saved_models, tmp_path):
    two, three = saved_models.half_plus_two, saved_models.half_plus_three
    every = make_base(str(tmp_path / "every"), {"1": two, "2": three})
    pinned = make_base(str(tmp_path / "pinned"), {"1": two, "2": three, "notes": two})
    latest_two = make_base(str(tmp_path / "latest_two"), {"1": two, "2": two, "0003": three})
    config = model_config(
        ("every", every, "    model_version_policy { all {} }\n"),
        ("pinned", pinned, "    model_version_policy { specific { versions: 1 } }\n"
                           '    version_labels { key: "stable" value: 1 }\n'),
        ("latest_two", latest_two, "    model_version_policy { latest { num_versions: 2 } }\n"))
    config_path = tmp_path / "models.config"
    config_path.write_text(config)
    server = server_harness.start_server(["--model_config_file=%s" % config_path,
                                          "--allow_version_labels_for_unavailable_models"], "latest_two",
                                         str(tmp_path / "server.log"))
    try:
        assert _status(server, "every") == [("2", "AVAILABLE"), ("1", "AVAILABLE")]
        assert _status(server, "pinned") == [("1", "AVAILABLE")]
        assert _status(server, "latest_two") == [("3", "AVAILABLE"), ("2", "AVAILABLE")]
        assert _predict(server, "/v1/models/every/versions/1:predict", [1.0]) == [2.5]
        assert _predict(server, "/v1/models/every:predict", [1.0]) == [3.5]
        assert _predict(server, "/v1/models/pinned:predict", [1.0]) == [2.5]
        assert _predict(server, "/v1/models/pinned/labels/stable:predict", [1.0]) == [2.5]

        shutil.rmtree(os.path.join(every, "1"))  # a removed version directory is unloaded
        _wait_for_status(server, "every", [("2", "AVAILABLE"), ("1", "END")])

        added = make_base(str(tmp_path / "added"), {"7": two})
        request = model_management_pb2.ReloadConfigRequest()
        text_format.Parse(model_config(("latest_two", latest_two, ""), ("added", added, "")), request.config)
        channel = grpc.insecure_channel(server.grpc_target)
        response = model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(request, 60.0)
        channel.close()
        assert response.status.error_code == 0
        assert _predict(server, "/v1/models/added:predict", [2.0]) == [3.0]
        _wait_for_status(server, "every", [("2", "END"), ("1", "END")])
        _wait_for_status(server, "latest_two", [("3", "AVAILABLE"), ("2", "END")])
        assert requests.post(server.url("/v1/models/every:predict"), data='{"instances": [1.0]}').status_code == 404
    finally:
        exit_code = server.stop()
    assert exit_code == 0


def test_failed_new_version_is_reported_while_the_previous_one_keeps_serving(saved_models, tmp_path):
    base = make_base(str(tmp_path / "half"), {"1": saved_models.half_plus_two})
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--max_num_load_retries=0", "--enable_batching"],
        "half", str(tmp_path / "server.log"))
    try:
        builders.write_broken_version(os.path.join(base, "2"))
        _wait_for_status(server, "half", [("2", "END"), ("1", "AVAILABLE")])
        broken = json.loads(requests.get(server.url("/v1/models/half/versions/2")).text)["model_version_status"][0]
        assert broken["status"]["error_code"] != "OK" and broken["status"]["error_message"]
        assert _predict(server, "/v1/models/half:predict", [1.0]) == [2.5]
        time.sleep(1.5)  # further polls leave the failed version alone
        assert _status(server, "half") == [("2", "END"), ("1", "AVAILABLE")]
        log = server.log()
        for line in ["Building single TensorFlow model file config:  model_name: half model_base_path: %s" % base,
                     "Adding/updating models.", "Successfully loaded servable version {name: half version: 1}",
                     "Running gRPC ModelServer at 127.0.0.1:%d ..." % server.grpc_port,
                     "Exporting HTTP/REST API at:localhost:%d ..." % server.rest_port,
                     "Wrapping session to perform batch processing",
                     "Loading servable: {name: half version: 2} failed"]:
            assert line in log
    finally:
        exit_code = server.stop()
    assert exit_code == 0


def test_sigterm_finishes_in_flight_requests_exits_0_and_releases_ports(saved_models, tmp_path):
    base = make_base(str(tmp_path / "half"), {"1": saved_models.half_plus_two})
    server = server_harness.start_server(
        ["--model_name=half", "--model_base_path=%s" % base, "--rest_api_timeout_in_ms=2000"],
        "half", str(tmp_path / "server.log"))
    statuses = []

    def slow_request():
        body = '{"signature_name": "blocked", "instances": [1.0]}'
        statuses.append(requests.post(server.url("/v1/models/half:predict"), data=body, timeout=30).status_code)

    in_flight = threading.Thread(target=slow_request)
    try:
        in_flight.start()
        time.sleep(0.5)
        started = time.time()
        exit_code = server.stop()
        stopped_after = time.time() - started
        in_flight.join()
    finally:
        server.stop()
    assert exit_code == 0
    assert stopped_after < 15
    assert statuses == [504]  # the request in flight was answered (its session run timed out)
    assert "Server stopped." in server.log()
    assert server_harness.port_is_free(server.grpc_port) and server_harness.port_is_free(server.rest_port)


def test_negative_poll_wait_never_loads(saved_models, tmp_path):
    base = make_base(str(tmp_path / "half"), {"1": saved_models.half_plus_two})
    process = server_harness.ServerProcess(
        ["--model_name=half", "--model_base_path=%s" % base, "--file_system_poll_wait_seconds=-1"],
        str(tmp_path / "server.log"), *server_harness.free_ports(2))
    try:
        deadline = time.time() + 60
        while "never polled" not in process.log():
            assert time.time() < deadline and process.process.poll() is None, process.log()
            time.sleep(0.1)
        assert "Successfully loaded" not in process.log()
    finally:
        exit_code = process.stop()
    assert exit_code == 0
