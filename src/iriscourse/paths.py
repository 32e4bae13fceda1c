"""The one place that knows where the course's inputs and artifacts live."""
import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
KERNEL_NAME = "iris-tf113"


def build_dir():
    """Root of every generated artifact (``build/``, or ``$IRISCOURSE_BUILD_DIR``)."""
    return Path(os.environ.get("IRISCOURSE_BUILD_DIR", REPO_ROOT / "build")).resolve()


def artifact(*parts):
    """Path of an artifact under the build directory, relative to the working directory.

    Relative paths keep machine-specific folders out of notebook outputs and logs
    (from ``notebooks/`` they read ``../build/...``). The parent folder is created.
    """
    path = build_dir().joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(os.path.relpath(path))


def estimator_dir():
    """model_dir of the notebook-01 Estimator (checkpoints and event files)."""
    return artifact("models", "estimator")


def export_base(name):
    """Base folder of one exported model (it holds numeric version folders)."""
    return artifact("exports", name)


def fresh_dir(path):
    """Empty ``path`` (removing what a previous run left) and return it."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def shown(text):
    """``text`` with this clone's absolute folders written as ``<course>`` (and ``$IRISCOURSE_BUILD_DIR``)."""
    text = str(text)
    if build_dir() != REPO_ROOT / "build":
        text = text.replace(str(build_dir()), "$IRISCOURSE_BUILD_DIR")
    return text.replace(str(REPO_ROOT), "<course>")
