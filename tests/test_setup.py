"""The setup scripts and the CI entry point, as a newcomer meets them."""
import os
import shutil
import subprocess

from iriscourse import paths

ROOT = paths.REPO_ROOT


def _bare_path(tmp_path):
    """A PATH holding only basic tools: no python3.7, pyenv or conda."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "cat", "ls", "grep", "sort", "awk", "dirname"):
        os.symlink(shutil.which(tool), str(bin_dir / tool))
    return str(bin_dir)


def test_missing_python37_says_how_to_get_one(tmp_path):
    env = {"PATH": _bare_path(tmp_path), "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "find_python37.sh")],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Python 3.7 found" in result.stderr
    assert "pyenv install 3.7" in result.stderr and "conda create" in result.stderr
    assert "Traceback" not in result.stderr


def test_python37_variable_must_point_at_python_37(tmp_path):
    env = {"PATH": _bare_path(tmp_path), "PYTHON37": "/bin/false"}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "find_python37.sh")],
                            env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "is not a working Python 3.7" in result.stderr


def test_python37_variable_is_taken_first():
    import sys
    result = subprocess.run([str(ROOT / "scripts" / "find_python37.sh")], env=dict(os.environ, PYTHON37=sys.executable),
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == sys.executable


def test_second_setup_run_does_nothing_expensive():
    result = subprocess.run([str(ROOT / "scripts" / "setup.sh")], capture_output=True, text=True, check=True,
                            timeout=30)
    assert "is up to date" in result.stdout


def test_course_kernel_is_registered_inside_the_venv():
    assert (ROOT / ".venv" / "share" / "jupyter" / "kernels" / paths.KERNEL_NAME / "kernel.json").is_file()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make test" in ci
    assert "make course" in readme


def test_lock_pins_every_package_exactly():
    lines = [l for l in (ROOT / "requirements.lock").read_text().splitlines() if l and not l.startswith("#")]
    assert lines and all("==" in l for l in lines)
    pinned = {l.split("==")[0].lower() for l in lines}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            line = line.split(";")[0].strip()  # an environment marker does not change the pin
            name, version = line.split("==")
            assert name.lower() in pinned and line.lower() in {l.lower() for l in lines}, line


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


def test_wheelhouse_without_a_venv_says_to_run_setup_first(tmp_path):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    shutil.copy(str(ROOT / "scripts" / "wheelhouse.sh"), str(scripts))
    result = subprocess.run([str(scripts / "wheelhouse.sh")], capture_output=True, text=True)
    assert result.returncode == 1 and "run 'make setup' first" in result.stderr


def test_the_setup_wheelhouse_and_mutation_scripts_are_shellcheck_clean():
    import sys

    shellcheck = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    scripts = [str(ROOT / "scripts" / name) for name in ("setup.sh", "wheelhouse.sh", "mutation.sh")]
    result = subprocess.run([shellcheck] + scripts, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
