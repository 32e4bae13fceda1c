import numpy as np
import pytest

from iriscourse import frozen, lowlevel


# The outputs the lessons fetch from a frozen graph, written out independently of frozen.OUTPUT_NODES
# (which is what the graph is frozen from, so a name missing there would be missing here too).
EXPECTED_OUTPUTS = {
    "output/predict_result/predicted_classes": (30,),
    "output/predict_result/class_ids": (30, 1),
    "output/logits": (30, 3),
    "output/probability/probabilities": (30, 3),
}


@pytest.fixture(scope="module")
def frozen_graph(module_build_dir):
    """The frozen low-level model, built once in a private build directory."""
    return frozen.read_graph_def(frozen.ensure_frozen())


def test_freezing_keeps_only_inference_nodes_without_variables(frozen_graph):
    ops = frozen.op_counts(frozen_graph)
    assert len(frozen_graph.node) < 40
    assert "VariableV2" not in ops and "ApplyAdagrad" not in ops
    assert ops["Placeholder"] == 1


def test_frozen_graph_predicts_like_the_checkpoint(frozen_graph):
    features, labels = lowlevel.test_set()
    predictions = frozen.run(frozen_graph, features)
    assert (predictions == labels).mean() >= 0.90
    assert frozen.run(frozen_graph, [[1.7, 0.5, 5.1, 3.3]]).tolist() == [0]


def test_every_output_node_survives_freezing(frozen_graph):
    names = {node.name for node in frozen_graph.node}
    assert sorted(set(EXPECTED_OUTPUTS) - names) == []
    features, _ = lowlevel.test_set()
    for name, shape in EXPECTED_OUTPUTS.items():
        assert frozen.run(frozen_graph, features, name + ":0").shape == shape, name
    probabilities = frozen.run(frozen_graph, features, "output/probability/probabilities:0")
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_optimised_graph_is_smaller_and_predicts_the_same(frozen_graph):
    optimized = frozen.read_graph_def(frozen.ensure_optimized())
    features, _ = lowlevel.test_set()
    assert len(optimized.node) < len(frozen_graph.node)
    assert optimized.ByteSize() < frozen_graph.ByteSize()
    np.testing.assert_allclose(frozen.run(optimized, features, lowlevel.LOGITS),
                               frozen.run(frozen_graph, features, lowlevel.LOGITS), rtol=1e-6)


def test_graph_defs_round_trip_through_files(frozen_graph, tmp_path):
    path = frozen.write_graph_def(frozen_graph, tmp_path / "copy.pb")
    assert frozen.read_graph_def(path) == frozen_graph
