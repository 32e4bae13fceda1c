"""Iris CSVs as pandas frames, tf.data input functions and feature columns."""
import pandas as pd
import tensorflow as tf

from . import paths

CSV_COLUMN_NAMES = ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]
FEATURE_NAMES = CSV_COLUMN_NAMES[:-1]
SPECIES = ["Setosa", "Versicolor", "Virginica"]

# The seed's three prediction samples, one per species (labels 0, 1, 2).
PREDICT_X = {
    "SepalLength": [5.1, 5.9, 6.9],
    "SepalWidth": [3.3, 3.0, 3.1],
    "PetalLength": [1.7, 4.2, 5.4],
    "PetalWidth": [0.5, 1.5, 2.1],
}
PREDICT_EXPECTED = [0, 1, 2]


def load_data(label_name="Species"):
    """Return ``(train_x, train_y), (test_x, test_y)`` read from ``data/``."""
    def read(name):
        frame = pd.read_csv(paths.DATA_DIR / name, names=CSV_COLUMN_NAMES, header=0)
        return frame, frame.pop(label_name)

    return read("iris_training.csv"), read("iris_test.csv")


def feature_columns():
    """One float32 ``numeric_column`` per feature, in CSV order."""
    return [tf.feature_column.numeric_column(key=name) for name in FEATURE_NAMES]


def train_input_fn(features, labels, batch_size, seed=None):
    """Shuffled, repeated batches of ``(features dict, labels)`` for training."""
    dataset = tf.data.Dataset.from_tensor_slices((dict(features), labels))
    return dataset.shuffle(1000, seed=seed).repeat().batch(batch_size)


def eval_input_fn(features, labels, batch_size):
    """One pass over ``features`` (and ``labels`` when given), in batches."""
    inputs = dict(features) if labels is None else (dict(features), labels)
    return tf.data.Dataset.from_tensor_slices(inputs).batch(batch_size)


def to_example(row):
    """One flower (a mapping feature name -> number) as a ``tf.train.Example`` of float features."""
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(float_list=tf.train.FloatList(value=[float(row[name])]))
        for name in FEATURE_NAMES}))


def serialize_examples(features):
    """Serialized ``tf.Example`` bytes, one per row of a frame or dict of feature columns."""
    columns = {name: list(features[name]) for name in FEATURE_NAMES}
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    return [to_example(row).SerializeToString() for row in rows]
