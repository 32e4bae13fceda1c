"""TF Serving's HTTP/REST API (/v1/models/...) and the Prometheus metrics page, served by tornado.

`RestApi.handle(method, uri, body)` is the whole API as a plain function; it
runs in a thread pool (TensorFlow releases the GIL), while tornado's event
loop, in its own thread, only moves bytes (tornado's HTTP layer, without
tornado.web: the API routes requests itself).
"""
import asyncio
import collections
import json
import logging
import re
import threading
import time
from concurrent import futures
from urllib.parse import unquote

import tornado.httpserver
import tornado.httputil
import tornado.ioloop
import tornado.netutil
from google.protobuf import json_format
from tensorflow_serving.apis import model_pb2

from . import errors, inference, json_tensor, monitoring

LOG = logging.getLogger(__name__)

_JSON = "application/json"
_HTML = "text/html; charset=ISO-8859-1"
_NOT_FOUND_PAGE = (b"<HTML><HEAD>\n<TITLE>404 Not Found</TITLE>\n</HEAD><BODY>\n<H1>Not Found</H1>\n"
                   b"</BODY></HTML>\n")
_API_PATH = re.compile(r"/v1/", re.IGNORECASE)
_INFERENCE_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/([0-9]+)|/labels/([^/:]+))?:(classify|regress|predict)",
                             re.IGNORECASE)
_MODEL_PATH = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/([0-9]+)|/labels/([^/:]+))?(/metadata)?",
                         re.IGNORECASE)
_URI_PATH = re.compile(r"[^?#]*")
_INT64_MAX = 2 ** 63 - 1
_HARD_BODY_LIMIT = 1 << 30  # beyond this tornado drops the connection instead of reading on

Response = collections.namedtuple("Response", "status content_type body")


def _message_json(message):
    return json_format.MessageToDict(message, including_default_value_fields=True,
                                      preserving_proto_field_name=True)


def _version(text):
    if text is None:
        return None
    version = int(text)
    if version > _INT64_MAX:
        raise errors.invalid_argument("Failed to convert version: %s to numeric." % text)
    return version


def _monitored_call(method, uri):
    """(model name, API) under which TF Serving's REST front end counts a /v1/ call ("" when not parsed)."""
    match = (_INFERENCE_PATH.fullmatch(uri) if method == "POST" else
             _MODEL_PATH.fullmatch(uri) if method == "GET" else None)
    if match is None:
        return "", ""
    return unquote(match.group(1) or ""), match.group(4) if method == "POST" else ""


def error_response(status, message):
    """A JSON error response {"error": message}."""
    return Response(status, _JSON, json_tensor.utf8_bytes(json_tensor.error_response(message)))


class RestApi(object):
    """The /v1/ REST API as a function of (method, uri, body)."""

    def __init__(self, models, timeout_ms, metrics_path=None):
        self._models = models
        self._timeout_ms = timeout_ms
        self._metrics_path = metrics_path  # where the Prometheus page is served (None: nowhere)

    def handle(self, method, uri, body):
        """Answer one HTTP request; never raises."""
        if self._metrics_path is not None and _URI_PATH.match(uri).group() == self._metrics_path:
            status, page = monitoring.metrics_page(self._metrics_path, uri)
            return Response(status, monitoring.CONTENT_TYPE, page.encode("utf-8"))
        if not _API_PATH.match(uri):
            return Response(404, _HTML, _NOT_FOUND_PAGE)
        started = time.monotonic()
        response, code = self._answer(method, uri, body)
        monitoring.record_request(*_monitored_call(method, uri), "REST", code, started)
        return response

    def _answer(self, method, uri, body):
        """The response to a /v1/ call and its status code."""
        try:
            return Response(200, _JSON, json_tensor.utf8_bytes(self._dispatch(method, uri, body))), errors.OK
        except errors.ServingError as error:
            return error_response(error.http_status, error.message), error.code
        except RecursionError:
            return error_response(400, "The request is nested too deeply to be processed"), errors.INVALID_ARGUMENT
        except Exception as error:  # pylint: disable=broad-except
            LOG.exception("Unexpected failure handling %s %s", method, uri)
            return error_response(500, "Internal error: %s: %s" % (type(error).__name__, error)), errors.INTERNAL

    def _dispatch(self, method, uri, body):
        match = _INFERENCE_PATH.fullmatch(uri)
        if method == "POST" and match and match.group(4) in ("classify", "regress", "predict"):
            name, version, label, verb = match.groups()
            target = (unquote(name), _version(version), unquote(label) if label else None)
            return getattr(self, "_" + verb)(target, body)
        match = _MODEL_PATH.fullmatch(uri)
        if method == "GET" and match:
            name, version, label, metadata = match.groups()
            if not name:
                raise errors.invalid_argument("Missing model name in request.")
            target = (unquote(name), _version(version), unquote(label) if label else None)
            return self._metadata(target) if metadata else self._status(target)
        raise errors.invalid_argument("Malformed request: %s %s" % (method, uri))

    def _predict(self, target, body):
        doc = json_tensor.parse_json_object(body)
        signature_name = json_tensor.signature_name_of(doc)
        with self._models.acquire(*target) as servable:
            key = inference.signature_key(signature_name)
            if key not in servable.signatures:
                raise errors.invalid_argument('Serving signature name: "%s" not found in signature def' % key)
            signature = servable.signatures[key]
            if not signature.inputs:
                raise errors.invalid_argument(
                    "Failed to get input map for signature: %s" % (signature_name or "DEFAULT"))
            row_format, inputs = json_tensor.predict_inputs(doc, inference.input_dtypes(signature))
            outputs = inference.predict(servable, key, inputs, timeout_ms=self._timeout_ms)
        return json_tensor.predict_response(row_format, outputs)

    def _classify(self, target, body):
        doc = json_tensor.parse_json_object(body)
        signature_name = json_tensor.signature_name_of(doc)
        serialized = json_tensor.serialized_examples(doc)
        with self._models.acquire(*target) as servable:
            _, classifications = inference.classify(servable, signature_name, serialized, self._timeout_ms)
        return json_tensor.classify_response(classifications)

    def _regress(self, target, body):
        doc = json_tensor.parse_json_object(body)
        signature_name = json_tensor.signature_name_of(doc)
        serialized = json_tensor.serialized_examples(doc)
        with self._models.acquire(*target) as servable:
            _, values = inference.regress(servable, signature_name, serialized, self._timeout_ms)
        return json_tensor.regress_response(values)

    def _status(self, target):
        response = self._models.status(*target)
        return json_format.MessageToJson(response, including_default_value_fields=True,
                                         preserving_proto_field_name=True, indent=1) + "\n"

    def _metadata(self, target):
        with self._models.acquire(*target) as servable:
            spec = model_pb2.ModelSpec(name=target[0])
            spec.version.value = servable.version
            signature_map = servable.signature_def_map()
        doc = {"model_spec": _message_json(spec), "metadata": {"signature_def": _message_json(signature_map)}}
        return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


class _Exchange(tornado.httputil.HTTPMessageDelegate):
    """One HTTP request: collects the body (up to the size limit), then answers it with RestApi in the pool."""

    def __init__(self, server, connection):
        self._server, self._connection = server, connection
        self._method = self._uri = None
        self._chunks, self._size = [], 0
        self._counted = False

    def headers_received(self, start_line, headers):
        """Count the request as in flight and let the body stream past tornado's own limit."""
        self._method, self._uri = start_line.method, start_line.path
        self._server.in_flight += 1
        self._counted = True
        self._connection.set_max_body_size(_HARD_BODY_LIMIT)

    def data_received(self, chunk):
        """Keep body bytes up to the limit; beyond it only count them."""
        self._size += len(chunk)
        if self._size <= self._server.max_body_bytes:
            self._chunks.append(chunk)

    def finish(self):
        """The whole request is in: answer it from the pool, or at once when the body was too large."""
        if self._size > self._server.max_body_bytes:
            self._write(error_response(413, "Request body of %d bytes exceeds the limit of %d bytes "
                                            "(--rest_api_max_body_bytes)" % (self._size, self._server.max_body_bytes)))
            return
        loop = tornado.ioloop.IOLoop.current()
        try:
            answer = self._server.executor.submit(self._server.api.handle, self._method, self._uri,
                                                  b"".join(self._chunks))
        except RuntimeError:  # the pool is already shut down
            self._write(error_response(503, "The server is shutting down"))
            return
        answer.add_done_callback(lambda done: loop.add_callback(self._write, done.result()))

    def on_connection_close(self):
        """The client went away before the response."""
        self._done()

    def _done(self):
        if self._counted:
            self._counted = False
            self._server.in_flight -= 1

    def _write(self, response):
        """Send the response (on the event loop's thread)."""
        headers = tornado.httputil.HTTPHeaders({"Content-Type": response.content_type,
                                                "Content-Length": str(len(response.body))})
        start_line = tornado.httputil.ResponseStartLine(
            "HTTP/1.1", response.status, tornado.httputil.responses.get(response.status, "Unknown"))
        try:  # to a client that went away meanwhile, tornado writes nothing and raises nothing
            self._connection.write_headers(start_line, headers, b"" if self._method == "HEAD" else response.body)
            self._connection.finish()
        finally:
            self._done()


class _Connections(tornado.httputil.HTTPServerConnectionDelegate):
    """Starts an _Exchange for every request that arrives."""

    def __init__(self, server):
        self._server = server

    def start_request(self, server_conn, request_conn):
        """A request begins on a connection."""
        return _Exchange(self._server, request_conn)


class RestServer(object):
    """Tornado HTTP server for RestApi on its own thread and event loop."""

    def __init__(self, api, address, port, num_threads, max_body_bytes):
        self.api = api
        self.max_body_bytes = max_body_bytes
        self.in_flight = 0
        self._sockets = tornado.netutil.bind_sockets(port, address=address)
        self.executor = futures.ThreadPoolExecutor(max_workers=num_threads, thread_name_prefix="rest")
        self._loop = self._http = None
        self._thread = threading.Thread(target=self._run, name="rest-event-loop", daemon=True)
        self._started = threading.Event()

    def _run(self):
        asyncio.set_event_loop(asyncio.new_event_loop())
        self._loop = tornado.ioloop.IOLoop.current()
        self._http = tornado.httpserver.HTTPServer(_Connections(self), max_body_size=_HARD_BODY_LIMIT)
        self._http.add_sockets(self._sockets)
        self._loop.add_callback(self._started.set)
        self._loop.start()
        self._loop.close(all_fds=True)

    def start(self):
        """Serve on the bound sockets."""
        self._thread.start()
        self._started.wait()

    def stop_accepting(self):
        """Close the listening sockets; requests already received go on."""
        self._loop.add_callback(self._http.stop)

    def close(self):
        """Wait for the worker threads, then close every connection and stop the event loop."""
        self.executor.shutdown(wait=True)

        async def close_connections():
            await self._http.close_all_connections()
            self._loop.stop()

        self._loop.add_callback(close_connections)
        self._thread.join()
