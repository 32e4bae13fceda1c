import numpy as np
import pytest
import tensorflow as tf

from iriscourse import data, export, lowlevel


@pytest.fixture(scope="module")
def trained():
    sess, net = lowlevel.trained_session()
    yield sess, net
    sess.close()


def test_trained_network_meets_the_course_accuracy(trained):
    sess, net = trained
    features, labels = lowlevel.test_set()
    assert (sess.run(net.predicted_classes, {net.input_features: features}) == labels).mean() >= 0.90


def test_csv_column_order_ruins_the_predictions(trained):
    sess, net = trained
    features, labels = lowlevel.test_set(order=data.FEATURE_NAMES)
    assert (sess.run(net.predicted_classes, {net.input_features: features}) == labels).mean() < 0.5


def test_input_order_is_what_input_layer_produces():
    assert lowlevel.INPUT_ORDER == ["PetalLength", "PetalWidth", "SepalLength", "SepalWidth"]
    with tf.Graph().as_default():
        batch, _ = lowlevel.training_batches(batch_size=1)
        (train_x, _), _ = data.load_data()
        with tf.Session() as sess:
            first = sess.run(batch)[0]
    assert any(np.allclose(first, row) for row in train_x[lowlevel.INPUT_ORDER].values)


def test_every_looked_up_tensor_has_its_explicit_name(trained):
    sess, net = trained
    for name in (lowlevel.INPUT, lowlevel.LABELS, lowlevel.LOGITS, lowlevel.PROBABILITIES,
                 lowlevel.PREDICTED_CLASSES, lowlevel.CLASS_IDS):
        sess.graph.get_tensor_by_name(name)
    assert net.predicted_classes.name == lowlevel.PREDICTED_CLASSES


def test_variables_keep_the_seed_names(trained):
    sess, _ = trained
    names = [v.op.name for v in sess.graph.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES)]
    assert names == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]


def test_inference_called_again_shares_the_trained_weights(trained):
    sess, net = trained
    features, _ = lowlevel.test_set()
    with sess.graph.as_default():
        second_input = tf.placeholder(tf.float32, [None, 4])
        second_logits = lowlevel.inference(second_input)[0]
    np.testing.assert_array_equal(sess.run(second_logits, {second_input: features}),
                                  sess.run(net.logits, {net.input_features: features}))


def test_training_is_reproducible():
    first, _ = lowlevel.trained_session(steps=20)
    second, _ = lowlevel.trained_session(steps=20)
    np.testing.assert_array_equal(first.run("dense_2/kernel:0"), second.run("dense_2/kernel:0"))


def test_ensure_checkpoint_keeps_three_and_reuses_them(build_dir):
    latest = lowlevel.ensure_checkpoint()
    assert latest.endswith("model.ckpt-1000")
    assert sorted(p.name for p in lowlevel.checkpoint_prefix().parent.glob("*.index")) == [
        "model.ckpt-1000.index", "model.ckpt-500.index", "model.ckpt-750.index"]
    assert lowlevel.ensure_checkpoint() == latest


def test_ensure_savedmodel_saves_a_serving_signature(build_dir):
    export_dir = lowlevel.ensure_savedmodel()
    with tf.Session(graph=tf.Graph()) as sess:
        signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def["serving_default"]
    assert list(signature.inputs) == ["features"]
    assert sorted(signature.outputs) == ["class_ids", "logits", "probabilities"]
    assert lowlevel.ensure_savedmodel() == export_dir


def test_ensure_savedmodel_picks_the_newest_version(build_dir):
    base = lowlevel.savedmodel_base()
    for version in ("9", "10", "2"):
        (base / version).mkdir(parents=True)
    assert lowlevel.ensure_savedmodel().name == "10"


def test_the_inference_graph_has_no_training_part():
    graph, net = lowlevel.inference_graph()
    ops = {op.type for op in graph.get_operations()}
    assert "Placeholder" in ops and "Softmax" in ops
    assert not ops & {"ApplyAdagrad", "OneShotIterator", "SparseSoftmaxCrossEntropyWithLogits"}
    assert [v.op.name for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)] == [
        "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    assert net.input_features.name == lowlevel.INPUT and net.logits.name == lowlevel.LOGITS


def test_save_clean_never_shows_a_numbered_folder_before_the_save_completes(build_dir, monkeypatch):
    sess, net = lowlevel.trained_session(steps=5)
    base = lowlevel.savedmodel_base()
    seen = {}
    real_save = tf.saved_model.builder.SavedModelBuilder.save

    def watching_save(builder, *args, **kwargs):
        seen["versions before save"] = export.versions(base)
        seen["written before save"] = sorted(p.name for p in base.glob("temp-*/*"))
        return real_save(builder, *args, **kwargs)

    monkeypatch.setattr(tf.saved_model.builder.SavedModelBuilder, "save", watching_save)
    graph, clean = lowlevel.inference_graph()
    with tf.Session(graph=graph) as clean_sess:
        with graph.as_default():
            for variable in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES):
                variable.load(sess.run(variable.name), clean_sess)
        export_dir = lowlevel.save_clean(clean_sess, clean, base)
    sess.close()
    assert seen == {"versions before save": [], "written before save": ["variables"]}
    assert export.versions(base) == [export_dir]
    assert sorted(p.name for p in export_dir.iterdir()) == ["saved_model.pb", "variables"]
    assert not list(base.glob("temp-*"))
