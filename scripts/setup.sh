#!/usr/bin/env bash
# Create the course's two environments, each cheap to re-run when nothing changed:
#   .venv      Python 3.7, the locked dependencies (TF 1.13) and the course package, with the course's
#              Jupyter kernel registered inside it;
#   .venv-tf2  Python 3.11, TensorFlow 2 (requirements-tf2.txt), for notebook 12's scripts (iriscourse.tf2env).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
KERNEL_NAME=iris-tf113
KERNEL_DISPLAY="Python 3.7 (TF 1.13 course)"
STAMP="$VENV/.setup-stamp"
wanted=$(cat requirements.txt requirements.lock pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
TF2_VENV=.venv-tf2
TF2_STAMP="$TF2_VENV/.setup-stamp"
tf2_wanted=$(cat requirements-tf2.txt requirements-tf2.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)

venv_runs() {
  # True when venv "$1" has a Python that reports version "$2" (like 3.7).
  [ -x "$1/bin/python" ] &&
    "$1/bin/python" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$2' else 1)" 2>/dev/null
}

# A wheelhouse made by `make wheelhouse` (scripts/wheelhouse.sh) means: install from it, with no index
# (find-links already set in the environment are kept, after it). It holds the wheels of both environments.
if compgen -G "wheelhouse/*.whl" >/dev/null; then
  echo "setup: installing from wheelhouse/ with no package index"
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/wheelhouse${PIP_FIND_LINKS:+ $PIP_FIND_LINKS}"
fi

install_failed() {
  cat >&2 <<MSG

error: installing the dependencies of $1 failed (see pip's message above).
  - Offline or behind a proxy? Build a wheelhouse on a machine with network
    (\`make wheelhouse\`: wheels for both .venv and .venv-tf2) and copy wheelhouse/ into this folder:
    setup then installs from it with no index (README, "Notes for workshop teachers").
    A wheelhouse elsewhere: PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheelhouse make setup
  - Then run \`make setup\` again; it resumes where it stopped.
MSG
  exit 1
}

pip_install() {
  # pip_install VENV ARGS...: pip install into VENV, or explain what to do and stop.
  local venv=$1
  shift
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "$@" || install_failed "$venv"
}

if venv_runs "$VENV" 3.7 && [ "$(cat "$STAMP" 2>/dev/null)" = "$wanted" ]; then
  echo "setup: $VENV is up to date (kernel '$KERNEL_NAME')."
else
  if ! venv_runs "$VENV" 3.7; then
    python37=$(scripts/find_python37.sh) || exit 1
    echo "setup: creating $VENV with $python37"
    rm -rf "$VENV"
    "$python37" -m venv "$VENV"
  fi
  echo "setup: installing the locked dependencies (about a minute the first time)"
  pip_install "$VENV" -c requirements.lock pip setuptools wheel
  pip_install "$VENV" -r requirements.txt -c requirements.lock
  pip_install "$VENV" --no-deps --no-build-isolation -e .
  echo "setup: registering the Jupyter kernel '$KERNEL_NAME' inside $VENV"
  "$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name "$KERNEL_NAME" \
    --display-name "$KERNEL_DISPLAY" >/dev/null
  echo "$wanted" >"$STAMP"
  echo "setup: done. Python: $("$VENV/bin/python" --version 2>&1), kernel: $KERNEL_NAME"
fi

tf2_python_ok() { venv_runs "$TF2_VENV" 3.11 || venv_runs "$TF2_VENV" 3.12; }

if tf2_python_ok && [ "$(cat "$TF2_STAMP" 2>/dev/null)" = "$tf2_wanted" ]; then
  echo "setup: $TF2_VENV (TensorFlow 2, notebook 12) is up to date."
  exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup: skipping $TF2_VENV: tensorflow-cpu 2.21 has wheels for Linux x86-64 only, so notebook 12's" \
    "TensorFlow 2 cells need such a machine (everything else runs here)."
  exit 0
fi
if ! tf2_python_ok; then
  if ! python_tf2=$(scripts/find_python_tf2.sh); then
    echo "setup: $VENV is ready; $TF2_VENV (TensorFlow 2, for notebook 12) is not: get a Python 3.11 as above." >&2
    exit 1
  fi
  echo "setup: creating $TF2_VENV with $python_tf2"
  rm -rf "$TF2_VENV"
  "$python_tf2" -m venv "$TF2_VENV"
fi
echo "setup: installing TensorFlow 2 into $TF2_VENV (about 1.6 GB; a minute or two the first time)"
pip_install "$TF2_VENV" -c requirements-tf2.lock pip setuptools wheel
pip_install "$TF2_VENV" -r requirements-tf2.txt -c requirements-tf2.lock
echo "$tf2_wanted" >"$TF2_STAMP"
echo "setup: done. $TF2_VENV: $("$TF2_VENV/bin/python" --version 2>&1), TensorFlow $(
  TF_CPP_MIN_LOG_LEVEL=2 "$TF2_VENV/bin/python" -c 'import tensorflow as tf; print(tf.__version__)' 2>/dev/null)"
