"""Only AVAILABLE versions answer: a version still loading, failed, or unloading never serves a request."""
import threading

import pytest
from tensorflow_serving.config import model_server_config_pb2

from fake_loading import FakeLoader
from iriscourse.model_server import errors, registry

LOADING, AVAILABLE, UNLOADING, END = registry.LOADING, registry.AVAILABLE, registry.UNLOADING, registry.END


def _server_config(base, labels=None):
    server_config = model_server_config_pb2.ModelServerConfig()
    config = server_config.model_config_list.config.add(name="m", base_path=str(base), model_platform="tensorflow")
    config.model_version_policy.all.SetInParent()
    for label, version in (labels or {}).items():
        config.version_labels[label] = version
    return server_config


def _registry(base, loader):
    models = registry.ModelRegistry(loader, poll_wait_seconds=-1, max_load_retries=0, allow_unavailable_labels=True)
    models.configure(_server_config(base).model_config_list.config)
    return models


def _state(models, version):
    try:
        status = models.status("m").model_version_status
    except errors.ServingError:  # no version record yet
        return None
    return {entry.version: entry.state for entry in status}.get(version)


def _served(models, version=None, label=None):
    with models.acquire("m", version, label) as servable:
        return servable.version


def _not_found(models, version=None, label=None):
    with pytest.raises(errors.ServingError) as caught:
        _served(models, version, label)
    return caught.value.code, caught.value.message


def _wait_for(predicate):
    for _ in range(300):
        if predicate():
            return
        threading.Event().wait(0.01)
    raise AssertionError("condition not reached")


@pytest.fixture
def loading(tmp_path):
    """Version 1 AVAILABLE, version 2 held in LOADING; label 'canary' points at 2."""
    (tmp_path / "1").mkdir()
    loader = FakeLoader(hold={2})
    models = _registry(tmp_path, loader)
    models.poll()
    (tmp_path / "2").mkdir()
    poll = threading.Thread(target=models.poll)
    poll.start()
    _wait_for(lambda: _state(models, 2) == LOADING and _state(models, 1) == AVAILABLE)
    # a new label may name a version still loading (--allow_version_labels_for_unavailable_models)
    models.reload_config(_server_config(tmp_path, {"stable": 1, "canary": 2}), threading.Event())
    yield models
    loader.release.set()
    poll.join()


def test_a_version_still_loading_is_never_served(loading):
    assert _served(loading) == 1  # the latest AVAILABLE version, not the newer one that loads
    assert _not_found(loading, 2) == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 2)")
    assert _not_found(loading, label="canary") == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 2)")
    assert _served(loading, label="stable") == 1


def test_a_loading_version_serves_once_it_is_available(loading):
    loading._load_servable.release.set()
    _wait_for(lambda: _state(loading, 2) == AVAILABLE)
    assert _served(loading) == 2 and _served(loading, 2) == 2


def test_a_model_whose_only_version_is_loading_answers_not_found(tmp_path):
    (tmp_path / "1").mkdir()
    loader = FakeLoader(hold={1})
    models = _registry(tmp_path, loader)
    poll = threading.Thread(target=models.poll)
    poll.start()
    try:
        _wait_for(lambda: _state(models, 1) == LOADING)
        assert _not_found(models) == (errors.NOT_FOUND, "Servable not found for request: Latest(m)")
    finally:
        loader.release.set()
        poll.join()


def test_a_failed_version_is_never_served(tmp_path):
    for version in ("1", "2"):
        (tmp_path / version).mkdir()
    models = _registry(tmp_path, FakeLoader(fail={2}))
    models.poll()
    assert _state(models, 2) == END and _state(models, 1) == AVAILABLE
    assert _served(models) == 1
    assert _not_found(models, 2) == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 2)")


def test_an_unloading_version_is_never_served(tmp_path):
    (tmp_path / "1").mkdir()
    models = _registry(tmp_path, FakeLoader())
    models.poll()
    with models.acquire("m", 1):
        (tmp_path / "1").rename(tmp_path / "gone")
        unload = threading.Thread(target=models.poll)
        unload.start()
        _wait_for(lambda: _state(models, 1) == UNLOADING)  # waits for the request in flight
        assert _not_found(models, 1) == (errors.NOT_FOUND, "Servable not found for request: Specific(m, 1)")
        assert _not_found(models) == (errors.NOT_FOUND, "Servable not found for request: Latest(m)")
    unload.join()
    assert _state(models, 1) == END
