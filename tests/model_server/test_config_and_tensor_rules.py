"""Model config checks, TensorProto decoding and flag parsing: each rule that rejects bad input, in-process."""
import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.config import model_server_config_pb2

from iriscourse.model_server import cli, errors, registry, tensor_proto


def _server_config(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


@pytest.mark.parametrize("text, message", [
    ('custom_model_config {}', "Only a model_config_list is supported in the model server config"),
    ('model_config_list { config { base_path: "/b" } }', "A model config has an empty name"),
    ('model_config_list { config { name: "m" base_path: "/b" } config { name: "m" base_path: "/c" } }',
     "Illegal to list model m multiple times in config list"),
    ('model_config_list { config { name: "m" } }', "Model m has an empty base_path"),
    ('model_config_list { config { name: "m" base_path: "/b" model_platform: "pytorch" } }',
     "Model m requested unsupported platform pytorch"),
])
def test_each_bad_model_config_is_refused_with_its_reason(text, message):
    with pytest.raises(errors.ServingError) as caught:
        registry.check_model_configs(_server_config(text))
    assert (caught.value.code, caught.value.message) == (errors.INVALID_ARGUMENT, message)


def test_a_good_config_lists_its_models_in_order():
    configs = registry.check_model_configs(_server_config(
        'model_config_list { config { name: "a" base_path: "/a" model_platform: "tensorflow" } '
        'config { name: "b" base_path: "/b" } }'))
    assert [config.name for config in configs] == ["a", "b"]


def _proto(dtype, shape, **fields):
    proto = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in shape]))
    for name, values in fields.items():
        getattr(proto, name).extend(values)
    return proto


@pytest.mark.parametrize("proto, reason", [
    (_proto(999, [1]), "invalid dtype 999"),
    (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        unknown_rank=True)), "unknown rank"),
    (_proto(types_pb2.DT_FLOAT, [-1], float_val=[1.0]), "negative dimension"),
    (tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]), tensor_content=b"\0" * 8),
     "tensor_content does not match the shape"),
    (_proto(types_pb2.DT_RESOURCE, [1]), "invalid dtype 20"),
    (_proto(types_pb2.DT_VARIANT, [1]), "invalid dtype 21"),
])
def test_each_malformed_tensor_proto_is_refused_with_its_reason(proto, reason):
    with pytest.raises(tensor_proto.TensorParseError, match=reason):
        tensor_proto.to_ndarray(proto)


def test_half_complex_and_string_values_are_read_from_their_typed_fields():
    half = _proto(types_pb2.DT_HALF, [2], half_val=np.array([1.5, -2.0], np.float16).view(np.uint16).tolist())
    assert tensor_proto.to_ndarray(half).tolist() == [1.5, -2.0]
    complex64 = _proto(types_pb2.DT_COMPLEX64, [1], scomplex_val=[1.0, 2.0])
    assert tensor_proto.to_ndarray(complex64).tolist() == [1 + 2j]
    strings = _proto(types_pb2.DT_STRING, [2], string_val=[b"a", b"\xff"])
    assert tensor_proto.to_ndarray(strings).tolist() == [b"a", b"\xff"]


@pytest.mark.parametrize("text, value", [("true", True), ("1", True), ("Yes", True), ("false", False), ("0", False),
                                         ("no", False)])
def test_boolean_flags_read_the_usual_spellings(text, value):
    assert cli._parse_bool(text) is value


def test_a_bad_boolean_or_an_out_of_range_integer_flag_is_a_usage_error(capsys):
    for argv, message in ((["--enable_batching=maybe"], "expected true or false, got 'maybe'"),
                          (["--port=99999999999"], "99999999999 does not fit in int32")):
        assert cli.parse_flags(argv) == cli.EXIT_FAILURE
        assert message in capsys.readouterr().out
