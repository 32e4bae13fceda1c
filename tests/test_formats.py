import numpy as np

from iriscourse import export, formats, frozen, lowlevel, paths


def test_disk_bytes_counts_files_and_folders(tmp_path):
    (tmp_path / "a").write_bytes(b"12345")
    (tmp_path / "d" / "e").mkdir(parents=True)
    (tmp_path / "d" / "e" / "f").write_bytes(b"123")
    assert formats.disk_bytes([tmp_path / "a", tmp_path / "d"]) == 8


def _artifacts():
    return (lowlevel.ensure_checkpoint(), export.ensure_export("raw"), lowlevel.ensure_savedmodel(),
            frozen.ensure_frozen(), frozen.ensure_optimized())


def test_without_a_tensorrt_graph_only_the_five_real_formats_are_compared(module_build_dir):
    candidates = formats.course_formats(*_artifacts())
    assert [c.name for c in candidates] == [
        "checkpoint", "Estimator SavedModel", "low-level SavedModel", "frozen graph", "optimised frozen graph"]
    assert candidates[0].graph_file.name == "model.ckpt-1000.meta"
    assert [c.graph_file for c in candidates[1:]] == [c.files[0] for c in candidates[1:]]


def test_every_format_loads_and_meets_the_course_accuracy(module_build_dir):
    trt_path = frozen.write_graph_def(frozen.read_graph_def(frozen.ensure_optimized()),
                                      paths.artifact("tensorrt", "frozen_trt.pb"))
    candidates = formats.course_formats(*_artifacts(), trt_graph_path=trt_path)
    assert [c.name for c in candidates][-1] == "TF-TRT graph"
    rows = np.array([[5.1, 3.3, 1.7, 0.5], [5.9, 3.0, 4.2, 1.5], [6.9, 3.1, 5.4, 2.1]], np.float32)
    for candidate in candidates:
        predict = candidate.load()
        assert formats.accuracy(predict) >= 0.90, candidate.name
        assert list(predict(rows)) == [0, 1, 2], candidate.name
        assert formats.disk_bytes(candidate.files) > 0
