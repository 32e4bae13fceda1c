"""The seed's low-level Iris network as a plain graph, with every looked-up tensor named."""
import collections
import time

import numpy as np
import tensorflow as tf

from . import atomic, data, paths

SEED = 42
STEPS = 1000
BATCH_SIZE = 100
LEARNING_RATE = 0.1
SAVE_EVERY = 250
# tf.feature_column.input_layer sorts the columns by name: the network learns on this order.
INPUT_ORDER = sorted(data.FEATURE_NAMES)

# Names of the tensors the lessons look up (restore, freeze, serve).
INPUT = "input_features:0"
LABELS = "input_labels:0"
LOGITS = "output/logits:0"
PROBABILITIES = "output/probability/probabilities:0"
PREDICTED_CLASSES = "output/predict_result/predicted_classes:0"
CLASS_IDS = "output/predict_result/class_ids:0"

Inference = collections.namedtuple("Inference", [
    "input_features", "logits", "probabilities", "predicted_classes", "class_ids", "saver"])
Network = collections.namedtuple("Network", [
    "input_features", "input_labels", "logits", "probabilities", "predicted_classes", "class_ids",
    "global_step", "loss", "train_op", "accuracy", "accuracy_update"])


def inference(features, hidden_units=(10, 10), n_classes=3):
    """Logits, probabilities and classes for a ``[batch, 4]`` float tensor in ``INPUT_ORDER``.

    Layers are named ``dense``, ``dense_1``, ``dense_2`` and reused when called again in the
    same graph, so a second input (for example named per-feature placeholders) shares weights.
    """
    net = features
    with tf.name_scope("hidden"):
        for i, units in enumerate(hidden_units):
            net = tf.layers.dense(net, units, activation=tf.nn.relu, name="dense" + ("_%d" % i if i else ""),
                                  reuse=tf.AUTO_REUSE)
    with tf.name_scope("output"):
        logits = tf.identity(
            tf.layers.dense(net, n_classes, name="dense_%d" % len(hidden_units), reuse=tf.AUTO_REUSE),
            name="logits")
        with tf.name_scope("probability"):
            probabilities = tf.nn.softmax(logits, name="probabilities")
        with tf.name_scope("predict_result"):
            predicted_classes = tf.argmax(logits, 1, name="predicted_classes")
            class_ids = tf.expand_dims(predicted_classes, -1, name="class_ids")
    return logits, probabilities, predicted_classes, class_ids


def build_network(learning_rate=LEARNING_RATE):
    """Placeholders, inference, Adagrad training op and streaming accuracy in the default graph."""
    input_features = tf.placeholder(tf.float32, [None, len(INPUT_ORDER)], name="input_features")
    input_labels = tf.placeholder(tf.int64, [None], name="input_labels")
    logits, probabilities, predicted_classes, class_ids = inference(input_features)
    with tf.name_scope("optimize"):
        global_step = tf.train.get_or_create_global_step()
        loss = tf.losses.sparse_softmax_cross_entropy(labels=input_labels, logits=logits)
        train_op = tf.train.AdagradOptimizer(learning_rate).minimize(loss, global_step, name="train_op")
    with tf.name_scope("accuracy"):
        accuracy, accuracy_update = tf.metrics.accuracy(input_labels, predicted_classes, name="acc_op")
    return Network(input_features, input_labels, logits, probabilities, predicted_classes, class_ids,
                   global_step, loss, train_op, accuracy, accuracy_update)


def training_batches(batch_size=BATCH_SIZE, seed=SEED):
    """Tensors of one shuffled training batch: ``input_layer`` features (``INPUT_ORDER``) and labels."""
    (train_x, train_y), _ = data.load_data()
    features, labels = data.train_input_fn(train_x, train_y, batch_size, seed).make_one_shot_iterator().get_next()
    return tf.feature_column.input_layer(features, data.feature_columns()), labels


def session_config():
    """One intra-op and one inter-op thread, so runs repeat to the last digit."""
    return tf.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)


def train(sess, net, steps=STEPS, batch_size=BATCH_SIZE, seed=SEED):
    """Run ``steps`` Adagrad steps, feeding batches through the placeholders as the seed does."""
    batch = training_batches(batch_size, seed)
    for _ in range(steps):
        features, labels = sess.run(batch)
        sess.run([net.train_op, net.accuracy_update],
                 {net.input_features: features, net.input_labels: labels})


def trained_session(steps=STEPS, seed=SEED):
    """A new graph and session holding the trained network: ``(sess, net)``."""
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(seed)
        net = build_network()
        sess = tf.Session(graph=graph, config=session_config())
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        train(sess, net, steps, seed=seed)
    return sess, net


def test_set(order=INPUT_ORDER):
    """The 30 test rows as a ``[30, 4]`` float32 matrix (columns in ``order``) and their labels."""
    _, (test_x, test_y) = data.load_data()
    return test_x[list(order)].values.astype(np.float32), test_y.values


def checkpoint_prefix():
    """Prefix of the low-level model's ``tf.train.Saver`` checkpoints (notebook 07)."""
    return paths.artifact("lowlevel", "checkpoints", "model.ckpt")


def ensure_checkpoint():
    """Path of the latest low-level checkpoint, training and saving first if missing.

    It takes the same steps as notebook 07 (saving every 250 steps, keeping three), so the
    files are the same whichever of the two wrote them.
    """
    prefix = checkpoint_prefix()
    latest = tf.train.latest_checkpoint(str(prefix.parent))
    if latest is not None:
        return latest
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(SEED)
        net = build_network()
        batch = training_batches()
        saver = tf.train.Saver(max_to_keep=3, save_relative_paths=True)
    with tf.Session(graph=graph, config=session_config()) as sess:
        sess.run([v.initializer for v in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)])
        for step in range(1, STEPS + 1):
            features, labels = sess.run(batch)
            sess.run(net.train_op, {net.input_features: features, net.input_labels: labels})
            if step % SAVE_EVERY == 0:
                latest = saver.save(sess, str(prefix), global_step=net.global_step)
    return latest


def inference_graph():
    """A new graph holding only the inference network and a Saver for its six weights: ``(graph, Inference)``.

    No labels, loss, optimizer, metrics or input pipeline: this is what a server or converter gets.
    """
    graph = tf.Graph()
    with graph.as_default():
        input_features = tf.placeholder(tf.float32, [None, len(INPUT_ORDER)], name="input_features")
        outputs = inference(input_features)
        saver = tf.train.Saver()
    return graph, Inference(input_features, *outputs, saver)


def restore_inference(checkpoint):
    """A session over a fresh ``inference_graph()`` with the checkpoint's trained weights: ``(sess, net)``."""
    graph, net = inference_graph()
    sess = tf.Session(graph=graph, config=session_config())
    net.saver.restore(sess, checkpoint)
    return sess, net


def save_clean(sess, net, base):
    """Save the inference graph as a SavedModel version under ``base``, atomically; return its folder.

    One ``serve`` MetaGraph with ``serving_default``: input ``features`` (``[None, 4]`` in
    ``INPUT_ORDER``), outputs ``class_ids``, ``logits`` and ``probabilities``.
    """
    info = tf.saved_model.utils.build_tensor_info
    signature = tf.saved_model.signature_def_utils.build_signature_def(
        {"features": info(net.input_features)},
        {"class_ids": info(net.class_ids), "logits": info(net.logits), "probabilities": info(net.probabilities)},
        tf.saved_model.signature_constants.PREDICT_METHOD_NAME)
    version = int(time.time())
    with atomic.version_dir(base, version) as temp_dir, sess.graph.as_default():
        builder = tf.saved_model.builder.SavedModelBuilder(str(temp_dir))
        builder.add_meta_graph_and_variables(
            sess, [tf.saved_model.tag_constants.SERVING], signature_def_map={"serving_default": signature},
            saver=net.saver)
        builder.save()
    return base / str(version)


def savedmodel_base():
    """Base folder of the clean low-level SavedModel (notebook 06; compared in notebook 10)."""
    return paths.artifact("lowlevel", "savedmodel")


def ensure_savedmodel():
    """The latest clean low-level SavedModel version folder, saved from the checkpoint first if missing."""
    base = savedmodel_base()
    versions = sorted((p for p in base.glob("*") if p.name.isdigit()), key=lambda p: int(p.name))
    if versions:
        return versions[-1]
    sess, net = restore_inference(ensure_checkpoint())
    try:
        return save_clean(sess, net, base)
    finally:
        sess.close()
