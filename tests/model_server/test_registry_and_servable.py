"""Version discovery, policies and swaps (registry) and graph runs (servable), checked in-process."""
import os
import threading

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from iriscourse.model_server import errors, registry, servable

AVAILABLE, END = registry.AVAILABLE, registry.END


def _policy(text):
    config = model_server_config_pb2.ModelConfig()
    text_format.Parse(text, config.model_version_policy)
    return config.model_version_policy


@pytest.mark.parametrize("policy, expected", [
    ("", {7}), ("latest { num_versions: 2 }", {7, 5}), ("all {}", {1, 5, 7}),
    ("specific { versions: 1 versions: 9 }", {1})])
def test_version_policies(policy, expected):
    assert registry.aspired_versions("m", _policy(policy), {1: "a", 5: "b", 7: "c"}) == expected


def test_only_whole_int64_names_are_versions(tmp_path):
    for name in ["00000123", "7", "007", "1a", "tmp", "-3", "99999999999999999999", ".incoming-2"]:
        (tmp_path / name).mkdir()
    (tmp_path / "saved_model.pb").write_bytes(b"")
    versions = registry.list_versions("m", str(tmp_path))
    assert sorted(versions) == [-3, 7, 123]
    assert versions[7] == str(tmp_path / "007")  # duplicates: one wins, with a warning
    assert registry.list_versions("m", str(tmp_path / "missing")) is None


def test_base_path_pointing_at_a_version_directory_gets_a_hint(tmp_path, caplog):
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert registry.list_versions("m", str(tmp_path)) == {}
    assert "No versions of servable m found under base path %s (it holds a SavedModel itself" % tmp_path in caplog.text


class _FakeServable(object):
    def __init__(self, version):
        self.version, self.closed = version, False

    def close(self):
        self.closed = True


def _registry_for(base, load=_FakeServable):
    models = registry.ModelRegistry(lambda name, version, path: load(version), poll_wait_seconds=-1,
                                    max_load_retries=0)
    config = model_server_config_pb2.ModelConfig(name="m", base_path=str(base))
    models.configure([config])
    return models


def _states(models):
    return [(entry.version, entry.state) for entry in models.status("m").model_version_status]


def test_swap_waits_for_requests_in_flight_on_the_old_version(tmp_path):
    (tmp_path / "1").mkdir()
    models = _registry_for(tmp_path)
    models.poll()
    assert _states(models) == [(1, AVAILABLE)]
    with models.acquire("m") as old:
        (tmp_path / "2").mkdir()
        swap = threading.Thread(target=models.poll)
        swap.start()
        swap.join(0.3)
        assert swap.is_alive() and not old.closed  # version 1 is quiescing, not closed under our feet
        with models.acquire("m") as new:
            assert new.version == 2
    swap.join()
    assert old.closed and _states(models) == [(2, AVAILABLE), (1, END)]


def test_failed_load_keeps_the_previous_version_and_is_not_retried(tmp_path):
    attempts = []

    def load(version):
        attempts.append(version)
        if version == 2:
            raise errors.not_found("broken")
        return _FakeServable(version)

    (tmp_path / "1").mkdir()
    models = _registry_for(tmp_path, load)
    models.poll()
    (tmp_path / "2").mkdir()
    models.poll()
    models.poll()
    status = models.status("m").model_version_status
    assert [(entry.version, entry.state) for entry in status] == [(2, END), (1, AVAILABLE)]
    assert status[0].status.error_message == "broken" and status[0].status.error_code == errors.NOT_FOUND
    assert attempts == [1, 2]
    with models.acquire("m") as current:
        assert current.version == 1


def test_removed_version_is_unloaded_and_can_come_back(tmp_path):
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    models = _registry_for(tmp_path)
    models.poll()
    os.rmdir(str(tmp_path / "2"))
    models.poll()
    assert _states(models) == [(2, END), (1, AVAILABLE)]
    (tmp_path / "2").mkdir()
    models.poll()
    assert _states(models) == [(2, AVAILABLE), (1, END)]


def test_requests_for_unknown_models_versions_and_labels(tmp_path):
    (tmp_path / "1").mkdir()
    models = _registry_for(tmp_path)
    models.poll()
    with pytest.raises(errors.ServingError, match=r"Latest\(x\)"):
        models.acquire("x").__enter__()
    with pytest.raises(errors.ServingError, match=r"Specific\(m, 4\)"):
        models.acquire("m", 4).__enter__()
    with pytest.raises(errors.ServingError, match="Unrecognized servable version label: l"):
        models.acquire("m", label="l").__enter__()


@pytest.fixture(scope="module")
def half_plus_two(saved_models):
    loaded = servable.Servable("half", 1, saved_models.half_plus_two, ["serve"])
    yield loaded
    loaded.close()


def test_servable_runs_without_python_shape_checks(half_plus_two):
    y = half_plus_two.run({"x:0": np.array([1.0, 2.0], np.float32)}, ["y:0"])[0]
    assert y.tolist() == [2.5, 3.0]


def test_servable_maps_graph_errors_to_status_codes(half_plus_two):
    with pytest.raises(errors.ServingError) as failure:
        half_plus_two.run({"x:0": np.array(["a"], object)}, ["y:0"])
    assert failure.value.code == errors.INVALID_ARGUMENT
    with pytest.raises(errors.ServingError) as failure:
        half_plus_two.run({"x:0": np.array([1.0], np.float32)}, ["blocked:0"], timeout_ms=100)
    assert failure.value.code == errors.DEADLINE_EXCEEDED


def test_servable_validates_examples_bound_for_parse_example(half_plus_two):
    with pytest.raises(errors.ServingError, match="Could not parse example input"):
        half_plus_two.run({"tf_example:0": np.array([b"\xff"], object)}, ["y:0"])
    example = tf.train.Example(features=tf.train.Features(feature={
        "x": tf.train.Feature(float_list=tf.train.FloatList(value=[2.0]))})).SerializeToString()
    assert half_plus_two.run({"tf_example:0": np.array([example], object)}, ["y:0"])[0].tolist() == [[3.0]]
    # the echo input is a string too, but reaches no parse op: anything goes
    assert half_plus_two.run({"text:0": np.array([b"\xff"], object)}, ["echo:0"])[0].tolist() == [b"\xff"]


def test_servable_load_failures_are_statuses(tmp_path):
    with pytest.raises(errors.ServingError) as failure:
        servable.Servable("m", 1, str(tmp_path), ["serve"])
    assert failure.value.code == errors.NOT_FOUND
    assert "Could not find SavedModel .pb or .pbtxt" in failure.value.message
