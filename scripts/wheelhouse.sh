#!/usr/bin/env bash
# Build wheelhouse/: every package of the course's two environments, as wheels for this platform
# (Python 3.7 for .venv, and .venv-tf2's Python for notebook 12's TensorFlow 2), so that `make setup`
# can install with no network (it uses wheelhouse/ when it is there).
# Run it on a machine with network access and both environments (make setup).
set -euo pipefail
cd "$(dirname "$0")/.."
HOUSE=${WHEELHOUSE:-wheelhouse}
for venv in .venv .venv-tf2; do
  if [ ! -x "$venv/bin/python" ]; then
    echo "error: no $venv yet: run 'make setup' first (it needs the network once)." >&2
    exit 1
  fi
done
mkdir -p "$HOUSE"
echo "wheelhouse: collecting wheels into $HOUSE/ (about 520 MB: 200 MB for .venv, 340 MB for .venv-tf2)"
collect() {
  # collect VENV REQUIREMENTS LOCK: the wheels of one environment, built by its own pip.
  if ! "$1/bin/python" -m pip wheel --disable-pip-version-check -q --wheel-dir "$HOUSE" \
       -r "$2" -c "$3" pip setuptools wheel; then
    echo "error: building the wheelhouse failed (see pip's message above); check the network and run it again." >&2
    exit 1
  fi
}
collect .venv requirements.txt requirements.lock
collect .venv-tf2 requirements-tf2.txt requirements-tf2.lock
echo "wheelhouse: $(find "$HOUSE" -name "*.whl" | wc -l) wheels, $(du -sh "$HOUSE" | cut -f1)."
echo "  Copy the repository with $HOUSE/ to each machine and run 'make setup' there: no network needed."
