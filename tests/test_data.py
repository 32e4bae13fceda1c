import hashlib

import numpy as np
import tensorflow as tf

from iriscourse import data, paths

CANONICAL_SHA256 = {
    "iris_training.csv": "c4c7652b14da06ba63b37f9f47d2e9aa4edced85701c9f8fce37501a1ca792e4",
    "iris_test.csv": "3b6dde8ad159a8545d4b4d8290a9cc7d49a9a8803d6ffe755884269371cc1eb1",
}


def test_csv_files_are_the_canonical_tensorflow_copies():
    for name, digest in CANONICAL_SHA256.items():
        assert hashlib.sha256((paths.DATA_DIR / name).read_bytes()).hexdigest() == digest, name


def test_load_data_names_columns_and_splits_off_species():
    (train_x, train_y), (test_x, test_y) = data.load_data()
    assert list(train_x.columns) == data.FEATURE_NAMES
    assert train_x.shape == (120, 4) and test_x.shape == (30, 4)
    assert train_y.name == test_y.name == "Species"
    assert train_y.value_counts().sort_index().tolist() == [42, 36, 42]
    assert test_x.iloc[0].tolist() == [5.9, 3.0, 4.2, 1.5]


def test_load_data_reads_each_column_by_its_name():
    (train_x, train_y), (test_x, test_y) = data.load_data()
    # First rows of data/iris_training.csv (6.4,2.8,5.6,2.2,2) and data/iris_test.csv (5.9,3.0,4.2,1.5,1).
    assert train_x.iloc[0].to_dict() == {"SepalLength": 6.4, "SepalWidth": 2.8, "PetalLength": 5.6, "PetalWidth": 2.2}
    assert train_y.iloc[0] == 2
    assert test_x.iloc[0].to_dict() == {"SepalLength": 5.9, "SepalWidth": 3.0, "PetalLength": 4.2, "PetalWidth": 1.5}
    assert test_y.iloc[0] == 1
    # Petals of setosa (label 0) are the shortest of all flowers: a swapped petal/sepal name shows here.
    assert train_x["PetalLength"][train_y == 0].max() < train_x["PetalLength"][train_y != 0].min()


def test_feature_columns_follow_the_csv_header_order():
    assert [c.key for c in data.feature_columns()] == ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth"]
    assert data.CSV_COLUMN_NAMES == ["SepalLength", "SepalWidth", "PetalLength", "PetalWidth", "Species"]


def _first_batch(dataset):
    with tf.Graph().as_default():
        batch = dataset().make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            return sess.run(batch)


def test_eval_input_fn_keeps_row_order_and_batches():
    _, (test_x, test_y) = data.load_data()
    features, labels = _first_batch(lambda: data.eval_input_fn(test_x, test_y, batch_size=7))
    assert labels.tolist() == test_y[:7].tolist()
    np.testing.assert_allclose(features["PetalWidth"], test_x["PetalWidth"][:7])


def test_eval_input_fn_without_labels_yields_features_only():
    features = _first_batch(lambda: data.eval_input_fn(data.PREDICT_X, None, batch_size=10))
    np.testing.assert_allclose(features["SepalLength"], data.PREDICT_X["SepalLength"])


def test_train_input_fn_repeats_shuffled_batches_reproducibly():
    (train_x, train_y), _ = data.load_data()
    first = _first_batch(lambda: data.train_input_fn(train_x, train_y, batch_size=200, seed=1))
    again = _first_batch(lambda: data.train_input_fn(train_x, train_y, batch_size=200, seed=1))
    assert len(first[1]) == 200  # repeat() runs past the 120 rows
    assert first[1].tolist() == again[1].tolist()
    assert first[1][:120].tolist() != train_y.tolist()


def test_feature_columns_are_float_numeric_columns_in_csv_order():
    columns = data.feature_columns()
    assert [c.key for c in columns] == data.FEATURE_NAMES
    assert all(c.dtype == tf.float32 and c.shape == (1,) for c in columns)
