#!/usr/bin/env bash
# Build wheelhouse/: every package the course installs, as wheels for this platform and Python 3.7,
# so that `make setup` can install with no network (it uses wheelhouse/ when it is there).
# Run it on a machine with network access and the course's .venv (make setup).
set -euo pipefail
cd "$(dirname "$0")/.."
HOUSE=${WHEELHOUSE:-wheelhouse}
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  echo "error: no .venv yet: run 'make setup' first (it needs the network once)." >&2
  exit 1
fi
mkdir -p "$HOUSE"
echo "wheelhouse: collecting wheels into $HOUSE/ (about 250 MB)"
if ! "$PY" -m pip wheel --disable-pip-version-check -q --wheel-dir "$HOUSE" \
     -r requirements.txt -c requirements.lock pip setuptools wheel; then
  echo "error: building the wheelhouse failed (see pip's message above); check the network and run it again." >&2
  exit 1
fi
echo "wheelhouse: $(find "$HOUSE" -name "*.whl" | wc -l) wheels, $(du -sh "$HOUSE" | cut -f1)."
echo "  Copy the repository with $HOUSE/ to each machine and run 'make setup' there: no network needed."
