"""Bad REST requests get TF Serving's {"error": ...} with the right 4xx code, and the server keeps serving."""
import base64
import json
import socket
import time

import pytest

from server_harness import MAX_BODY_BYTES, REST_TIMEOUT_MS

HALF = "/v1/models/half_plus_two"
RAW = "/v1/models/raw_export_model"
PARSING = "/v1/models/parsing_export_model"
GOOD_IRIS_ROW = {"SepalLength": [5.1], "SepalWidth": [3.3], "PetalLength": [1.7], "PetalWidth": [0.5]}
MALFORMED_EXAMPLE = base64.b64encode(b"\xff").decode()


def _body(doc):
    return json.dumps(doc).encode()


def _deep(depth):
    return b'{"instances": ' + b"[" * depth + b"1.0" + b"]" * depth + b"}"


CASES = [
    # (id, path, body, status, message substring)
    ("empty body", HALF + ":predict", b"", 400, "JSON Parse error: The document is empty"),
    ("whitespace body", HALF + ":predict", b"  \n", 400, "JSON Parse error: The document is empty"),
    ("invalid json", HALF + ":predict", b'{"instances": [1.0,]}', 400, "JSON Parse error: Invalid value."),
    ("missing comma", HALF + ":predict", b'{"instances": [1.0 2.0]}', 400,
     "JSON Parse error: Missing a comma or ']' after an array element. at offset: 19"),
    ("unterminated object", HALF + ":predict", b'{"instances": [1.0]', 400, "Missing a comma or '}'"),
    ("single quotes", HALF + ":predict", b"{'instances': [1.0]}", 400, "Missing a name for object member."),
    ("number too big", HALF + ":predict", b'{"instances": [1e999]}', 400,
     "Number too big to be stored in double."),
    ("bad escape", HALF + ":predict", b'{"instances": ["\\x"]}', 400, "Invalid escape character in string."),
    ("not utf-8 outside strings", HALF + ":predict", b'\xff\xfe{"instances": [1.0]}', 400,
     "JSON Parse error: Invalid value. at offset: 0"),
    ("not utf-8 in a float input", HALF + ":predict", b'{"instances": ["\xff"]}', 400,
     "is not of expected type: float"),
    ("top level array", HALF + ":predict", b"[1.0]", 400, "Is not object"),
    ("signature_name not a string", HALF + ":predict", _body({"signature_name": 1, "instances": [1.0]}), 400,
     "'signature_name' key must be a string value."),
    ("both instances and inputs", HALF + ":predict", _body({"instances": [1.0], "inputs": [1.0]}), 400,
     "expecting only one of 'inputs' or 'instances' keys to exist "),
    ("neither instances nor inputs", HALF + ":predict", _body({"values": [1.0]}), 400,
     "Missing 'inputs' or 'instances' key"),
    ("instances not a list", HALF + ":predict", _body({"instances": {"x": 1.0}}), 400,
     "Expecting 'instances' to be an list/array"),
    ("instances empty", HALF + ":predict", _body({"instances": []}), 400, "No values in 'instances' array"),
    ("string for a float", HALF + ":predict", _body({"instances": ["a"]}), 400,
     'JSON Value: "a" Type: String is not of expected type: float'),
    ("bool for a float", HALF + ":predict", _body({"inputs": [True]}), 400,
     "Type: True is not of expected type: float"),
    ("null for a float", HALF + ":predict", _body({"inputs": [None]}), 400,
     "Type: Null is not of expected type: float"),
    ("object for a float", HALF + ":predict", _body({"instances": [{"b64": "AAAA"}]}), 400,
     "Type: Object is not of expected type: float"),
    ("float for an int32", HALF + ":predict",
     _body({"signature_name": "typed", "inputs": {"ints": [1.0], "longs": [1], "flags": [True], "doubles": [1]}}),
     400, "JSON Value: 1.0 Type: Number is not of expected type: int32"),
    ("int32 overflow", HALF + ":predict",
     _body({"signature_name": "typed", "inputs": {"ints": [2 ** 31], "longs": [1], "flags": [True],
                                                  "doubles": [1]}}),
     400, "is not of expected type: int32"),
    ("ragged batch sizes", HALF + ":predict", _body({"instances": [[1.0], [1.0, 2.0]]}), 400,
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 1 but got: 2"),
    ("ragged batch shapes", HALF + ":predict", _body({"instances": [[1.0], [[2.0]]]}), 400,
     "Expecting shape [1] but got: [1,1]"),
    ("ragged nested list", HALF + ":predict", _body({"inputs": [[1.0, 2.0], [3.0]]}), 400,
     "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
    ("scalar at the wrong level", HALF + ":predict", _body({"inputs": [[1.0], 2.0]}), 400,
     "found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
    ("list nested too deep", HALF + ":predict", _body({"inputs": [1.0, [2.0]]}), 400,
     "Encountered list at unexpected level: 1 expected < 1"),
    ("unknown named input", RAW + ":predict", _body({"instances": [dict(GOOD_IRIS_ROW, Bogus=[1.0])]}), 400,
     "key: Bogus of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: Bogus"),
    ("missing named input in a row", RAW + ":predict",
     _body({"instances": [{"SepalLength": [5.1], "SepalWidth": [3.3], "PetalLength": [1.7]}]}), 400,
     "keys must be equal to: PetalLength,PetalWidth,SepalLength,SepalWidth"),
    ("missing named input in columns", RAW + ":predict", _body({"inputs": {"SepalLength": [5.1]}}), 400,
     "Missing named input: PetalLength in 'inputs' object."),
    ("plain list for several inputs", RAW + ":predict", _body({"instances": [5.1, 3.3]}), 400,
     "instances is a plain list, but expecting list of objects"),
    ("plain value for several inputs", RAW + ":predict", _body({"inputs": [5.1, 3.3]}), 400,
     "inputs is a plain value/list, but expecting an object"),
    ("objects then lists", RAW + ":predict", _body({"instances": [GOOD_IRIS_ROW, [1.0]]}), 400,
     "Expecting object but got list at item 1 of input list"),
    ("shapes the graph rejects", RAW + ":predict",
     _body({"inputs": {"SepalLength": [5.1, 5.9], "SepalWidth": [3.3], "PetalLength": [1.7],
                       "PetalWidth": [0.5]}}),
     400, "Dimensions of inputs should match"),
    ("unknown model", "/v1/models/nope:predict", _body({"instances": [1.0]}), 404,
     "Servable not found for request: Latest(nope)"),
    ("unknown version", HALF + "/versions/999:predict", _body({"instances": [1.0]}), 404,
     "Servable not found for request: Specific(half_plus_two, 999)"),
    ("version overflows int64", HALF + "/versions/99999999999999999999:predict", _body({"instances": [1.0]}),
     400, "Failed to convert version: 99999999999999999999 to numeric."),
    ("unknown label", "/v1/models/versioned/labels/nope:predict", _body({"instances": [1.0]}), 400,
     "Unrecognized servable version label: nope"),
    ("unknown signature", HALF + ":predict", _body({"signature_name": "nope", "instances": [1.0]}), 400,
     'Serving signature name: "nope" not found in signature def'),
    ("malformed b64", HALF + ":predict",
     _body({"signature_name": "regress_x_to_y", "instances": [{"b64": "!!not base64!!"}]}), 400,
     "Unable to base64 decode"),
    ("b64 object with extra keys", HALF + ":predict",
     _body({"signature_name": "echo_bytes", "inputs": [{"b64": "AAAA", "x": 1}]}), 400,
     "not formatted correctly for base64 data"),
    ("malformed serialized example", HALF + ":predict",
     _body({"signature_name": "regress_x_to_y", "instances": [{"b64": MALFORMED_EXAMPLE}]}), 400,
     "Could not parse example input"),
    ("malformed serialized example to an estimator", PARSING + ":predict",
     _body({"instances": [{"examples": {"b64": MALFORMED_EXAMPLE}}]}), 400, "Could not parse example input"),
    ("garbage example text", PARSING + ":predict", _body({"inputs": ["not an example at all"]}), 400,
     "Could not parse example input"),
    ("unsupported input dtype", HALF + ":predict", _body({"signature_name": "half", "inputs": [1.0]}), 501,
     "Conversion of JSON Value: 1.0 to type: half"),
    ("unsupported input dtype in a row", HALF + ":predict", _body({"signature_name": "half", "instances": [1.0]}),
     400, "Error: UNIMPLEMENTED: Conversion of JSON Value: 1.0 to type: half"),
    ("rank-0 output in row format", HALF + ":predict",
     _body({"signature_name": "scalar_output", "instances": [[1.0]]}), 400,
     "Tensor name: total has no shape information "),
    ("outputs with different batch sizes", HALF + ":predict",
     _body({"signature_name": "uneven_batch", "instances": [1.0, 2.0]}), 400,
     "Tensor name: y has inconsistent batch size: 2 expecting: 1"),
    ("signature method predict does not accept", HALF + ":predict",
     _body({"signature_name": "custom_method", "instances": [1.0]}), 500,
     "Expected prediction signature method_name to be one of {tensorflow/serving/predict, "
     "tensorflow/serving/classify, tensorflow/serving/regress}. Was: my/custom_method"),
    ("deeply nested lists", HALF + ":predict", _deep(200), 400, "tensors of rank above 32 are not supported"),
    ("pathologically deep nesting", HALF + ":predict", _deep(200000), 400, "nested too deeply"),
    ("pathologically deep objects", HALF + ":predict", b'{"a": ' * 100000 + b"1" + b"}" * 100000, 400,
     "nested too deeply"),
    ("examples missing", HALF + ":regress", _body({"signature_name": "regress_x_to_y"}), 400,
     "When method is classify, key 'examples' is expected and was not found"),
    ("examples not a list", HALF + ":regress", _body({"examples": {"x": 1.0}}), 400,
     "Expecting 'examples' value to be an list/array"),
    ("examples empty", HALF + ":classify", _body({"examples": []}), 400, "'examples' value is an empty array"),
    ("example not an object", HALF + ":regress", _body({"examples": [[1.0]]}), 400,
     "Example must be JSON object but got JSON Array"),
    ("context not an object", HALF + ":regress", _body({"context": 1, "examples": [{"x": 1.0}]}), 400,
     "Example must be JSON object but got JSON Number"),
    ("feature of nested lists", HALF + ":regress", _body({"examples": [{"x": [[1.0]]}]}), 400,
     "Feature: x has element with unexpected JSON type: Array"),
    ("feature of mixed kinds", HALF + ":regress", _body({"examples": [{"x": [1.0, "a"]}]}), 400,
     "Unexpected element type in feature: x expecting type: float"),
    ("feature with null", HALF + ":regress", _body({"examples": [{"x": None}]}), 400,
     "Feature: x has element with unexpected JSON type: Null"),
    ("feature with uint64", HALF + ":regress", _body({"examples": [{"x": 2 ** 63}]}), 400,
     "Feature: x has uint64 element. Only int64 is supported."),
    ("int feature where float expected", HALF + ":regress",
     _body({"signature_name": "regress_x_to_y", "examples": [{"x": 2}]}), 400, "Data types don't match"),
]


@pytest.mark.parametrize("path, body, status, message", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_request_gets_error_json_and_server_keeps_serving(rest, path, body, status, message):
    response = rest.post(path, body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert message in json.loads(response.text)["error"]
    assert json.loads(rest.post(HALF + ":predict", b'{"instances": [1.0]}').text) == {"predictions": [2.5]}


def test_oversized_body_is_413_and_server_keeps_serving(rest):
    body = b'{"instances": [' + b"1.0, " * (MAX_BODY_BYTES // 5) + b"1.0]}"
    response = rest.post(HALF + ":predict", body)
    assert response.status_code == 413
    assert "exceeds the limit of %d bytes" % MAX_BODY_BYTES in json.loads(response.text)["error"]
    assert rest.post(HALF + ":predict", b'{"instances": [1.0]}').status_code == 200


def test_body_just_under_the_limit_is_served(rest):
    count = (MAX_BODY_BYTES - 100) // 5
    body = b'{"inputs": [' + b"1.0, " * count + b"1.0]}"
    assert len(body) <= MAX_BODY_BYTES
    assert len(json.loads(rest.post(HALF + ":predict", body).text)["outputs"]) == count + 1


def test_chunked_body_over_the_limit_is_413(rest):
    def chunks():
        for _ in range(MAX_BODY_BYTES // 1000 + 10):
            yield b" " * 1000
    response = rest.post(HALF + ":predict", chunks())
    assert response.status_code == 413


def test_client_that_hangs_up_before_its_answer_leaves_no_trace(server, rest):
    body = b'{"signature_name": "blocked", "instances": [1.0]}'
    logged_before = len(server.log())
    with socket.create_connection(("127.0.0.1", server.rest_port)) as hung_up:
        hung_up.sendall(b"POST %s:predict HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n%s"
                        % (HALF.encode(), len(body), body))
    assert json.loads(rest.post(HALF + ":predict", b'{"instances": [1.0]}').text) == {"predictions": [2.5]}
    time.sleep(REST_TIMEOUT_MS / 1000.0 + 1.0)  # the blocked run times out and its answer finds no client
    assert json.loads(rest.post(HALF + ":predict", b'{"instances": [2.0]}').text) == {"predictions": [3.0]}
    logged = server.log()[logged_before:]
    assert "Traceback" not in logged and "Exception" not in logged, logged
