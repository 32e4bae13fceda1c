"""Start `local_model_server` as a subprocess on free ports, wait until it serves, stop it."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests

SERVER_COMMAND = [os.path.join(os.path.dirname(sys.executable), "local_model_server")]
if not os.path.exists(SERVER_COMMAND[0]):
    SERVER_COMMAND = [sys.executable, "-m", "iriscourse.model_server.cli"]

START_TIMEOUT_SECONDS = 90
# The shared server's limits, small so the tests that hit them stay fast.
REST_TIMEOUT_MS = 1500
MAX_BODY_BYTES = 1000000


def model_config(*models):
    """Text ModelServerConfig for (name, base_path, extra text) triples."""
    entries = "".join('  config {\n    name: "%s"\n    base_path: "%s"\n    model_platform: "tensorflow"\n%s  }\n'
                      % (name, base_path, extra) for name, base_path, extra in models)
    return "model_config_list {\n%s}\n" % entries


def make_base(directory, versions):
    """A model base path holding copies of SavedModels: versions maps directory names to sources."""
    os.makedirs(directory)
    for version, source in versions.items():
        shutil.copytree(source, os.path.join(directory, version))
    return directory


def free_ports(count):
    """Distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_is_free(port):
    """True when 127.0.0.1:port can be bound."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def server_env():
    """Environment for the server process: quiet TensorFlow C++ logs."""
    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


class ServerProcess(object):
    """A running local_model_server; its combined stdout/stderr goes to log_path."""

    def __init__(self, args, log_path, grpc_port, rest_port):
        self.grpc_port, self.rest_port, self.log_path = grpc_port, rest_port, log_path
        self.args = args
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                SERVER_COMMAND + ["--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port] + args,
                stdout=log, stderr=subprocess.STDOUT, env=server_env())

    @property
    def grpc_target(self):
        """host:port for grpc.insecure_channel."""
        return "localhost:%d" % self.grpc_port

    def url(self, path):
        """Absolute REST URL of a path such as /v1/models/m."""
        return "http://localhost:%d%s" % (self.rest_port, path)

    def log(self):
        """Everything the server printed so far."""
        with open(self.log_path, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def wait_ready(self, model_name, timeout=START_TIMEOUT_SECONDS):
        """Poll the model's REST status until it answers 200; False if the server died first."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None or "Failed to start HTTP Server" in self.log():
                return False
            try:
                if requests.get(self.url("/v1/models/%s" % model_name), timeout=2).status_code == 200:
                    return True
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise AssertionError("local_model_server not ready after %ds:\n%s" % (timeout, self.log()))

    def stop(self, timeout=30):
        """SIGTERM, wait, SIGKILL if needed; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(args, ready_model, log_path):
    """Start a server that serves ready_model (retrying on port clashes)."""
    for _ in range(3):
        grpc_port, rest_port = free_ports(2)
        server = ServerProcess(args, log_path, grpc_port, rest_port)
        try:
            if server.wait_ready(ready_model):
                return server
        except BaseException:
            server.stop()
            raise
        output = server.log()
        server.stop()
        if "Failed to BuildAndStart" not in output and "Failed to start HTTP Server" not in output:
            raise AssertionError("local_model_server exited during startup:\n" + output)
    raise AssertionError("could not start local_model_server on free ports:\n" + output)


def run_server(args, timeout=60):
    """Run the server command to completion (for flags that make it exit); returns CompletedProcess."""
    return subprocess.run(SERVER_COMMAND + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=server_env(), timeout=timeout)
