"""Start a TensorFlow Serving model server for the notebooks, wait until it serves, stop it.

The real ``tensorflow_model_server`` is used when it is on PATH (see
``scripts/install_serving.sh``); otherwise the course's compatible ``local_model_server``,
which takes the same flags and speaks the same REST and gRPC APIs.
"""
import atexit
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from . import paths

REAL_SERVER = "tensorflow_model_server"
LOCAL_SERVER = "local_model_server"
_started = {}
_BIND_ATTEMPTS = 3
_GRPC_BIND_FAILURE = "Failed to BuildAndStart gRPC server"


def server_binary():
    """``tensorflow_model_server`` if it is on PATH, else the course's ``local_model_server``."""
    real = shutil.which(REAL_SERVER)
    return real or str(Path(sys.executable).with_name(LOCAL_SERVER))


def port_is_free(port, host="127.0.0.1"):
    """Whether a TCP port can be bound on ``host`` (as servers bind: TIME_WAIT leftovers allowed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred=None, avoid=()):
    """``preferred`` if it is free (and not in ``avoid``), else a port the OS picks."""
    if preferred and preferred not in avoid and port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            return port


def write_model_config(path, models):
    """Write a ModelServerConfig text proto serving ``models`` ({name: base_path}); return its path.

    Base paths are written as given. tensorflow_model_server refuses relative ones (INVALID_ARGUMENT
    "Expected model ... to have an absolute path or URI"), so ``start`` passes absolute paths.
    """
    entries = "".join(
        '  config {{\n    name: "{}"\n    base_path: "{}"\n    model_platform: "tensorflow"\n  }}\n'.format(
            name, base) for name, base in models.items())
    Path(path).write_text("model_config_list {\n" + entries + "}\n")
    return Path(path)


def _die_with_parent():
    """In the child: ask Linux to SIGTERM it when the process that started it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the atexit handler still stops it when Python exits normally


class ModelServer:
    """One model server process started by this kernel."""

    def __init__(self, name, args, grpc_port, rest_port, log_path):
        self.name, self.grpc_port, self.rest_port, self.log_path = name, grpc_port, rest_port, Path(log_path)
        self.command = [server_binary(), "--port={}".format(grpc_port),
                        "--rest_api_port={}".format(rest_port)] + list(args)
        self.process = None

    @property
    def kind(self):
        """Which server runs: the real ``tensorflow_model_server`` or ``local_model_server``."""
        return Path(self.command[0]).name

    @property
    def rest_url(self):
        """Base URL of the REST API, e.g. ``http://localhost:8501``."""
        return "http://localhost:{}".format(self.rest_port)

    @property
    def grpc_target(self):
        """``host:port`` of the gRPC API."""
        return "localhost:{}".format(self.grpc_port)

    def shown_command(self):
        """The command line as you would type it (binary name; this clone's folder shown as ``<course>``)."""
        return paths.shown(" \\\n    ".join([self.kind] + self.command[1:]))

    def start(self):
        """Start the process, its output going to ``log_path``."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(str(self.log_path), "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        return self

    def wait_until_available(self, models, timeout=60.0):
        """Poll each model's status until a version is AVAILABLE; raise with the log if it never is."""
        deadline = time.monotonic() + timeout
        pending = list(models)
        with requests.Session() as http:
            while pending:
                if self.process.poll() is not None:
                    raise RuntimeError("{} exited with {}:\n{}".format(self.kind, self.process.returncode, self.log(80)))
                if time.monotonic() > deadline:
                    raise TimeoutError("{} not AVAILABLE after {:.0f} s:\n{}".format(pending, timeout, self.log()))
                try:
                    status = http.get("{}/v1/models/{}".format(self.rest_url, pending[0]), timeout=2).json()
                except (requests.ConnectionError, requests.Timeout, ValueError):
                    status = {}
                if any(v.get("state") == "AVAILABLE" for v in status.get("model_version_status", [])):
                    pending.pop(0)
                else:
                    time.sleep(0.1)
        return self

    def log(self, lines=20):
        """The last ``lines`` lines the server wrote."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout=15.0):
        """SIGTERM the server (SIGKILL after ``timeout``); return its exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _started.pop(self.name, None)
        return self.process.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start(name, models=None, model_name=None, model_base_path=None, grpc_port=8500, rest_port=8501,
          extra_args=(), timeout=60.0, model_config_file=None):
    """Start a server named ``name`` and wait until its models are AVAILABLE.

    Serve one model (``model_name`` + ``model_base_path``) or several through a model config
    file: written from ``models`` ({name: base_path}), or your own ``model_config_file`` (then
    ``models`` only lists the names to wait for). The preferred ports are used when free,
    others otherwise. A server this kernel started earlier under the same ``name`` is stopped first.
    """
    if name in _started:
        _started[name].stop()
    grpc = free_port(grpc_port)
    rest = free_port(rest_port, avoid={grpc})
    if model_config_file:
        args = ["--model_config_file={}".format(model_config_file)]
        names = list(models)
    elif models:
        config = write_model_config(paths.artifact("serving", name, "models.config"),
                                    {model: Path(base).resolve() for model, base in models.items()})
        args = ["--model_config_file={}".format(config)]
        names = list(models)
    else:
        args = ["--model_name={}".format(model_name), "--model_base_path={}".format(Path(model_base_path).resolve())]
        names = [model_name]
    for attempt in range(_BIND_ATTEMPTS):
        server = ModelServer(name, args + list(extra_args), grpc, rest, paths.artifact("serving", name, "server.log"))
        server.start()
        _started[name] = server
        try:
            return server.wait_until_available(names, timeout)
        except RuntimeError:
            server.stop()
            if _GRPC_BIND_FAILURE not in server.log() or attempt + 1 == _BIND_ATTEMPTS:
                raise
            # Another process took the gRPC port between our check and the server's bind: other ports.
            grpc = free_port()
            rest = free_port(avoid={grpc})
        except Exception:
            server.stop()
            raise


def stop_all():
    """Stop every server this Python process started (also run at exit)."""
    for server in list(_started.values()):
        server.stop()


atexit.register(stop_all)
