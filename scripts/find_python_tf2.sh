#!/usr/bin/env bash
# Print the path of a working Python for the course's TensorFlow 2 environment (.venv-tf2), or explain
# how to get one. tensorflow-cpu 2.21 has wheels for CPython 3.10 to 3.13, but the locked NumPy needs 3.11+;
# the lock (requirements-tf2.lock) is made with 3.11 and installs on 3.12 too.
# Search order: $PYTHON_TF2, python3.11 then python3.12 on PATH, pyenv's 3.11.x then 3.12.x,
# then conda envs with one of those.
set -u

is_tf2_python() {
  # True when "$1" runs and reports version 3.11 or 3.12.
  [ -n "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] in ((3, 11), (3, 12)) else 1)' >/dev/null 2>&1
}

found() {
  # Print the interpreter's own path (not a pyenv shim's) and stop.
  "$1" -c 'import sys; print(sys.executable)'
  exit 0
}

if [ -n "${PYTHON_TF2:-}" ]; then
  if is_tf2_python "$PYTHON_TF2"; then found "$PYTHON_TF2"; fi
  echo "error: PYTHON_TF2=$PYTHON_TF2 is not a working Python 3.11 or 3.12 interpreter." >&2
  exit 1
fi

for minor in 11 12; do
  if command -v "python3.$minor" >/dev/null 2>&1 && is_tf2_python "python3.$minor"; then
    found "$(command -v "python3.$minor")"
  fi
done

if command -v pyenv >/dev/null 2>&1; then
  root=$(pyenv root 2>/dev/null)
  for minor in 11 12; do
    # shellcheck disable=SC2010  # pyenv's version folders are plain names like 3.11.7
    for v in $(ls "$root/versions" 2>/dev/null | grep -E "^3\.$minor\.[0-9]+\$" | sort -t. -k3,3nr); do
      if is_tf2_python "$root/versions/$v/bin/python3.$minor"; then found "$root/versions/$v/bin/python3.$minor"; fi
    done
  done
fi

if command -v conda >/dev/null 2>&1; then
  for minor in 11 12; do
    for prefix in ${CONDA_PREFIX:-} $(conda env list 2>/dev/null | awk '!/^#/ && NF {print $NF}'); do
      if is_tf2_python "$prefix/bin/python3.$minor"; then found "$prefix/bin/python3.$minor"; fi
    done
  done
fi

cat >&2 <<'MSG'
error: no Python 3.11 (or 3.12) found for the TensorFlow 2 environment (.venv-tf2).
Notebook 12 loads the course's TF 1.13 exports in TensorFlow 2.21; its locked versions
(requirements-tf2.lock) install on Python 3.11 and 3.12.

Looked for: $PYTHON_TF2, python3.11 and python3.12 on PATH, pyenv versions 3.11.x and 3.12.x,
conda envs with one of those. Get one in either of these ways, then run `make setup` again:

  pyenv:  pyenv install 3.11.9            (no need to make it global; it is found automatically)
  conda:  conda create -n iris-tf2 python=3.11

Or point the course at an interpreter you already have:

  make setup PYTHON_TF2=/path/to/python3.11
MSG
exit 1
