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


def test_shown_writes_this_clones_folder_as_course():
    inside = str(paths.REPO_ROOT / "build" / "exports" / "raw")
    assert paths.shown("--model_base_path=" + inside) == "--model_base_path=<course>/build/exports/raw"
    assert paths.shown("/srv/models/1") == "/srv/models/1"


def test_shown_names_a_build_folder_outside_the_clone_by_its_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("IRISCOURSE_BUILD_DIR", str(tmp_path))
    assert paths.shown(str(tmp_path / "production")) == "$IRISCOURSE_BUILD_DIR/production"
