"""Shared fixtures: keep every test's artifacts out of the real build/ folder."""
import pytest


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    """A private build directory (``IRISCOURSE_BUILD_DIR``) with the test running inside it."""
    monkeypatch.setenv("IRISCOURSE_BUILD_DIR", str(tmp_path / "build"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "build"


@pytest.fixture(scope="module")
def module_build_dir(tmp_path_factory):
    """Like ``build_dir``, shared by one test module (for artifacts that are slow to build)."""
    patch = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("module")
    patch.setenv("IRISCOURSE_BUILD_DIR", str(root / "build"))
    patch.chdir(root)
    yield root / "build"
    patch.undo()
