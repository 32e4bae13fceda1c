"""make planted-bugs: plant each bug of a catalogue of realistic slips, one at a time, and show a test catches it.

The catalogue holds the bugs of issue 13: small changes a maintainer could make that change what a
client or learner sees. For each one the tree is copied to build/planted/, the bug is written into the
copy, the tests named for it run against the copy, and the bug is reverted. A bug is caught when those
tests fail. The unchanged copy runs every named test first, so a failure is the bug's doing.

    .venv/bin/python scripts/planted_bugs.py [--only NAME_SUBSTRING]
"""
import argparse
import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "planted"
MS = "src/iriscourse/model_server/"
T = "tests/model_server/"

Bug = collections.namedtuple("Bug", "name path old new tests")

CATALOGUE = [
    Bug("REST verb matched in one case only", MS + "rest.py",
        r':(classify|regress|predict)",' "\n                             re.IGNORECASE)",
        r':(classify|regress|predict)",' "\n                             0)",
        [T + "test_contract_sweep.py::test_the_path_matches_in_any_case_and_each_verb_answers"]),
    Bug("a whole-inputs b64 object taken for named inputs", MS + "json_tensor.py",
        "if not isinstance(inputs, dict) or _is_b64_object(inputs):",
        "if not isinstance(inputs, dict):",
        [T + "test_contract_sweep.py::test_a_columnar_inputs_value_that_is_one_b64_object_is_the_single_inputs_value"]),
    Bug("regression without outputs gives INVALID_ARGUMENT, not FAILED_PRECONDITION", MS + "inference.py",
        'raise errors.failed_precondition("No regression outputs found',
        'raise errors.invalid_argument("No regression outputs found',
        [T + "test_inference_rules.py"]),
    Bug("FAILED_PRECONDITION maps to HTTP 412", MS + "errors.py",
        "FAILED_PRECONDITION: 400,", "FAILED_PRECONDITION: 412,",
        [T + "test_errors.py"]),
    Bug("a version that is not AVAILABLE answers requests", MS + "registry.py",
        "else None\n        if record is None or record.state != AVAILABLE:",
        "else None\n        if record is None or record.state == END:",
        [T + "test_version_states.py"]),
    Bug("DT_DOUBLE answered in float_val", MS + "tensor_proto.py",
        'types_pb2.DT_DOUBLE: "double_val",', 'types_pb2.DT_DOUBLE: "float_val",',
        [T + "test_config_and_tensor_rules.py", T + "test_contract_sweep.py::test_each_dtype_round_trips_over_grpc_in_its_typed_field"]),
    Bug("'1.' reported as a missing comma", MS + "json_tensor.py",
        'return "Miss fraction part in number.", pos + 1',
        'return "Missing a comma or \']\' after an array element.", pos + 1',
        [T + "test_contract_sweep.py::test_each_json_parse_error_has_rapidjsons_text_and_offset"]),
    Bug("MultiInference accepts a task with an empty model name", MS + "grpc_service.py",
        "        if not task.model_spec.name:\n",
        "        if False:\n",
        [T + "test_contract_sweep.py::test_multi_inference_rules_about_model_names"]),
    Bug("REST body limit off by one", MS + "rest.py",
        "if self._size > self._server.max_body_bytes:\n            self._write(",
        "if self._size >= self._server.max_body_bytes:\n            self._write(",
        [T + "test_contract_sweep.py::test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused"]),
    Bug("server helper waits out its timeout after the server exited", "src/iriscourse/serving.py",
        "if self.process.poll() is not None:\n                    raise RuntimeError",
        "if False:\n                    raise RuntimeError",
        ["tests/test_serving.py::test_a_server_that_exits_at_once_fails_fast_with_its_log"]),
    Bug("latest_version picks the oldest version", "src/iriscourse/export.py",
        "return found[-1] if found else None", "return found[0] if found else None",
        ["tests/test_export.py::test_ensure_export_returns_the_newest_of_several_versions"]),
    Bug("runner writes back after a failure", "src/iriscourse/runner.py",
        "        if failure:\n            failure = \"{} failed at {}\".format(notebook.name, failure)\n"
        "        elif args.write_back:",
        "        if failure:\n            failure = \"{} failed at {}\".format(notebook.name, failure)\n"
        "        if args.write_back:",
        ["tests/test_runner.py"]),
    Bug("frozen graph drops an output node", "src/iriscourse/frozen.py",
        "lowlevel.PREDICTED_CLASSES, lowlevel.CLASS_IDS, lowlevel.LOGITS, lowlevel.PROBABILITIES)]",
        "lowlevel.PREDICTED_CLASSES, lowlevel.CLASS_IDS, lowlevel.LOGITS)]",
        ["tests/test_frozen.py::test_every_output_node_survives_freezing"]),
    Bug("two CSV column names swapped", "src/iriscourse/data.py",
        'CSV_COLUMN_NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]',
        'CSV_COLUMN_NAMES = ["SepalWidth", "SepalLength", "PetalLength", "PetalWidth", "Species"]',
        ["tests/test_data.py"]),
    Bug("a hyperparameter changed", "src/iriscourse/estimator.py",
        '"learning_rate": 0.1,', '"learning_rate": 0.05,',
        ["tests/test_estimator.py::test_the_seed_hyperparameters_are_pinned"]),
    Bug("a label lookup falls back to the latest version", MS + "registry.py",
        "            if label not in labels:\n                raise errors.invalid_argument(\"Unrecognized servable "
        "version label: %s\" % label)\n            version = labels[label]\n",
        "            version = labels.get(label)\n",
        [T + "test_version_states.py", T + "test_registry_and_servable.py"]),
    Bug("version labels checked after the models load", MS + "registry.py",
        "            self._update_labels(configs)\n            LOG.info(\"Adding/updating models.\")\n",
        "            LOG.info(\"Adding/updating models.\")\n",
        [T + "test_labels_and_reload.py::test_startup_labels_fail_before_anything_loads"]),
    Bug("the allow flag lets an existing label move to a version not loaded", MS + "registry.py",
        "if unavailable and not (self._allow_unavailable_labels and existing == version):",
        "if unavailable and not self._allow_unavailable_labels:",
        [T + "test_labels_and_reload.py::test_allow_flag_does_not_let_an_existing_label_move_to_a_version_not_available"]),
    Bug("the config-file poll waits an interval before its first read", MS + "server.py",
        "    while True:\n        started = time.time()",
        "    while not stop.wait(flags.model_config_file_poll_wait_seconds):\n        started = time.time()",
        [T + "test_labels_and_reload.py::test_config_file_poll_runs_at_once"]),
    Bug("batched outputs split back in the wrong order", MS + "batching.py",
        "outputs[name] = np.split(value, split_at)[:len(sizes)]",
        "outputs[name] = np.split(value[::-1], split_at)[:len(sizes)]",
        [T + "test_batching.py::test_concurrent_calls_each_get_exactly_their_own_rows"]),
    Bug("a failed warm-up still lets the version load", MS + "servable.py",
        "                warmup.run(self, warmup_iterations)\n            except Exception:\n                self.close()\n"
        "                raise\n",
        "                warmup.run(self, warmup_iterations)\n            except Exception:\n                pass\n",
        [T + "test_warmup.py::test_a_failed_warm_up_fails_the_servable_load_and_closes_its_session"]),
    Bug("every request counted as OK in the metrics", MS + "monitoring.py",
        "    REQUEST_COUNT.increment(model_name, errors.code_name(code))",
        "    REQUEST_COUNT.increment(model_name, \"OK\")",
        [T + "test_monitoring.py::test_counted_rpc_counts_every_status_and_times_successes"]),
]


def copy_tree():
    """A copy of the working tree without environments, build outputs or git data."""
    shutil.rmtree(WORK, ignore_errors=True)
    ignore = shutil.ignore_patterns(".venv*", "build", "wheelhouse", ".git", "__pycache__", ".coverage*")
    shutil.copytree(ROOT, WORK, ignore=ignore)


def run_tests(tests):
    """Run the tests against the copy; returns (passed, seconds, last output lines)."""
    env = dict(os.environ, PYTHONPATH=str(WORK / "src"))
    command = [str(ROOT / ".venv/bin/python"), "-m", "pytest", "-x", "-q", "-p", "no:nbval",
               "-o", "addopts=-p no:cacheprovider"] + tests
    start = time.monotonic()
    done = subprocess.run(command, cwd=str(WORK), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    return done.returncode == 0, time.monotonic() - start, done.stdout.strip().splitlines()[-3:]


def plant(bug):
    """Write the bug into the copy; returns the original text."""
    path = WORK / bug.path
    original = path.read_text()
    if original.count(bug.old) != 1:
        raise SystemExit("catalogue out of date: %r is not found exactly once in %s" % (bug.old, bug.path))
    path.write_text(original.replace(bug.old, bug.new))
    return original


def main():
    """Plant every bug, run its tests, print a table; exit 1 when a bug goes unnoticed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="plant only bugs whose name contains this text")
    args = parser.parse_args()
    bugs = [bug for bug in CATALOGUE if args.only in bug.name]
    copy_tree()
    tests = sorted({test for bug in bugs for test in bug.tests})
    passed, seconds, tail = run_tests(tests)
    if not passed:
        raise SystemExit("the unchanged tree fails its tests:\n" + "\n".join(tail))
    print("unchanged tree: %d test targets pass (%.0f s)\n" % (len(tests), seconds))
    print("| planted bug | file | caught | seconds |\n|---|---|---|---|")
    missed = []
    for bug in bugs:
        original = plant(bug)
        try:
            passed, seconds, _ = run_tests(bug.tests)
        finally:
            (WORK / bug.path).write_text(original)
        if passed:
            missed.append(bug.name)
        print("| %s | %s | %s | %.0f |" % (bug.name, bug.path.split("/")[-1], "no" if passed else "yes", seconds),
              flush=True)
    print("\n%d of %d planted bugs caught" % (len(bugs) - len(missed), len(bugs)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
