"""`make colab`, met as Colab's browser client meets it: CORS with credentials, token, kernel, websocket."""
import ast
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from iriscourse import colab, paths

ROOT = paths.REPO_ROOT
VENV = (ROOT / ".venv").resolve()
COLAB = "https://colab.research.google.com"
OTHER_ORIGIN = "https://attacker.example"
URL_RE = re.compile(r"^    http://localhost:(\d+)/\?token=([0-9a-f]{48})$", re.M)
USER_KERNEL_MARK = "user-level python3 kernelspec"
HTTP_TIMEOUT = 10


def _free_port():
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return sock.getsockname()[1]


def _gone(pid):
    """True once ``pid`` is no process, or only a zombie."""
    try:
        with open("/proc/{}/stat".format(pid)) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out after {} s waiting for {}".format(timeout, what))
        time.sleep(0.2)


class Runtime:
    """A running `make colab`, its output, and every process id it leads to (for a sure cleanup)."""

    def __init__(self, process, port, home):
        self.process, self.port, self.home = process, port, home
        self.lines, self.kernel_pids = [], []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self):
        return "".join(self.lines)

    def server_pids(self):
        """Jupyter's pids, from the server-info files it writes into its runtime folder."""
        runtime = self.home / ".local" / "share" / "jupyter" / "runtime"
        return [json.loads(f.read_text())["pid"] for f in runtime.glob("nbserver-*.json")]

    def base(self):
        return "http://localhost:{}".format(self.port)

    def kill_everything(self):
        for pid in self.server_pids() + self.kernel_pids:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    """`make colab` on a free port, with a HOME holding a user-level ``python3`` kernelspec that must lose."""
    home = tmp_path_factory.mktemp("home")
    user_kernel = home / ".local" / "share" / "jupyter" / "kernels" / "python3"
    user_kernel.mkdir(parents=True)
    (user_kernel / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (user)", "language": "python",
        "env": {"IRIS_KERNEL_FROM": USER_KERNEL_MARK}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    env.update(HOME=str(home), PYTHONUNBUFFERED="1")
    port = _free_port()
    process = subprocess.Popen(["make", "--no-print-directory", "colab", "COLAB_PORT={}".format(port)],
                               cwd=str(ROOT), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, start_new_session=True)
    run = Runtime(process, port, home)
    try:
        _wait_for(lambda: URL_RE.search(run.output) or process.poll() is not None, 120, "the URL to paste")
        assert URL_RE.search(run.output), "make colab printed no URL:\n" + run.output
        yield run
    finally:
        run.kill_everything()


def _token(run):
    return URL_RE.search(run.output).group(2)


def _execute(ws_url, code, origin, timeout=90):
    """Run ``code`` in a kernel over its websocket, as Colab does; return the execute_result's text."""
    async def talk():
        request = HTTPRequest(ws_url, headers={"Origin": origin}, connect_timeout=HTTP_TIMEOUT,
                              request_timeout=HTTP_TIMEOUT)
        ws = await websocket_connect(request)
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": uuid.uuid4().hex,
                       "username": "colab", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        result = None
        while True:
            raw = await ws.read_message()
            assert raw is not None, "the kernel websocket closed before the reply"
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            assert kind != "error", "the kernel raised: {ename}: {evalue}".format(**msg["content"])
            if kind == "execute_result":
                result = msg["content"]["data"]["text/plain"]
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                return result

    return asyncio.run(asyncio.wait_for(talk(), timeout))


def test_root_gets_allow_root_and_other_users_do_not(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert "--allow-root" in colab.jupyter_command(8888)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    command = colab.jupyter_command(8888)
    assert "--allow-root" not in command
    assert "--port=8888" in command and "--NotebookApp.port_retries=0" in command
    assert not [arg for arg in command if arg.startswith("--ServerApp.")]


def test_busy_port_is_a_clear_error_not_another_port():
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([str(VENV / "bin" / "python"), "-m", "iriscourse.colab", "--port", str(port)],
                                cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert result.returncode == 1
    assert "colab: error:" in result.stderr and "COLAB_PORT=" in result.stderr
    assert "token=" not in result.stdout


def test_prints_the_exact_url_to_paste_and_the_three_checks(runtime):
    port, token = URL_RE.search(runtime.output).groups()
    assert int(port) == runtime.port
    for check in ("1. Chrome 142", "Local network access", "2. Paste the whole URL", "3. In Colab run"):
        assert check in runtime.output
    pasted = requests.get("http://localhost:{}/?token={}".format(port, token), timeout=HTTP_TIMEOUT)
    assert pasted.status_code == 200 and pasted.url.startswith(runtime.base() + "/tree")
    status = requests.get(runtime.base() + "/api/status", params={"token": token}, timeout=HTTP_TIMEOUT)
    assert status.status_code == 200
    wrong = requests.get(runtime.base() + "/api/status", params={"token": "0" * 48}, timeout=HTTP_TIMEOUT)
    assert wrong.status_code == 403


def test_colab_preflight_and_responses_allow_its_origin_with_credentials(runtime):
    preflight = requests.options(runtime.base() + "/api/sessions", params={"token": _token(runtime)},
                                 headers={"Origin": COLAB, "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"},
                                 timeout=HTTP_TIMEOUT)
    assert preflight.status_code in (200, 204)
    assert preflight.headers.get("Access-Control-Allow-Origin") == COLAB
    assert preflight.headers.get("Access-Control-Allow-Credentials") == "true"
    assert "POST" in preflight.headers.get("Access-Control-Allow-Methods", "")
    assert "content-type" in preflight.headers.get("Access-Control-Allow-Headers", "")

    specs = requests.get(runtime.base() + "/api/kernelspecs", params={"token": _token(runtime)},
                         headers={"Origin": COLAB}, timeout=HTTP_TIMEOUT)
    assert specs.status_code == 200
    assert specs.headers.get("Access-Control-Allow-Origin") == COLAB
    assert specs.headers.get("Access-Control-Allow-Credentials") == "true"
    python3 = specs.json()["kernelspecs"]["python3"]["spec"]
    assert python3.get("env", {}).get("IRIS_KERNEL_FROM") != USER_KERNEL_MARK


def test_kernel_colab_starts_runs_the_course_tensorflow_not_a_user_kernel(runtime):
    token = _token(runtime)
    # Colab replaces kernel names it does not know (the notebooks say iris-tf113) by python3.
    session = requests.post(runtime.base() + "/api/sessions", params={"token": token},
                            headers={"Origin": COLAB},
                            json={"path": "colab-test.ipynb", "name": "colab-test.ipynb", "type": "notebook",
                                  "kernel": {"name": "python3"}}, timeout=60)
    assert session.status_code == 201, session.text
    assert session.headers.get("Access-Control-Allow-Origin") == COLAB
    kernel_id = session.json()["kernel"]["id"]
    ws_url = "ws://localhost:{}/api/kernels/{}/channels?token={}&session_id={}".format(
        runtime.port, kernel_id, token, uuid.uuid4().hex)

    pid = _execute(ws_url, "import os; os.getpid()", COLAB)
    runtime.kernel_pids.append(int(pid))
    assert _execute(ws_url, "import tensorflow as tf; tf.__version__", COLAB) == "'1.13.2'"
    where = _execute(ws_url, "import os, sys; (sys.prefix, os.environ.get('IRIS_KERNEL_FROM'))", COLAB)
    prefix, mark = ast.literal_eval(where)
    assert Path(prefix).resolve() == VENV
    assert mark is None, "Colab got the user-level python3 kernel"


def test_other_origin_without_the_token_is_refused(runtime):
    # Jupyter answers a cross-origin API request it blocks with 404, and one without a token with 403.
    for method, path in (("GET", "/api/kernels"), ("POST", "/api/sessions")):
        refused = requests.request(method, runtime.base() + path, headers={"Origin": OTHER_ORIGIN},
                                   json={"path": "x.ipynb", "type": "notebook", "kernel": {"name": "python3"}},
                                   timeout=HTTP_TIMEOUT)
        assert refused.status_code in (403, 404), (method, path, refused.status_code)
        assert refused.headers.get("Access-Control-Allow-Origin") != OTHER_ORIGIN
    no_token = requests.get(runtime.base() + "/api/kernels", headers={"Origin": COLAB}, timeout=HTTP_TIMEOUT)
    assert no_token.status_code == 403

    kernels = requests.get(runtime.base() + "/api/kernels", params={"token": _token(runtime)},
                           timeout=HTTP_TIMEOUT).json()
    assert kernels, "no kernel to aim the websocket at (the kernel test runs first)"
    ws_url = "ws://localhost:{}/api/kernels/{}/channels".format(runtime.port, kernels[0]["id"])
    with pytest.raises(HTTPClientError) as refusal:
        _execute(ws_url, "1", OTHER_ORIGIN, timeout=30)
    assert refusal.value.code == 403


def test_ctrl_c_stops_jupyter_and_its_kernels(runtime):
    server_pids = runtime.server_pids()
    assert len(server_pids) == 1 and runtime.kernel_pids
    os.killpg(runtime.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    runtime.process.wait(timeout=60)
    for pid in server_pids + runtime.kernel_pids:
        _wait_for(lambda: _gone(pid), 30, "process {} to end".format(pid))
    with pytest.raises(requests.ConnectionError):
        requests.get(runtime.base() + "/api/status", timeout=HTTP_TIMEOUT)
    assert "colab: stopped." in runtime.output
    assert "Traceback" not in runtime.output
