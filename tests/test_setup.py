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
            name, version = line.split("==")
            assert name.lower() in pinned and line.lower() in {l.lower() for l in lines}, line
