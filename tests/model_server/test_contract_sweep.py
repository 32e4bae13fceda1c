"""A sweep of the server's contract: each route x verb spelling x error kind, and each dtype x API.

Each case names the status code, the canonical code (gRPC) and the message a client sees, so a
change to any of them fails a named case. New cases are rows in the tables below.
"""
import base64
import json

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import inference_pb2, predict_pb2

from server_harness import MAX_BODY_BYTES

HALF = "/v1/models/half_plus_two"
EXAMPLE_X_2 = "Cg8KDQoBeBIIEgYKBAAAAEA="  # serialized tf.Example with float feature x = [2.0]
TIMEOUT = 20

# ------------------------------------------------------------------ REST routes and verbs

GOOD_BODIES = {
    "predict": {"instances": [[1.0], [3.0]]},
    "classify": {"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]},
    "regress": {"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]},
}
EXPECTED = {
    "predict": {"predictions": [[2.5], [3.5]]},
    "classify": {"results": [[["", 2.5]]]},
    "regress": {"results": [2.5]},
}


@pytest.mark.parametrize("verb", ["predict", "classify", "regress"])
@pytest.mark.parametrize("prefix", ["/v1/models/", "/V1/MODELS/", "/v1/Models/"])
def test_the_path_matches_in_any_case_and_each_verb_answers(rest, verb, prefix):
    response = rest.post(prefix + "half_plus_two:" + verb, json.dumps(GOOD_BODIES[verb]))
    assert response.status_code == 200, response.text
    assert response.json() == EXPECTED[verb]


@pytest.mark.parametrize("verb", ["PREDICT", "Predict", "CLASSIFY", "Regress"])
def test_a_verb_spelled_in_another_case_is_a_malformed_request_as_in_tf_serving(rest, verb):
    response = rest.post(HALF + ":" + verb, json.dumps(GOOD_BODIES[verb.lower()]))
    assert response.status_code == 400
    assert response.json() == {"error": "Malformed request: POST %s:%s" % (HALF, verb)}


ERROR_KINDS = [
    # (id, verb, path, body, HTTP status, exact "error" text)
    ("predict unknown model", "predict", "/v1/models/nope", {"instances": [1.0]}, 404,
     "Servable not found for request: Latest(nope)"),
    ("predict unknown version", "predict", HALF + "/versions/9", {"instances": [1.0]}, 404,
     "Servable not found for request: Specific(half_plus_two, 9)"),
    ("predict unknown label", "predict", HALF + "/labels/gold", {"instances": [1.0]}, 400,
     "Unrecognized servable version label: gold"),
    ("predict unknown signature", "predict", HALF, {"signature_name": "nope", "instances": [1.0]}, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("predict neither key", "predict", HALF, {"signature_name": "serving_default"}, 400,
     "Missing 'inputs' or 'instances' key"),
    ("classify unknown model", "classify", "/v1/models/nope", {"examples": [{"x": 1.0}]}, 404,
     "Servable not found for request: Latest(nope)"),
    ("classify unknown version", "classify", HALF + "/versions/9", {"examples": [{"x": 1.0}]}, 404,
     "Servable not found for request: Specific(half_plus_two, 9)"),
    ("classify unknown signature", "classify", HALF, {"signature_name": "nope", "examples": [{"x": 1.0}]}, 400,
     "No signature was found with the name: nope"),
    ("classify predict signature", "classify", HALF, {"examples": [{"x": 1.0}]}, 400,
     "Expected classification signature method_name to be tensorflow/serving/classify. Was: "
     "tensorflow/serving/predict"),
    ("regress unknown model", "regress", "/v1/models/nope", {"examples": [{"x": 1.0}]}, 404,
     "Servable not found for request: Latest(nope)"),
    ("regress unknown signature", "regress", HALF, {"signature_name": "nope", "examples": [{"x": 1.0}]}, 400,
     "No signature was found with the name: nope"),
    ("regress predict signature", "regress", HALF, {"examples": [{"x": 1.0}]}, 400,
     "Expected regression signature method_name to be tensorflow/serving/regress. Was: "
     "tensorflow/serving/predict"),
]


@pytest.mark.parametrize("kind, verb, path, body, status, message", ERROR_KINDS, ids=[e[0] for e in ERROR_KINDS])
def test_each_verb_and_error_kind_answers_its_status_and_message(rest, kind, verb, path, body, status, message):
    response = rest.post(path + ":" + verb, json.dumps(body))
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}


# ------------------------------------------------------------------ JSON parse errors (spec 7.1)

PARSE_ERRORS = [
    (b'{"instances": [1.0,]}', "Invalid value. at offset: 19"),
    (b'{"instances": [1.0 2.0]}', "Missing a comma or ']' after an array element. at offset: 19"),
    (b'{"instances": [1.0]', "Missing a comma or '}' after an object member. at offset: 19"),
    (b"{'instances': [1.0]}", "Missing a name for object member. at offset: 1"),
    (b'{"instances" [1.0]}', "Missing a colon after a name of object member. at offset: 13"),
    (b'{"instances": ["abc]}', "Missing a closing quotation mark in string."),
    (b'{"instances": [1.]}', "Miss fraction part in number. at offset: 17"),
    (b'{"instances": [1e]}', "Miss exponent in number. at offset: 17"),
    (b'{"instances": [2.5e+]}', "Miss exponent in number. at offset: 20"),
    (b'{"instances": ["\\x"]}', "Invalid escape character in string."),
    (b'{"instances": [1e999]}', "Number too big to be stored in double. at offset: 15"),
]


@pytest.mark.parametrize("body, text", PARSE_ERRORS, ids=[p[0].decode() for p in PARSE_ERRORS])
def test_each_json_parse_error_has_rapidjsons_text_and_offset(rest, body, text):
    response = rest.post(HALF + ":predict", body)
    assert response.status_code == 400
    assert response.json()["error"].startswith("JSON Parse error: " + text)


# ------------------------------------------------------------------ b64 as the whole columnar input

def test_a_columnar_inputs_value_that_is_one_b64_object_is_the_single_inputs_value(rest):
    body = {"signature_name": "echo_bytes", "inputs": {"b64": base64.b64encode(b"hi").decode()}}
    assert rest.post(HALF + ":predict", json.dumps(body)).json() == {
        "outputs": {"text": "hi", "text_bytes": {"b64": "aGk="}}}  # a rank-0 string, not a named input "b64"
    several = {"signature_name": "typed", "inputs": {"b64": "aGk="}}
    response = rest.post(HALF + ":predict", json.dumps(several))
    assert response.status_code == 400
    assert response.json() == {"error": "inputs is a plain value/list, but expecting an object as multiple input "
                                        "tensors required as per tensorinfo_map"}


# ------------------------------------------------------------------ body size limit, at the byte

def _body_of_exact_size(size):
    head, tail = b'{"instances": [1.0], "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_refused(rest):
    at_limit = rest.post(HALF + ":predict", _body_of_exact_size(MAX_BODY_BYTES))
    assert len(at_limit.request.body) == MAX_BODY_BYTES
    assert at_limit.json() == {"predictions": [2.5]}  # read whole and served (extra keys are ignored)
    over = rest.post(HALF + ":predict", _body_of_exact_size(MAX_BODY_BYTES + 1))
    assert over.status_code == 413
    assert over.json() == {"error": "Request body of %d bytes exceeds the limit of %d bytes "
                                    "(--rest_api_max_body_bytes)" % (MAX_BODY_BYTES + 1, MAX_BODY_BYTES)}


# ------------------------------------------------------------------ dtypes over gRPC, in their typed fields

TYPED = [
    # (alias, numpy dtype, DataType, typed field, values sent, values returned)
    ("ints", np.int32, types_pb2.DT_INT32, "int_val", [1, -3, 2 ** 29], [2, -6, 2 ** 30]),
    ("longs", np.int64, types_pb2.DT_INT64, "int64_val", [2 ** 40, -1], [2 ** 40 + 1, 0]),
    ("flags", np.bool_, types_pb2.DT_BOOL, "bool_val", [True, False], [False, True]),
    ("doubles", np.float64, types_pb2.DT_DOUBLE, "double_val", [0.1, 1e300], [0.2, 2e300]),
]


def _typed_request(fill):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half_plus_two"
    request.model_spec.signature_name = "typed"
    for alias, np_dtype, dtype, field, sent, _ in TYPED:
        fill(request.inputs[alias], np.array(sent, np_dtype), dtype, field)
    return request


def _in_typed_field(proto, array, dtype, field):
    proto.dtype = dtype
    proto.tensor_shape.dim.add(size=array.size)
    getattr(proto, field).extend(array.tolist())


def _in_tensor_content(proto, array, dtype, field):
    proto.CopyFrom(tf.make_tensor_proto(array))


@pytest.mark.parametrize("fill", [_in_typed_field, _in_tensor_content], ids=["typed fields", "tensor_content"])
def test_each_dtype_round_trips_over_grpc_in_its_typed_field(prediction_stub, fill):
    response = prediction_stub.Predict(_typed_request(fill), TIMEOUT)
    for alias, np_dtype, dtype, field, _, returned in TYPED:
        output = response.outputs[alias]
        assert output.dtype == dtype, alias
        assert list(getattr(output, field)) == returned, alias
        assert not output.tensor_content, alias
        assert [d.size for d in output.tensor_shape.dim] == [len(returned)], alias


def test_half_precision_round_trips_over_grpc_and_is_unimplemented_over_rest(prediction_stub, rest):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "half_plus_two"
    request.model_spec.signature_name = "half"
    request.inputs["halves"].CopyFrom(tf.make_tensor_proto(np.array([1.5, -2.0], np.float16)))
    output = prediction_stub.Predict(request, TIMEOUT).outputs["halves"]
    assert output.dtype == types_pb2.DT_HALF
    assert tf.make_ndarray(output).tolist() == [1.5, -2.0]
    columnar = rest.post(HALF + ":predict", json.dumps({"signature_name": "half", "inputs": {"halves": [1.5]}}))
    assert (columnar.status_code, columnar.json()) == (501, {"error": "Conversion of JSON Value: 1.5 to type: half"})
    row = rest.post(HALF + ":predict", json.dumps({"signature_name": "half", "instances": [1.5]}))
    assert row.status_code == 400 and "Conversion of JSON Value: 1.5 to type: half" in row.json()["error"]


@pytest.mark.parametrize("alias, np_dtype, dtype, field, sent, returned", TYPED, ids=[t[0] for t in TYPED])
def test_a_tensor_of_the_wrong_dtype_is_invalid_argument_over_grpc(prediction_stub, alias, np_dtype, dtype, field,
                                                                   sent, returned):
    expected = {"ints": "int32", "longs": "int64", "flags": "bool", "doubles": "double"}[alias]
    request = _typed_request(_in_tensor_content)
    request.inputs[alias].CopyFrom(tf.make_tensor_proto(np.array(sent, np.float32)))
    with pytest.raises(grpc.RpcError) as caught:
        prediction_stub.Predict(request, TIMEOUT)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("Type mismatch: actual float vs. expect " + expected)


# ------------------------------------------------------------------ MultiInference and model names

def _multi(names):
    request = inference_pb2.MultiInferenceRequest()
    for name, signature in names:
        task = request.tasks.add(method_name="tensorflow/serving/regress")
        task.model_spec.name = name
        task.model_spec.signature_name = signature
    example = request.input.example_list.examples.add()
    example.features.feature["x"].float_list.value.append(1.0)
    return request


@pytest.mark.parametrize("names, code, message", [
    ([("half_plus_two", "regress_x_to_y"), ("versioned", "regress_x_to_y2")], grpc.StatusCode.INVALID_ARGUMENT,
     "All ModelSpecs in a MultiInferenceRequest must access the same model name."),
    ([("half_plus_two", "regress_x_to_y"), ("", "regress_x_to_y2")], grpc.StatusCode.INVALID_ARGUMENT,
     "Found ModelSpec with an empty model name."),
    # The servable is looked up by the first task's spec before the tasks are checked (multi_inference_helper.cc).
    ([("", "regress_x_to_y")], grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest()"),
    ([("nope", "regress_x_to_y")], grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(nope)"),
])
def test_multi_inference_rules_about_model_names(prediction_stub, names, code, message):
    with pytest.raises(grpc.RpcError) as caught:
        prediction_stub.MultiInference(_multi(names), TIMEOUT)
    assert (caught.value.code(), caught.value.details()) == (code, message)


def test_multi_inference_with_one_model_named_in_every_task_answers_each(prediction_stub):
    response = prediction_stub.MultiInference(
        _multi([("half_plus_two", "regress_x_to_y"), ("half_plus_two", "regress_x_to_y2")]), TIMEOUT)
    assert [r.regression_result.regressions[0].value for r in response.results] == [2.5, 3.5]


@pytest.mark.parametrize("dtype", [types_pb2.DT_RESOURCE, types_pb2.DT_VARIANT, 999])
def test_a_tensor_of_a_dtype_without_values_is_a_tensor_parsing_error_and_the_server_keeps_serving(
        prediction_stub, dtype):
    request = _typed_request(_in_tensor_content)
    request.inputs["ints"].Clear()
    request.inputs["ints"].dtype = dtype
    request.inputs["ints"].tensor_shape.dim.add(size=1)
    with pytest.raises(grpc.RpcError) as caught:
        prediction_stub.Predict(request, TIMEOUT)
    assert (caught.value.code(), caught.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT,
                                                             "tensor parsing error: ints")
    assert prediction_stub.Predict(_typed_request(_in_typed_field), TIMEOUT).outputs["ints"].int_val[0] == 2
