"""REST contract of local_model_server: routes, JSON formats and status codes (spec sections 3-10)."""
import base64
import json

import pytest

from server_harness import REST_TIMEOUT_MS

EXAMPLE_X_2 = "Cg8KDQoBeBIIEgYKBAAAAEA="  # serialized tf.Example with float feature x = [2.0]
HALF = "/v1/models/half_plus_two"


def _json(response):
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.text)


def _error(response, status):
    assert response.status_code == status, response.text
    return _json(response)["error"]


def test_status_lists_the_served_version(rest):
    response = rest.get(HALF)
    assert response.status_code == 200
    assert _json(response) == {"model_version_status": [
        {"version": "123", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


def test_status_lists_versions_in_descending_order(rest):
    versions = [entry["version"] for entry in _json(rest.get("/v1/models/versioned"))["model_version_status"]]
    assert versions == ["2", "1"]


def test_status_of_one_version_and_status_by_label_lists_every_version(rest):
    one = _json(rest.get("/v1/models/versioned/versions/1"))["model_version_status"]
    assert [entry["version"] for entry in one] == ["1"]
    for label in ("canary", "nope"):  # GetModelStatus ignores the label, known or not
        by_label = _json(rest.get("/v1/models/versioned/labels/%s" % label))["model_version_status"]
        assert [entry["version"] for entry in by_label] == ["2", "1"]


def test_status_errors(rest):
    assert _error(rest.get("/v1/models/nope"), 404) == "Could not find any versions of model nope"
    assert _error(rest.get(HALF + "/versions/7"), 404) == "Could not find version 7 of model half_plus_two"
    assert _error(rest.get("/v1/models"), 400) == "Missing model name in request."


def test_metadata_describes_the_signatures(rest):
    doc = _json(rest.get(HALF + "/metadata"))
    assert doc["model_spec"] == {"name": "half_plus_two", "signature_name": "", "version": "123"}
    signatures = doc["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["method_name"] == "tensorflow/serving/predict"
    assert default["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert default["inputs"]["x"]["name"] == "x:0"
    assert default["inputs"]["x"]["tensor_shape"] == {
        "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}], "unknown_rank": False}
    assert default["outputs"]["y"]["name"] == "y:0"
    assert signatures["regress_x_to_y"]["inputs"]["inputs"]["tensor_shape"]["unknown_rank"] is True
    assert signatures["classify_x_to_y"]["method_name"] == "tensorflow/serving/classify"


def test_metadata_of_a_version_and_errors(rest):
    assert _json(rest.get("/v1/models/versioned/versions/1/metadata"))["model_spec"]["version"] == "1"
    assert _json(rest.get("/v1/models/versioned/metadata"))["model_spec"]["version"] == "2"
    assert _error(rest.get("/v1/models/nope/metadata"), 404) == "Servable not found for request: Latest(nope)"
    assert (_error(rest.get(HALF + "/versions/9/metadata"), 404)
            == "Servable not found for request: Specific(half_plus_two, 9)")


def test_predict_row_format(rest):
    response = rest.post(HALF + ":predict", '{"instances": [1.0, 2.0, 5.0]}')
    assert _json(response) == {"predictions": [2.5, 3.0, 4.5]}
    assert response.text == '{\n    "predictions": [2.5, 3.0, 4.5\n    ]\n}'


def test_predict_feeds_shapes_the_signature_does_not_declare(rest):
    # x is declared [-1, 1]; TF Serving feeds [3] anyway and the element-wise graph accepts it.
    assert _json(rest.post(HALF + ":predict", '{"instances": [[1.0], [2.0], [5.0]]}')) == {
        "predictions": [[2.5], [3.0], [4.5]]}
    assert _json(rest.post(HALF + ":predict", '{"inputs": 3.0}')) == {"outputs": 3.5}


def test_predict_columnar_format(rest):
    response = rest.post(HALF + ":predict", '{"inputs": {"x": [[1.0], [2.0]]}}')
    assert _json(response) == {"outputs": [[2.5], [3.0]]}
    assert _json(rest.post(HALF + ":predict", '{"inputs": [1.0, 2.0]}')) == {"outputs": [2.5, 3.0]}


def test_predict_on_versions_and_labels(rest):
    body = '{"instances": [1.0]}'
    assert _json(rest.post("/v1/models/versioned/versions/1:predict", body)) == {"predictions": [2.5]}
    assert _json(rest.post("/v1/models/versioned/versions/2:predict", body)) == {"predictions": [3.5]}
    assert _json(rest.post("/v1/models/versioned/labels/stable:predict", body)) == {"predictions": [2.5]}
    assert _json(rest.post("/v1/models/versioned:predict", body)) == {"predictions": [3.5]}


def test_predict_with_b64_serialized_examples(rest):
    body = json.dumps({"signature_name": "regress_x_to_y", "instances": [{"b64": EXAMPLE_X_2}]})
    assert _json(rest.post(HALF + ":predict", body)) == {"predictions": [[3.0]]}


def test_predict_accepts_classify_and_regress_signatures(rest):
    body = '{"signature_name": "regress_x2_to_y3", "inputs": {"inputs": [[1.0]]}}'
    assert _json(rest.post(HALF + ":predict", body)) == {"outputs": [[3.5]]}


def test_predict_several_outputs_row_and_columnar(rest):
    body = json.dumps({"signature_name": "typed", "instances": [
        {"ints": 1, "longs": 2 ** 40, "flags": True, "doubles": 0.1},
        {"ints": -3, "longs": -1, "flags": False, "doubles": 1e300}]})
    assert _json(rest.post(HALF + ":predict", body)) == {"predictions": [
        {"ints": 2, "longs": 2 ** 40 + 1, "flags": False, "doubles": 0.2},
        {"ints": -6, "longs": 0, "flags": True, "doubles": 2e300}]}
    body = json.dumps({"signature_name": "typed", "inputs": {"ints": [1], "longs": [2], "flags": [True],
                                                            "doubles": [0.5], "ignored": 1}})
    assert _json(rest.post(HALF + ":predict", body)) == {"outputs": {
        "ints": [2], "longs": [3], "flags": [False], "doubles": [1.0]}}


def test_string_outputs_are_raw_unless_the_alias_ends_in_bytes(rest):
    body = json.dumps({"signature_name": "echo_bytes", "instances": ["caf\u00e9", {"b64": "/w=="}]})
    predictions = _json(rest.post(HALF + ":predict", body))["predictions"]
    assert predictions[0] == {"text": "caf\u00e9", "text_bytes": {"b64": base64.b64encode(
        "caf\u00e9".encode()).decode()}}
    assert predictions[1]["text_bytes"] == {"b64": "/w=="}


def test_float_output_uses_round_trip_formatting(rest):
    response = rest.post(HALF + ":predict", '{"instances": [1111111.0, 0.1, 1e-7]}')
    assert response.text == '{\n    "predictions": [555557.5, 2.05, 2.0\n    ]\n}'


def test_nan_and_infinity_pass_through(rest):
    response = rest.post(HALF + ":predict", '{"instances": [NaN, Infinity, -Infinity]}')
    assert "NaN" in response.text and "-Infinity" in response.text
    values = _json(response)["predictions"]
    assert values[0] != values[0] and values[1] == float("inf") and values[2] == float("-inf")


def test_zero_batch_gives_empty_predictions(rest):
    assert _json(rest.post(HALF + ":predict", '{"inputs": []}')) == {"outputs": []}
    body = json.dumps({"signature_name": "typed", "instances": [
        {"ints": [], "longs": [], "flags": [], "doubles": []}]})
    assert _json(rest.post(HALF + ":predict", body))["predictions"][0]["ints"] == []


def test_trailing_text_after_the_json_document_is_ignored(rest):
    assert _json(rest.post(HALF + ":predict", '{"instances": [1.0]} trailing')) == {"predictions": [2.5]}


def test_regress(rest):
    body = '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}, {"x": 10.0}, {"x": 80.0}]}'
    assert _json(rest.post(HALF + ":regress", body)) == {"results": [3.0, 7.0, 42.0]}


def test_regress_with_context(rest):
    body = ('{"signature_name": "regress_x_to_y2", "context": {"x": 4.0}, '
            '"examples": [{"x2": 1.0}, {"x": 2.0}]}')
    assert _json(rest.post(HALF + ":regress", body)) == {"results": [5.0, 4.0]}


def test_regress_on_a_float_input_signature_fails_in_the_graph(rest):
    body = '{"signature_name": "regress_x2_to_y3", "examples": [{"x2": 1.0}]}'
    assert "Type mismatch" in _error(rest.post(HALF + ":regress", body), 400)


def test_classify(rest):
    body = '{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}, {"x": 20.0}]}'
    assert _json(rest.post(HALF + ":classify", body)) == {"results": [[["", 3.0]], [["", 12.0]]]}


def test_classify_and_regress_need_matching_signatures(rest):
    body = '{"examples": [{"x": 2.0}]}'
    assert (_error(rest.post(HALF + ":classify", body), 400) == "Expected classification signature method_name "
            "to be tensorflow/serving/classify. Was: tensorflow/serving/predict")
    assert "Expected regression signature method_name" in _error(rest.post(HALF + ":regress", body), 400)
    body = '{"signature_name": "nope", "examples": [{"x": 2.0}]}'
    assert _error(rest.post(HALF + ":regress", body), 400) == "No signature was found with the name: nope"


def test_tf_example_parse_errors_are_400(rest):
    body = '{"signature_name": "regress_x_to_y", "examples": [{"x": 2}]}'
    assert "Data types don't match" in _error(rest.post(HALF + ":regress", body), 400)
    body = '{"signature_name": "regress_x_to_y", "examples": [{"other": 2.0}]}'
    assert "is required but could not be found" in _error(rest.post(HALF + ":regress", body), 400)


def test_session_timeout_is_504(rest):
    response = rest.post(HALF + ":predict", '{"signature_name": "blocked", "instances": [1.0]}')
    assert response.status_code == 504
    assert response.elapsed.total_seconds() >= REST_TIMEOUT_MS / 1000.0 * 0.9
    assert _json(rest.post(HALF + ":predict", '{"instances": [1.0]}')) == {"predictions": [2.5]}


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/", 404), ("GET", "/healthz", 404), ("POST", "/v1", 404), ("GET", "/v2/models/half_plus_two", 404)])
def test_paths_outside_v1_are_404_html(rest, method, path, status):
    response = rest.request(method, rest.url(path))
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert "404 Not Found" in response.text


@pytest.mark.parametrize("method, path", [
    ("PUT", HALF), ("DELETE", HALF), ("POST", HALF), ("GET", HALF + ":predict"), ("POST", HALF + ":Predict"),
    ("POST", HALF + ":explain"), ("GET", HALF + "/"), ("GET", HALF + "/version/1"), ("GET", HALF + "/versions/x"),
    ("POST", HALF + "/metadata"), ("OPTIONS", HALF), ("PATCH", HALF + ":predict"),
    ("GET", HALF + "/versions/1/labels/a"),
])
def test_unknown_routes_under_v1_are_malformed_requests(rest, method, path):
    response = rest.request(method, rest.url(path), data="{}")
    assert response.status_code == 400
    assert _json(response)["error"] == "Malformed request: %s %s" % (method, path)


def test_head_request_is_malformed(rest):
    response = rest.request("HEAD", rest.url(HALF))
    assert response.status_code == 400


def test_query_strings_are_part_of_the_model_name(rest):
    assert "Could not find any versions of model half_plus_two?x=1" in _error(rest.get(HALF + "?x=1"), 404)


def test_percent_encoded_model_names_are_decoded(rest):
    assert _json(rest.get("/v1/models/half%5Fplus%5Ftwo"))["model_version_status"][0]["version"] == "123"


def test_get_bodies_are_ignored(rest):
    response = rest.request("GET", rest.url(HALF), data="x" * 100000)
    assert response.status_code == 200
