"""json_tensor's fast paths give what its careful element-by-element rules give, on tricky inputs.

Each differential test runs the same input twice: as served, and with the fast paths switched off, so
that the careful rules (the reference for every value and every error message) decide alone.
"""
import json
import math

import numpy as np
import pytest
from tensorflow.core.framework import types_pb2

from iriscourse.model_server import errors, json_tensor

F, D, H = types_pb2.DT_FLOAT, types_pb2.DT_DOUBLE, types_pb2.DT_HALF
I8, I16, I32, I64 = types_pb2.DT_INT8, types_pb2.DT_INT16, types_pb2.DT_INT32, types_pb2.DT_INT64
U8, U32, U64 = types_pb2.DT_UINT8, types_pb2.DT_UINT32, types_pb2.DT_UINT64
B, S = types_pb2.DT_BOOL, types_pb2.DT_STRING


def _outcome(call, *args):
    """What a call gives: ("value", result), ("error", code, message) for a ServingError, or what it raised."""
    try:
        return "value", call(*args)
    except errors.ServingError as error:
        return "error", error.code, error.message
    except Exception as error:  # pylint: disable=broad-except
        return "raised", type(error).__name__, str(error)


def _careful_outcome(monkeypatch, call, *args):
    """_outcome with every fast path of json_tensor switched off."""
    with monkeypatch.context() as patch:
        patch.setattr(json_tensor, "_numbers_need_care", lambda body: True)
        patch.setattr(json_tensor, "_fast_array", lambda value, dtype: None)
        return _outcome(call, *args)


def _typed(value):
    """A JSON value with each number's type spelled out (1 and 1.0 differ) and NaN equal to itself."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return type(value).__name__, value


def _comparable(outcome):
    """An outcome with arrays as (dtype, shape, elements) and JSON documents typed."""
    if outcome[0] != "value":
        return outcome
    result = outcome[1]
    if isinstance(result, tuple):  # predict_inputs: (row_format, {alias: array})
        row_format, arrays = result
        return row_format, {alias: (array.dtype.str, array.shape, array.tolist() if array.dtype == object
                                    else array.tobytes()) for alias, array in arrays.items()}
    return _typed(result)


# ---------------------------------------------------------------- parsing

BIG = b"1" + b"0" * 309
TRICKY_BODIES = [
    b'{"inputs": [NaN, Infinity, -Infinity, -0.0, 0.1, 16777217, 3.4028236e38, 1.5e-05]}',
    b'{"inputs": [1e308, 1.7976931348623157e308, 2e-400, 1e-99, 1e+99, 123456789012345678, -123456789012345678]}',
    b'{"inputs": [1e309]}', b'{"inputs": [-1E+400]}', b'{"inputs": [1e0400]}', b'{"inputs": [2e-0400]}',
    b'{"inputs": [' + BIG + b'.5]}', b'{"inputs": [' + BIG + b']}', b'{"inputs": [0.' + BIG + b']}',
    b'{"inputs": [9223372036854775807, -9223372036854775808, 9223372036854775808, -9223372036854775809]}',
    b'{"inputs": [18446744073709551615, 18446744073709551616, -18446744073709551616]}',
    b'{"inputs": [1234567890123456789.5, 0.1234567890123456789012, 1234567890123456789e-10]}',
    b'{"inputs": ["12345678901234567890", "e-1000", "\\u00e9\\ud83d\\ude00", "a\xffb", "\xc3\xa9"]}',
    b'{"a": 1, "a": 2.5}', b'  \n{"inputs": [[1, 2], [3]]} trailing text 1e999',
    b'{"inputs": [1, 2,]}', b'{"inputs": [01]}', b'{"inputs": [1.]}', b'{"inputs": [1e]}', b'{"inputs": [-]}',
    b'{"inputs": [1.5e+]}', b'{"inputs": [tru]}', b'{"x": "unterminated}', b'{"inputs": [1] ', b'{"x": "\\q"}',
    b'[1e400]', b'1e400', b'12345678901234567890', b'"text"', b'null', b' ', b'[' * 100000,
    b'{"inputs": ' + b'[' * 5000 + b']' * 5000 + b'}',
]


@pytest.mark.parametrize("body", TRICKY_BODIES)
def test_parsing_gives_the_careful_parsers_value_or_error(body, monkeypatch):
    fast = _comparable(_outcome(json_tensor.parse_json_object, body))
    assert fast == _comparable(_careful_outcome(monkeypatch, json_tensor.parse_json_object, body))


@pytest.mark.parametrize("literal", [b"1e400", b"1E+400", b"1e-300", b"-1234567890123456789",
                                     b"[1234567890123456789]", b'{"a":12345678901234567890}'])
def test_numbers_that_may_read_differently_take_the_careful_parser(literal):
    assert json_tensor._numbers_need_care(literal)


def test_ordinary_requests_take_the_plain_parser():
    body = json.dumps({"instances": [[5.1, 3.5, -1.4, 0.2, 1e-05, 1.5e+20, -123456789012345678, 0.1 + 0.2],
                                     {"b64": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"}],
                       "signature_name": "v2 2024-01-01"}).encode()
    assert not json_tensor._numbers_need_care(body)


# ---------------------------------------------------------------- JSON -> tensor

def _nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


TRICKY_REQUESTS = [
    ({"inputs": [[1.5, 2], [-0.0, 3]]}, {"x": F}),
    ({"inputs": [0.1, 16777217, 3.4028236e38, 1e39, 2 ** 64 - 1, -(2 ** 63), 2 ** 63]}, {"x": F}),
    ({"inputs": [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 2 ** 64 - 1]}, {"x": D}),
    ({"inputs": [[1.5, True]]}, {"x": F}), ({"inputs": [None]}, {"x": F}), ({"inputs": ["1.5"]}, {"x": F}),
    ({"inputs": [{"a": 1}]}, {"x": F}), ({"inputs": [[1, 2], [3]]}, {"x": F}), ({"inputs": [[1, 2], 3]}, {"x": F}),
    ({"inputs": [1, [2]]}, {"x": F}), ({"inputs": [[[1], [2]], [[3], [4, 5]]]}, {"x": F}),
    ({"inputs": [[1, 2], [[3, 4], 5]]}, {"x": F}), ({"inputs": [[[1, 2]], [[3, [4]]]]}, {"x": F}),
    ({"inputs": [[], [1]]}, {"x": F}), ({"inputs": [[], []]}, {"x": F}), ({"inputs": [[]]}, {"x": I64}),
    ({"inputs": []}, {"x": S}), ({"inputs": _nested(32, 1.0)}, {"x": F}), ({"inputs": _nested(33, 1.0)}, {"x": F}),
    ({"inputs": [_nested(31, 1.0), _nested(31, 2.0)]}, {"x": F}),
    ({"inputs": [2 ** 31 - 1, -(2 ** 31)]}, {"x": I32}), ({"inputs": [2 ** 31]}, {"x": I32}),
    ({"inputs": [300, -129, 2 ** 31 - 1]}, {"x": U8}), ({"inputs": [300, -129]}, {"x": I8}),
    ({"inputs": [70000, -(2 ** 31)]}, {"x": I16}), ({"inputs": [2 ** 31]}, {"x": I16}),
    ({"inputs": [2 ** 32 - 1, 0]}, {"x": U32}), ({"inputs": [-1]}, {"x": U32}), ({"inputs": [2 ** 32]}, {"x": U32}),
    ({"inputs": [2 ** 64 - 1, 0]}, {"x": U64}), ({"inputs": [-1]}, {"x": U64}),
    ({"inputs": [2 ** 63 - 1, -(2 ** 63)]}, {"x": I64}), ({"inputs": [2 ** 63]}, {"x": I64}),
    ({"inputs": [1.0]}, {"x": I64}), ({"inputs": [True]}, {"x": I64}),
    ({"inputs": [True, False]}, {"x": B}), ({"inputs": [1]}, {"x": B}),
    ({"inputs": ["\u00e9", "a\udcffb", "\ud83d\ude00", "", "%s"]}, {"x": S}), ({"inputs": [1]}, {"x": S}),
    ({"inputs": [{"b64": "eQ=="}, "x"]}, {"x": S}), ({"inputs": [{"b64": "!!"}]}, {"x": S}),
    ({"inputs": [[{"b64": "eQ=="}], [{"b64": "eg=="}]]}, {"x": S}), ({"inputs": [1.5]}, {"x": H}),
    ({"inputs": 7}, {"x": I32}), ({"inputs": 7.5}, {"x": I32}), ({"inputs": {"b64": "eQ=="}}, {"x": S}),
    ({"inputs": {"a": [1.0], "b": ["p"]}}, {"a": F, "b": S}), ({"inputs": {"a": [1.0]}}, {"a": F, "b": S}),
    ({"inputs": {"a": [[1.0, 2.0]], "b": [[True]]}}, {"a": D, "b": B}),
    ({"instances": [{"a": 1.0, "b": "x"}, {"a": 2, "b": {"b64": "eQ=="}}]}, {"a": F, "b": S}),
    ({"instances": [{"a": [1.0, 2.0], "b": [[1]]}, {"a": [3.0, 4.5], "b": [[2]]}]}, {"a": F, "b": I32}),
    ({"instances": [{"a": [1.0, 2.0]}, {"a": [3.0]}]}, {"a": F}),
    ({"instances": [{"a": [[1.0, 2.0]]}, {"a": [[3.0], [4.0]]}]}, {"a": F}),
    ({"instances": [{"a": 1.0}, {"a": 2.0, "b": 3.0}]}, {"a": F}),
    ({"instances": [{"a": 1.0, "b": 2.0}, {"a": 1.0}]}, {"a": F, "b": F}),
    ({"instances": [{"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 2.0}]}, {"a": F, "b": F}),
    ({"instances": [{"a": 1.0}, [2.0]]}, {"a": F}), ({"instances": [[1.0], {"a": 2.0}]}, {"a": F}),
    ({"instances": [[1.0, 2.0], [3.0, 4.0]]}, {"a": F}), ({"instances": [1, 2, 3]}, {"a": I64}),
    ({"instances": [[1.0, 2.0], [3.0, True]]}, {"a": F}), ({"instances": [[1.0], [2.0, 3.0]]}, {"a": F}),
    ({"instances": [1.0, 2.0]}, {"a": F, "b": F}), ({"instances": [{"a": 1.5}]}, {"a": H}),
    ({"instances": [{"b64": "eQ=="}, {"b64": "eg=="}]}, {"b64": S}),
    ({"instances": [{"b64": 5}, {"b64": 6}]}, {"b64": I64}), ({"instances": [{"b64": 5}, {"b64": "eg=="}]}, {"b64": S}),
    ({"instances": [_nested(32, 1.0)]}, {"a": F}), ({"instances": [[], []]}, {"a": F}),
]


@pytest.mark.parametrize("doc, input_dtypes", TRICKY_REQUESTS)
def test_request_tensors_are_the_careful_rules_tensors_or_errors(doc, input_dtypes, monkeypatch):
    fast = _comparable(_outcome(json_tensor.predict_inputs, doc, input_dtypes))
    assert fast == _comparable(_careful_outcome(monkeypatch, json_tensor.predict_inputs, doc, input_dtypes))


def test_well_formed_requests_skip_the_element_by_element_rules(monkeypatch):
    def element_by_element(*args):
        raise AssertionError("the careful rules ran")
    monkeypatch.setattr(json_tensor, "_fill", element_by_element)
    row_format, arrays = json_tensor.predict_inputs(
        {"instances": [{"a": [1.0, 2], "b": "x", "c": True}, {"a": [3.5, -0.0], "b": "\u00e9", "c": False}]},
        {"a": F, "b": S, "c": B})
    assert row_format and arrays["a"].tolist() == [[1.0, 2.0], [3.5, -0.0]] and arrays["b"].tolist() == [b"x", b"\xc3\xa9"]
    _, arrays = json_tensor.predict_inputs(
        {"inputs": {"a": [[1, 2], [3, 4]], "b": [2 ** 64 - 1, 0], "c": [-(2 ** 63), 2 ** 63 - 1], "d": _nested(32, 0.5)}},
        {"a": U8, "b": U64, "c": I64, "d": D})
    assert arrays["a"].dtype == np.uint8 and arrays["b"].tolist() == [2 ** 64 - 1, 0]
    assert arrays["c"].tolist() == [-(2 ** 63), 2 ** 63 - 1] and arrays["d"].shape == (1,) * 32


# ---------------------------------------------------------------- tensor -> JSON

def _tricky_floats(dtype):
    info = np.finfo(dtype)
    special = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), info.max, -info.max, info.tiny, info.tiny / 2,
               np.nextafter(dtype(0), dtype(1)), 0.1, 1 / 3, 2.5, 3.0, 42, 1e5, 1e6, 999999.5, 1234565, 1234575, 1e16,
               1e17, 123456.5, 16777217, 1e-5, 3e-05, 9e6, 555557.5, 3.57079506, 1e22, 1e23, 1e-22, 1e-23]
    powers = (10.0 ** np.arange(-45, 39)).astype(dtype)
    near_powers = np.concatenate([powers, np.nextafter(powers, dtype(np.inf)), np.nextafter(powers, dtype(0))])
    ties = ((np.arange(100000, 100200) + 0.5) * 10.0 ** np.arange(-10, 10).reshape(-1, 1)).reshape(-1)
    rng = np.random.RandomState(13)
    bits = rng.randint(0, 2 ** 63, 4000, dtype=np.int64).astype(np.uint64) * rng.choice([1, 2], 4000).astype(np.uint64)
    random_bits = bits.astype(np.uint32).view(np.float32) if dtype == np.float32 else bits.view(np.float64)
    decimals = rng.randint(-10 ** 7, 10 ** 7, 4000) * 10.0 ** rng.randint(-25, 25, 4000)
    return np.concatenate([np.array(special, dtype), near_powers, ties.astype(dtype), random_bits,
                           decimals.astype(dtype), (rng.randn(2000) * 3).astype(dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bulk_float_texts_are_format_float_texts(dtype):
    values = _tricky_floats(dtype)
    assert len(values) >= json_tensor._BULK_FLOATS
    double = dtype == np.float64
    assert json_tensor._float_texts(values, double) == [json_tensor.format_float(value, double)
                                                        for value in values.tolist()]


def test_ordinary_outputs_are_checked_in_bulk(monkeypatch):
    rng = np.random.RandomState(5)
    for values in ((rng.randn(3000) * 3).astype(np.float32), rng.dirichlet([1, 1, 1], 1000).astype(np.float32).ravel(),
                   rng.randn(3000) * 1e3, (rng.randn(3000) * 1e9).astype(np.float32), np.arange(3000.0) * 1e6):
        decided, _ = json_tensor._short_form_checks(values, values.dtype == np.float64)
        assert decided.mean() > 0.99

    def one_by_one(*args):
        raise AssertionError("formatted one by one")
    monkeypatch.setattr(json_tensor, "format_float", one_by_one)
    values = np.linspace(-2, 2, json_tensor._BULK_FLOATS, dtype=np.float32)
    assert json_tensor._float_texts(values, False)[:2] == ["-2.0", "-1.87096775"]


def _reference_compact(item):
    return item if isinstance(item, str) else "[%s]" % ", ".join(_reference_compact(part) for part in item)


def _reference_pretty(item, level):
    if isinstance(item, str):
        return item
    if not item:
        return "[]"
    pad = "    " * (level + 1)
    return "[\n%s\n%s]" % (",\n".join(pad + _reference_pretty(part, level + 1) for part in item), "    " * level)


def _reference_response(row_format, outputs):
    """TF Serving's response layout built item by item, from each tensor's element texts."""
    nested = []
    for alias, array in outputs:
        texts = np.empty(array.size, dtype=object)
        texts[:] = json_tensor._element_texts(array, alias)
        nested.append((json.dumps(alias, ensure_ascii=False), texts.reshape(array.shape).tolist()))
    if not row_format:
        if len(nested) == 1:
            return '{\n    "outputs": %s\n}' % _reference_pretty(nested[0][1], 1)
        members = ",\n".join('        %s: %s' % (name, _reference_pretty(items, 2)) for name, items in nested)
        return '{\n    "outputs": {\n%s\n    }\n}' % members
    if not nested[0][1]:
        return '{\n    "predictions": []\n}'
    if len(nested) == 1:
        return '{\n    "predictions": [%s\n    ]\n}' % ", ".join(_reference_compact(item) for item in nested[0][1])
    objects = ["{\n%s\n        }" % ",\n".join('            %s: %s' % (name, _reference_compact(items[index]))
                                              for name, items in nested)
               for index in range(len(nested[0][1]))]
    return '{\n    "predictions": [\n        %s\n    ]\n}' % ",\n        ".join(objects)


def _strings(shape, texts=(b"%s", b"100%", b"\xff\"q\"", "\u00e9".encode(), b"")):
    array = np.empty(int(np.prod(shape)), dtype=object)
    array[:] = [texts[index % len(texts)] for index in range(array.size)]
    return array.reshape(shape)


OUTPUT_SETS = [
    [("y", np.arange(6, dtype=np.float32).reshape(2, 3) / 7)],
    [("y", np.zeros((2, 0), np.float32))], [("y", np.zeros((0,), np.int64))], [("y", np.zeros((3, 0, 2)))],
    [("y", np.arange(24).reshape(2, 3, 1, 4))], [("y", np.array([True, False]))], [("y", np.float64(2.5) * np.ones(1))],
    [("scores", np.linspace(-1, 1, 40, dtype=np.float32).reshape(2, 20)), ("ids", np.array([[1], [2]], np.uint8)),
     ("text", _strings((2, 2))), ("raw_bytes", _strings((2,))), ("100% \"odd\" \u00e9", np.array([0.5, -0.0]))],
    [("a", np.zeros((0, 3))), ("b", np.zeros((0,), bool))],
    [("a", np.ones((3, 40), np.float32) / 3), ("b", np.zeros((3, 0)))],
]


@pytest.mark.parametrize("row_format", [True, False])
@pytest.mark.parametrize("outputs", OUTPUT_SETS)
def test_response_layout_is_the_item_by_item_layout(outputs, row_format):
    assert json_tensor.predict_response(row_format, outputs) == _reference_response(row_format, outputs)


def test_empty_and_oddly_named_outputs_keep_the_exact_bytes():
    assert json_tensor.predict_response(False, [("y", np.zeros((2, 0), np.float32))]) == (
        '{\n    "outputs": [\n        [],\n        []\n    ]\n}')
    assert json_tensor.predict_response(True, [("%s", np.array([1])), ("b", np.array([b"%d"], object))]) == (
        '{\n    "predictions": [\n        {\n            "%s": 1,\n            "b": "%d"\n        }\n    ]\n}')


def test_unwritable_outputs_fail_even_in_an_empty_batch():
    failure = _outcome(json_tensor.predict_response, True, [("a", np.zeros((0, 2), np.float16))])
    assert failure == ("error", errors.INVALID_ARGUMENT, "Failed to write JSON value for tensor type: float16")
