import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from iriscourse import export, serving


@pytest.fixture(scope="module")
def raw_base(module_build_dir):
    """The course's raw export, built once in a private build directory; servers stopped after."""
    yield export.ensure_export("raw").parent.resolve()
    serving.stop_all()


def _process_gone(pid, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_the_real_server_is_preferred_when_on_path(tmp_path, monkeypatch):
    fake = tmp_path / "tensorflow_model_server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ["PATH"])
    assert serving.server_binary() == str(fake)


def test_the_local_server_is_used_otherwise(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert serving.server_binary() == str(Path(sys.executable).with_name("local_model_server"))


def test_a_busy_preferred_port_is_replaced_by_a_free_one():
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        assert not serving.port_is_free(taken)
        other = serving.free_port(taken)
    assert other != taken and serving.port_is_free(other)


def test_model_config_file_is_a_valid_text_proto(tmp_path):
    path = serving.write_model_config(tmp_path / "models.config", {"a": "../build/exports/a", "b": "/srv/b"})
    config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    assert [(c.name, c.base_path, c.model_platform) for c in config.model_config_list.config] == [
        ("a", "../build/exports/a", "tensorflow"), ("b", "/srv/b", "tensorflow")]


def test_start_waits_until_available_and_stop_frees_the_ports(raw_base):
    server = serving.start("t_single", model_name="raw_export_model", model_base_path=raw_base,
                           grpc_port=0, rest_port=0)
    status = requests.get(server.rest_url + "/v1/models/raw_export_model").json()
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    assert server.kind in ("local_model_server", "tensorflow_model_server")
    assert "--model_name=raw_export_model" in server.shown_command()
    assert server.stop() == 0
    assert serving.port_is_free(server.rest_port) and serving.port_is_free(server.grpc_port)


def test_a_grpc_port_taken_after_the_check_is_replaced_and_the_server_starts(raw_base, monkeypatch):
    import socket
    with socket.socket() as busy:  # taken by "another process" between our check and the server's bind
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = busy.getsockname()[1]
        monkeypatch.setattr(serving, "port_is_free", lambda port, host="127.0.0.1": True)
        server = serving.start("t_race", model_name="raw_export_model", model_base_path=raw_base, grpc_port=taken)
        try:
            assert server.grpc_port != taken and server.process.poll() is None
        finally:
            server.stop()


def test_starting_the_same_name_again_stops_the_first_server(raw_base):
    first = serving.start("t_again", model_name="raw_export_model", model_base_path=raw_base, grpc_port=0, rest_port=0)
    second = serving.start("t_again", model_name="raw_export_model", model_base_path=raw_base, grpc_port=0, rest_port=0)
    assert first.process.poll() is not None and second.process.poll() is None
    second.stop()


def test_a_server_that_never_gets_ready_fails_with_its_log(tmp_path):
    with pytest.raises(TimeoutError, match="No versions of servable m found|Could not find base path"):
        serving.start("t_missing", model_name="m", model_base_path=tmp_path / "missing", grpc_port=0, rest_port=0,
                      timeout=10)  # long enough for the server to log why, even on a loaded machine


def test_a_server_that_exits_at_once_fails_fast_with_its_log(build_dir, tmp_path):
    # A flag value tensorflow_model_server (and local_model_server) rejects before serving anything.
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="exited with") as failure:
        serving.start("t_exits", model_name="m", model_base_path=tmp_path, grpc_port=0, rest_port=0,
                      extra_args=["--batching_parameters_file={}".format(tmp_path / "batching.config")],
                      timeout=60)
    assert time.monotonic() - began < 10, "waited for the timeout instead of noticing the exit"
    assert ("server_options.batching_parameters_file is set without setting server_options.enable_batching to "
            "true.") in str(failure.value)
    assert "t_exits" not in serving._started


def test_the_server_dies_with_the_kernel_that_started_it(raw_base, tmp_path):
    script = (
        "from iriscourse import serving\n"
        "s = serving.start('t_orphan', model_name='raw_export_model', model_base_path=%r, grpc_port=0, rest_port=0)\n"
        "print(s.process.pid, s.rest_port, flush=True)\n"
        "import time; time.sleep(600)\n" % str(raw_base))
    kernel = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, universal_newlines=True,
                              cwd=str(tmp_path), env=dict(os.environ, IRISCOURSE_BUILD_DIR=str(tmp_path / "build")))
    pid, port = map(int, kernel.stdout.readline().split())
    kernel.send_signal(signal.SIGKILL)  # no atexit handler runs: only the parent-death signal can help
    kernel.wait()
    assert _process_gone(pid), "local_model_server outlived its kernel"
    assert serving.port_is_free(port)
