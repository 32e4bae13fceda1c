"""Exercises of notebook 07: reading the checkpoint state, and resuming training bit-exactly."""
from pathlib import Path

import numpy as np
import tensorflow as tf

from .. import lowlevel, paths
from . import Wrong, call, exercise


@exercise("07.1", "Which steps were kept?", "easy", 5,
          "tf.train.get_checkpoint_state(checkpoint_dir).all_model_checkpoint_paths lists the kept prefixes; "
          "the step is the number after the last '-'.")
def check_kept_steps(kept_steps):
    """``kept_steps(checkpoint_dir)`` lists the global steps of the checkpoints a folder keeps, oldest first."""
    folder = paths.fresh_dir(paths.artifact("exercises", "07.1"))
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        advance = tf.assign_add(step, 7)
        saver = tf.train.Saver(max_to_keep=2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for _ in range(4):
                sess.run(advance)
                saver.save(sess, str(folder / "model.ckpt"), global_step=step)
    got = call(kept_steps, str(folder))
    if list(got or []) != [21, 28]:
        raise Wrong("for a folder that kept steps 21 and 28 (max_to_keep=2, saved at 7, 14, 21, 28) it returned {}: "
                    "read the checkpoint state, not a list you know".format(got))
    expected = [int(p.rsplit("-", 1)[1]) for p in
                tf.train.get_checkpoint_state(str(lowlevel.checkpoint_prefix().parent)).all_model_checkpoint_paths]
    return "Read from the 'checkpoint' file: [21, 28] here, {} in notebook 07's folder.".format(expected)


@exercise("07.2", "Resume training bit-exactly", "hard", 15,
          "Rebuild the graph as ensure_checkpoint does (tf.set_random_seed(lowlevel.SEED), build_network, "
          "training_batches), restore the step-500 checkpoint, then pull the 500 batches that were already "
          "used (the restored iterator starts over) before training steps 501 to 1000.")
def check_resume(resume):
    """``resume(checkpoint_500)`` continues training from step 500 to 1000; returns {variable name: value}."""
    final = lowlevel.ensure_checkpoint()
    halfway = str(Path(final).with_name("model.ckpt-500"))
    if not tf.train.checkpoint_exists(halfway):
        raise Wrong("notebook 07's step-500 checkpoint is missing: re-run notebook 07")
    with tf.Graph().as_default():
        got = call(resume, halfway)
    reader = tf.train.load_checkpoint(final)
    names = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "dense_2/kernel", "dense_2/bias"]
    missing = [name for name in names if name not in (got or {})]
    if missing:
        raise Wrong("the result lacks {}: return a dict of variable name to value".format(missing))
    if int(np.asarray(got.get("global_step", -1))) not in (-1, 1000):
        raise Wrong("it stopped at global step {}, not 1000".format(got["global_step"]))
    differ = [name for name in names if not np.array_equal(got[name], reader.get_tensor(name))]
    if differ:
        close = all(np.allclose(got[name], reader.get_tensor(name), atol=1e-3) for name in differ)
        raise Wrong("{} differ from the step-1000 checkpoint{}: resume the input pipeline where it was (skip the "
                    "500 batches already used) and keep one thread per session".format(
                        differ, " (only slightly)" if close else ""))
    return "Steps 501 to 1000 after the restore give the step-1000 checkpoint's weights, bit for bit."
