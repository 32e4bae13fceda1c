"""The TensorFlow 2 environment: scripts run in it, and TF 2 reads the course's TF 1.13 exports unchanged."""
import numpy as np
import pytest
import tensorflow as tf

from iriscourse import data, export, lowlevel, paths, tf2env


def _tf113_outputs(export_dir, feed):
    """Every output of ``serving_default``, computed by TF 1.13 (this process) from ``feed``."""
    with tf.Session(graph=tf.Graph()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def["serving_default"]
        outputs = {name: info.name for name, info in signature.outputs.items()}
        return sess.run(outputs, {signature.inputs[name].name: value for name, value in feed.items()})


@pytest.fixture(scope="module")
def exports(module_build_dir):
    """Export dir, signature inputs (the 30 test rows) and TF 1.13's outputs for each of the course's exports."""
    _, (test_x, _) = data.load_data()
    cases = {
        "raw": (export.ensure_export("raw"),
                {name: test_x[name].values.astype(np.float32) for name in data.FEATURE_NAMES}),
        "parsing": (export.ensure_export("parsing"), {"examples": data.serialize_examples(test_x)}),
        "clean": (lowlevel.ensure_savedmodel(), {"features": lowlevel.test_set()[0]}),
    }
    return {kind: (path, feed, _tf113_outputs(path, feed)) for kind, (path, feed) in cases.items()}


@pytest.mark.parametrize("api", tf2env.APIS)
@pytest.mark.parametrize("kind", ["raw", "parsing", "clean"])
def test_tensorflow_2_predicts_what_tensorflow_1_13_predicts(exports, kind, api):
    export_dir, feed, expected = exports[kind]
    result = tf2env.predict_savedmodel(export_dir, feed, api=api)
    assert result["tensorflow"] == "2.21.0" and result["api"] == api
    outputs = result["outputs"]
    assert sorted(outputs) == sorted(expected) == ["class_ids", "logits", "probabilities"]
    assert outputs["class_ids"].dtype == np.int64 and outputs["class_ids"].shape == (30, 1)
    np.testing.assert_array_equal(outputs["class_ids"], expected["class_ids"])
    for name in ("logits", "probabilities"):
        assert outputs[name].dtype == np.float32 and outputs[name].shape == (30, 3)
    assert np.max(np.abs(outputs["probabilities"] - expected["probabilities"])) <= 1e-6
    # Logits reach about 15, where float32 steps are 1e-6: TF 2's kernels differ from 1.13's by a few steps
    # (measured: at most 7.6e-6 on the clean export, 1.9e-6 on the Estimator's).
    assert np.max(np.abs(outputs["logits"] - expected["logits"])) <= 1e-5
    assert result["load_seconds"] > 0
    assert sorted(result["latency_ms"]) == [1, 30] and all(ms > 0 for ms in result["latency_ms"].values())


def test_the_predictions_are_the_trained_models_not_constants(exports):
    _, feed, expected = exports["clean"]
    _, labels = lowlevel.test_set()
    assert np.mean(expected["class_ids"][:, 0] == labels) >= 0.9


def test_a_missing_environment_says_to_run_make_setup(tmp_path, monkeypatch):
    monkeypatch.delenv("IRISCOURSE_TF2_VENV", raising=False)
    monkeypatch.setattr(paths, "REPO_ROOT", tmp_path)
    with pytest.raises(tf2env.TF2EnvironmentMissing, match=r"\.venv-tf2 is missing: run `make setup`"):
        tf2env.python()


def test_an_environment_variable_pointing_at_no_venv_is_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IRISCOURSE_TF2_VENV", str(tmp_path))
    with pytest.raises(tf2env.TF2EnvironmentMissing, match="IRISCOURSE_TF2_VENV=.* has no bin/python: unset"):
        tf2env.run(tf2env.script("savedmodel_predict.py"))


def test_the_environment_variable_chooses_the_venv(monkeypatch):
    venv = paths.REPO_ROOT / ".venv-tf2"
    monkeypatch.setenv("IRISCOURSE_TF2_VENV", str(venv))
    assert tf2env.python() == venv / "bin" / "python"
    monkeypatch.setenv("IRISCOURSE_TF2_VENV", str(paths.REPO_ROOT / ".venv"))
    assert tf2env.python() == paths.REPO_ROOT / ".venv" / "bin" / "python"


def test_the_result_file_is_read_whatever_the_script_prints(tmp_path):
    script = tmp_path / "noisy.py"
    script.write_text(
        "import json, sys\n"
        "print('{not json', flush=True)\n"
        "sys.stderr.write('I0000 some TF log line\\n')\n"
        "json.dump({'args': sys.argv[2:], 'python': list(sys.version_info[:2])}, open(sys.argv[1], 'w'))\n")
    assert tf2env.run(script, "a", 2) == {"args": ["a", "2"], "python": [3, 11]}


def test_a_failing_script_raises_with_its_stderr(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("import tensorflow as tf\nraise ValueError('no model at ' + tf.__version__)\n")
    with pytest.raises(tf2env.TF2ScriptError, match=r"broken\.py failed .*exit status 1") as raised:
        tf2env.run(script)
    assert "ValueError: no model at 2.21.0" in str(raised.value)
    assert raised.value.stderr.rstrip().endswith("ValueError: no model at 2.21.0")


def test_a_script_that_writes_no_result_raises(tmp_path):
    script = tmp_path / "silent.py"
    script.write_text("import sys\nsys.stderr.write('forgot the result\\n')\n")
    with pytest.raises(tf2env.TF2ScriptError, match="without writing its result file(.|\n)*forgot the result"):
        tf2env.run(script)


def test_a_script_past_its_timeout_raises(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import sys, time\nsys.stderr.write('started\\n'); sys.stderr.flush()\ntime.sleep(30)\n")
    with pytest.raises(tf2env.TF2ScriptError, match="ran past its timeout of 2 s"):
        tf2env.run(script, timeout=2)


def test_a_model_that_does_not_load_raises_with_tensorflows_error(tmp_path):
    with pytest.raises(tf2env.TF2ScriptError, match="savedmodel_predict.py failed") as raised:
        tf2env.predict_savedmodel(tmp_path, {"features": np.zeros((1, 4), np.float32)})
    assert "SavedModel file does not exist" in raised.value.stderr


def test_an_unknown_api_is_refused_before_running():
    with pytest.raises(ValueError, match="api must be one of"):
        tf2env.predict_savedmodel("unused", {}, api="keras")


def test_byte_strings_ending_in_nul_are_refused(tmp_path):
    with pytest.raises(ValueError, match="ends in NUL"):
        tf2env.predict_savedmodel(tmp_path, {"inputs": [b"ok", b"bad\0"]})


def test_api_presence_reports_what_tf2_removed_and_what_it_kept():
    presence = tf2env.run(tf2env.script("api_presence.py"))
    assert presence["tensorflow"].startswith("2.")
    found = presence["present"]
    assert found["tf.estimator"] is False and found["tf.contrib"] is False
    assert found["tf.saved_model.load"] is True and found["tf.compat.v1.saved_model.loader.load"] is True


def test_a_savedmodel_with_a_second_metagraph_loads_by_its_serve_tag(module_build_dir):
    """Notebook 06 adds a MetaGraph tagged iris_lowlevel; tf.saved_model.load needs tags= to pick one."""
    sess, net = lowlevel.restore_inference(lowlevel.ensure_checkpoint())
    folder = module_build_dir / "two_metagraphs"
    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)}, {"probabilities": info(net.probabilities)},
        tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    with sess, sess.graph.as_default():
        builder = tf.saved_model.builder.SavedModelBuilder(str(folder))
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.add_meta_graph(["iris_lowlevel"], signature_def_map={"predict_iris": signature})
        builder.save()
    rows = lowlevel.test_set()[0]
    expected = _tf113_outputs(folder, {"features": rows})["probabilities"]
    for api in tf2env.APIS:
        got = tf2env.predict_savedmodel(folder, {"features": rows}, api=api)["outputs"]["probabilities"]
        assert np.max(np.abs(got - expected)) <= 1e-6, api
