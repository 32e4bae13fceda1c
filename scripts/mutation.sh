#!/usr/bin/env bash
# make mutation: mutation testing of the model server with mutmut. Not part of `make test` or CI (it takes
# minutes to hours, with the module list). It copies the tree to build/mutation/, lets mutmut change the
# server's code there one small change at a time, runs the server's in-process tests against each mutant,
# and prints the kill rate: the share of mutants that some test catches.
#   make mutation                                  errors, tensor_proto, inference (about 15 minutes)
#   make mutation MODULES="json_tensor registry"   other modules of src/iriscourse/model_server/ (longer)
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=${MODULES:-errors tensor_proto inference}
TESTS="tests/model_server/test_errors.py tests/model_server/test_inference_rules.py \
tests/model_server/test_config_and_tensor_rules.py tests/model_server/test_version_states.py \
tests/model_server/test_json_tensor.py tests/model_server/test_registry_and_servable.py \
tests/model_server/test_json_tensor_rules.py tests/model_server/test_json_fast_paths.py"
TOOL=.venv-mutation
WORK=build/mutation
[ -x .venv/bin/python ] || { echo "error: no .venv: run 'make setup' first." >&2; exit 1; }

# mutmut 2.4 runs on Python 3.8 or newer (it only reads the 3.7 code); the tests run in .venv.
if [ ! -x "$TOOL/bin/mutmut" ]; then
  tool_python=""
  for candidate in python3 python3.13 python3.12 python3.11 python3.10 python3.9 python3.8; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null; then
      tool_python=$(command -v "$candidate"); break
    fi
  done
  if [ -z "$tool_python" ]; then
    echo "error: mutmut needs a Python 3.8 or newer next to the course's 3.7 (pyenv install 3.11)." >&2
    exit 1
  fi
  "$tool_python" -m venv "$TOOL"
  "$TOOL/bin/python" -m pip install --disable-pip-version-check -q mutmut==2.4.5
fi

rm -rf "$WORK" && mkdir -p "$WORK"
tar --exclude=./.venv --exclude=./.venv-mutation --exclude=./build --exclude=./wheelhouse --exclude=./.git \
    -cf - . | tar -xf - -C "$WORK"
cat >"$WORK/run_tests.sh" <<RUN
#!/usr/bin/env bash
cd "\$(dirname "\$0")"
# mutmut reads the output as UTF-8: bytes that tests print (invalid UTF-8 kept in strings) stay escaped.
PYTHONIOENCODING=utf-8:backslashreplace PYTHONPATH="\$PWD/src" exec "$PWD/.venv/bin/python" -m pytest -x -q -p no:nbval -o addopts="-p no:cacheprovider" $TESTS
RUN
chmod +x "$WORK/run_tests.sh"
paths=$(for m in $MODULES; do printf 'src/iriscourse/model_server/%s.py,' "$m"; done)
echo "mutation: mutating ${paths%,} (tests: in-process server tests)"
cd "$WORK"
"$OLDPWD/$TOOL/bin/mutmut" run --paths-to-mutate "${paths%,}" --runner ./run_tests.sh \
  --tests-dir tests/model_server --no-progress >mutmut.log 2>&1 || true
"$OLDPWD/$TOOL/bin/python" - <<'PY'
import collections, sqlite3
db = sqlite3.connect(".mutmut-cache")
rows = db.execute("select s.filename, m.status from Mutant m join Line l on m.line = l.id "
                  "join SourceFile s on l.sourcefile = s.id").fetchall()
killed = ("ok_killed", "ok_suspicious", "bad_timeout")
per_file = collections.defaultdict(collections.Counter)
for name, status in rows:
    per_file[name.rsplit("/", 1)[-1]][status] += 1
print("{:<18}{:>8}{:>8}{:>10}".format("module", "mutants", "killed", "kill rate"))
total = collections.Counter()
for name, counts in sorted(per_file.items()):
    tested = sum(counts.values()) - counts["skipped"] - counts["untested"]
    caught = sum(counts[s] for s in killed)
    total.update(counts)
    print("{:<18}{:>8}{:>8}{:>9.1f}%".format(name, tested, caught, 100.0 * caught / max(tested, 1)))
tested = sum(total.values()) - total["skipped"] - total["untested"]
caught = sum(total[s] for s in killed)
print("{:<18}{:>8}{:>8}{:>9.1f}%".format("all", tested, caught, 100.0 * caught / max(tested, 1)))
PY
echo "Surviving mutants: (cd $WORK && $OLDPWD/$TOOL/bin/mutmut results), then mutmut show <id>."
