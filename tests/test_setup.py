"""The setup scripts and the CI entry point, as a newcomer meets them."""
import hashlib
import os
import shutil
import subprocess

import pytest

from iriscourse import paths

ROOT = paths.REPO_ROOT


def _bare_path(tmp_path):
    """A PATH holding only basic tools: no python3.7, python3.11, pyenv or conda."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "ls", "grep", "sort", "awk", "dirname", "sha256sum", "cut", "uname"):
        os.symlink(shutil.which(tool), str(bin_dir / tool))
    return str(bin_dir)


def _find(script, env):
    """Run one of the Python finders (scripts/find_python37.sh, find_python_tf2.sh) in ``env``."""
    return subprocess.run(["bash", str(ROOT / "scripts" / script)], env=env, capture_output=True, text=True)


def test_missing_python37_says_how_to_get_one(tmp_path):
    result = _find("find_python37.sh", {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Python 3.7 found" in result.stderr
    assert "pyenv install 3.7" in result.stderr and "conda create" in result.stderr
    assert "Traceback" not in result.stderr


def test_python37_variable_must_point_at_python_37(tmp_path):
    result = _find("find_python37.sh", {"PATH": _bare_path(tmp_path), "PYTHON37": "/bin/false"})
    assert result.returncode == 1 and "is not a working Python 3.7" in result.stderr


def test_python37_variable_is_taken_first():
    import sys
    result = subprocess.run([str(ROOT / "scripts" / "find_python37.sh")], env=dict(os.environ, PYTHON37=sys.executable),
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == sys.executable


def test_missing_python_for_tf2_says_how_to_get_one(tmp_path):
    result = _find("find_python_tf2.sh", {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Python 3.11 (or 3.12) found for the TensorFlow 2 environment" in result.stderr
    assert "pyenv install 3.11" in result.stderr and "conda create" in result.stderr
    assert "make setup PYTHON_TF2=" in result.stderr and "Traceback" not in result.stderr


def test_python_tf2_variable_must_point_at_python_311_or_312(tmp_path):
    import sys

    bare = _bare_path(tmp_path)
    for wrong in ("/bin/false", sys.executable):  # not Python; Python 3.7
        env = {"PATH": bare, "PYTHON_TF2": wrong}
        result = subprocess.run(["bash", str(ROOT / "scripts" / "find_python_tf2.sh")],
                                env=env, capture_output=True, text=True)
        assert result.returncode == 1 and "is not a working Python 3.11 or 3.12" in result.stderr, wrong


def test_python_tf2_variable_is_taken_first():
    tf2_python = str(ROOT / ".venv-tf2" / "bin" / "python")
    result = subprocess.run([str(ROOT / "scripts" / "find_python_tf2.sh")],
                            env=dict(os.environ, PYTHON_TF2=tf2_python), capture_output=True, text=True, check=True)
    assert result.stdout.strip() == tf2_python


def test_setup_without_a_python_for_tf2_stops_and_says_what_to_do(tmp_path):
    import sys

    clone = tmp_path / "course"
    (clone / "scripts").mkdir(parents=True)
    for name in ("requirements.txt", "requirements.lock", "requirements-tf2.txt", "requirements-tf2.lock",
                 "pyproject.toml"):
        shutil.copy(str(ROOT / name), str(clone / name))
    for name in ("setup.sh", "find_python_tf2.sh"):
        shutil.copy(str(ROOT / "scripts" / name), str(clone / "scripts" / name))
    # An up-to-date .venv (a Python 3.7 and the stamp setup.sh writes), so that only .venv-tf2 is missing.
    (clone / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, str(clone / ".venv" / "bin" / "python"))
    stamped = b"".join((clone / name).read_bytes() for name in (
        "requirements.txt", "requirements.lock", "pyproject.toml", "scripts/setup.sh"))
    (clone / ".venv" / ".setup-stamp").write_text(hashlib.sha256(stamped).hexdigest() + "\n")
    env = {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(clone / "scripts" / "setup.sh")], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "setup: .venv is up to date" in result.stdout
    assert "no Python 3.11 (or 3.12) found" in result.stderr and "pyenv install 3.11" in result.stderr
    assert "setup: .venv is ready; .venv-tf2 (TensorFlow 2, for notebook 12) is not" in result.stderr
    assert not (clone / ".venv-tf2").exists()


def test_second_setup_run_does_nothing_expensive():
    result = subprocess.run([str(ROOT / "scripts" / "setup.sh")], capture_output=True, text=True, check=True,
                            timeout=30)
    assert "setup: .venv is up to date" in result.stdout
    assert "setup: .venv-tf2 (TensorFlow 2, notebook 12) is up to date." in result.stdout


def test_course_kernel_is_registered_inside_the_venv():
    assert (ROOT / ".venv" / "share" / "jupyter" / "kernels" / paths.KERNEL_NAME / "kernel.json").is_file()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make course" in readme


@pytest.mark.parametrize("requirements, lock", [("requirements.txt", "requirements.lock"),
                                                 ("requirements-tf2.txt", "requirements-tf2.lock")])
def test_lock_pins_every_package_exactly(requirements, lock):
    def normal(line):  # pip freeze writes tensorflow_cpu for tensorflow-cpu
        return line.lower().replace("_", "-")

    lines = [l for l in (ROOT / lock).read_text().splitlines() if l and not l.startswith("#")]
    assert lines and all("==" in l for l in lines)
    direct = [l.split(";")[0].strip()  # an environment marker does not change the pin
              for l in (ROOT / requirements).read_text().splitlines() if l and not l.startswith("#")]
    assert direct and all("==" in l for l in direct)
    assert {normal(l) for l in direct} <= {normal(l) for l in lines}


def test_setup_installs_from_a_local_wheelhouse_with_no_index(tmp_path):
    import sys

    clone = tmp_path / "course"
    shutil.copytree(str(ROOT), str(clone), ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "wheelhouse", "notebooks", "__pycache__", "*.egg-info"))
    subprocess.run([str(ROOT / "scripts" / "wheelhouse.sh")], cwd=str(ROOT), check=True, capture_output=True,
                   env=dict(os.environ, WHEELHOUSE=str(clone / "wheelhouse")), timeout=600)
    elsewhere = tmp_path / "other-find-links"
    elsewhere.mkdir()
    blocked = dict(os.environ, PYTHON37=sys.executable, PIP_INDEX_URL="http://127.0.0.1:9/simple",
                   http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", PIP_RETRIES="0",
                   PIP_FIND_LINKS=str(elsewhere))  # find-links set by the machine do not hide the wheelhouse
    result = subprocess.run([str(clone / "scripts" / "setup.sh")], cwd=str(clone), env=blocked,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "setup: installing from wheelhouse/ with no package index" in result.stdout
    version = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-c",
                              "import tensorflow as tf, iriscourse; print(tf.__version__)"],
                             capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert version.stdout.strip() == "1.13.2", version.stderr[-1000:]
    tf2_version = subprocess.run([str(clone / ".venv-tf2" / "bin" / "python"), "-c",
                                  "import tensorflow as tf; print(tf.__version__)"],
                                 capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert tf2_version.stdout.strip() == "2.21.0", tf2_version.stderr[-1000:]


def test_wheelhouse_without_a_venv_says_to_run_setup_first(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(str(ROOT / "scripts" / "wheelhouse.sh"), str(scripts))
    result = subprocess.run([str(scripts / "wheelhouse.sh")], capture_output=True, text=True)
    assert result.returncode == 1 and "run 'make setup' first" in result.stderr


def test_the_setup_wheelhouse_lock_and_mutation_scripts_are_shellcheck_clean():
    import sys

    shellcheck = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    scripts = [str(ROOT / "scripts" / name)
               for name in ("setup.sh", "wheelhouse.sh", "mutation.sh", "lock.sh", "find_python_tf2.sh")]
    result = subprocess.run([shellcheck] + scripts, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
