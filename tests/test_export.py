import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from iriscourse import data, export, paths


def _signatures(export_dir):
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((export_dir / "saved_model.pb").read_bytes())
    return saved_model.meta_graphs[0].signature_def


@pytest.fixture(scope="module")
def exports(module_build_dir):
    """The three course exports, built once in a private build directory."""
    return {name: export.ensure_export(name) for name in ("raw", "parsing", "classify")}


def test_exports_land_in_numeric_version_folders_under_build(exports):
    for name, export_dir in exports.items():
        assert export_dir.parent == paths.export_base(name)
        assert export_dir.name.isdigit()
        assert (export_dir / "saved_model.pb").is_file() and (export_dir / "variables").is_dir()


def test_raw_export_takes_one_float_input_per_feature(exports):
    signature = _signatures(exports["raw"])["serving_default"]
    assert sorted(signature.inputs) == sorted(data.FEATURE_NAMES)
    assert {info.dtype for info in signature.inputs.values()} == {tf.float32.as_datatype_enum}
    assert sorted(signature.outputs) == ["class_ids", "logits", "probabilities"]


def test_parsing_export_takes_serialized_examples(exports):
    signature = _signatures(exports["parsing"])["serving_default"]
    assert list(signature.inputs) == ["examples"]
    assert signature.inputs["examples"].dtype == tf.string.as_datatype_enum


def test_classify_export_adds_a_classification_signature(exports):
    signatures = _signatures(exports["classify"])
    assert sorted(signatures) == ["classification", "serving_default"]
    assert signatures["classification"].method_name == "tensorflow/serving/classify"


def test_ensure_export_reuses_the_latest_version(exports, monkeypatch):
    monkeypatch.setattr(export, "export", lambda name: pytest.fail("exported again"))
    assert export.ensure_export("raw") == exports["raw"]


def test_ensure_export_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown export 'keras'"):
        export.ensure_export("keras")


def test_versions_are_numeric_folders_in_numeric_order(tmp_path):
    for name in ("9", "10", "temp-11", "abc", "2"):
        (tmp_path / name).mkdir()
    (tmp_path / "12").write_text("a file, not a version")
    assert [p.name for p in export.versions(tmp_path)] == ["2", "9", "10"]
    assert export.latest_version(tmp_path).name == "10"
    assert export.latest_version(tmp_path / "missing") is None


def test_ensure_export_returns_the_newest_of_several_versions(build_dir, monkeypatch):
    base = paths.export_base("raw")
    for name in ("9", "10", "2", "temp-11"):
        (base / name).mkdir(parents=True)
    monkeypatch.setattr(export, "export", lambda name: pytest.fail("exported again"))
    assert export.ensure_export("raw") == base / "10"


def test_ensure_export_exports_when_only_non_numeric_folders_exist(build_dir, monkeypatch):
    base = paths.export_base("parsing")
    (base / "temp-5").mkdir(parents=True)
    monkeypatch.setattr(export, "export", lambda name: "exported " + name)
    assert export.ensure_export("parsing") == "exported parsing"


def test_serialize_examples_writes_one_float_feature_per_column():
    examples = data.serialize_examples(data.PREDICT_X)
    assert len(examples) == 3
    first = tf.train.Example.FromString(examples[0]).features.feature
    assert sorted(first) == sorted(data.FEATURE_NAMES)
    assert first["PetalLength"].float_list.value[0] == pytest.approx(1.7)
