"""Model config checks, TensorProto decoding and flag parsing: each rule that rejects bad input, in-process."""
import threading

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.config import model_server_config_pb2

from iriscourse.model_server import cli, errors, registry, tensor_proto


def _server_config(text):
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


@pytest.mark.parametrize("text, code, message", [
    ('custom_model_config {}', errors.UNIMPLEMENTED, "ModelServer does not yet support custom model config."),
    ('model_config_list { config { name: "m" base_path: "/b" } config { name: "m" base_path: "/c" } }',
     errors.INVALID_ARGUMENT, "Illegal to list model m multiple times in config list"),
    ('model_config_list { config { name: "m" } }', errors.INVALID_ARGUMENT,
     "Expected model m to have an absolute path or URI; got base_path()="),
    ('model_config_list { config { name: "m" base_path: "models/m" model_platform: "tensorflow" } }',
     errors.INVALID_ARGUMENT, "Expected model m to have an absolute path or URI; got base_path()=models/m"),
    ('model_config_list { config { name: "m" base_path: "/b" } }', errors.INVALID_ARGUMENT,
     "Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, "
     "model name is m"),
    ('model_config_list { config { name: "m" base_path: "/b" model_type: TENSORFLOW model_platform: "tensorflow" } }',
     errors.INVALID_ARGUMENT, "Illegal setting both ModelServerConfig::model_type (deprecated) and "
     "ModelServerConfig::model_platform, model name is m"),
    ('model_config_list { config { name: "m" base_path: "/b" model_type: OTHER } }', errors.INVALID_ARGUMENT,
     "ModelServerConfig::model_type choice 2 not supported."),
    ('model_config_list { config { name: "m" base_path: "/b" model_platform: "pytorch" } }',
     errors.INVALID_ARGUMENT, "Model m requests unsupported platform pytorch"),
])
def test_each_bad_model_config_is_refused_with_its_reason(text, code, message):
    models = registry.ModelRegistry(lambda name, version, path: None, poll_wait_seconds=-1)
    with pytest.raises(errors.ServingError) as caught:
        models.reload_config(_server_config(text), threading.Event())
    assert (caught.value.code, caught.value.message) == (code, message)


def test_absolute_paths_uris_and_the_deprecated_model_type_pass_the_config_checks():
    config_list = _server_config(
        'model_config_list { config { name: "a" base_path: "/a" model_platform: "tensorflow" } '
        'config { name: "b" base_path: "gs://bucket/b" model_type: TENSORFLOW } }').model_config_list
    registry.check_model_configs(config_list)
    registry.check_platforms_supported(config_list)
    assert [registry.model_platform(config) for config in config_list.config] == ["tensorflow", "tensorflow"]


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
    with pytest.raises(tensor_proto.TensorParseError) as caught:
        tensor_proto.to_ndarray(proto)
    assert str(caught.value) == reason


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


# The typed value field of each dtype, as TensorFlow's Tensor::AsProtoField writes it (tensor.proto).
TYPED_FIELDS = [
    (np.float32, types_pb2.DT_FLOAT, "float_val", [1.5, -2.0]),
    (np.float64, types_pb2.DT_DOUBLE, "double_val", [0.1, 1e300]),
    (np.int32, types_pb2.DT_INT32, "int_val", [7, -8]),
    (np.int16, types_pb2.DT_INT16, "int_val", [7, -8]),
    (np.int8, types_pb2.DT_INT8, "int_val", [7, -8]),
    (np.uint8, types_pb2.DT_UINT8, "int_val", [7, 255]),
    (np.uint16, types_pb2.DT_UINT16, "int_val", [7, 65535]),
    (np.int64, types_pb2.DT_INT64, "int64_val", [2 ** 40, -1]),
    (np.uint32, types_pb2.DT_UINT32, "uint32_val", [2 ** 32 - 1, 0]),
    (np.uint64, types_pb2.DT_UINT64, "uint64_val", [2 ** 64 - 1, 0]),
    (np.bool_, types_pb2.DT_BOOL, "bool_val", [True, False]),
    (object, types_pb2.DT_STRING, "string_val", [b"a", b"\xff"]),
]


@pytest.mark.parametrize("np_dtype, dtype, field, values", TYPED_FIELDS, ids=[f[2] + "-" + str(f[1]) for f in TYPED_FIELDS])
def test_each_dtype_is_written_to_and_read_from_its_typed_field(np_dtype, dtype, field, values):
    array = np.array(values, dtype=np_dtype).reshape(1, 2)
    written = tensor_proto.from_ndarray(array)
    assert written.dtype == dtype and list(getattr(written, field)) == values and not written.tensor_content
    assert [d.size for d in written.tensor_shape.dim] == [1, 2]
    read = tensor_proto.to_ndarray(written)
    assert read.dtype == array.dtype and read.tolist() == array.tolist()


def test_an_empty_value_list_means_zeros_or_empty_strings_and_a_short_one_repeats_its_last_value():
    assert tensor_proto.to_ndarray(_proto(types_pb2.DT_INT32, [3])).tolist() == [0, 0, 0]
    assert tensor_proto.to_ndarray(_proto(types_pb2.DT_STRING, [2])).tolist() == [b"", b""]
    assert tensor_proto.to_ndarray(_proto(types_pb2.DT_INT64, [2, 2], int64_val=[4, 5])).tolist() == [[4, 5], [5, 5]]
    assert tensor_proto.to_ndarray(_proto(types_pb2.DT_FLOAT, [2], float_val=[1.0, 2.0])).tolist() == [1.0, 2.0]
    with pytest.raises(tensor_proto.TensorParseError) as caught:
        tensor_proto.to_ndarray(_proto(types_pb2.DT_FLOAT, [1], float_val=[1.0, 2.0]))
    assert str(caught.value) == "more values than the shape holds"


def test_a_shape_whose_padding_would_pass_256_mib_is_refused_at_the_byte():
    at_limit = (1 << 28) // 4  # float32: exactly 256 MiB once padded
    assert tensor_proto.to_ndarray(_proto(types_pb2.DT_FLOAT, [at_limit], float_val=[1.0])).size == at_limit
    with pytest.raises(tensor_proto.TensorParseError) as caught:
        tensor_proto.to_ndarray(_proto(types_pb2.DT_FLOAT, [at_limit + 1], float_val=[1.0]))
    assert str(caught.value) == "shape too large for the values sent"


def test_complex_values_are_interleaved_real_and_imaginary_parts():
    array = np.array([1 + 2j, -3.5 - 0.5j], np.complex128)
    written = tensor_proto.from_ndarray(array)
    assert written.dtype == types_pb2.DT_COMPLEX128 and list(written.dcomplex_val) == [1.0, 2.0, -3.5, -0.5]
    assert tensor_proto.to_ndarray(written).tolist() == array.tolist()
    half = tensor_proto.from_ndarray(np.array([1.5], np.float16))
    assert half.dtype == types_pb2.DT_HALF and list(half.half_val) == [np.float16(1.5).view(np.uint16)]
