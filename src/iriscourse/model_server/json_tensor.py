"""TF Serving's JSON <-> tensor rules for the REST API.

Request side: the body is parsed with Python's json module (which, like TF
Serving's rapidjson setup, accepts NaN/Infinity and keeps the int/float
distinction of the text), then `instances` (row format) or `inputs` (columnar
format) is turned into numpy arrays following TF Serving's shape and type
rules, and classify/regress `examples` into serialized tf.train.Examples.
Response side: tensors are written with TF Serving's number formatting and
layout (`predictions`, `outputs`, `results`).

Well-formed requests take fast paths (the json module's C parser without
per-number hooks; whole nested lists checked and converted by numpy); whatever
a fast path cannot vouch for goes through the careful element-by-element
rules, which alone decide every error message.
"""
import base64
import binascii
import json
import math
import re
import struct

import numpy as np
import tensorflow as tf
from tensorflow.core.example import example_pb2
from tensorflow.core.framework import types_pb2

from . import errors

MAX_RANK = 32  # numpy's limit on array dimensions
_RENDER_LIMIT = 256
_INT64_MIN, _INT64_MAX = -(2 ** 63), 2 ** 63 - 1
_UINT64_MAX = 2 ** 64 - 1
_INT32_RANGE = (-(2 ** 31), 2 ** 31 - 1)
_INTEGER_RANGES = {
    types_pb2.DT_INT32: _INT32_RANGE,
    types_pb2.DT_INT16: _INT32_RANGE,
    types_pb2.DT_INT8: _INT32_RANGE,
    types_pb2.DT_UINT8: _INT32_RANGE,
    types_pb2.DT_INT64: (_INT64_MIN, _INT64_MAX),
    types_pb2.DT_UINT32: (0, 2 ** 32 - 1),
    types_pb2.DT_UINT64: (0, _UINT64_MAX),
}
_FLOATS = (types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE)
_NARROW_INTS = (types_pb2.DT_INT16, types_pb2.DT_INT8, types_pb2.DT_UINT8)
# The Python types of JSON values _scalar accepts as they are (b64 objects go the careful way).
_FAST_LEAF_TYPES = dict([(dtype, {int}) for dtype in _INTEGER_RANGES] + [(dtype, {int, float}) for dtype in _FLOATS]
                        + [(types_pb2.DT_BOOL, {bool}), (types_pb2.DT_STRING, {str})])
_FEATURE_KIND_NAMES = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}
_PARSER_MESSAGES = {
    "Expecting value": "Invalid value.",
    "Expecting property name enclosed in double quotes": "Missing a name for object member.",
    "Expecting ':' delimiter": "Missing a colon after a name of object member.",
    "Unterminated string starting at": "Missing a closing quotation mark in string.",
    "Invalid \\escape": "Invalid escape character in string.",
    "Invalid \\uXXXX escape": "Incorrect hex digit after \\u escape in string.",
    "Invalid control character at": "Invalid encoding in string.",
}
_MISSING_COMMA = {
    "[": "Missing a comma or ']' after an array element.",
    "{": "Missing a comma or '}' after an object member.",
}


# ---------------------------------------------------------------- text helpers

def utf8_bytes(text):
    """Encode text back to the exact bytes it was decoded from (undecodable bytes survive)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _text_of(raw):
    """Decode tensor bytes for JSON output; invalid UTF-8 passes through unchanged."""
    return raw.decode("utf-8", "surrogateescape")


def json_string(raw):
    """A JSON string literal for bytes (raw UTF-8, like rapidjson's writer)."""
    return json.dumps(_text_of(raw), ensure_ascii=False)


def render(value):
    """Print a request value for an error message (compact JSON, cut at 256 characters)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):
        text = "<value nested too deeply to print>"
    if len(text) > _RENDER_LIMIT:
        text = text[:_RENDER_LIMIT] + "..."
    return text


def json_type(value):
    """rapidjson's name for the JSON type of a parsed value."""
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def dtype_name(dtype):
    """TensorFlow's DataTypeString for a DataType enum value ('float', 'int64', 'string', ...)."""
    special = {types_pb2.DT_FLOAT: "float", types_pb2.DT_DOUBLE: "double", types_pb2.DT_HALF: "half"}
    if dtype in special:
        return special[dtype]
    try:
        return tf.as_dtype(dtype).name
    except TypeError:
        return types_pb2.DataType.Name(dtype)


def _format_error(doc, message):
    return errors.invalid_argument("JSON Value: %s %s" % (render(doc), message))


# ---------------------------------------------------------------- parsing

class _NumberTooBig(ValueError):
    pass


def _parse_float(text):
    value = float(text)
    if math.isinf(value):
        raise _NumberTooBig(text)
    return value


def _parse_int(text):
    value = int(text)
    if _INT64_MIN <= value <= _UINT64_MAX:
        return value
    return _parse_float(text)  # like rapidjson: integers beyond 64 bits are doubles


_DECODER = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int)
_PLAIN_DECODER = json.JSONDecoder()
# A body's bytes reduced to the shape of its number literals: digits -> 0, e/E -> e, '.' kept, all else
# (signs included) -> space.
_SKETCHED = dict([(digit, ord("0")) for digit in b"0123456789"] + [(ord("e"), ord("e")), (ord("E"), ord("e")),
                                                                   (ord("."), ord("."))])
_NUMBER_SKETCH = bytes(_SKETCHED.get(char, ord(" ")) for char in range(256))
# In a sketch, the literals the plain decoder could read differently from _DECODER: 19+ digits before any
# '.' (integers outside int64..uint64, which rapidjson reads as doubles) and 3+ digit exponents (doubles
# that may overflow).
_LONG_INTEGER_PART = b" " + b"0" * 19
_LONG_EXPONENT = re.compile(rb"e ?000")


def _byte_offset(text, index):
    return len(utf8_bytes(text[:index]))


def _open_container(text, end):
    """The bracket of the innermost array or object still open at text[:end]."""
    stack = []
    in_string = escaped = False
    for char in text[:end]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _unfinished_number(text, pos):
    """rapidjson's error and offset when a number stops at text[pos] after '.' or an exponent mark."""
    if pos == 0 or not text[pos - 1].isdigit() or pos >= len(text) or text[pos] not in ".eE":
        return None
    if text[pos] == ".":  # Python's scanner took the digits and stopped: no digit after the point
        return "Miss fraction part in number.", pos + 1
    after = pos + 2 if text[pos + 1:pos + 2] in ("+", "-") else pos + 1
    return "Miss exponent in number.", after


def _parse_error(text, error):
    message = _PARSER_MESSAGES.get(error.msg, error.msg)
    offset = error.pos
    if error.msg == "Expecting ',' delimiter":
        unfinished = _unfinished_number(text, error.pos)
        if unfinished:
            message, offset = unfinished
        else:
            message = _MISSING_COMMA.get(_open_container(text, error.pos), message)
    return errors.invalid_argument(
        "JSON Parse error: %s at offset: %d" % (message, _byte_offset(text, offset)))


def _numbers_need_care(body):
    """Whether a number literal in body could be too big for the plain parser to read like rapidjson."""
    sketch = b" " + body.translate(_NUMBER_SKETCH)
    return _LONG_INTEGER_PART in sketch or _LONG_EXPONENT.search(sketch) is not None


def _decode(body, text, start):
    """The JSON value at text[start:]: the C parser without hooks when no number needs care, else _DECODER."""
    if not _numbers_need_care(body):
        try:
            return _PLAIN_DECODER.raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            pass  # malformed: the careful parse gives rapidjson's message
    return _DECODER.raw_decode(text, start)[0]


def parse_json_object(body):
    """Parse a request body into a JSON object; text after the first value is ignored."""
    if not body:
        raise errors.invalid_argument("JSON Parse error: The document is empty")
    text = body.decode("utf-8", "surrogateescape")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise errors.invalid_argument(
            "JSON Parse error: The document is empty. at offset: %d" % _byte_offset(text, start))
    try:
        doc = _decode(body, text, start)
    except json.JSONDecodeError as error:
        raise _parse_error(text, error)
    except _NumberTooBig as error:
        offset = max(text.find(str(error), start), start)
        raise errors.invalid_argument(
            "JSON Parse error: Number too big to be stored in double. at offset: %d"
            % _byte_offset(text, offset))
    except RecursionError:
        raise errors.invalid_argument(
            "JSON Parse error: The document is nested too deeply to be parsed. at offset: %d" % start)
    if not isinstance(doc, dict):
        raise errors.invalid_argument("JSON Value: %s Is not object" % render(doc))
    return doc


def signature_name_of(doc):
    """The request's `signature_name` ('' when absent); it must be a string."""
    value = doc.get("signature_name", "")
    if not isinstance(value, str):
        raise errors.invalid_argument(
            "JSON Value: %s not formatted correctly. 'signature_name' key must be a string value."
            % render(doc))
    return value


# ---------------------------------------------------------------- JSON -> tensor

def _is_b64_object(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_named_object(value):
    return isinstance(value, dict) and not _is_b64_object(value)


def _decode_b64(value):
    if not _is_b64_object(value):
        raise errors.invalid_argument(
            "JSON Value: %s not formatted correctly for base64 data" % render(value))
    text = "".join(value["b64"].split())
    try:
        data = text.encode("ascii")
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise errors.invalid_argument("Unable to base64 decode")


def _type_error(value, dtype):
    return errors.invalid_argument("JSON Value: %s Type: %s is not of expected type: %s"
                                   % (render(value), json_type(value), dtype_name(dtype)))


def _scalar(value, dtype):
    """Check one leaf value against the input dtype and return it in Python form."""
    if isinstance(value, dict):
        if dtype == types_pb2.DT_STRING:
            return _decode_b64(value)
        raise _type_error(value, dtype)
    if dtype == types_pb2.DT_STRING:
        if isinstance(value, str):
            return utf8_bytes(value)
    elif dtype in _FLOATS:
        if type(value) in (int, float):
            return value
    elif dtype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[dtype]
        if type(value) is int and low <= value <= high:
            return value
    elif dtype == types_pb2.DT_BOOL:
        if type(value) is bool:
            return value
    else:
        raise errors.unimplemented(
            "Conversion of JSON Value: %s to type: %s" % (render(value), dtype_name(dtype)))
    raise _type_error(value, dtype)


def _shape_of(value):
    """TF Serving's shape inference: one dim per list level, following first elements."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        if len(shape) > MAX_RANK:
            raise errors.invalid_argument(
                "JSON lists nested deeper than %d levels: tensors of rank above %d are not supported"
                % (MAX_RANK, MAX_RANK))
        if not value:
            break
        value = value[0]
    return shape


def _fill(value, level, shape, dtype, flat):
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise errors.invalid_argument(
                "JSON Value: %s found at incorrect level: %d in the JSON DOM. Expected at level: %d"
                % (render(value), level + 1, rank))
        flat.append(_scalar(value, dtype))
        return
    if level >= rank:
        raise errors.invalid_argument(
            "Encountered list at unexpected level: %d expected < %d" % (level, rank))
    if len(value) != shape[level]:
        raise errors.invalid_argument(
            "Encountered list at unexpected size: %d at level: %d expected size: %d"
            % (len(value), level, shape[level]))
    for item in value:
        _fill(item, level + 1, shape, dtype, flat)


def _flatten(value, dtype):
    """Shape and flat list of values of one JSON value (TF Serving's rules)."""
    shape = _shape_of(value)
    flat = []
    _fill(value, 0, shape, dtype, flat)
    return shape, flat


def _to_array(flat, shape, dtype):
    if dtype == types_pb2.DT_STRING:
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
    elif dtype in _NARROW_INTS:
        array = np.array(flat, dtype=np.int64).astype(tf.as_dtype(dtype).as_numpy_dtype)
    else:
        array = np.array(flat, dtype=tf.as_dtype(dtype).as_numpy_dtype)
    return array.reshape(shape)


def _regular_leaves(value):
    """(shape, flat leaves) of a value whose lists nest regularly (no list as a leaf), else None."""
    shape, probe = [], value
    while isinstance(probe, list) and len(shape) <= MAX_RANK:
        shape.append(len(probe))
        probe = probe[0] if probe else None
    if len(shape) > MAX_RANK:
        return None
    if len(shape) == 0:
        return shape, [value]
    if len(shape) == 1:
        return shape, value
    try:
        leaves = np.array(value, dtype=object)
    except ValueError:  # numpy cannot lay out this raggedness
        return None
    if leaves.shape != tuple(shape):
        return None
    return shape, leaves.reshape(-1).tolist()


def _fast_array(value, dtype):
    """The tensor of a well-formed JSON value, or None when only the careful rules can tell (or fail)."""
    allowed = _FAST_LEAF_TYPES.get(dtype)
    regular = _regular_leaves(value) if allowed else None
    if regular is None:
        return None
    shape, flat = regular
    if not set(map(type, flat)) <= allowed:
        return None
    if dtype in _INTEGER_RANGES and flat:
        low, high = _INTEGER_RANGES[dtype]
        if min(flat) < low or max(flat) > high:
            return None
    if dtype == types_pb2.DT_STRING:
        flat = [utf8_bytes(text) for text in flat]
    return _to_array(flat, shape, dtype)


def _array(value, dtype):
    """The tensor of one JSON value (TF Serving's rules; ServingError when it breaks them)."""
    array = _fast_array(value, dtype)
    if array is None:
        shape, flat = _flatten(value, dtype)
        array = _to_array(flat, shape, dtype)
    return array


def _shape_text(shape):
    return "[%s]" % ",".join(str(size) for size in shape)


class _Batch(object):
    """Values of one named input collected across the elements of `instances`."""

    def __init__(self, shape, flat):
        self.shape, self.size, self.flat = shape, len(flat), flat

    def add(self, shape, flat):
        """Append one element's values; it must match the first element's size and shape."""
        if len(flat) != self.size:
            raise errors.invalid_argument(
                "Expecting tensor size: %d but got: %d" % (self.size, len(flat)))
        if shape != self.shape:
            raise errors.invalid_argument(
                "Expecting shape %s but got: %s" % (_shape_text(self.shape), _shape_text(shape)))
        self.flat.extend(flat)


def _add_instance_item(batches, item, name, input_dtypes):
    if name not in input_dtypes:
        raise errors.invalid_argument("JSON object: does not have named input: %s" % name)
    shape, flat = _flatten(item, input_dtypes[name])
    if name in batches:
        batches[name].add(shape, flat)
    else:
        batches[name] = _Batch(shape, flat)


def _fast_instances(instances, names, named, input_dtypes):
    """The tensors of well-formed `instances`, or None when the careful rules must look at each element."""
    if named:
        keys = set(names)
        if not all(_is_named_object(element) and element.keys() == keys for element in instances):
            return None
        columns = {name: [element[name] for element in instances] for name in names}
    else:
        columns = {names[0]: instances}
    arrays = {}
    for name, column in columns.items():
        arrays[name] = _fast_array(column, input_dtypes[name])
        if arrays[name] is None:
            return None
    return arrays


def _instances_to_arrays(instances, input_dtypes):
    names = sorted(input_dtypes)
    if not isinstance(instances[0], dict) and len(names) > 1:
        raise errors.invalid_argument(
            "instances is a plain list, but expecting list of objects as multiple input tensors "
            "required as per tensorinfo_map")
    named = _is_named_object(instances[0])
    arrays = _fast_instances(instances, names, named, input_dtypes)
    if arrays is not None:
        return arrays
    batches = {}
    for index, element in enumerate(instances):
        if named:
            if not _is_named_object(element):
                raise errors.invalid_argument(
                    "Expecting object but got list at item %d of input list" % index)
            for key, item in element.items():
                try:
                    _add_instance_item(batches, item, key, input_dtypes)
                except errors.ServingError as error:
                    raise errors.invalid_argument(
                        "Failed to process element: %d key: %s of 'instances' list. Error: %s"
                        % (index, key, error))
            if set(element) != set(names):
                raise errors.invalid_argument(
                    "Failed to process element: %d of 'instances' list. JSON object: %s keys must be "
                    "equal to: %s" % (index, render(element), ",".join(names)))
        else:
            if _is_named_object(element):
                raise errors.invalid_argument(
                    "Expecting value/list but got object at item %d of input list" % index)
            try:
                _add_instance_item(batches, element, names[0], input_dtypes)
            except errors.ServingError as error:
                raise errors.invalid_argument(
                    "Failed to process element: %d of 'instances' list. Error: %s" % (index, error))
    return {name: _to_array(batch.flat, [len(instances)] + batch.shape, input_dtypes[name])
            for name, batch in batches.items()}


def _inputs_to_arrays(inputs, input_dtypes):
    names = sorted(input_dtypes)
    if not isinstance(inputs, dict) or _is_b64_object(inputs):
        if len(names) > 1:
            raise errors.invalid_argument(
                "inputs is a plain value/list, but expecting an object as multiple input tensors "
                "required as per tensorinfo_map")
        return {names[0]: _array(inputs, input_dtypes[names[0]])}
    arrays = {}
    for name in names:
        if name not in inputs:
            raise errors.invalid_argument("Missing named input: %s in 'inputs' object." % name)
        arrays[name] = _array(inputs[name], input_dtypes[name])
    return arrays


def predict_inputs(doc, input_dtypes):
    """Tensors of a predict request: (is_row_format, {alias: ndarray}).

    input_dtypes maps each signature input alias to its DataType enum value.
    """
    if "instances" in doc:
        if "inputs" in doc:
            raise _format_error(doc, "Not formatted correctly expecting only one of 'inputs' or "
                                     "'instances' keys to exist ")
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise _format_error(doc, "Expecting 'instances' to be an list/array")
        if not instances:
            raise _format_error(doc, "No values in 'instances' array")
        return True, _instances_to_arrays(instances, input_dtypes)
    if "inputs" in doc:
        return False, _inputs_to_arrays(doc["inputs"], input_dtypes)
    raise errors.invalid_argument("Missing 'inputs' or 'instances' key")


# ---------------------------------------------------------------- JSON -> tf.Example

def _add_to_feature(value, name, feature):
    if value is None or isinstance(value, list) or _is_named_object(value):
        raise errors.invalid_argument("Feature: %s has element with unexpected JSON type: %s"
                                      % (name, json_type(value)))
    if isinstance(value, bool):
        kind, item = "int64_list", int(value)
    elif isinstance(value, dict):
        kind, item = "bytes_list", _decode_b64(value)
    elif isinstance(value, str):
        kind, item = "bytes_list", utf8_bytes(value)
    elif isinstance(value, float):
        kind, item = "float_list", value
    elif value > _INT64_MAX:
        raise errors.invalid_argument(
            "Feature: %s has uint64 element. Only int64 is supported." % name)
    else:
        kind, item = "int64_list", value
    current = feature.WhichOneof("kind")
    if current not in (None, kind):
        raise errors.invalid_argument("Unexpected element type in feature: %s expecting type: %s"
                                      % (name, _FEATURE_KIND_NAMES[current]))
    getattr(feature, kind).value.append(item)


def _example_from_json(value):
    if not isinstance(value, dict):
        raise errors.invalid_argument(
            "Example must be JSON object but got JSON %s" % json_type(value))
    example = example_pb2.Example()
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            _add_to_feature(item, name, feature)
    return example


def serialized_examples(doc):
    """Serialized tf.Examples of a classify/regress request (context bytes prepended)."""
    context = b""
    if "context" in doc:
        context = _example_from_json(doc["context"]).SerializeToString()
    if "examples" not in doc:
        raise _format_error(doc, "When method is classify, key 'examples' is expected and was not found")
    examples = doc["examples"]
    if not isinstance(examples, list):
        raise _format_error(doc, "Expecting 'examples' value to be an list/array")
    if not examples:
        raise _format_error(doc, "'examples' value is an empty array")
    return [context + _example_from_json(example).SerializeToString() for example in examples]


# ---------------------------------------------------------------- tensor -> JSON

_FLOAT32 = struct.Struct("f")
_BULK_FLOATS = 32  # from this many elements on, numpy's fixed cost pays off
_POWERS_OF_TEN = np.array([float(10 ** power) for power in range(23)])  # all exact doubles


def _as_float32(number):
    """A Python float rounded to float32 (infinite beyond float32's range)."""
    try:
        return _FLOAT32.unpack(_FLOAT32.pack(number))[0]
    except OverflowError:
        return math.copysign(math.inf, number)


def format_float(value, double=False):
    """TF Serving's float text: %g, or 9/17 significant digits when %g does not round-trip."""
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    text = "%g" % number
    if double:
        round_trips = float(text) == number
    else:
        round_trips = _as_float32(float(text)) == _as_float32(number)
    if not round_trips:
        text = ("%.17g" if double else "%.9g") % number
    if "." not in text and "e" not in text:
        text += ".0"
    return text


def _short_form_checks(values, double):
    """(decided, exact) masks: where numpy can tell, whether "%g" of a value reads back as the same float.

    The value of "%g" % x is d * 10**k with d = |x| / 10**k rounded to 6 digits (k = exponent - 5). For
    |k| <= 22, 10**k is an exact double, so the scaling and the read-back d * 10**k are single IEEE
    operations, correctly rounded like float(text). Near-ties of that rounding, misjudged exponents,
    |k| > 22, infinities and NaN stay undecided.
    """
    with np.errstate(all="ignore"):  # NaN, infinities, underflow: their lanes end up undecided anyway
        magnitude = np.absolute(values, dtype=np.float64)
        finite = np.isfinite(magnitude)
        magnitude = np.where(finite & (magnitude != 0), magnitude, 1.0)  # "%g" of 0 reads back exactly, as of 1
        power = np.floor(np.log10(magnitude)) - 5
        scale = _POWERS_OF_TEN[np.minimum(np.abs(power), len(_POWERS_OF_TEN) - 1).astype(np.intp)]
        down = power >= 0
        scaled = np.where(down, magnitude / scale, magnitude * scale)
        digits = np.rint(scaled)
        read_back = np.where(down, digits * scale, digits / scale)
    decided = (finite & (np.abs(power) < len(_POWERS_OF_TEN)) & (scaled >= 1e5) & (scaled < 1e6)
               & (np.abs(scaled - digits) < 0.499999))
    if not double:
        read_back, magnitude = read_back.astype(np.float32), magnitude.astype(np.float32)
    return decided, decided & (read_back == magnitude)


def _float_texts(values, double):
    """format_float of every element of a flat float32/float64 array (in bulk when there are many)."""
    numbers = values.tolist()
    if len(numbers) < _BULK_FLOATS:
        return [format_float(number, double) for number in numbers]
    decided, exact = _short_form_checks(values, double)
    layout = "".join(np.where(exact, "%g,", "%.17g," if double else "%.9g,").tolist())
    texts = [text if "." in text or "e" in text else text + ".0"
             for text in (layout % tuple(numbers)).split(",")[:-1]]
    for index in np.flatnonzero(~decided).tolist():
        texts[index] = format_float(numbers[index], double)
    return texts


def _element_texts(array, alias):
    """JSON text of every element of an output tensor, flat in C order."""
    kind = array.dtype.kind
    flat = array.reshape(-1)
    if kind == "f" and array.dtype.itemsize in (4, 8):
        return _float_texts(flat, array.dtype.itemsize == 8)
    if kind in "iu":
        return [str(value) for value in flat.tolist()]
    if kind == "b":
        return ["true" if value else "false" for value in flat.tolist()]
    if kind in "OS":
        if alias.endswith("_bytes"):
            return ['{"b64": "%s"}' % base64.b64encode(value).decode("ascii") for value in flat]
        return [json_string(value) for value in flat]
    raise errors.invalid_argument(
        "Failed to write JSON value for tensor type: %s" % tf.as_dtype(array.dtype).name)


def _compact_layout(shape):
    """A %-template that lays out a tensor of this shape on one line, one %s per element."""
    if not shape:
        return "%s"
    return "[%s]" % ", ".join([_compact_layout(shape[1:])] * shape[0])


def _pretty_layout(shape, level):
    """A %-template that lays out a tensor of this shape indented at `level`, one element per line."""
    if not shape:
        return "%s"
    if shape[0] == 0:
        return "[]"
    item = "    " * (level + 1) + _pretty_layout(shape[1:], level + 1)
    return "[\n%s\n%s]" % (",\n".join([item] * shape[0]), "    " * level)


def _pretty(array, alias, level):
    return _pretty_layout(array.shape, level) % tuple(_element_texts(array, alias))


def _row_response(outputs):
    batch = None
    for alias, array in outputs:
        if array.ndim == 0:
            raise errors.invalid_argument("Tensor name: %s has no shape information " % alias)
        if batch is None:
            batch = array.shape[0]
        elif array.shape[0] != batch:
            raise errors.invalid_argument("Tensor name: %s has inconsistent batch size: %d expecting: %d"
                                          % (alias, array.shape[0], batch))
    texts = [(alias, array.shape[1:], _element_texts(array, alias)) for alias, array in outputs]
    if not batch:
        return '{\n    "predictions": []\n}'
    if len(texts) == 1:
        _, item_shape, text = texts[0]
        items = ", ".join([_compact_layout(item_shape)] * batch) % tuple(text)
        return '{\n    "predictions": [%s\n    ]\n}' % items
    members = ",\n".join('            %s: %s' % (json.dumps(alias, ensure_ascii=False).replace("%", "%%"),
                                                 _compact_layout(item_shape)) for alias, item_shape, _ in texts)
    layout = ",\n        ".join(["{\n%s\n        }" % members] * batch)
    by_row = []
    for index in range(batch):
        for _, _, text in texts:
            size = len(text) // batch
            by_row += text[index * size:(index + 1) * size]
    return '{\n    "predictions": [\n        %s\n    ]\n}' % (layout % tuple(by_row))


def _columnar_response(outputs):
    if len(outputs) == 1:
        alias, array = outputs[0]
        return '{\n    "outputs": %s\n}' % _pretty(array, alias, 1)
    members = ",\n".join('        %s: %s' % (json.dumps(alias, ensure_ascii=False), _pretty(array, alias, 2))
                         for alias, array in outputs)
    return '{\n    "outputs": {\n%s\n    }\n}' % members


def predict_response(row_format, outputs):
    """Body of a predict response; outputs is a list of (alias, ndarray) pairs."""
    return _row_response(outputs) if row_format else _columnar_response(outputs)


def classify_response(classifications):
    """Body of a classify response; one list of (label bytes, score) pairs per example."""
    items = ", ".join("[%s]" % ", ".join("[%s, %s]" % (json_string(label), format_float(score))
                                         for label, score in classes)
                      for classes in classifications)
    return '{\n    "results": [%s\n    ]\n}' % items


def regress_response(values):
    """Body of a regress response: one float per example."""
    return '{\n    "results": [%s]\n}' % ", ".join(format_float(value) for value in values)


def error_response(message):
    """Body of an error response: {"error": message}."""
    return '{\n    "error": %s\n}' % json.dumps(message, ensure_ascii=False)
