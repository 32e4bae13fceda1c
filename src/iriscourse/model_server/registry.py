"""Models and their versions: file-system polling, version policies, hot swap, status.

Each configured model's base path is listed every poll; children whose whole
name is an int64 are versions. The version policy picks the aspired versions,
which are loaded (highest first) while the versions already loaded keep
serving; a version that is no longer aspired is unloaded once an aspired one
is available (or when nothing is aspired any more), after its in-flight
requests have finished. Every version ever seen keeps a status record, so
unloaded and failed versions show as END.
"""
import contextlib
import logging
import os
import re
import threading
import time
from collections import OrderedDict

import tensorflow as tf
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.config import model_server_config_pb2
from tensorflow_serving.util import status_pb2

from . import errors

LOG = logging.getLogger(__name__)

_State = get_model_status_pb2.ModelVersionStatus
START, LOADING, AVAILABLE, UNLOADING, END = _State.START, _State.LOADING, _State.AVAILABLE, _State.UNLOADING, _State.END
_VERSION_NAME = re.compile(r"[+-]?[0-9]+\Z")
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_URI_SCHEME = re.compile(r"[a-zA-Z][0-9a-zA-Z.]*://")  # tensorflow::io::ParseURI
TENSORFLOW_PLATFORM = "tensorflow"
_LIST = "model_config_list"
_TRANSITION_REFUSED = ("Cannot transition to requested config. It is only legal to transition from one "
                       "ModelConfigList to another.")


def _servable_id(name, version):
    return "{name: %s version: %d}" % (name, version)


def model_platform(config):
    """The platform a ModelConfig asks for (GetPlatform in server_core.cc); raises INVALID_ARGUMENT."""
    if config.model_type != model_server_config_pb2.MODEL_TYPE_UNSPECIFIED:
        LOG.warning("Deprecated ModelServerConfig::model_type field used. Prefer ModelServerConfig::model_platform.")
        if config.model_platform:
            raise errors.invalid_argument(
                "Illegal setting both ModelServerConfig::model_type (deprecated) and "
                "ModelServerConfig::model_platform, model name is %s" % config.name)
        if config.model_type != model_server_config_pb2.TENSORFLOW:
            raise errors.invalid_argument("ModelServerConfig::model_type choice %d not supported." % config.model_type)
        return TENSORFLOW_PLATFORM
    if not config.model_platform:
        raise errors.invalid_argument(
            "Illegal setting neither ModelServerConfig::model_type (deprecated) nor "
            "ModelServerConfig::model_platform, model name is %s" % config.name)
    return config.model_platform


def check_model_configs(config_list):
    """Refuse a ModelConfigList with a model listed twice or a relative base path (ValidateModelConfigList)."""
    names = set()
    for config in config_list.config:
        if config.name in names:
            raise errors.invalid_argument("Illegal to list model %s multiple times in config list" % config.name)
        names.add(config.name)
    for config in config_list.config:
        if not _URI_SCHEME.match(config.base_path) and not config.base_path.startswith("/"):
            raise errors.invalid_argument("Expected model %s to have an absolute path or URI; got base_path()=%s"
                                          % (config.name, config.base_path))


def check_platforms_unchanged(old_list, new_list):
    """Refuse a new ModelConfigList that moves a model to another platform (ValidateNoModelsChangePlatforms)."""
    old_platforms = {config.name: model_platform(config) for config in old_list.config}
    for config in new_list.config:
        if config.name in old_platforms:
            platform = model_platform(config)
            if platform != old_platforms[config.name]:
                raise errors.invalid_argument(
                    "Illegal to change a model's platform. For model %s platform was %s and new platform "
                    "requested is %s" % (config.name, old_platforms[config.name], platform))


def check_platforms_supported(config_list):
    """Refuse a model whose platform this server does not serve (CreateStoragePathRoutes)."""
    for config in config_list.config:
        platform = model_platform(config)
        if platform != TENSORFLOW_PLATFORM:
            raise errors.invalid_argument("Model %s requests unsupported platform %s" % (config.name, platform))


def aspired_versions(name, policy, on_disk):
    """The versions a ServableVersionPolicy selects among the version numbers on disk."""
    choice = policy.WhichOneof("policy_choice")
    if choice == "all":
        return set(on_disk)
    if choice == "specific":
        wanted = set(policy.specific.versions)
        missing = sorted(wanted - set(on_disk))
        if missing:
            LOG.warning("Version(s) %s of servable %s requested by the specific version policy were not "
                        "found", ", ".join(str(version) for version in missing), name)
        return wanted & set(on_disk)
    count = max(policy.latest.num_versions, 1) if choice == "latest" else 1
    return set(sorted(on_disk, reverse=True)[:count])


def list_versions(name, base_path):
    """{version: path} of the numeric children of base_path, or None when it cannot be listed."""
    try:
        if not tf.gfile.IsDirectory(base_path):
            raise IOError(base_path)
        children = sorted(child.rstrip("/") for child in tf.gfile.ListDirectory(base_path))
    except (tf.errors.OpError, IOError, OSError):
        LOG.error("FileSystemStoragePathSource encountered a file-system access error: Could not find base "
                  "path %s for servable %s", base_path, name)
        return None
    versions = {}
    for child in children:
        if not _VERSION_NAME.match(child) or not _INT64_MIN <= int(child) <= _INT64_MAX:
            continue
        number = int(child)
        if number in versions:
            LOG.warning("Duplicate version directories detected. Version %d will be loaded from %s, %s will "
                        "be ignored.", number, versions[number], os.path.join(base_path, child))
            continue
        versions[number] = os.path.join(base_path, child)
    if not versions:
        hint = ""
        if any(child.startswith("saved_model.pb") for child in children):
            hint = (" (it holds a SavedModel itself: the base path must be the directory that contains numbered "
                    "version directories such as %s)" % os.path.join(base_path, "1"))
        LOG.warning("No versions of servable %s found under base path %s%s", name, base_path, hint)
    return versions


class _Version(object):
    """Status record (and, while loaded, the servable) of one model version."""

    def __init__(self, number, path):
        self.number, self.path = number, path
        self.state = START
        self.error_code, self.error_message = errors.OK, ""
        self.servable = None
        self.in_flight = 0


class _Model(object):
    """A configured model: its config (None once removed) and its version records."""

    def __init__(self, config):
        self.name = config.name
        self.config = config
        self.versions = {}
        self.aspired = None  # None until the base path has been listed once

    def available(self):
        """Version records that can serve requests."""
        return [record for record in self.versions.values() if record.state == AVAILABLE]


class ModelRegistry(object):
    """All models of the server; thread-safe."""

    def __init__(self, load_servable, poll_wait_seconds=1.0, max_load_retries=5, load_retry_interval_seconds=60.0,
                 allow_unavailable_labels=False):
        self._load_servable = load_servable  # (name, version, path) -> Servable
        self._allow_unavailable_labels = allow_unavailable_labels
        self._poll_wait = poll_wait_seconds
        self._max_retries = max_load_retries
        self._retry_interval = load_retry_interval_seconds
        self._cond = threading.Condition()
        self._models = OrderedDict()
        self._configured = False  # whether a model list was ever configured
        self._config = model_server_config_pb2.ModelServerConfig()  # last config that passed validation
        self._labels = {}  # {model name: {label: version}}
        self._reload_lock = threading.Lock()
        self._polls_started = self._polls_done = 0
        self._poll_lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = None

    # ------------------------------------------------------------ configuration

    def configure(self, configs):
        """Set the model list (new models added, changed ones updated, missing ones unloaded).

        Returns the number of polls started so far, for wait_until_ready.
        """
        with self._cond:
            self._configured = True
            wanted = OrderedDict((config.name, config) for config in configs)
            for name, config in wanted.items():
                LOG.info(" (Re-)adding model: %s", name)
                if name in self._models:
                    self._models[name].config = config
                else:
                    self._models[name] = _Model(config)
            for name, model in self._models.items():
                if name not in wanted and model.config is not None:
                    LOG.info("Removing model: %s", name)
                    model.config = None
            return self._polls_started

    def start(self):
        """Start the polling thread (with a negative poll wait nothing is ever polled)."""
        if self._poll_wait < 0:
            LOG.warning("--file_system_poll_wait_seconds is negative: the file system is never polled, so no "
                        "model version will be loaded")
            return
        self._thread = threading.Thread(target=self._poll_loop, name="file-system-poll", daemon=True)
        self._thread.start()

    def _poll_loop(self):
        while not self._stop.is_set():
            self._wake.clear()
            self.poll()
            self._wake.wait(self._poll_wait if self._poll_wait > 0 else None)

    def poll(self):
        """List every model's base path once and load/unload versions accordingly."""
        with self._poll_lock:
            with self._cond:
                self._polls_started += 1
                number = self._polls_started
                models = list(self._models.values())
            for model in models:
                if self._stop.is_set():
                    return
                self._poll_model(model)
            with self._cond:
                self._polls_done = number
                self._cond.notify_all()

    # ------------------------------------------------------------ load / unload

    def _poll_model(self, model):
        config = model.config
        if config is None:
            on_disk = {}
        else:
            on_disk = list_versions(model.name, config.base_path)
            if on_disk is None:
                return
        aspired = aspired_versions(model.name, config.model_version_policy, on_disk) if config else set()
        with self._cond:
            previously_aspired = model.aspired or set()
            model.aspired = aspired
            self._cond.notify_all()
        for number in sorted(aspired, reverse=True):
            with self._cond:
                record = model.versions.get(number)
                if record is not None and (record.state != END or number in previously_aspired):
                    continue  # loaded, loading, or failed while aspired: leave it
                record = model.versions[number] = _Version(number, on_disk[number])
            self._load(model.name, record)
        with self._cond:
            keep_serving = aspired and not any(model.versions[number].state == AVAILABLE for number in aspired)
            retired = [] if keep_serving else sorted(
                (record for record in model.available() if record.number not in aspired), key=lambda r: r.number)
        for record in retired:
            self._unload(model.name, record)

    def _set_state(self, record, state, error=None):
        with self._cond:
            record.state = state
            if error is not None:
                record.error_code, record.error_message = error.code, error.message
            self._cond.notify_all()

    def _load(self, name, record):
        servable_id = _servable_id(name, record.number)
        LOG.info("Approving load for servable version %s", servable_id)
        self._set_state(record, LOADING)
        LOG.info("Loading servable version %s from %s", servable_id, record.path)
        attempt = 0
        while True:
            try:
                servable = self._load_servable(name, record.number, record.path)
                break
            except errors.ServingError as error:
                failure = error
            except Exception as error:  # pylint: disable=broad-except
                LOG.exception("Unexpected failure loading %s", servable_id)
                failure = errors.ServingError(errors.UNKNOWN, "%s: %s" % (type(error).__name__, error))
            LOG.error("Loading servable: %s failed: %s", servable_id, failure)
            if attempt >= self._max_retries or not tf.gfile.Exists(record.path):
                self._set_state(record, END, failure)
                return
            attempt += 1
            LOG.info("Retrying load of servable version %s in %g seconds (retry %d of %d)",
                     servable_id, self._retry_interval, attempt, self._max_retries)
            if self._stop.wait(self._retry_interval):
                self._set_state(record, END, failure)
                return
        with self._cond:
            record.servable = servable
        self._set_state(record, AVAILABLE)
        LOG.info("Successfully loaded servable version %s", servable_id)

    def _unload(self, name, record, timeout=None):
        servable_id = _servable_id(name, record.number)
        with self._cond:
            record.state = UNLOADING
            self._cond.notify_all()
            LOG.info("Quiescing servable version %s", servable_id)
            self._cond.wait_for(lambda: record.in_flight == 0, timeout)
        LOG.info("Unloading servable version %s", servable_id)
        record.servable.close()
        with self._cond:
            record.servable = None
        self._set_state(record, END)
        LOG.info("Done unloading servable version %s", servable_id)

    # ------------------------------------------------------------ requests

    def _resolve(self, name, version, label):
        model = self._models.get(name)
        if label is not None:
            labels = self._labels.get(name, {})
            if label not in labels:
                raise errors.invalid_argument("Unrecognized servable version label: %s" % label)
            version = labels[label]
        if version is None:
            available = model.available() if model is not None else []
            if not available:
                raise errors.not_found("Servable not found for request: Latest(%s)" % name)
            return max(available, key=lambda record: record.number)
        record = model.versions.get(version) if model is not None else None
        if record is None or record.state != AVAILABLE:
            raise errors.not_found("Servable not found for request: Specific(%s, %d)" % (name, version))
        return record

    @contextlib.contextmanager
    def acquire(self, name, version=None, label=None):
        """Hold a servable for one request (latest available version unless version/label given)."""
        with self._cond:
            record = self._resolve(name, version, label)
            record.in_flight += 1
        try:
            yield record.servable
        finally:
            with self._cond:
                record.in_flight -= 1
                if not record.in_flight:
                    self._cond.notify_all()

    def status(self, name, version=None, label=None):
        """The model's GetModelStatusResponse: one entry per version, highest version first.

        A label is ignored (all versions are listed), as by TF Serving's GetModelStatus.
        """
        with self._cond:
            model = self._models.get(name)
            records = dict(model.versions) if model is not None else {}
            if not records:
                raise errors.not_found("Could not find any versions of model %s" % name)
            if version is not None:
                if version not in records:
                    raise errors.not_found("Could not find version %d of model %s" % (version, name))
                records = {version: records[version]}
            response = get_model_status_pb2.GetModelStatusResponse()
            for number, record in sorted(records.items(), reverse=True):
                response.model_version_status.add(
                    version=number, state=record.state,
                    status=status_pb2.StatusProto(error_code=record.error_code,
                                                  error_message=record.error_message))
            return response

    # ------------------------------------------------------------ readiness

    def wait_until_ready(self, names, stop, after_poll=0):
        """Block until every aspired version of each model is AVAILABLE or END (loaded or failed).

        Only polls started after poll number `after_poll` count. Returns the failures of
        models whose newest aspired version did not load, as text (empty when none
        failed), or None when `stop` was set.
        """
        with self._cond:
            while True:
                if stop.is_set() or self._stop.is_set():
                    return None
                failures, pending = [], self._polls_done <= after_poll
                for name in names:
                    model = self._models[name]
                    if not model.aspired:
                        pending = True
                        continue
                    records = [model.versions.get(number) for number in model.aspired]
                    if any(record is None or record.state not in (AVAILABLE, END) for record in records):
                        pending = True
                        continue
                    newest = model.versions[max(model.aspired)]
                    if newest.state == END and newest.error_code != errors.OK:
                        failures.append("%s due to error: %s: %s" % (
                            _servable_id(name, newest.number), errors.code_name(newest.error_code),
                            newest.error_message))
                if not pending:
                    return failures
                self._cond.wait(0.5)

    def reload_config(self, server_config, stop):
        """Apply a ModelServerConfig as ServerCore::ReloadConfig does; raises ServingError.

        The checks run in the real order; version labels are checked before anything new
        loads. Only models new to the list are waited for; models left out are unloaded.
        """
        with self._reload_lock:
            old_kind, kind = self._config.WhichOneof("config"), server_config.WhichOneof("config")
            if not (old_kind is None or self._config == server_config or old_kind == kind == _LIST):
                LOG.error(_TRANSITION_REFUSED)
                LOG.error("Old config: %s", self._config)
                LOG.error("New config: %s", server_config)
                raise errors.failed_precondition(_TRANSITION_REFUSED)
            if kind is None:
                LOG.info("Taking no action for empty config.")
                return
            if kind == _LIST:
                check_model_configs(server_config.model_config_list)
                if old_kind == _LIST:
                    check_platforms_unchanged(self._config.model_config_list, server_config.model_config_list)
            self._config.CopyFrom(server_config)
            configs = list(server_config.model_config_list.config)
            self._update_labels(configs)
            LOG.info("Adding/updating models.")
            if kind != _LIST:
                raise errors.unimplemented("ModelServer does not yet support custom model config.")
            check_platforms_supported(server_config.model_config_list)
            if not self._add_models(configs, stop):
                return
            LOG.info("Finished adding/updating models")
            if any(config.HasField("logging_config") for config in configs):
                raise errors.invalid_argument("No request-logger-creator provided.")
            LOG.info("Finished reloading config")

    def _update_labels(self, configs):
        """Replace the label map (UpdateModelVersionLabelMap): each label must name an AVAILABLE version.

        With allow_unavailable_labels a new label (or one that keeps its version) may name any version.
        """
        labels = {}
        with self._cond:
            for config in configs:
                model = self._models.get(config.name)
                for label, version in sorted(config.version_labels.items()):
                    existing = self._labels.get(config.name, {}).get(label, version)
                    record = model.versions.get(version) if model is not None else None
                    unavailable = record is None or record.state != AVAILABLE
                    if unavailable and not (self._allow_unavailable_labels and existing == version):
                        raise errors.failed_precondition(
                            "Request to assign label to version %d of model %s, which is not currently "
                            "available for inference" % (version, config.name))
                    labels.setdefault(config.name, {})[label] = version
            self._labels = labels

    def _add_models(self, configs, stop):
        """Configure the model list and wait for the models new to it; False when `stop` cut the wait short."""
        with self._cond:
            first = not self._configured
            new = [config.name for config in configs
                   if config.name not in self._models or self._models[config.name].config is None]
        after_poll = self.configure(configs)
        self._wake.set()
        if not new:
            return True
        failures = self.wait_until_ready(new, stop, after_poll)
        if failures:
            raise _not_available(failures, "servable(s)" if first else "model(s)")
        return failures is not None

    # ------------------------------------------------------------ shutdown

    def close(self, grace_seconds=10.0):
        """Stop polling and unload every version; requests still in flight after grace_seconds are cancelled."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        deadline = time.time() + grace_seconds
        with self._cond:
            loaded = [(model.name, record) for model in self._models.values() for record in model.available()]
        for name, record in loaded:
            self._unload(name, record, timeout=max(deadline - time.time(), 0.0))


def _not_available(failures, what):
    """The UNKNOWN error of models whose newest aspired version failed to load ("servable(s)" at start-up)."""
    return errors.ServingError(errors.UNKNOWN, "%d %s did not become available: {%s}"
                               % (len(failures), what, "".join("{%s}, " % failure for failure in failures)))
