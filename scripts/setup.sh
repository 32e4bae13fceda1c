#!/usr/bin/env bash
# Create .venv with Python 3.7, install the locked dependencies and the course package,
# and register the course's Jupyter kernel inside the venv. Cheap when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
KERNEL_NAME=iris-tf113
KERNEL_DISPLAY="Python 3.7 (TF 1.13 course)"
STAMP="$VENV/.setup-stamp"
wanted=$(cat requirements.txt requirements.lock pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)

venv_is_py37() {
  [ -x "$VENV/bin/python" ] &&
    "$VENV/bin/python" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' 2>/dev/null
}

if venv_is_py37 && [ "$(cat "$STAMP" 2>/dev/null)" = "$wanted" ]; then
  echo "setup: $VENV is up to date (kernel '$KERNEL_NAME')."
  exit 0
fi

if ! venv_is_py37; then
  python37=$(scripts/find_python37.sh) || exit 1
  echo "setup: creating $VENV with $python37"
  rm -rf "$VENV"
  "$python37" -m venv "$VENV"
fi

# A wheelhouse made by `make wheelhouse` (scripts/wheelhouse.sh) means: install from it, with no index
# (find-links already set in the environment are kept, after it).
if compgen -G "wheelhouse/*.whl" >/dev/null; then
  echo "setup: installing from wheelhouse/ with no package index"
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$PWD/wheelhouse${PIP_FIND_LINKS:+ $PIP_FIND_LINKS}"
fi

pip_install() {
  if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -q "$@"; then
    cat >&2 <<'MSG'

error: installing the course's dependencies failed (see pip's message above).
  - Offline or behind a proxy? Build a wheelhouse on a machine with network
    (`make wheelhouse`) and copy wheelhouse/ into this folder: setup then
    installs from it with no index (README, "Notes for workshop teachers").
    A wheelhouse elsewhere: PIP_NO_INDEX=1 PIP_FIND_LINKS=/path/to/wheelhouse make setup
  - Then run `make setup` again; it resumes where it stopped.
MSG
    exit 1
  fi
}

echo "setup: installing the locked dependencies (about a minute the first time)"
pip_install -c requirements.lock pip setuptools wheel
pip_install -r requirements.txt -c requirements.lock
pip_install --no-deps --no-build-isolation -e .

echo "setup: registering the Jupyter kernel '$KERNEL_NAME' inside $VENV"
"$VENV/bin/python" -m ipykernel install --prefix "$VENV" --name "$KERNEL_NAME" \
  --display-name "$KERNEL_DISPLAY" >/dev/null
echo "$wanted" >"$STAMP"
echo "setup: done. Python: $("$VENV/bin/python" --version 2>&1), kernel: $KERNEL_NAME"
