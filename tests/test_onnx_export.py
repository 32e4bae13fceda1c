import os
import subprocess
import sys

import onnx
import pytest
from onnx import TensorProto, helper

from iriscourse import agreement, export, frozen, lowlevel, onnx_export, runtimes


def test_the_saved_model_command_is_tf2onnx_at_opset_13():
    assert onnx_export.saved_model_command("exports/raw/1", "raw.onnx") == [
        sys.executable, "-m", "tf2onnx.convert", "--saved-model", "exports/raw/1", "--opset", "13",
        "--output", "raw.onnx"]


def test_the_graph_def_command_names_its_inputs_and_outputs():
    command = onnx_export.graph_def_command("model.pb", ["a:0", "b:0"], ["y:0"], "model.onnx", opset=15)
    assert command[3:] == ["--graphdef", "model.pb", "--inputs", "a:0,b:0", "--outputs", "y:0",
                           "--opset", "15", "--output", "model.onnx"]


@pytest.fixture(scope="module")
def converted(module_build_dir):
    """The raw and clean exports and the frozen graph, converted once (at the same time)."""
    paths = onnx_export.convert_all([
        onnx_export.saved_model_command(export.ensure_export("raw"), onnx_export.path("raw")),
        onnx_export.saved_model_command(lowlevel.ensure_savedmodel(), onnx_export.path("clean")),
        onnx_export.graph_def_command(
            frozen.ensure_frozen(), [lowlevel.INPUT], [lowlevel.PROBABILITIES], onnx_export.path("frozen"))])
    return dict(zip(["raw", "clean", "frozen"], paths))


def test_conversions_land_under_build_with_no_temporary_file_left(converted, module_build_dir):
    names = sorted(os.listdir(str(module_build_dir / "onnx")))
    assert names == ["clean.onnx", "frozen.onnx", "raw.onnx"]
    assert converted["raw"] == onnx_export.path("raw")
    assert all(onnx_export.unsupported_ops(path) == [] for path in converted.values())


def test_onnx_of_the_raw_export_takes_named_inputs_and_agrees_with_tensorflow(converted):
    rows, _ = lowlevel.test_set()
    assert sorted(onnx_export.input_names(converted["raw"])) == sorted(lowlevel.INPUT_ORDER)
    predict = agreement.by_name(onnx_export.predictor(converted["raw"]), lowlevel.INPUT_ORDER)
    reference = runtimes.savedmodel_predictor(export.ensure_export("raw"))
    for batch in (rows, rows[:1]):
        agreement.assert_agree(reference, predict, batch)


def test_onnx_of_the_clean_export_agrees_with_tensorflow(converted):
    rows, _ = lowlevel.test_set()
    reference = runtimes.savedmodel_predictor(lowlevel.ensure_savedmodel())
    agreement.assert_agree(reference, onnx_export.predictor(converted["clean"]), rows)


def test_onnx_of_the_frozen_graph_agrees_with_tensorflow_with_a_dynamic_batch(converted):
    rows, _ = lowlevel.test_set()
    reference = runtimes.graph_def_predictor(frozen.ensure_frozen())
    predict = onnx_export.predictor(converted["frozen"])
    for batch in (rows, rows[:1], rows[:7]):
        agreement.assert_agree(reference, predict, batch)


def test_the_predictor_asks_for_an_output_that_exists(converted):
    with pytest.raises(ValueError, match="outputs are"):
        onnx_export.predictor(converted["frozen"], output="logits")


def test_parse_example_is_reported_unsupported_and_no_model_is_kept(module_build_dir):
    target = onnx_export.path("parsing")
    with pytest.raises(onnx_export.UnsupportedOpsError, match="ParseExample"):
        onnx_export.convert(onnx_export.saved_model_command(export.ensure_export("parsing"), target))
    assert not target.exists() and not os.path.exists(str(target) + ".tmp")


def test_a_model_holding_an_op_onnx_does_not_define_is_found_by_loading_it(tmp_path):
    node = helper.make_node("ParseExample", ["examples"], ["parsed"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("examples", TensorProto.STRING, [None])],
                              [helper.make_tensor_value_info("parsed", TensorProto.FLOAT, [None, 4])])
    path = str(tmp_path / "bad.onnx")
    onnx.save(helper.make_model(graph), path)
    assert onnx_export.unsupported_ops(path) == ["ParseExample"]


def test_a_failing_conversion_raises_with_tf2onnx_log(module_build_dir, tmp_path):
    target = onnx_export.path("missing")
    with pytest.raises(subprocess.CalledProcessError) as raised:
        onnx_export.convert(onnx_export.saved_model_command(tmp_path / "no_such_export", target))
    assert "no_such_export" in raised.value.output
    assert not target.exists()
