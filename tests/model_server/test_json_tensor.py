"""TF Serving's JSON <-> tensor rules, checked in-process on json_tensor and tensor_proto."""
import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

from iriscourse.model_server import errors, json_tensor, tensor_proto

FLOAT, STRING = types_pb2.DT_FLOAT, types_pb2.DT_STRING


def _error(call, *args):
    with pytest.raises(errors.ServingError) as failure:
        call(*args)
    return failure.value


@pytest.mark.parametrize("value, double, text", [
    (2.5, False, "2.5"), (3.0, False, "3.0"), (42, False, "42.0"), (-0.0, False, "-0.0"),
    (555557.5, False, "555557.5"), (3.57079506, False, "3.57079506"), (9e6, False, "9e+06"),
    (3e-05, False, "3e-05"), (0.1, False, "0.1"), (0.1, True, "0.1"), (1 / 3.0, True, "0.33333333333333331"),
    (1 / 3.0, False, "0.333333343"), (float("nan"), False, "NaN"), (float("inf"), True, "Infinity"),
    (float("-inf"), False, "-Infinity"),
])
def test_float_formatting_round_trips(value, double, text):
    number = np.float64(value) if double else np.float32(value)
    assert json_tensor.format_float(number, double) == text


def test_row_format_batches_named_instances():
    row, arrays = json_tensor.predict_inputs(
        {"instances": [{"a": [1.0], "b": "x"}, {"a": [2], "b": {"b64": "eQ=="}}]}, {"a": FLOAT, "b": STRING})
    assert row is True
    assert arrays["a"].dtype == np.float32 and arrays["a"].tolist() == [[1.0], [2.0]]
    assert arrays["b"].tolist() == [b"x", b"y"]


def test_columnar_format_keeps_each_input_shape():
    row, arrays = json_tensor.predict_inputs({"inputs": {"a": [[1, 2, 3]], "b": ["p", "q"]}},
                                             {"a": types_pb2.DT_INT64, "b": STRING})
    assert row is False
    assert arrays["a"].shape == (1, 3) and arrays["a"].dtype == np.int64
    assert arrays["b"].shape == (2,)


def test_scalars_and_empty_lists():
    assert json_tensor.predict_inputs({"inputs": 7}, {"x": types_pb2.DT_INT32})[1]["x"].shape == ()
    assert json_tensor.predict_inputs({"inputs": []}, {"x": FLOAT})[1]["x"].shape == (0,)


def test_narrow_integers_wrap_like_a_static_cast():
    arrays = json_tensor.predict_inputs({"inputs": [300, -1]}, {"x": types_pb2.DT_UINT8})[1]
    assert arrays["x"].tolist() == [44, 255]


def test_integer_ranges_follow_rapidjson_types():
    assert "is not of expected type: int64" in _error(
        json_tensor.predict_inputs, {"inputs": [2 ** 63]}, {"x": types_pb2.DT_INT64}).message
    arrays = json_tensor.predict_inputs({"inputs": [2 ** 64 - 1]}, {"x": types_pb2.DT_UINT64})[1]
    assert arrays["x"].tolist() == [2 ** 64 - 1]
    assert "Type: Number is not of expected type: uint32" in _error(
        json_tensor.predict_inputs, {"inputs": [-1]}, {"x": types_pb2.DT_UINT32}).message


def test_huge_integers_parse_as_doubles():
    doc = json_tensor.parse_json_object(b'{"inputs": [100000000000000000000000]}')
    assert isinstance(doc["inputs"][0], float)


def test_invalid_utf8_bytes_survive_into_string_tensors():
    doc = json_tensor.parse_json_object(b'{"inputs": ["a\xffb"]}')
    assert json_tensor.predict_inputs(doc, {"x": STRING})[1]["x"].tolist() == [b"a\xffb"]


def test_error_codes_of_conversion_failures():
    assert _error(json_tensor.predict_inputs, {"inputs": [1]}, {"x": types_pb2.DT_HALF}).code == errors.UNIMPLEMENTED
    assert _error(json_tensor.predict_inputs, {"instances": [1]},
                  {"x": types_pb2.DT_HALF}).code == errors.INVALID_ARGUMENT


def test_examples_from_json_use_the_number_text_for_the_feature_kind():
    serialized = json_tensor.serialized_examples(
        {"examples": [{"f": 2.0, "i": 2, "b": True, "s": "t", "raw": {"b64": "AP8="}, "none": []}]})
    example = tf.train.Example.FromString(serialized[0])
    feature = example.features.feature
    assert list(feature["f"].float_list.value) == [2.0]
    assert list(feature["i"].int64_list.value) == [2]
    assert list(feature["b"].int64_list.value) == [1]
    assert list(feature["s"].bytes_list.value) == [b"t"]
    assert list(feature["raw"].bytes_list.value) == [b"\x00\xff"]
    assert feature["none"].WhichOneof("kind") is None


def test_context_features_are_overridden_by_the_example():
    serialized = json_tensor.serialized_examples({"context": {"x": 1.0, "c": "k"}, "examples": [{"x": 2.0}]})
    feature = tf.train.Example.FromString(serialized[0]).features.feature
    assert list(feature["x"].float_list.value) == [2.0]
    assert list(feature["c"].bytes_list.value) == [b"k"]


def test_row_and_columnar_response_layout():
    outputs = [("y", np.array([[1.0], [2.5]], np.float32))]
    assert json_tensor.predict_response(True, outputs) == '{\n    "predictions": [[1.0], [2.5]\n    ]\n}'
    assert json_tensor.predict_response(False, outputs) == (
        '{\n    "outputs": [\n        [\n            1.0\n        ],\n        [\n            2.5\n        ]\n    ]\n}')
    several = [("a", np.array([1, 2])), ("b", np.array([True, False]))]
    assert json.loads(json_tensor.predict_response(True, several)) == {
        "predictions": [{"a": 1, "b": True}, {"a": 2, "b": False}]}
    assert json.loads(json_tensor.predict_response(False, several)) == {"outputs": {"a": [1, 2], "b": [True, False]}}


def test_results_and_error_bodies():
    assert json.loads(json_tensor.classify_response([[(b"a", 0.5), (b"b", 0.25)]])) == {
        "results": [[["a", 0.5], ["b", 0.25]]]}
    assert json.loads(json_tensor.regress_response([np.float32(0.1)])) == {"results": [0.1]}
    assert json.loads(json_tensor.error_response("it's \"quoted\"\n")) == {"error": "it's \"quoted\"\n"}


def test_tensor_proto_reading_follows_tensor_from_proto():
    def proto(values, shape, dtype=FLOAT):
        tensor = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape]))
        tensor.float_val.extend(values)
        return tensor
    assert tensor_proto.to_ndarray(proto([], [2])).tolist() == [0.0, 0.0]
    assert tensor_proto.to_ndarray(proto([1.0, 2.0], [3])).tolist() == [1.0, 2.0, 2.0]
    for bad in (proto([1.0, 2.0, 3.0], [2]), proto([1.0], [-1]), proto([1.0], [10 ** 10])):
        with pytest.raises(tensor_proto.TensorParseError):
            tensor_proto.to_ndarray(bad)
    content = tf.make_tensor_proto(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert tensor_proto.to_ndarray(content).tolist() == [[0, 1, 2], [3, 4, 5]]


def test_tensor_proto_writing_uses_typed_fields():
    written = tensor_proto.from_ndarray(np.array([[1.5, 2.5]], np.float32))
    assert list(written.float_val) == [1.5, 2.5] and not written.tensor_content
    assert [dim.size for dim in written.tensor_shape.dim] == [1, 2]
    strings = tensor_proto.from_ndarray(np.array([b"a", b"\xff"], object))
    assert strings.dtype == STRING and list(strings.string_val) == [b"a", b"\xff"]
    for array in (np.array([True]), np.array([1], np.int8), np.array([1.5], np.float16), np.array([1 + 2j])):
        assert tf.make_ndarray(tensor_proto.from_ndarray(array)).tolist() == array.tolist()
