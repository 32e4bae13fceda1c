#!/usr/bin/env bash
# Install the real TensorFlow Serving model server (`tensorflow_model_server`).
#
# It comes only from TensorFlow Serving's apt repository (Debian/Ubuntu on x86-64, e.g. a
# Colab local-runtime host) or from the `tensorflow/serving` Docker image. This script:
#   - by default adds that apt repository (key in a keyring file + a `signed-by=` source, no
#     deprecated `apt-key`), installs `tensorflow-model-server` and checks
#     `tensorflow_model_server --version`;
#   - with --docker prints (and with --run starts) the equivalent `docker run` command;
#   - with --check only reports what is installed.
# `scripts/install_serving.sh --help` lists the options and exit codes.
#
# Nothing here is needed to follow the course: without a real server the notebooks use the
# course's built-in compatible server, `local_model_server`, automatically.
#
# Safe to re-run: when the server is already installed it says so and stops; the source list
# is written whole (never appended to), so its line is never duplicated. When the key download
# or `apt-get update` fails, the keyring and source file that this run added are removed again.
#
# Environment (system paths are overridable so that the tests never touch the real system):
#   TFS_APT_SOURCES_DIR  apt source lists        (default /etc/apt/sources.list.d)
#   TFS_KEYRING_DIR      where the keyring goes  (default /usr/share/keyrings)
#   TFS_OS_RELEASE       OS identification file  (default /etc/os-release)
#   TFS_EUID             act as this user id; 0 means root, so no sudo (default: $EUID)
set -euo pipefail

PROG=scripts/install_serving.sh
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

APT_SOURCES_DIR=${TFS_APT_SOURCES_DIR:-/etc/apt/sources.list.d}
KEYRING_DIR=${TFS_KEYRING_DIR:-/usr/share/keyrings}
OS_RELEASE=${TFS_OS_RELEASE:-/etc/os-release}
USER_ID=${TFS_EUID:-$EUID}

REPO_URL=http://storage.googleapis.com/tensorflow-serving-apt
KEY_URL=https://storage.googleapis.com/tensorflow-serving-apt/tensorflow-serving.release.pub.gpg
KEYRING="$KEYRING_DIR/tensorflow-serving.gpg"
SOURCE_LIST="$APT_SOURCES_DIR/tensorflow-serving.list"
SOURCE_LINE="deb [arch=amd64 signed-by=$KEYRING] $REPO_URL stable tensorflow-model-server tensorflow-model-server-universal"
OPTIMISED_PKG=tensorflow-model-server
UNIVERSAL_PKG=tensorflow-model-server-universal
BINARY=tensorflow_model_server

# Exit codes (also listed in --help).
EXIT_FAILED=1
EXIT_USAGE=2
EXIT_UNSUPPORTED_OS=3
EXIT_UNSUPPORTED_ARCH=4
EXIT_NEEDS_ROOT=5
EXIT_OFFLINE=6
EXIT_NO_DOCKER=7

usage() {
  cat <<USAGE
Usage: $PROG [--universal] [--dry-run]
       $PROG --check
       $PROG --docker [--run] [--model-name NAME] [--model-base-path PATH] [--tag TAG] [--dry-run]

Install the real TensorFlow Serving model server (tensorflow_model_server) from TensorFlow
Serving's apt repository (Debian/Ubuntu, x86-64 only; e.g. a Colab local runtime), or
print/run the equivalent Docker command. Not required for the course: without it the
notebooks use the built-in compatible server, local_model_server.

Install (the default action):
  --universal              install $UNIVERSAL_PKG (generic build, for CPUs
                           without SSE4/AVX) instead of $OPTIMISED_PKG; replaces it
  --dry-run                print every command that would run ('+ ' lines), run none
Report:
  --check                  report the binary and its version, the apt package, the apt
                           source and keyring, and Docker; changes nothing
Docker (image tensorflow/serving, gRPC on port 8500, REST on port 8501):
  --docker                 print the equivalent 'docker run' command
  --run                    also run it (needs docker)
  --model-name NAME        default raw_export_model; parsing_export_model is also known
  --model-base-path PATH   folder holding the numbered SavedModel versions; default
                           build/exports/raw (raw_export_model) or build/exports/parsing
                           (parsing_export_model); relative paths are made absolute
  --tag TAG                image tag, default latest (1.13.0 matches the course's TF)
  -h, --help               show this text

Exit codes: 0 done, or already installed (--check: the binary is installed and runs);
  $EXIT_FAILED failure (--check: not installed); $EXIT_USAGE bad option; $EXIT_UNSUPPORTED_OS not Debian/Ubuntu with apt-get;
  $EXIT_UNSUPPORTED_ARCH not x86-64; $EXIT_NEEDS_ROOT neither root nor sudo; $EXIT_OFFLINE repository unreachable (offline);
  $EXIT_NO_DOCKER docker not found.

Environment: TFS_APT_SOURCES_DIR (default /etc/apt/sources.list.d), TFS_KEYRING_DIR
  (default /usr/share/keyrings), TFS_OS_RELEASE (default /etc/os-release), TFS_EUID.
USAGE
}

# ---------------------------------------------------------------- messages and commands

say() { printf 'install_serving: %s\n' "$*"; }

# die CODE LINE...: the first line is the error, the following ones tell what to do next.
die() {
  local code=$1
  shift
  printf 'error: %s\n' "$1" >&2
  shift
  local line
  for line in "$@"; do
    printf '  %s\n' "$line" >&2
  done
  exit "$code"
}

usage_error() {
  printf 'error: %s\n\n' "$1" >&2
  usage >&2
  exit "$EXIT_USAGE"
}

# Quote one word for display so that printed commands can be copied into a shell.
quote() {
  case $1 in
    '') printf "''" ;;
    *[!A-Za-z0-9_./:=@%+,-]*) printf "'%s'" "${1//\'/\'\\\'\'}" ;;
    *) printf '%s' "$1" ;;
  esac
}

quote_all() {
  local out='' word
  for word in "$@"; do
    out+="${out:+ }$(quote "$word")"
  done
  printf '%s' "$out"
}

# Every command that changes something (or the final verification) is announced with a
# '+ ' line first; in --dry-run mode that line is all that happens.
show() { printf '+ %s\n' "$*"; }

DRY_RUN=0
is_dry_run() { [ "$DRY_RUN" = 1 ]; }

# SUDO is empty for root, "sudo" otherwise (chosen by pick_privileges).
SUDO=''
as_root() {
  if [ -n "$SUDO" ]; then
    "$SUDO" "$@"
  else
    "$@"
  fi
}

# run_as_root CMD...: announce, then (unless dry-run) run with root rights.
run_as_root() {
  show "$(quote_all ${SUDO:+"$SUDO"} "$@")"
  is_dry_run || as_root "$@"
}

# --------------------------------------------------------------------------- probes

have() { command -v "$1" >/dev/null 2>&1; }

binary_works() { have "$BINARY" && "$BINARY" --version >/dev/null 2>&1; }

package_installed() {
  have dpkg-query &&
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

package_version() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || true; }

# Print the TensorFlow Serving package that is installed, if any.
installed_package() {
  local pkg
  for pkg in "$OPTIMISED_PKG" "$UNIVERSAL_PKG"; do
    if package_installed "$pkg"; then
      printf '%s\n' "$pkg"
      return 0
    fi
  done
}

# Print the apt source file that already points at the TensorFlow Serving repository, if any:
# ours, or one written by hand or by the official instructions. A second file for the same
# repository would make apt warn, or fail on conflicting signed-by values.
existing_source_file() {
  local file
  for file in "$APT_SOURCES_DIR"/*.list "$APT_SOURCES_DIR"/*.sources; do
    if [ -f "$file" ] && grep -q 'tensorflow-serving-apt' "$file"; then
      printf '%s\n' "$file"
      return 0
    fi
  done
}

# os-release values may be quoted: ID="ubuntu".
os_release_value() {
  { sed -n "s/^$1=//p" "$OS_RELEASE" 2>/dev/null || true; } | head -n 1 | tr -d '"'\'
}

is_debian_like() {
  [ -r "$OS_RELEASE" ] || return 1
  local ids
  ids=" $(os_release_value ID) $(os_release_value ID_LIKE) "
  case $ids in
    *' debian '* | *' ubuntu '*) return 0 ;;
    *) return 1 ;;
  esac
}

is_amd64() {
  case $(uname -m) in
    x86_64 | amd64) return 0 ;;
    *) return 1 ;;
  esac
}

# ------------------------------------------------------------------------- preconditions

require_supported_os() {
  local found
  if ! is_debian_like; then
    found=$(os_release_value PRETTY_NAME)
    found=${found:-"no readable $OS_RELEASE"}
  elif ! have apt-get; then
    found="$(os_release_value PRETTY_NAME) without apt-get"
  else
    return 0
  fi
  die "$EXIT_UNSUPPORTED_OS" \
    "TensorFlow Serving's apt packages need Debian or Ubuntu with apt-get (found: $found)." \
    "- With Docker: '$PROG --docker' prints the 'docker run' command (add --run to start it)." \
    "- Or change nothing: the notebooks use the course's built-in compatible server," \
    "  local_model_server, automatically when tensorflow_model_server is missing."
}

require_amd64() {
  is_amd64 && return 0
  die "$EXIT_UNSUPPORTED_ARCH" \
    "TensorFlow Serving's apt packages are built for x86-64 (amd64) only; this machine is $(uname -m)." \
    "- The tensorflow/serving Docker image is x86-64 as well (slow under emulation)." \
    "- The notebooks use the course's built-in compatible server, local_model_server," \
    "  automatically when tensorflow_model_server is missing."
}

# "sudo " for the commands suggested in messages, unless running as root.
sudo_prefix() { [ "$USER_ID" = 0 ] || printf 'sudo '; }

pick_privileges() {
  if [ "$USER_ID" = 0 ]; then
    SUDO=''
  elif have sudo; then
    SUDO=sudo
  else
    die "$EXIT_NEEDS_ROOT" \
      "installing needs root, and sudo is not available." \
      "- Run it as root (e.g. 'su -c $PROG'), or install sudo first." \
      "- '$PROG --dry-run' shows the commands it would run."
  fi
}

# The key download needs curl and gpg (to store the key as a binary keyring for signed-by).
require_key_tools() {
  local missing='' tool
  for tool in curl gpg; do
    have "$tool" || missing+="${missing:+ }$tool"
  done
  [ -z "$missing" ] && return 0
  die "$EXIT_FAILED" "needed to add the repository key but not found: $missing." \
    "- Install them first: $(sudo_prefix)apt-get install -y curl gnupg ca-certificates" \
    "  then run $PROG again."
}

# ------------------------------------------------------------ undo on failure (trap)

# Set to 1 only when this run created the file, so that a failure removes exactly what this
# run added and leaves apt as it found it (a half-configured source breaks every apt-get update).
KEYRING_ADDED=0
SOURCE_ADDED=0
INSTALL_FINISHED=0

undo_unfinished_setup() {
  [ "$INSTALL_FINISHED" = 1 ] && return 0
  local removed=''
  if [ "$SOURCE_ADDED" = 1 ]; then
    run_as_root rm -f "$SOURCE_LIST" || true
    removed=$SOURCE_LIST
  fi
  if [ "$KEYRING_ADDED" = 1 ]; then
    run_as_root rm -f "$KEYRING" || true
    removed+="${removed:+ and }$KEYRING"
  fi
  [ -z "$removed" ] || say "removed $removed again (added by this run): apt is configured as before."
}

# ------------------------------------------------------------------------ install steps

add_keyring() {
  if [ -s "$KEYRING" ]; then
    say "keyring already in place: $KEYRING"
    return 0
  fi
  [ -d "$KEYRING_DIR" ] || run_as_root mkdir -p "$KEYRING_DIR"
  # Downloaded and dearmored as the calling user; only the write into the system folder
  # needs root (a root gpg could leave root-owned files in the user's ~/.gnupg).
  show "curl -fsSL $(quote "$KEY_URL") | gpg --dearmor | $(quote_all ${SUDO:+"$SUDO"} tee "$KEYRING") >/dev/null"
  if ! is_dry_run; then
    KEYRING_ADDED=1 # before writing: tee creates the file even when the download fails
    if ! curl -fsSL "$KEY_URL" | gpg --dearmor | as_root tee "$KEYRING" >/dev/null; then
      die "$EXIT_OFFLINE" "could not download TensorFlow Serving's signing key from $KEY_URL" \
        "(offline, behind a proxy, or curl/gpg failed: see the message above)." \
        "- Check the connection, then run $PROG again." \
        "- Or use '$PROG --docker', or let the notebooks use local_model_server."
    fi
  fi
  # apt reads the keyring as the unprivileged _apt user, whatever root's umask is.
  run_as_root chmod 0644 "$KEYRING"
}

add_source() {
  show "echo $(quote "$SOURCE_LINE") | $(quote_all ${SUDO:+"$SUDO"} tee "$SOURCE_LIST") >/dev/null"
  is_dry_run && return 0
  SOURCE_ADDED=1
  # Written whole with tee (never appended), so re-running cannot duplicate the line.
  printf '%s\n' "$SOURCE_LINE" | as_root tee "$SOURCE_LIST" >/dev/null
}

# Add the keyring and the source unless the repository is already configured.
configure_repository() {
  local existing
  existing=$(existing_source_file)
  if [ -n "$existing" ]; then
    say "apt source already in place: $existing"
    # Only our own signed-by line needs our keyring; one written from the official
    # instructions uses the (deprecated) apt-key store instead.
    if grep -qF "signed-by=$KEYRING" "$existing"; then
      require_key_tools
      add_keyring
    fi
    return 0
  fi
  [ -d "$APT_SOURCES_DIR" ] || die "$EXIT_UNSUPPORTED_OS" "apt source folder $APT_SOURCES_DIR does not exist."
  require_key_tools
  add_keyring # first, so that apt never sees the source without its key
  add_source
}

update_index() {
  if ! run_as_root apt-get update; then
    die "$EXIT_OFFLINE" "'apt-get update' failed: offline, or another apt source on this machine is broken (see apt's messages above)." \
      "- Check the connection and 'apt-get update', then run $PROG again." \
      "- Or use '$PROG --docker', or let the notebooks use local_model_server."
  fi
  # apt-get update can exit 0 although a repository was unreachable ("W: Failed to fetch"),
  # so make sure the package really is in the index now.
  show "$(quote_all apt-cache show "$PKG") >/dev/null"
  if ! is_dry_run && ! apt-cache show "$PKG" >/dev/null 2>&1; then
    die "$EXIT_OFFLINE" "$PKG is not in the apt index after 'apt-get update': the TensorFlow Serving repository was not reachable (offline?)." \
      "- Check the connection, then run $PROG again." \
      "- Or use '$PROG --docker', or let the notebooks use local_model_server."
  fi
}

install_package() {
  local other=$1
  local args=(apt-get install -y "$PKG")
  # The two packages conflict. A trailing '-' asks apt to remove the other one in the same
  # transaction, so a failed download never leaves the machine without any server.
  [ -n "$other" ] && args+=("$other-")
  if ! run_as_root "${args[@]}"; then
    die "$EXIT_FAILED" "'apt-get install $PKG' failed (see apt's messages above)." \
      "- Fix the problem apt reports, then run $PROG again."
  fi
}

verify_binary() {
  show "$BINARY --version"
  is_dry_run && return 0
  hash -r
  local version
  if ! version=$("$BINARY" --version 2>&1); then
    die "$EXIT_FAILED" "$PKG is installed but '$BINARY --version' fails:" \
      "${version:-(no output)}" \
      "- 'Illegal instruction' means this CPU lacks SSE4/AVX: run '$PROG --universal'."
  fi
  printf '%s\n' "$version"
  say "done: $(command -v "$BINARY") from $PKG."
}

# Stop early, and cheaply, when there is nothing to do. Without --universal any working
# installation is fine (also a universal one from an earlier run, or a hand-built binary);
# --universal asks for that package specifically, which replaces the optimised one.
stop_if_installed() {
  local installed=$1
  if [ -n "$installed" ] && { [ "$installed" = "$PKG" ] || [ "$UNIVERSAL" = 0 ]; }; then
    if binary_works; then
      say "already installed: $installed $(package_version "$installed") ($(command -v "$BINARY")); nothing to do."
      "$BINARY" --version 2>&1 || true
      exit 0
    fi
    local hint
    hint="- Reinstall it: $(sudo_prefix)apt-get install --reinstall -y $installed"
    [ "$installed" = "$OPTIMISED_PKG" ] &&
      hint="- 'Illegal instruction' means this CPU lacks SSE4/AVX: run '$PROG --universal'."
    die "$EXIT_FAILED" "$installed is installed but '$BINARY --version' fails." "$hint"
  fi
  if [ -z "$installed" ] && [ "$UNIVERSAL" = 0 ] && binary_works; then
    say "already installed: $(command -v "$BINARY") (not from apt); nothing to do."
    "$BINARY" --version 2>&1 || true
    exit 0
  fi
}

do_install() {
  local installed other=''
  installed=$(installed_package)
  stop_if_installed "$installed"
  require_supported_os
  require_amd64
  pick_privileges
  [ -n "$installed" ] && [ "$installed" != "$PKG" ] && other=$installed
  is_dry_run && say "dry run: these commands would run (none is run):"

  trap undo_unfinished_setup EXIT
  trap 'exit 130' INT TERM # so that the EXIT trap also undoes an interrupted run
  configure_repository
  update_index
  install_package "$other"
  INSTALL_FINISHED=1 # the package is in: keep its source and keyring from here on
  verify_binary
}

# -------------------------------------------------------------------------------- --check

do_check() {
  local status=0 pkg file
  if have "$BINARY"; then
    say "$BINARY: $(command -v "$BINARY")"
    if ! "$BINARY" --version 2>&1 | sed 's/^/  /'; then
      say "  '$BINARY --version' fails (on a CPU without SSE4/AVX: $PROG --universal)"
      status=$EXIT_FAILED
    fi
  else
    say "$BINARY: not found on PATH (install: $PROG; or use --docker, or the course's local_model_server)"
    status=$EXIT_FAILED
  fi
  for pkg in "$OPTIMISED_PKG" "$UNIVERSAL_PKG"; do
    if package_installed "$pkg"; then
      say "apt package: $pkg $(package_version "$pkg") installed"
    fi
  done
  [ -n "$(installed_package)" ] || say "apt package: none installed"
  file=$(existing_source_file)
  say "apt source: ${file:-missing ($SOURCE_LIST)}"
  if [ -s "$KEYRING" ]; then say "apt keyring: $KEYRING"; else say "apt keyring: missing ($KEYRING)"; fi
  if is_debian_like && have apt-get && is_amd64; then
    say "system: Debian/Ubuntu x86-64, the apt install is supported"
  else
    say "system: the apt install is not supported here (use --docker or local_model_server)"
  fi
  if have docker; then
    say "docker: $(command -v docker) ($(docker --version 2>/dev/null || echo 'version unknown'))"
  else
    say "docker: not found"
  fi
  return "$status"
}

# ------------------------------------------------------------------------------- --docker

MODEL_NAME=raw_export_model
MODEL_BASE_PATH=''
TAG=latest
RUN_DOCKER=0

# The course's export folders, for the model names the notebooks serve.
default_base_path() {
  case $1 in
    raw_export_model) printf '%s\n' "$REPO_ROOT/build/exports/raw" ;;
    parsing_export_model) printf '%s\n' "$REPO_ROOT/build/exports/parsing" ;;
  esac
}

# Docker needs an absolute bind-mount source; relative paths are taken from the current folder.
absolute_path() {
  if [ -d "$1" ]; then
    (cd "$1" && pwd)
  else
    case $1 in
      /*) printf '%s\n' "$1" ;;
      *) printf '%s\n' "$PWD/${1#./}" ;;
    esac
  fi
}

do_docker() {
  local base
  if [ -n "$MODEL_BASE_PATH" ]; then
    base=$(absolute_path "$MODEL_BASE_PATH")
  else
    base=$(default_base_path "$MODEL_NAME")
    [ -n "$base" ] || usage_error "no default export folder for model '$MODEL_NAME': pass --model-base-path PATH"
  fi
  local image=tensorflow/serving:$TAG
  local cmd=(docker run --rm -p 8500:8500 -p 8501:8501
    --mount "type=bind,source=$base,target=/models/$MODEL_NAME"
    -e "MODEL_NAME=$MODEL_NAME" -t "$image")

  if [ ! -d "$base" ]; then
    local note="the export folder $base does not exist yet: run the notebook that exports '$MODEL_NAME' first (make course)."
    [ "$RUN_DOCKER" = 1 ] && ! is_dry_run && die "$EXIT_FAILED" "$note"
    printf 'warning: %s\n' "$note" >&2
  fi
  if [ "$RUN_DOCKER" = 0 ]; then
    say "serve '$MODEL_NAME' with the real TensorFlow Serving (gRPC :8500, REST :8501):"
    quote_all "${cmd[@]}"
    printf '\n'
    return 0
  fi
  show "$(quote_all "${cmd[@]}")"
  is_dry_run && return 0
  have docker || die "$EXIT_NO_DOCKER" "docker is not installed (or not on PATH)." \
    "- Install Docker (https://docs.docker.com/get-docker/), or on Debian/Ubuntu x86-64 run $PROG" \
    "  to install tensorflow_model_server, or let the notebooks use local_model_server."
  exec "${cmd[@]}"
}

# ---------------------------------------------------------------------------------- main

MODE=install
UNIVERSAL=0
PKG=$OPTIMISED_PKG

set_mode() {
  [ "$MODE" = install ] || [ "$MODE" = "$1" ] || usage_error "--$MODE and --$1 cannot be combined"
  MODE=$1
}

parse_args() {
  local docker_only='' option value # the first option that needs --docker
  while [ $# -gt 0 ]; do
    case $1 in
      -h | --help) usage; exit 0 ;;
      --universal) UNIVERSAL=1; PKG=$UNIVERSAL_PKG ;;
      --dry-run) DRY_RUN=1 ;;
      --check) set_mode check ;;
      --docker) set_mode docker ;;
      --run) RUN_DOCKER=1; docker_only=${docker_only:-$1} ;;
      --model-name | --model-base-path | --tag | --model-name=* | --model-base-path=* | --tag=*)
        option=${1%%=*}
        if [[ $1 == *=* ]]; then
          value=${1#*=}
        else
          [ $# -ge 2 ] || usage_error "$1 needs a value"
          value=$2
          shift
        fi
        [ -n "$value" ] || usage_error "$option needs a non-empty value"
        docker_only=${docker_only:-$option}
        case $option in
          --model-name) MODEL_NAME=$value ;;
          --model-base-path) MODEL_BASE_PATH=$value ;;
          --tag) TAG=$value ;;
        esac
        ;;
      *) usage_error "unknown option: $1" ;;
    esac
    shift
  done
  if [ -n "$docker_only" ] && [ "$MODE" != docker ]; then
    usage_error "$docker_only only applies with --docker"
  fi
  if [ "$UNIVERSAL" = 1 ] && [ "$MODE" != install ]; then
    usage_error "--universal only applies to the apt install"
  fi
}

main() {
  parse_args "$@"
  case $MODE in
    check) do_check ;;
    docker) do_docker ;;
    install) do_install ;;
  esac
}

main "$@"
