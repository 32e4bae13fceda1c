import os
from pathlib import Path

from iriscourse import paths


def test_artifacts_go_under_the_build_dir_as_relative_paths(build_dir):
    path = paths.artifact("models", "x", "file.txt")
    assert not path.is_absolute()
    assert path.resolve() == build_dir / "models" / "x" / "file.txt"
    assert path.parent.is_dir()


def test_default_build_dir_is_the_ignored_build_folder(monkeypatch):
    monkeypatch.delenv("IRISCOURSE_BUILD_DIR", raising=False)
    assert paths.build_dir() == paths.REPO_ROOT / "build"
    assert "/build/" in (paths.REPO_ROOT / ".gitignore").read_text()


def test_relative_artifact_paths_follow_the_working_directory(build_dir, tmp_path):
    nested = tmp_path / "notebooks"
    nested.mkdir()
    os.chdir(str(nested))
    assert paths.estimator_dir() == Path("../build/models/estimator")


def test_fresh_dir_empties_what_a_previous_run_left(build_dir):
    target = paths.artifact("models", "old")
    target.mkdir()
    (target / "stale.ckpt").write_text("old")
    assert list(paths.fresh_dir(target).iterdir()) == []
