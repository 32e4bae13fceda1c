#!/usr/bin/env bash
# Print the path of a working Python 3.7 interpreter, or explain how to get one.
# Search order: $PYTHON37, python3.7 on PATH, pyenv's 3.7.x, a conda env with Python 3.7.
set -u

is_py37() {
  # True when "$1" runs and reports version 3.7.
  [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' >/dev/null 2>&1
}

found() { printf '%s\n' "$1"; exit 0; }

if [ -n "${PYTHON37:-}" ]; then
  if is_py37 "$PYTHON37"; then found "$PYTHON37"; fi
  echo "error: PYTHON37=$PYTHON37 is not a working Python 3.7 interpreter." >&2
  exit 1
fi

if command -v python3.7 >/dev/null 2>&1 && is_py37 python3.7; then
  found "$(command -v python3.7)"
fi

if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for v in $(ls "$root/versions" 2>/dev/null | grep -E '^3\.7\.[0-9]+$' | sort -t. -k3,3nr); do
    if is_py37 "$root/versions/$v/bin/python3.7"; then found "$root/versions/$v/bin/python3.7"; fi
  done
fi

if command -v conda >/dev/null 2>&1; then
  for prefix in ${CONDA_PREFIX:-} $(conda env list 2>/dev/null | awk '!/^#/ && NF {print $NF}'); do
    if is_py37 "$prefix/bin/python3.7"; then found "$prefix/bin/python3.7"; fi
  done
fi

cat >&2 <<'MSG'
error: no Python 3.7 found. TensorFlow 1.13.2 has wheels only up to Python 3.7.

Looked for: $PYTHON37, python3.7 on PATH, pyenv versions 3.7.x, conda envs with Python 3.7.
Get one in either of these ways, then run the command again:

  pyenv:  pyenv install 3.7.16            (no need to make it global; it is found automatically)
  conda:  conda create -n iris-tf113 python=3.7 && conda activate iris-tf113

Or point the course at an interpreter you already have:

  make setup PYTHON37=/path/to/python3.7
MSG
exit 1
