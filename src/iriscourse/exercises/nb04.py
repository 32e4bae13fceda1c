"""Exercises of notebook 04: REST requests in columnar form, and pinning a version in a model config file."""
import shutil

import numpy as np
import requests

from .. import data, estimator, export, paths, serving
from . import Wrong, call, exercise


def _estimator_classes(rows):
    predictions = estimator.ensure_trained().predict(lambda: data.eval_input_fn(rows, None, 100))
    return [int(p["class_ids"][0]) for p in predictions]


@exercise("04.1", "A columnar request for a batch", "easy", 5,
          "POST {'inputs': {name: rows[name].tolist() for name in data.FEATURE_NAMES}} with json= to "
          "rest_url + '/v1/models/raw_export_model:predict'; the reply's 'outputs' holds 'class_ids', one "
          "[id] per row.")
def check_predict_columnar(predict_columnar):
    """``predict_columnar(rest_url, rows)`` returns the class ids the server gives for a frame of rows."""
    _, (test_x, _) = data.load_data()
    rows = test_x.iloc[10:22]
    server = serving.start("exercise-04.1", model_name="raw_export_model",
                           model_base_path=export.ensure_export("raw").parent)
    try:
        got = call(predict_columnar, server.rest_url, rows)
    finally:
        server.stop()
    expected = _estimator_classes(rows)
    got = np.asarray(got).ravel().tolist() if got is not None else got
    if got != expected:
        raise Wrong("for test rows 10 to 21 it returned {}, but the model predicts {}: one class id per row, "
                    "in row order".format(got, expected))
    return "The server's class ids for 12 test rows in one columnar request: {}.".format(expected)


@exercise("04.2", "Pin a version with model_version_policy", "medium", 15,
          "In the config of raw_export_model add  model_version_policy { specific { versions: N } }  next to "
          "name, base_path and model_platform. Without a policy the server serves the latest version only.")
def check_pinned_config(pinned_config):
    """``pinned_config(base_path, version)`` is a model config that serves only ``version`` of raw_export_model."""
    base = paths.fresh_dir(paths.artifact("exercises", "04.2", "raw"))
    for version in ("1", "2"):
        shutil.copytree(str(export.ensure_export("raw")), str(base / version))
    text = call(pinned_config, str(base.resolve()), 1)  # the server refuses relative base paths
    if not isinstance(text, str) or "raw_export_model" not in text:
        raise Wrong("return the config file's text, serving a model named raw_export_model")
    config_file = paths.artifact("exercises", "04.2", "models.config")
    config_file.write_text(text)
    try:
        server = serving.start("exercise-04.2", models=["raw_export_model"], model_config_file=config_file,
                               timeout=20)
    except (RuntimeError, TimeoutError) as failure:
        raise Wrong("the server did not start with it: {}".format(str(failure).splitlines()[-1])) from None
    try:
        status = requests.get(server.rest_url + "/v1/models/raw_export_model", timeout=10).json()
    finally:
        server.stop()
    states = {v["version"]: v["state"] for v in status["model_version_status"]}
    if states.get("2") == "AVAILABLE":
        raise Wrong("version 2, the newest, is served ({}): the policy does not pin version 1".format(states))
    if states.get("1") != "AVAILABLE":
        raise Wrong("version 1 is not AVAILABLE ({})".format(states))
    return "With versions 1 and 2 on disk the server serves only version 1: {}.".format(states)
