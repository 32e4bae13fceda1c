"""TensorProto <-> numpy conversion with the C++ Tensor semantics TF Serving uses.

Request tensors are read like `Tensor::FromProto` (an empty value list means
zeros, a short list is padded with its last value, more values than the shape
holds is an error); response tensors are written like `Tensor::AsProtoField`
(typed repeated fields such as float_val, not tensor_content).
"""
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, types_pb2

_VALUE_FIELDS = {
    types_pb2.DT_FLOAT: "float_val",
    types_pb2.DT_DOUBLE: "double_val",
    types_pb2.DT_INT32: "int_val",
    types_pb2.DT_INT16: "int_val",
    types_pb2.DT_INT8: "int_val",
    types_pb2.DT_UINT8: "int_val",
    types_pb2.DT_UINT16: "int_val",
    types_pb2.DT_INT64: "int64_val",
    types_pb2.DT_UINT32: "uint32_val",
    types_pb2.DT_UINT64: "uint64_val",
    types_pb2.DT_BOOL: "bool_val",
    types_pb2.DT_STRING: "string_val",
    types_pb2.DT_HALF: "half_val",
}
_COMPLEX_FIELDS = {types_pb2.DT_COMPLEX64: "scomplex_val", types_pb2.DT_COMPLEX128: "dcomplex_val"}
# A request may not make the server allocate more than this for values it did not send.
_MAX_IMPLIED_BYTES = 1 << 28
# Filled on first use: DataType enum -> numpy dtype, and numpy dtype -> DataType enum.
_NUMPY_DTYPES = {}
_DATATYPES = {}


class TensorParseError(ValueError):
    """The TensorProto cannot be turned into a tensor."""


def _numpy_dtype(dtype):
    """The numpy dtype of a DataType enum (cached); raises TensorParseError for invalid ones."""
    numpy_dtype = _NUMPY_DTYPES.get(dtype)
    if numpy_dtype is None:
        try:
            numpy_dtype = _NUMPY_DTYPES[dtype] = np.dtype(tf.as_dtype(dtype).as_numpy_dtype)
        except (TypeError, KeyError):  # not a DataType, or one without a numpy type (DT_RESOURCE, DT_VARIANT)
            raise TensorParseError("invalid dtype %d" % dtype)
    return numpy_dtype


def _values(proto, dtype, numpy_dtype):
    if dtype == types_pb2.DT_STRING:
        values = np.empty(len(proto.string_val), dtype=object)
        values[:] = list(proto.string_val)
        return values
    if dtype == types_pb2.DT_HALF:
        return np.array(proto.half_val, dtype=np.uint16).view(np.float16)
    if dtype in _COMPLEX_FIELDS:
        pairs = np.array(getattr(proto, _COMPLEX_FIELDS[dtype]), dtype=np.float64).reshape(-1, 2)
        return (pairs[:, 0] + 1j * pairs[:, 1]).astype(numpy_dtype)
    if dtype in _VALUE_FIELDS:
        field = getattr(proto, _VALUE_FIELDS[dtype])
        return np.fromiter(field, numpy_dtype, len(field))
    raise TensorParseError("unsupported dtype %s" % types_pb2.DataType.Name(dtype))


def to_ndarray(proto):
    """Decode a request TensorProto; raises TensorParseError when it is malformed."""
    dtype = proto.dtype
    numpy_dtype = _numpy_dtype(dtype)
    tensor_shape = proto.tensor_shape
    if tensor_shape.unknown_rank:
        raise TensorParseError("unknown rank")
    shape = [dim.size for dim in tensor_shape.dim]
    if any(size < 0 for size in shape):
        raise TensorParseError("negative dimension")
    count = 1
    for size in shape:
        count *= size
    itemsize = numpy_dtype.itemsize
    content = proto.tensor_content  # each read of the field copies its bytes
    if content:
        if dtype == types_pb2.DT_STRING or len(content) != count * itemsize:
            raise TensorParseError("tensor_content does not match the shape")
        return np.frombuffer(content, dtype=numpy_dtype).reshape(shape).copy()
    values = _values(proto, dtype, numpy_dtype)
    if len(values) > count:
        raise TensorParseError("more values than the shape holds")
    if len(values) < count:
        if count * itemsize > _MAX_IMPLIED_BYTES:
            raise TensorParseError("shape too large for the values sent")
        filler = values[-1] if len(values) else (b"" if dtype == types_pb2.DT_STRING else 0)
        padded = np.empty(count, dtype=values.dtype)
        padded[:len(values)] = values
        padded[len(values):] = filler
        values = padded
    return values.reshape(shape)


def from_ndarray(array, proto=None):
    """Encode a session output as a TensorProto with typed value fields (AsProtoField), into `proto` if given."""
    dtype = _DATATYPES.get(array.dtype)
    if dtype is None:
        dtype = _DATATYPES[array.dtype] = tf.as_dtype(array.dtype).as_datatype_enum
    proto = tensor_pb2.TensorProto() if proto is None else proto
    proto.dtype = dtype
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    flat = array.reshape(-1)
    if dtype == types_pb2.DT_STRING:
        proto.string_val.extend(flat.tolist())
    elif dtype == types_pb2.DT_HALF:
        proto.half_val.extend(flat.astype(np.float16).view(np.uint16).tolist())
    elif dtype in _COMPLEX_FIELDS:
        interleaved = np.stack([flat.real, flat.imag], axis=-1).reshape(-1)
        getattr(proto, _COMPLEX_FIELDS[dtype]).extend(interleaved.tolist())
    elif dtype in _VALUE_FIELDS:
        getattr(proto, _VALUE_FIELDS[dtype]).extend(flat.tolist())
    else:
        proto.CopyFrom(tf.make_tensor_proto(array))
    return proto
