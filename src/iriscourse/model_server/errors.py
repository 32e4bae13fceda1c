"""Status codes shared by the REST and gRPC front ends.

The codes are TensorFlow's canonical error codes (the same numbers gRPC uses);
the HTTP mapping is the one of TF Serving's HTTP server.
"""
import grpc
from tensorflow.core.lib.core import error_codes_pb2

OK = error_codes_pb2.OK
CANCELLED = error_codes_pb2.CANCELLED
UNKNOWN = error_codes_pb2.UNKNOWN
INVALID_ARGUMENT = error_codes_pb2.INVALID_ARGUMENT
DEADLINE_EXCEEDED = error_codes_pb2.DEADLINE_EXCEEDED
NOT_FOUND = error_codes_pb2.NOT_FOUND
ALREADY_EXISTS = error_codes_pb2.ALREADY_EXISTS
PERMISSION_DENIED = error_codes_pb2.PERMISSION_DENIED
RESOURCE_EXHAUSTED = error_codes_pb2.RESOURCE_EXHAUSTED
FAILED_PRECONDITION = error_codes_pb2.FAILED_PRECONDITION
ABORTED = error_codes_pb2.ABORTED
OUT_OF_RANGE = error_codes_pb2.OUT_OF_RANGE
UNIMPLEMENTED = error_codes_pb2.UNIMPLEMENTED
INTERNAL = error_codes_pb2.INTERNAL
UNAVAILABLE = error_codes_pb2.UNAVAILABLE
DATA_LOSS = error_codes_pb2.DATA_LOSS
UNAUTHENTICATED = error_codes_pb2.UNAUTHENTICATED

_HTTP_STATUS = {
    OK: 200,
    CANCELLED: 499,
    UNKNOWN: 500,
    INVALID_ARGUMENT: 400,
    DEADLINE_EXCEEDED: 504,
    NOT_FOUND: 404,
    ALREADY_EXISTS: 409,
    PERMISSION_DENIED: 403,
    RESOURCE_EXHAUSTED: 429,
    FAILED_PRECONDITION: 400,
    ABORTED: 409,
    OUT_OF_RANGE: 400,
    UNIMPLEMENTED: 501,
    INTERNAL: 500,
    UNAVAILABLE: 503,
    DATA_LOSS: 500,
    UNAUTHENTICATED: 401,
}

_GRPC_STATUS = {status.value[0]: status for status in grpc.StatusCode}


class ServingError(Exception):
    """A failed request: a canonical status code plus the message the client sees."""

    def __init__(self, code, message):
        super(ServingError, self).__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self):
        """The HTTP status TF Serving's REST API answers for this code."""
        return http_status(self.code)

    @property
    def grpc_code(self):
        """The grpc.StatusCode for this code."""
        return _GRPC_STATUS.get(self.code, grpc.StatusCode.UNKNOWN)

    def __str__(self):
        return "%s: %s" % (code_name(self.code), self.message)


def http_status(code):
    """HTTP status for a canonical code (500 for codes outside the table)."""
    return _HTTP_STATUS.get(code, 500)


def code_name(code):
    """Name of a canonical code, e.g. 'INVALID_ARGUMENT'."""
    try:
        return error_codes_pb2.Code.Name(code)
    except ValueError:
        return "UNKNOWN"


def invalid_argument(message):
    """An INVALID_ARGUMENT error (HTTP 400)."""
    return ServingError(INVALID_ARGUMENT, message)


def not_found(message):
    """A NOT_FOUND error (HTTP 404)."""
    return ServingError(NOT_FOUND, message)


def failed_precondition(message):
    """A FAILED_PRECONDITION error (HTTP 400)."""
    return ServingError(FAILED_PRECONDITION, message)


def unimplemented(message):
    """An UNIMPLEMENTED error (HTTP 501)."""
    return ServingError(UNIMPLEMENTED, message)


def from_tf_error(error):
    """Turn a tf.errors.OpError into a ServingError with the same code and message."""
    return ServingError(error.error_code, error.message)
