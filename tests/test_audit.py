"""audit.inspect finds training leftovers in a naive save, and the course's shipped files have none."""
import numpy as np
import pytest
import tensorflow as tf

from iriscourse import audit, export, frozen, lowlevel

ALL_COLUMNS = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]


@pytest.fixture(scope="module")
def naive_savedmodel(module_build_dir, tmp_path_factory):
    """A SavedModel saved straight from the training session, as the seed did."""
    sess, net = lowlevel.trained_session(steps=5)
    path = tmp_path_factory.mktemp("naive") / "1"
    with sess.graph.as_default():
        tf.saved_model.simple_save(sess, str(path), {"features": net.input_features}, {"logits": net.logits})
    sess.close()
    return path


def test_a_save_from_the_training_session_carries_optimizer_pipeline_and_training_rows(naive_savedmodel):
    report = audit.inspect(naive_savedmodel)
    assert report.optimizer_ops > 0 and report.input_pipeline_ops > 0
    assert len(report.library_functions) == 1 and report.library_functions[0].startswith("_make_dataset_")
    assert report.training_columns_found == ALL_COLUMNS
    assert not audit.is_clean(report)


def test_the_checkpoint_meta_graph_carries_the_training_rows(module_build_dir):
    report = audit.inspect(lowlevel.ensure_checkpoint() + ".meta")
    assert report.training_columns_found == ALL_COLUMNS and report.optimizer_ops > 0


@pytest.mark.parametrize("shipped", [
    lambda: lowlevel.ensure_savedmodel(),
    lambda: frozen.ensure_frozen(),
    lambda: frozen.ensure_optimized(),
    lambda: export.ensure_export("raw"),
    lambda: export.ensure_export("parsing"),
], ids=["low-level SavedModel", "frozen graph", "optimised graph", "raw export", "parsing export"])
def test_what_the_course_ships_holds_no_training_op_pipeline_function_or_row(module_build_dir, shipped):
    report = audit.inspect(shipped())
    assert report == report._replace(optimizer_ops=0, input_pipeline_ops=0, library_functions=[],
                                     training_columns_found=[])
    assert audit.is_clean(report)


def test_the_clean_files_predict_what_the_trained_checkpoint_predicts(module_build_dir):
    features, _ = lowlevel.test_set()
    with tf.Graph().as_default() as graph:
        saver = tf.train.import_meta_graph(lowlevel.ensure_checkpoint() + ".meta")
        with tf.Session(graph=graph, config=lowlevel.session_config()) as sess:
            saver.restore(sess, lowlevel.ensure_checkpoint())
            expected = sess.run(lowlevel.LOGITS, {lowlevel.INPUT: features})
    frozen_logits = frozen.run(frozen.read_graph_def(frozen.ensure_frozen()), features, lowlevel.LOGITS)
    np.testing.assert_array_equal(frozen_logits, expected)
    with tf.Session(graph=tf.Graph(), config=lowlevel.session_config()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(lowlevel.ensure_savedmodel())).signature_def[
            "serving_default"]
        served = sess.run(signature.outputs["logits"].name, {signature.inputs["features"].name: features})
    np.testing.assert_array_equal(served, expected)


def test_training_columns_are_found_in_either_precision():
    from iriscourse import data
    (train_x, train_y), _ = data.load_data()
    blob = b"head" + np.asarray(train_x["PetalWidth"], np.float32).tobytes() + np.asarray(train_y).tobytes()
    assert audit.training_columns_in(blob) == ["PetalWidth", "Species"]
    assert audit.training_columns_in(b"nothing here") == []


def test_a_text_savedmodel_is_read_like_a_binary_one(module_build_dir, tmp_path):
    from google.protobuf import text_format
    from tensorflow.core.protobuf import saved_model_pb2

    binary = lowlevel.ensure_savedmodel()
    text_dir = tmp_path / "1"
    text_dir.mkdir()
    saved_model = saved_model_pb2.SavedModel.FromString((binary / "saved_model.pb").read_bytes())
    (text_dir / "saved_model.pbtxt").write_text(text_format.MessageToString(saved_model))
    assert audit.graph_defs(text_dir) == audit.graph_defs(binary)
    assert audit.inspect(text_dir).nodes == audit.inspect(binary).nodes
