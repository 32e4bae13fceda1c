import pytest
import tensorflow as tf

from iriscourse import agreement, export, frozen, onnx_export, parsing_bypass, runtimes, tflite, lowlevel


@pytest.fixture(scope="module")
def bypass(module_build_dir):
    """The parsing export's inference graph and the parsing SavedModel fed tf.Examples."""
    return parsing_bypass.ensure_graph(), runtimes.savedmodel_predictor(export.ensure_export("parsing"))


def test_the_inference_graph_has_no_parse_example_and_a_float_matrix_input(bypass):
    graph_def = frozen.read_graph_def(bypass[0])
    ops = frozen.op_counts(graph_def)
    assert "ParseExample" not in ops and "VariableV2" not in ops and ops["Placeholder"] == 1
    (placeholder,) = [n for n in graph_def.node if n.op == "Placeholder"]
    assert placeholder.name + ":0" == parsing_bypass.INPUT
    assert [d.size for d in placeholder.attr["shape"].shape.dim] == [-1, 4]


def test_the_inference_graph_agrees_with_the_parsing_export_fed_examples(bypass):
    graph, parsing = bypass
    rows, _ = lowlevel.test_set()
    agreement.assert_agree(parsing, runtimes.graph_def_predictor(graph, parsing_bypass.INPUT, parsing_bypass.OUTPUT),
                           rows, tolerance=0.0)


def test_the_inference_graph_converts_to_tflite_and_agrees(bypass):
    graph, parsing = bypass
    tflite.ensure_converter_on_path()
    converter = tf.lite.TFLiteConverter.from_frozen_graph(str(graph), ["features"], ["probabilities"])
    rows, _ = lowlevel.test_set()
    agreement.assert_agree(parsing, tflite.predictor(tflite.write(converter.convert(), "parsing_bypass")), rows)


def test_the_inference_graph_converts_to_onnx_and_agrees(bypass):
    graph, parsing = bypass
    path = onnx_export.convert(onnx_export.graph_def_command(
        graph, [parsing_bypass.INPUT], [parsing_bypass.OUTPUT], onnx_export.path("parsing_bypass")))
    rows, _ = lowlevel.test_set()
    agreement.assert_agree(parsing, onnx_export.predictor(path), rows)
