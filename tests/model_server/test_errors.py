"""Canonical status codes: the HTTP status each maps to (spec 9) and the gRPC code each becomes."""
import grpc
import pytest

from iriscourse.model_server import errors

HTTP = [
    ("OK", 200), ("CANCELLED", 499), ("UNKNOWN", 500), ("INVALID_ARGUMENT", 400), ("DEADLINE_EXCEEDED", 504),
    ("NOT_FOUND", 404), ("ALREADY_EXISTS", 409), ("PERMISSION_DENIED", 403), ("RESOURCE_EXHAUSTED", 429),
    ("FAILED_PRECONDITION", 400), ("ABORTED", 409), ("OUT_OF_RANGE", 400), ("UNIMPLEMENTED", 501),
    ("INTERNAL", 500), ("UNAVAILABLE", 503), ("DATA_LOSS", 500), ("UNAUTHENTICATED", 401),
]


@pytest.mark.parametrize("name, status", HTTP, ids=[h[0] for h in HTTP])
def test_each_canonical_code_maps_to_tf_servings_http_status_and_grpc_code(name, status):
    code = getattr(errors, name)
    error = errors.ServingError(code, "m")
    assert error.http_status == status == errors.http_status(code)
    assert error.grpc_code == getattr(grpc.StatusCode, name)
    assert errors.code_name(code) == name and str(error) == name + ": m"


def test_an_unknown_code_is_a_500_and_unknown():
    assert errors.http_status(99) == 500 and errors.code_name(99) == "UNKNOWN"
    assert errors.ServingError(99, "m").grpc_code == grpc.StatusCode.UNKNOWN


@pytest.mark.parametrize("make, code", [
    (errors.invalid_argument, errors.INVALID_ARGUMENT), (errors.not_found, errors.NOT_FOUND),
    (errors.failed_precondition, errors.FAILED_PRECONDITION), (errors.unimplemented, errors.UNIMPLEMENTED)])
def test_each_error_helper_carries_its_own_code(make, code):
    error = make("why")
    assert (error.code, error.message) == (code, "why")


def test_a_tensorflow_error_keeps_its_code_and_message():
    import tensorflow as tf
    error = errors.from_tf_error(tf.errors.FailedPreconditionError(None, None, "not initialised"))
    assert (error.code, error.message, error.http_status) == (errors.FAILED_PRECONDITION, "not initialised", 400)
