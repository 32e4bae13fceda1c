"""Serving input receivers and SavedModel exports of the course Estimator."""
from pathlib import Path

import tensorflow as tf

from . import data, estimator, paths

def raw_serving_input_receiver_fn():
    """The seed's raw receiver: one float32 ``[None]`` placeholder per feature."""
    placeholders = {name: tf.placeholder(tf.float32, [None], name=name) for name in data.FEATURE_NAMES}
    return tf.estimator.export.build_raw_serving_input_receiver_fn(placeholders)()


def parsing_serving_input_receiver_fn():
    """A receiver that parses serialized ``tf.Example``s with the feature columns' spec."""
    feature_spec = tf.feature_column.make_parse_example_spec(data.feature_columns())
    return tf.estimator.export.build_parsing_serving_input_receiver_fn(feature_spec)()


def classification_outputs(predictions):
    """``export_outputs`` with a second, ``classify`` signature next to ``serving_default``."""
    classes = tf.tile(tf.constant([data.SPECIES]), [tf.shape(predictions["probabilities"])[0], 1])
    return {
        tf.saved_model.signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY:
            tf.estimator.export.PredictOutput(predictions),
        "classification": tf.estimator.export.ClassificationOutput(
            scores=predictions["probabilities"], classes=classes),
    }


RECEIVERS = {
    "raw": raw_serving_input_receiver_fn,
    "parsing": parsing_serving_input_receiver_fn,
    "classify": parsing_serving_input_receiver_fn,
}


def versions(base):
    """The numeric version folders under an export base, oldest first."""
    base = Path(base)
    found = [p for p in base.iterdir() if p.is_dir() and p.name.isdigit()] if base.is_dir() else []
    return sorted(found, key=lambda p: int(p.name))


def latest_version(base):
    """The newest numeric version folder under an export base (None when there is none)."""
    found = versions(base)
    return found[-1] if found else None


def export(name):
    """Export the course Estimator as ``build/exports/<name>/<timestamp>``; return that path."""
    extra = {"export_outputs": classification_outputs} if name == "classify" else {}
    classifier = estimator.ensure_trained(**extra)
    path = classifier.export_savedmodel(str(paths.export_base(name)), RECEIVERS[name])
    return Path(path.decode())


def ensure_export(name):
    """The latest export ``name`` (raw, parsing or classify), exported first if missing."""
    if name not in RECEIVERS:
        raise ValueError("unknown export {!r}; expected one of {}".format(name, sorted(RECEIVERS)))
    return latest_version(paths.export_base(name)) or export(name)
