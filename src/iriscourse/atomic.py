"""Write model files atomically: a version into a temporary folder beside the versions, a file beside itself; then rename."""
import contextlib
import os
import shutil
from pathlib import Path


@contextlib.contextmanager
def version_dir(base, version):
    """Yield ``base/temp-<version>`` (not yet created) to write into; on success rename it to ``base/<version>``.

    A server watching ``base`` only loads folders named by a number, so it never sees the
    temporary folder, and ``os.rename`` makes the finished version appear all at once, as the
    Estimator's ``export_savedmodel`` does. On an error the temporary folder is removed.
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    final = base / str(version)
    if final.exists():
        raise FileExistsError("version {} already exists in {}".format(version, base))
    temp = base / "temp-{}".format(version)
    shutil.rmtree(str(temp), ignore_errors=True)
    try:
        yield temp
        os.rename(str(temp), str(final))
    except BaseException:
        shutil.rmtree(str(temp), ignore_errors=True)
        raise


def write_bytes(path, data):
    """Write ``data`` to ``path`` through ``path.tmp`` and a rename, so readers never see half a file; return ``path``."""
    path = Path(path)
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    os.replace(str(temp), str(path))
    return path
