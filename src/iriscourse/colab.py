"""Serve the course's Python 3.7 environment to Colab as a local runtime (``make colab``)."""
import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from jupyter_client.kernelspec import KernelSpecManager
from traitlets import default

from iriscourse import paths

COLAB_ORIGIN = "https://colab.research.google.com"
DEFAULT_PORT = 8888
START_TIMEOUT_S = 120
STOP_TIMEOUT_S = 30

CHECKS = """\
Check these three things:
  1. Chrome 142 or newer asks whether colab.research.google.com may reach devices on your local network:
     choose Allow. (Dismissed it? Click the icon left of Colab's address, then Site settings, and set
     "Local network access" to Allow; then connect again.)
  2. Paste the whole URL above, token included: the token is new each time `make colab` starts, and the
     port must be {port}.
  3. In Colab run `import tensorflow as tf; tf.__version__`: it must answer '1.13.2'. Anything else means
     the notebook is on a hosted runtime, not on this one.
Keep this terminal open while you work. Ctrl-C stops Jupyter and its kernels."""


class CourseKernelSpecManager(KernelSpecManager):
    """Kernel specs of this environment only: ``python3`` is never a user-level or system-wide kernel."""

    @default("kernel_dirs")
    def _this_environment_only(self):
        # Colab starts the kernel named ``python3`` (it replaces names it does not know, such as
        # iris-tf113). Jupyter would take ``python3`` from ~/.local/share/jupyter/kernels first.
        return [os.path.join(sys.prefix, "share", "jupyter", "kernels")]


def jupyter_command(port):
    """The Jupyter Notebook command line Colab can connect to on ``port`` (the token comes from the environment)."""
    command = [
        sys.executable, "-m", "notebook",
        "--no-browser",
        "--ip=localhost",
        "--port={}".format(port),
        "--NotebookApp.port_retries=0",
        "--NotebookApp.allow_origin=" + COLAB_ORIGIN,
        "--NotebookApp.allow_credentials=True",
        "--NotebookApp.kernel_spec_manager_class=iriscourse.colab.CourseKernelSpecManager",
        "--notebook-dir=" + str(paths.NOTEBOOKS_DIR),
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return command


def connect_url(port, token):
    """The URL to paste into Colab's "Connect to a local runtime"."""
    return "http://localhost:{}/?token={}".format(port, token)


def _status(port, token):
    """HTTP status of the token-authenticated status API, or None while nothing answers."""
    url = "http://localhost:{}/api/status?token={}".format(port, token)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def _wait_until_ready(server, port, token):
    """Wait until the server answers with our token; return an error message, or None when ready."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return ("Jupyter stopped before it was ready (its message is above). If port {port} is in use, "
                    "stop what uses it or pick another port: make colab COLAB_PORT=8890").format(port=port)
        status = _status(port, token)
        if status == 200:
            return None
        if status is not None:
            return ("the server on port {} refuses the token this command set (HTTP {}): a Jupyter config "
                    "file (~/.jupyter) may set its own token or password; remove that setting, or pick "
                    "another port: make colab COLAB_PORT=8890").format(port, status)
        time.sleep(0.25)
    return "Jupyter did not answer on port {} within {} s".format(port, START_TIMEOUT_S)


def _stop(server):
    """Stop Jupyter (it shuts its kernels down on SIGTERM); kill its process group if it hangs."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    """Start Jupyter for Colab, print the URL to paste and what to check, and stop cleanly on Ctrl-C."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help="port on localhost (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error("--port must be between 1 and 65535, got {}".format(args.port))

    token = secrets.token_hex(24)
    # The token travels in the environment, not on the command line, where `ps` would show it.
    # Jupyter runs in its own process group so that Ctrl-C reaches only this script, which then stops
    # Jupyter once, without the interactive "Shutdown this notebook server?" question.
    signal.signal(signal.SIGTERM, _interrupt)
    server = subprocess.Popen(jupyter_command(args.port), env=dict(os.environ, JUPYTER_TOKEN=token),
                              stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        error = _wait_until_ready(server, args.port, token)
        if error:
            print("colab: error: " + error, file=sys.stderr, flush=True)
            return 1
        print("\n" + "=" * 100)
        print("Colab local runtime: Jupyter from {} (Python 3.7, TensorFlow 1.13.2) on port {}.".format(
            os.path.relpath(sys.prefix), args.port))
        print("In Colab: Connect (top right) > Connect to a local runtime, and paste this URL:\n")
        print("    " + connect_url(args.port, token) + "\n")
        print(CHECKS.format(port=args.port))
        print("=" * 100 + "\n", flush=True)
        server.wait()
        print("colab: Jupyter exited with status {}".format(server.returncode), file=sys.stderr)
        return server.returncode or 1
    except KeyboardInterrupt:
        print("\ncolab: stopping Jupyter and its kernels ...", flush=True)
        _stop(server)
        print("colab: stopped.", flush=True)
        return 0
    finally:
        _stop(server)


if __name__ == "__main__":
    sys.exit(main())
