"""Run ``saved_model_cli`` as a learner would, and read what it prints."""
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

RESULT_HEADER = re.compile(r"^Result for output key (\S+):$", re.M)
ERROR_LINE = re.compile(r"^([A-Za-z_.]*(?:Error|Exception))(?: \(see above for traceback\))?: (.*)$", re.M)


class CommandFailed(Exception):
    """``saved_model_cli`` exited non-zero; the message is its final error line."""

    def __init__(self, returncode, error):
        super().__init__("saved_model_cli exited with {}: {}".format(returncode, error))
        self.returncode = returncode
        self.error = error


def executable():
    """The ``saved_model_cli`` console script installed next to this Python."""
    return str(Path(sys.executable).with_name("saved_model_cli"))


def last_error(stderr):
    """The last ``SomeError: message`` line of a traceback, as ``SomeError: message``."""
    matches = ERROR_LINE.findall(stderr)
    if not matches:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "(no error message)"
    name, message = matches[-1]
    return "{}: {}".format(name, message)


def shell_words(args):
    """``args`` as one shell command line, quoting like the course's docs (double quotes first)."""
    words = []
    for arg in args:
        if re.fullmatch(r"[\w./=:,+-]+", arg):
            words.append(arg)
        elif not re.search(r'["$`\\!]', arg):
            words.append('"{}"'.format(arg))
        else:
            words.append(shlex.quote(arg))
    return " ".join(words)


def run(*args, echo=True):
    """Run ``saved_model_cli ARGS``; print the command and its output; return stdout.

    Raises ``CommandFailed`` (carrying the CLI's final error line) on a non-zero exit,
    so a failing command can never pass silently.
    """
    args = [str(arg) for arg in args]
    if echo:
        print("$ saved_model_cli " + shell_words(args))
    done = subprocess.run([executable()] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    if done.returncode != 0:
        raise CommandFailed(done.returncode, last_error(done.stderr))
    if echo:
        print(done.stdout.rstrip("\n"))
    return done.stdout


def _numpy_text_to_array(text):
    """Parse numpy's printed form of an array (``[[ 1.5 -2. ]\n [ nan  4. ]]``)."""
    body = re.sub(r"\bnan\b", "NaN", text.strip())
    body = re.sub(r"\binf\b", "Infinity", body)
    body = re.sub(r"(\d)\.(?!\d)", r"\1.0", body)
    body = re.sub(r"(?<=[\w\]])\s+(?=[-\w\[])", ", ", body)
    return np.array(json.loads(body))


def parse_results(stdout):
    """The arrays printed by ``saved_model_cli run``, as ``{output key: ndarray}``."""
    parts = RESULT_HEADER.split(stdout)
    return {key: _numpy_text_to_array(text) for key, text in zip(parts[1::2], parts[2::2])}
