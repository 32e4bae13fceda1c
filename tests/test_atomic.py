"""atomic: a version folder, or a file, appears only when complete, and a failed write leaves nothing."""
import pytest

from iriscourse import atomic, export


def test_the_version_appears_only_after_the_block_and_the_temp_folder_is_gone(tmp_path):
    with atomic.version_dir(tmp_path, 17) as temp:
        temp.mkdir()
        (temp / "saved_model.pb").write_bytes(b"x")
        assert temp.name == "temp-17"
        assert export.versions(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["17"]
    assert (tmp_path / "17" / "saved_model.pb").read_bytes() == b"x"


def test_a_failed_write_leaves_no_version_and_no_temp_folder(tmp_path):
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic.version_dir(tmp_path, 18) as temp:
            temp.mkdir()
            (temp / "variables").mkdir()
            raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_version_is_never_overwritten(tmp_path):
    (tmp_path / "19").mkdir()
    with pytest.raises(FileExistsError, match="version 19 already exists"):
        with atomic.version_dir(tmp_path, 19):
            pass
    assert [p.name for p in tmp_path.iterdir()] == ["19"]


def test_write_bytes_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "model.tflite"
    atomic.write_bytes(target, b"first")
    assert atomic.write_bytes(target, b"second") == target and target.read_bytes() == b"second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.tflite"]
