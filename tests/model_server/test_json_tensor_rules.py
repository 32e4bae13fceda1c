"""json_tensor's request and response rules in-process, with TF Serving's exact messages and bytes.

The REST tests check the same rules through a server; these call json_tensor directly, so that they are
fast enough to run against every mutant in `make mutation`.
"""
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from iriscourse.model_server import errors, json_tensor

F, D, H, S, B = types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE, types_pb2.DT_HALF, types_pb2.DT_STRING, types_pb2.DT_BOOL
I8, I16, I32, I64 = types_pb2.DT_INT8, types_pb2.DT_INT16, types_pb2.DT_INT32, types_pb2.DT_INT64
U8, U32, U64 = types_pb2.DT_UINT8, types_pb2.DT_UINT32, types_pb2.DT_UINT64
INVALID, UNIMPLEMENTED = errors.INVALID_ARGUMENT, errors.UNIMPLEMENTED


def _error(call, *args):
    """(code, message) of the ServingError a call raises."""
    with pytest.raises(errors.ServingError) as failure:
        call(*args)
    return failure.value.code, failure.value.message


def _nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


# ---------------------------------------------------------------- parsing

PARSE_ERRORS = [
    (b"", "JSON Parse error: The document is empty"),
    (b"  \n", "JSON Parse error: The document is empty. at offset: 3"),
    (b" \t\r\n", "JSON Parse error: The document is empty. at offset: 4"),
    (b'{"instances": [1.0,]}', "JSON Parse error: Invalid value. at offset: 19"),
    (b'{"a": [tru]}', "JSON Parse error: Invalid value. at offset: 7"),
    (b'\xff\xfe{"instances": [1.0]}', "JSON Parse error: Invalid value. at offset: 0"),
    (b'X{"instances": [1.0]}', "JSON Parse error: Invalid value. at offset: 0"),
    (b'{"instances": [1.0 2.0]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 19"),
    (b'{"\xc3\xa9\xc3\xa9": [1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 12"),
    (b'{"a": [{"b": [1]} 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 18"),
    (b'{"x": "]]]", "a": [1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 21"),
    (b'{"a\\\\": [1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 11"),
    (b'{"a": ["\\"{", 1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 16"),
    (b'{"x": "\\\\", "a": [1 2]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 20"),
    (b'{"a": [1', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 8"),
    (b'{"a": [1X]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 8"),
    (b'{"a": ["s".5]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 10"),
    (b'{"a": ["s"e5]}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 10"),
    (b'{"x": "[", "a": 1 "b": 2}', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 18"),
    (b'{"x": "ab[", "a": 1 "b": 2}', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 20"),
    (b'{"x": "a\\\\\\"[", "a": {"b": 1 "c": 2}}',
     "JSON Parse error: Missing a comma or '}' after an object member. at offset: 29"),
    (b'{"a": 1 "b": 2}', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 8"),
    (b'{"instances": [1.0]', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 19"),
    (b'{"x": "[\\"{", "a": 1 "b": 2}', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 21"),
    (b'{"a": {"b": 1 "c"}}', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 14"),
    (b"{'instances': [1.0]}", "JSON Parse error: Missing a name for object member. at offset: 1"),
    (b'{"a" 1}', "JSON Parse error: Missing a colon after a name of object member. at offset: 5"),
    (b'{"instances": ["\\x"]}', "JSON Parse error: Invalid escape character in string. at offset: 16"),
    (b'{"a": "\\u12G4"}', "JSON Parse error: Incorrect hex digit after \\u escape in string. at offset: 8"),
    (b'{"a": "x\ny"}', "JSON Parse error: Invalid encoding in string. at offset: 8"),
    (b'{"a": "abc', "JSON Parse error: Missing a closing quotation mark in string. at offset: 6"),
    (b'{"a": [1.]}', "JSON Parse error: Miss fraction part in number. at offset: 9"),
    (b'{"a": [1.e5]}', "JSON Parse error: Miss fraction part in number. at offset: 9"),
    (b'{"a": [1e]}', "JSON Parse error: Miss exponent in number. at offset: 9"),
    (b'{"a": [1e+]}', "JSON Parse error: Miss exponent in number. at offset: 10"),
    (b'{"a": [1E-x]}', "JSON Parse error: Miss exponent in number. at offset: 10"),
    (b'{"instances": [1e999]}', "JSON Parse error: Number too big to be stored in double. at offset: 15"),
    (b'{"a": "\xc3\xa9", "b": [-1e999]}', "JSON Parse error: Number too big to be stored in double. at offset: 18"),
    (b"  " + b"[" * 100000, "JSON Parse error: The document is nested too deeply to be parsed. at offset: 2"),
    (b"[1.0]", "JSON Value: [1.0] Is not object"),
    (b'"\xc3\xa9"', 'JSON Value: "\u00e9" Is not object'),
    (b"null", "JSON Value: null Is not object"),
]


@pytest.mark.parametrize("body, message", PARSE_ERRORS)
def test_parse_errors_use_rapidjsons_words_and_byte_offsets(body, message):
    assert _error(json_tensor.parse_json_object, body) == (INVALID, message)


def test_parsing_keeps_number_types_and_ignores_trailing_text():
    doc = json_tensor.parse_json_object(b' {"a": [1, 1.0, -0.0, 18446744073709551615, 18446744073709551616, NaN, '
                                        b'-9223372036854775808, -9223372036854775809], '
                                        b'"b": "\xc3\xa9\xff"} ]]] trailing')
    assert [type(value) for value in doc["a"]] == [int, float, float, int, float, float, int, float]
    assert doc["a"][3] == 2 ** 64 - 1 and doc["a"][4] == 2.0 ** 64 and str(doc["a"][2]) == "-0.0"
    assert json_tensor.utf8_bytes(doc["b"]) == b"\xc3\xa9\xff"


def test_signature_name_is_a_string():
    assert json_tensor.signature_name_of({}) == ""
    assert json_tensor.signature_name_of({"signature_name": "s"}) == "s"
    assert _error(json_tensor.signature_name_of, {"signature_name": 1, "instances": [1]}) == (
        INVALID, 'JSON Value: {"signature_name": 1, "instances": [1]} not formatted correctly. '
                 "'signature_name' key must be a string value.")


# ---------------------------------------------------------------- text helpers

def test_text_helpers_keep_every_byte():
    assert json_tensor.utf8_bytes("a\udcffb") == b"a\xffb"
    assert json_tensor.utf8_bytes("\ud83d") == b"\xed\xa0\xbd"
    assert json_tensor.utf8_bytes(json_tensor.json_string(b'a\xff"\n\xc3\xa9')) == b'"a\xff\\"\\n\xc3\xa9"'


def test_render_prints_compact_json_cut_at_256_characters():
    assert json_tensor.render([1.5, "\u00e9", None, True, {"k": []}]) == '[1.5, "\u00e9", null, true, {"k": []}]'
    assert json_tensor.render("x" * 254) == '"' + "x" * 254 + '"'
    assert json_tensor.render("x" * 255) == '"' + "x" * 255 + '...'
    circular = []
    circular.append(circular)
    assert json_tensor.render(circular) == "<value nested too deeply to print>"
    assert json_tensor.render(_nested(100000, 1)) == "<value nested too deeply to print>"


def test_json_type_and_dtype_names():
    assert [json_tensor.json_type(value) for value in (None, True, False, {}, [], "s", 1, 1.5)] == [
        "Null", "True", "False", "Object", "Array", "String", "Number", "Number"]
    assert [json_tensor.dtype_name(dtype) for dtype in (F, D, H, I64, S, B, U8, types_pb2.DT_INVALID,
                                                         types_pb2.DT_VARIANT)] == [
        "float", "double", "half", "int64", "string", "bool", "uint8", "DT_INVALID", "variant"]


# ---------------------------------------------------------------- JSON -> tensor

@pytest.mark.parametrize("value, decoded", [({"b64": "eQ"}, b"y"), ({"b64": " e Q = = \n"}, b"y"),
                                            ({"b64": "eQ=="}, b"y"), ({"b64": "AP8="}, b"\x00\xff")])
def test_b64_objects_decode_with_or_without_padding_and_spaces(value, decoded):
    _, arrays = json_tensor.predict_inputs({"inputs": [value]}, {"x": S})
    assert arrays["x"].tolist() == [decoded]


@pytest.mark.parametrize("value, message", [
    ({"b64": "!!"}, "Unable to base64 decode"), ({"b64": "\u00e9"}, "Unable to base64 decode"),
    ({"b64": "e"}, "Unable to base64 decode"), ({"b64": "eQ=x"}, "Unable to base64 decode"),
    ({"b64": "e!Q=="}, "Unable to base64 decode"),
    ({"b64": "eQ==", "x": 1}, 'JSON Value: {"b64": "eQ==", "x": 1} not formatted correctly for base64 data'),
    ({"b64": 1}, 'JSON Value: {"b64": 1} not formatted correctly for base64 data'),
])
def test_bad_b64_objects(value, message):
    assert _error(json_tensor.predict_inputs, {"inputs": [value]}, {"x": S}) == (INVALID, message)


CONVERSIONS = [
    # (JSON value, dtype, numpy dtype, elements)
    ([1, 2.5, -0.0, 2 ** 64 - 1], F, np.float32, [1.0, 2.5, -0.0, 2.0 ** 64]),
    ([0.1, 16777217], F, np.float32, [np.float32(0.1), 16777216.0]),
    ([0.1, 2 ** 63], D, np.float64, [0.1, 2.0 ** 63]),
    ([2 ** 31 - 1, -(2 ** 31)], I32, np.int32, [2 ** 31 - 1, -(2 ** 31)]),
    ([300, -1, 2 ** 31 - 1], U8, np.uint8, [44, 255, 255]), ([300, -(2 ** 31)], I8, np.int8, [44, 0]),
    ([70000, -70000], I16, np.int16, [4464, -4464]), ([2 ** 32 - 1, 0], U32, np.uint32, [2 ** 32 - 1, 0]),
    ([2 ** 64 - 1, 0], U64, np.uint64, [2 ** 64 - 1, 0]), ([2 ** 63 - 1, -(2 ** 63)], I64, np.int64, [2 ** 63 - 1, -(2 ** 63)]),
    ([True, False], B, np.bool_, [True, False]), (["\u00e9", "a\udcffb", ""], S, np.object_, [b"\xc3\xa9", b"a\xffb", b""]),
    ([{"b64": "eQ=="}, "z"], S, np.object_, [b"y", b"z"]),
]


@pytest.mark.parametrize("value, dtype, numpy_dtype, elements", CONVERSIONS)
def test_json_values_become_the_input_dtype(value, dtype, numpy_dtype, elements):
    for doc in ({"inputs": value}, {"instances": value}, {"inputs": {"x": [value]}}, {"instances": [{"x": v} for v in value]}):
        _, arrays = json_tensor.predict_inputs(doc, {"x": dtype})
        assert arrays["x"].dtype == numpy_dtype and arrays["x"].reshape(-1).tolist() == elements


@pytest.mark.parametrize("doc, dtype, message", [
    ({"inputs": ["a"]}, F, 'JSON Value: "a" Type: String is not of expected type: float'),
    ({"inputs": [True]}, F, "JSON Value: true Type: True is not of expected type: float"),
    ({"inputs": [False]}, D, "JSON Value: false Type: False is not of expected type: double"),
    ({"inputs": [None]}, F, "JSON Value: null Type: Null is not of expected type: float"),
    ({"inputs": [{"b64": "AAAA"}]}, F, 'JSON Value: {"b64": "AAAA"} Type: Object is not of expected type: float'),
    ({"inputs": [[1.0]]}, I32, "JSON Value: 1.0 Type: Number is not of expected type: int32"),
    ({"inputs": [2 ** 31]}, I32, "JSON Value: 2147483648 Type: Number is not of expected type: int32"),
    ({"inputs": [-(2 ** 31) - 1]}, I32, "JSON Value: -2147483649 Type: Number is not of expected type: int32"),
    ({"inputs": [-(2 ** 31) - 1]}, I8, "JSON Value: -2147483649 Type: Number is not of expected type: int8"),
    ({"inputs": [2 ** 31]}, I16, "JSON Value: 2147483648 Type: Number is not of expected type: int16"),
    ({"inputs": [2 ** 31]}, U8, "JSON Value: 2147483648 Type: Number is not of expected type: uint8"),
    ({"inputs": [-1]}, U32, "JSON Value: -1 Type: Number is not of expected type: uint32"),
    ({"inputs": [2 ** 32]}, U32, "JSON Value: 4294967296 Type: Number is not of expected type: uint32"),
    ({"inputs": [-1]}, U64, "JSON Value: -1 Type: Number is not of expected type: uint64"),
    ({"inputs": [2 ** 64]}, U64, "JSON Value: 18446744073709551616 Type: Number is not of expected type: uint64"),
    ({"inputs": [2 ** 63]}, I64, "JSON Value: 9223372036854775808 Type: Number is not of expected type: int64"),
    ({"inputs": [-(2 ** 63) - 1]}, I64,
     "JSON Value: -9223372036854775809 Type: Number is not of expected type: int64"),
    ({"inputs": [True]}, I64, "JSON Value: true Type: True is not of expected type: int64"),
    ({"inputs": [1]}, B, "JSON Value: 1 Type: Number is not of expected type: bool"),
    ({"inputs": [1]}, S, "JSON Value: 1 Type: Number is not of expected type: string"),
    ({"inputs": [[1.0, 2.0], [3.0]]}, F, "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
    ({"inputs": [[1.0], 2.0]}, F, "JSON Value: 2.0 found at incorrect level: 2 in the JSON DOM. Expected at level: 2"),
    ({"inputs": [1.0, [2.0]]}, F, "Encountered list at unexpected level: 1 expected < 1"),
    ({"inputs": [[1.0], [[2.0]]]}, F, "Encountered list at unexpected level: 2 expected < 2"),
    ({"inputs": _nested(33, 1.0)}, F,
     "JSON lists nested deeper than 32 levels: tensors of rank above 32 are not supported"),
])
def test_values_that_break_the_rules(doc, dtype, message):
    assert _error(json_tensor.predict_inputs, doc, {"x": dtype}) == (INVALID, message)


def test_rank_32_is_the_deepest_tensor():
    _, arrays = json_tensor.predict_inputs({"inputs": _nested(32, 1.0)}, {"x": F})
    assert arrays["x"].shape == (1,) * 32


def test_unsupported_input_dtypes_are_unimplemented():
    assert _error(json_tensor.predict_inputs, {"inputs": [1.0]}, {"x": H}) == (
        UNIMPLEMENTED, "Conversion of JSON Value: 1.0 to type: half")
    assert _error(json_tensor.predict_inputs, {"instances": [1.5]}, {"x": H}) == (
        INVALID, "Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: "
                 "Conversion of JSON Value: 1.5 to type: half")


@pytest.mark.parametrize("doc, input_dtypes, message", [
    ({"instances": [1.0], "inputs": [1.0]}, {"x": F},
     "JSON Value: {\"instances\": [1.0], \"inputs\": [1.0]} Not formatted correctly expecting only one of "
     "'inputs' or 'instances' keys to exist "),
    ({"instances": {"a": 1}}, {"x": F}, "JSON Value: {\"instances\": {\"a\": 1}} Expecting 'instances' to be an list/array"),
    ({"instances": []}, {"x": F}, "JSON Value: {\"instances\": []} No values in 'instances' array"),
    ({"values": 1}, {"x": F}, "Missing 'inputs' or 'instances' key"),
    ({"instances": [[1.0], [1.0, 2.0]]}, {"x": F},
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 1 but got: 2"),
    ({"instances": [[1.0, 2.0], [[3.0, 4.0]]]}, {"x": F},
     "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]"),
    ({"instances": [1.0, "x"]}, {"x": F}, "Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: "
                                          "JSON Value: \"x\" Type: String is not of expected type: float"),
    ({"instances": [{"a": [1.0], "Bogus": [1.0]}]}, {"a": F},
     "Failed to process element: 0 key: Bogus of 'instances' list. Error: INVALID_ARGUMENT: JSON object: "
     "does not have named input: Bogus"),
    ({"instances": [{"a": 1.0}, {"a": "x"}]}, {"a": F},
     "Failed to process element: 1 key: a of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: \"x\" "
     "Type: String is not of expected type: float"),
    ({"instances": [{"a": [1.0]}]}, {"a": F, "b": F},
     "Failed to process element: 0 of 'instances' list. JSON object: {\"a\": [1.0]} keys must be equal to: a,b"),
    ({"instances": [{"a": 1, "b": 2}, {"a": 1, "c": 2}]}, {"a": I64, "b": I64},
     "Failed to process element: 1 key: c of 'instances' list. Error: INVALID_ARGUMENT: JSON object: "
     "does not have named input: c"),
    ({"instances": [{"a": 1.0}, [1.0]]}, {"a": F}, "Expecting object but got list at item 1 of input list"),
    ({"instances": [{"a": 1.0}, {"b64": "eQ=="}]}, {"a": F}, "Expecting object but got list at item 1 of input list"),
    ({"instances": [[1.0], {"a": 1.0}]}, {"a": F}, "Expecting value/list but got object at item 1 of input list"),
    ({"instances": [5.1, 3.3]}, {"a": F, "b": F},
     "instances is a plain list, but expecting list of objects as multiple input tensors required as per "
     "tensorinfo_map"),
    ({"inputs": [5.1, 3.3]}, {"a": F, "b": F},
     "inputs is a plain value/list, but expecting an object as multiple input tensors required as per "
     "tensorinfo_map"),
    ({"inputs": {"b64": "eQ=="}}, {"a": S, "b": S},
     "inputs is a plain value/list, but expecting an object as multiple input tensors required as per "
     "tensorinfo_map"),
    ({"inputs": {"a": [5.1]}}, {"a": F, "b": F}, "Missing named input: b in 'inputs' object."),
])
def test_request_layout_errors(doc, input_dtypes, message):
    assert _error(json_tensor.predict_inputs, doc, input_dtypes) == (INVALID, message)


def test_row_and_columnar_formats_give_the_same_tensors():
    dtypes = {"a": F, "b": S}
    row, by_row = json_tensor.predict_inputs(
        {"instances": [{"a": [1.0, 2.0], "b": "p"}, {"a": [3.0, 4.0], "b": {"b64": "cQ=="}}]}, dtypes)
    columnar, by_column = json_tensor.predict_inputs({"inputs": {"a": [[1.0, 2.0], [3.0, 4.0]], "b": ["p", "q"]}},
                                                     dtypes)
    assert (row, columnar) == (True, False)
    for name in dtypes:
        assert by_row[name].shape == by_column[name].shape and by_row[name].tolist() == by_column[name].tolist()
    _, plain = json_tensor.predict_inputs({"instances": [[1, 2], [3, 4]]}, {"x": I64})
    assert plain["x"].shape == (2, 2) and plain["x"].dtype == np.int64
    _, b64_as_value = json_tensor.predict_inputs({"instances": [{"b64": "eQ=="}, {"b64": "eg=="}]}, {"b64": S})
    assert b64_as_value["b64"].tolist() == [b"y", b"z"]
    _, named_b64 = json_tensor.predict_inputs({"instances": [{"b64": 5}, {"b64": 6}]}, {"b64": I64})
    assert named_b64["b64"].tolist() == [5, 6]
    _, scalar = json_tensor.predict_inputs({"inputs": {"b64": "eQ=="}}, {"x": S})
    assert scalar["x"].shape == () and scalar["x"][()] == b"y"


# ---------------------------------------------------------------- JSON -> tf.Example

def _features(doc):
    return [tf.train.Example.FromString(serialized).features.feature
            for serialized in json_tensor.serialized_examples(doc)]


def test_example_features_take_their_kind_from_the_json_type():
    features = _features({"examples": [{"f": [1.5, 2.0], "i": [2 ** 63 - 1, True], "s": ["t", {"b64": "eQ=="}],
                                        "none": [], "one": -3}, {"g": 0.5}]})
    assert list(features[0]["f"].float_list.value) == [1.5, 2.0]
    assert list(features[0]["i"].int64_list.value) == [2 ** 63 - 1, 1]
    assert list(features[0]["s"].bytes_list.value) == [b"t", b"y"]
    assert features[0]["none"].WhichOneof("kind") is None
    assert list(features[0]["one"].int64_list.value) == [-3]
    assert list(features[1]["g"].float_list.value) == [0.5] and "f" not in features[1]


def test_context_bytes_come_first():
    example = tf.train.Example(features={"feature": {"x": tf.train.Feature(float_list={"value": [1.0]})}})
    context = tf.train.Example(features={"feature": {"c": tf.train.Feature(bytes_list={"value": [b"k"]})}})
    assert json_tensor.serialized_examples({"examples": [{"x": 1.0}]}) == [example.SerializeToString()]
    assert json_tensor.serialized_examples({"context": {"c": "k"}, "examples": [{"x": 1.0}]}) == [
        context.SerializeToString() + example.SerializeToString()]


@pytest.mark.parametrize("doc, message", [
    ({"signature_name": "r"},
     "JSON Value: {\"signature_name\": \"r\"} When method is classify, key 'examples' is expected and was not found"),
    ({"examples": {"x": 1.0}}, "JSON Value: {\"examples\": {\"x\": 1.0}} Expecting 'examples' value to be an list/array"),
    ({"examples": []}, "JSON Value: {\"examples\": []} 'examples' value is an empty array"),
    ({"examples": [[1.0]]}, "Example must be JSON object but got JSON Array"),
    ({"examples": ["s"]}, "Example must be JSON object but got JSON String"),
    ({"context": 1, "examples": [{"x": 1.0}]}, "Example must be JSON object but got JSON Number"),
    ({"examples": [{"x": [[1.0]]}]}, "Feature: x has element with unexpected JSON type: Array"),
    ({"examples": [{"x": None}]}, "Feature: x has element with unexpected JSON type: Null"),
    ({"examples": [{"x": {"a": 1}}]}, "Feature: x has element with unexpected JSON type: Object"),
    ({"examples": [{"x": [1.0, "a"]}]}, "Unexpected element type in feature: x expecting type: float"),
    ({"examples": [{"x": ["a", 1]}]}, "Unexpected element type in feature: x expecting type: bytes"),
    ({"examples": [{"x": [1, 1.5]}]}, "Unexpected element type in feature: x expecting type: int64"),
    ({"examples": [{"x": 2 ** 63}]}, "Feature: x has uint64 element. Only int64 is supported."),
    ({"examples": [{"x": [{"b64": "!"}]}]}, "Unable to base64 decode"),
])
def test_bad_examples(doc, message):
    assert _error(json_tensor.serialized_examples, doc) == (INVALID, message)


# ---------------------------------------------------------------- tensor -> JSON

def test_element_texts_of_every_writable_dtype():
    assert json_tensor._element_texts(np.array([b"a\xff", b'"'], object), "x") == ['"a\udcff"', '"\\""']
    assert json_tensor._element_texts(np.array([b"a\xff", b""], object), "x_bytes") == ['{"b64": "Yf8="}', '{"b64": ""}']
    assert json_tensor._element_texts(np.array([b"ab"], "S2"), "s") == ['"ab"']
    assert json_tensor._element_texts(np.array([True, False]), "b") == ["true", "false"]
    assert json_tensor._element_texts(np.array([-5, 2 ** 63 - 1]), "i") == ["-5", "9223372036854775807"]
    assert json_tensor._element_texts(np.array([2 ** 64 - 1], np.uint64), "u") == ["18446744073709551615"]
    assert json_tensor._element_texts(np.array([1 / 3, 2.0]), "d") == ["0.33333333333333331", "2.0"]
    assert json_tensor._element_texts(np.array([1 / 3, 2.0], np.float32), "f") == ["0.333333343", "2.0"]
    for array, name in ((np.array([1 + 2j]), "complex128"), (np.array([1.5], np.float16), "float16")):
        assert _error(json_tensor._element_texts, array, "y") == (
            INVALID, "Failed to write JSON value for tensor type: %s" % name)


def test_response_bytes_of_each_layout():
    outputs = [("b", np.array([[True], [False]])), ("a", np.array([[1, 2], [3, 4]], np.int8))]
    assert json_tensor.predict_response(True, outputs) == (
        '{\n    "predictions": [\n        {\n            "b": [true],\n            "a": [1, 2]\n        },\n'
        '        {\n            "b": [false],\n            "a": [3, 4]\n        }\n    ]\n}')
    assert json_tensor.predict_response(False, outputs) == (
        '{\n    "outputs": {\n        "b": [\n            [\n                true\n            ],\n'
        '            [\n                false\n            ]\n        ],\n        "a": [\n            [\n'
        '                1,\n                2\n            ],\n            [\n                3,\n'
        '                4\n            ]\n        ]\n    }\n}')
    assert json_tensor.predict_response(True, [("y", np.array([[1.5, 2.0]]))]) == (
        '{\n    "predictions": [[1.5, 2.0]\n    ]\n}')
    assert json_tensor.predict_response(False, [("y", np.float32(0.5) * np.ones(()))]) == '{\n    "outputs": 0.5\n}'
    assert json_tensor.predict_response(True, [("y", np.zeros((0, 2)))]) == '{\n    "predictions": []\n}'


@pytest.mark.parametrize("outputs, message", [
    ([("total", np.float32(1.0) * np.ones(()))], "Tensor name: total has no shape information "),
    ([("x", np.ones(2)), ("y", np.ones(1))], "Tensor name: y has inconsistent batch size: 1 expecting: 2"),
    ([("x", np.ones(2)), ("y", np.ones((2, 1), np.complex64))], "Failed to write JSON value for tensor type: complex64"),
])
def test_outputs_that_cannot_be_rows(outputs, message):
    assert _error(json_tensor.predict_response, True, outputs) == (INVALID, message)


def test_outputs_that_cannot_be_columns():
    assert _error(json_tensor.predict_response, False, [("x", np.ones(2)), ("y", np.ones(1, np.complex64))]) == (
        INVALID, "Failed to write JSON value for tensor type: complex64")


def test_results_and_error_bodies_bytes():
    assert json_tensor.classify_response([[(b"a", 0.5), (b"\xff", 0.1)], []]) == (
        '{\n    "results": [[["a", 0.5], ["\udcff", 0.1]], []\n    ]\n}')
    assert json_tensor.regress_response([np.float32(0.1), 2.0, float("nan")]) == '{\n    "results": [0.1, 2.0, NaN]\n}'
    assert json_tensor.regress_response([]) == '{\n    "results": []\n}'
    assert json_tensor.error_response('it\'s "q" \u00e9\n') == '{\n    "error": "it\'s \\"q\\" \u00e9\\n"\n}'
    assert json.loads(json_tensor.error_response("x")) == {"error": "x"}
