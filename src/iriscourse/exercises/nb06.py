"""Exercises of notebook 06: an atomic SavedModel export, and a MetaGraph under your own tag and key."""
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from .. import export, lowlevel, paths
from . import Wrong, call, exercise


def _tag_sets(export_dir):
    path = Path(export_dir) / "saved_model.pb"
    if not path.is_file():
        return []
    saved_model = saved_model_pb2.SavedModel.FromString(path.read_bytes())
    return [list(meta_graph.meta_info_def.tags) for meta_graph in saved_model.meta_graphs]


def _clean_session():
    return lowlevel.restore_inference(lowlevel.ensure_checkpoint())


@exercise("06.1", "An atomic export", "medium", 10,
          "Pick the version (int(time.time())), let SavedModelBuilder write into base / ('temp-%d' % version), "
          "call save(), then os.rename the temporary folder to base / str(version) and return that path. "
          "atomic.version_dir does exactly this, if you want to use it.")
def check_save_atomically(save_atomically):
    """``save_atomically(sess, net, base)`` saves a SavedModel version that appears only when complete."""
    sess, net = _clean_session()
    base = paths.fresh_dir(paths.artifact("exercises", "06.1"))
    seen = []
    real_save = tf.saved_model.builder.SavedModelBuilder.save

    def watched_save(builder, *args, **kwargs):
        seen.append([p.name for p in export.versions(base)])
        return real_save(builder, *args, **kwargs)

    tf.saved_model.builder.SavedModelBuilder.save = watched_save
    try:
        with sess.graph.as_default():
            result = call(save_atomically, sess, net, base)
    finally:
        tf.saved_model.builder.SavedModelBuilder.save = real_save
    if not seen:
        raise Wrong("SavedModelBuilder.save() was never called: save with a SavedModelBuilder")
    if any(seen):
        raise Wrong("version folder(s) {} already existed while save() was still writing: a watching server "
                    "would load them half-written".format(sorted(set(sum(seen, [])))))
    versions = export.versions(base)
    if len(versions) != 1 or sorted(p.name for p in base.iterdir()) != [versions[0].name]:
        raise Wrong("afterwards {} holds {}: exactly one numbered version and no temporary folder".format(
            base, sorted(p.name for p in base.iterdir())))
    if result is None or str(result) != str(versions[0]):
        raise Wrong("return the version folder ({}), not {!r}".format(versions[0], result))
    features, _ = lowlevel.test_set()
    expected = sess.run(net.logits, {net.input_features: features})
    sess.close()
    with tf.Session(graph=tf.Graph()) as loaded:
        signature = tf.saved_model.loader.load(loaded, ["serve"], str(result)).signature_def["serving_default"]
        got = loaded.run(signature.outputs["logits"].name, {signature.inputs["features"].name: features})
    if not np.array_equal(got, expected):
        raise Wrong("the saved version predicts other logits than the session it was saved from")
    return "No numbered folder existed until save() had finished; version {} loads and predicts.".format(
        versions[0].name)


@exercise("06.2", "A MetaGraph of your own: tag and key", "easy", 5,
          "builder.add_meta_graph_and_variables(sess, ['iris_mobile'], signature_def_map={'predict': signature}) "
          "with a signature built by build_signature_def from build_tensor_info(net.input_features) "
          "(alias 'features') and the outputs; then builder.save().")
def check_save_for_mobile(save_for_mobile):
    """``save_for_mobile(sess, net, export_dir)``: one MetaGraph tagged ``iris_mobile``, signature key ``predict``."""
    sess, net = _clean_session()
    export_dir = paths.fresh_dir(paths.artifact("exercises", "06.2")) / "1"
    with sess.graph.as_default():
        call(save_for_mobile, sess, net, str(export_dir))
    features, _ = lowlevel.test_set()
    expected = sess.run(net.class_ids, {net.input_features: features})
    sess.close()
    with tf.Session(graph=tf.Graph()) as loaded:
        try:
            meta_graph = tf.saved_model.loader.load(loaded, ["iris_mobile"], str(export_dir))
        except (RuntimeError, IOError):
            raise Wrong("it cannot be loaded with tags ['iris_mobile']; its MetaGraphs are tagged {}: save one "
                        "MetaGraph tagged iris_mobile only".format(_tag_sets(export_dir))) from None
        if sorted(meta_graph.signature_def) != ["predict"]:
            raise Wrong("its signature keys are {}, not ['predict']".format(sorted(meta_graph.signature_def)))
        signature = meta_graph.signature_def["predict"]
        if list(signature.inputs) != ["features"] or "class_ids" not in signature.outputs:
            raise Wrong("the signature should take 'features' and give 'class_ids' (it takes {} and gives {})".format(
                sorted(signature.inputs), sorted(signature.outputs)))
        got = loaded.run(signature.outputs["class_ids"].name, {signature.inputs["features"].name: features})
    if not np.array_equal(got, expected):
        raise Wrong("through the signature it predicts other classes than the session it was saved from")
    with tf.Session(graph=tf.Graph()) as loaded:
        try:
            tf.saved_model.loader.load(loaded, ["serve"], str(export_dir))
        except RuntimeError:
            pass
        else:
            raise Wrong("it also loads with the tag 'serve' (tag sets {}): save one MetaGraph, tagged iris_mobile "
                        "only".format(_tag_sets(export_dir)))
    return "Loaded with tags ['iris_mobile'] and key 'predict', and not with 'serve'."
