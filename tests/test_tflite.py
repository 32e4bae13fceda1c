import os
import shutil
import sys

import numpy as np
import pytest
import tensorflow as tf

from iriscourse import agreement, frozen, lowlevel, runtimes, tflite

BIN_DIR = os.path.dirname(sys.executable)


@pytest.fixture
def path_without_venv(monkeypatch):
    """PATH as a Jupyter kernel started by path sees it: without this Python's bin folder."""
    monkeypatch.setenv("PATH", os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p and os.path.abspath(p) != os.path.abspath(BIN_DIR)))


def test_without_the_venv_on_path_the_converter_cannot_find_toco(path_without_venv, module_build_dir):
    assert shutil.which("toco_from_protos") is None
    converter = tf.lite.TFLiteConverter.from_frozen_graph(
        str(frozen.ensure_frozen()), ["input_features"], ["output/probability/probabilities"])
    with pytest.raises(Exception, match="toco_from_protos"):
        converter.convert()


def test_ensure_converter_on_path_finds_toco_and_changes_path_only_once(path_without_venv):
    found = tflite.ensure_converter_on_path()
    assert found == os.path.join(BIN_DIR, "toco_from_protos")
    path_once = os.environ["PATH"]
    assert path_once.split(os.pathsep)[0] == BIN_DIR
    assert tflite.ensure_converter_on_path() == found
    assert os.environ["PATH"] == path_once


@pytest.fixture(scope="module")
def converted(module_build_dir):
    """The clean SavedModel (probabilities and logits) and the frozen graph (probabilities), converted once."""
    tflite.ensure_converter_on_path()
    from_saved_model = tf.lite.TFLiteConverter.from_saved_model(
        str(lowlevel.ensure_savedmodel()), output_arrays=["output/logits", "output/probability/probabilities"])
    from_frozen = tf.lite.TFLiteConverter.from_frozen_graph(
        str(frozen.ensure_frozen()), ["input_features"], ["output/probability/probabilities"])
    return {"saved_model": tflite.write(from_saved_model.convert(), "clean"),
            "frozen": tflite.write(from_frozen.convert(), "frozen")}


def test_the_converted_model_is_written_atomically_under_build(converted, module_build_dir):
    path = converted["frozen"]
    assert os.path.realpath(str(path)) == os.path.realpath(str(module_build_dir / "tflite" / "frozen.tflite"))
    names = {p.name for p in (module_build_dir / "tflite").iterdir()}
    assert {"clean.tflite", "frozen.tflite"} <= names and not [n for n in names if n.endswith(".tmp")]
    tflite.write(b"first", "scratch")
    assert tflite.write(b"second", "scratch").read_bytes() == b"second"


def test_tflite_from_the_clean_savedmodel_agrees_with_tensorflow(converted):
    rows, _ = lowlevel.test_set()
    reference = runtimes.savedmodel_predictor(lowlevel.ensure_savedmodel())
    agreement.assert_agree(reference, tflite.predictor(converted["saved_model"]), rows)


def test_tflite_from_the_frozen_graph_agrees_with_tensorflow_at_every_batch_size(converted):
    rows, _ = lowlevel.test_set()
    reference = runtimes.graph_def_predictor(frozen.ensure_frozen())
    predict = tflite.predictor(converted["frozen"])
    for batch in (rows, rows[:1], rows[:7], rows):
        agreement.assert_agree(reference, predict, batch)


def test_the_predictor_returns_the_output_asked_for(converted):
    rows, _ = lowlevel.test_set()
    logits = tflite.predictor(converted["saved_model"], output="logits")(rows)
    np.testing.assert_allclose(logits, runtimes.savedmodel_predictor(
        lowlevel.ensure_savedmodel(), output="logits")(rows), atol=1e-5)
    with pytest.raises(ValueError, match="class_ids"):
        tflite.predictor(converted["saved_model"], output="class_ids")


def _quantized(graph_def, inputs, outputs, name):
    converter = tf.lite.TFLiteConverter.from_frozen_graph(graph_def, inputs, outputs)
    converter.post_training_quantize = True
    return tflite.write(converter.convert(), name + "_quantized")


def test_weight_quantization_leaves_iris_weights_as_float32(converted):
    quantized = _quantized(str(frozen.ensure_frozen()), ["input_features"], ["output/probability/probabilities"], "iris")
    assert "uint8" not in tflite.dtype_counts(quantized)
    assert tflite.dtype_counts(quantized) == tflite.dtype_counts(converted["frozen"])


def test_weight_quantization_shrinks_a_weight_of_1024_elements_or_more(module_build_dir, tmp_path):
    tflite.ensure_converter_on_path()
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [1, 32], name="x")
        weights = np.random.RandomState(0).rand(32, tflite.QUANTIZE_MIN_ELEMENTS // 32).astype(np.float32)
        tf.matmul(x, tf.constant(weights), name="y")
    graph_path = str(tmp_path / "big.pb")
    frozen.write_graph_def(graph.as_graph_def(), graph_path)
    plain = tflite.write(tf.lite.TFLiteConverter.from_frozen_graph(graph_path, ["x"], ["y"]).convert(), "big")
    quantized = _quantized(graph_path, ["x"], ["y"], "big")
    assert tflite.dtype_counts(quantized)["uint8"] == 1
    assert os.path.getsize(str(quantized)) < os.path.getsize(str(plain)) - 2000
