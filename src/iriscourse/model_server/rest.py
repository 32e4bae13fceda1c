"""TF Serving's HTTP/REST API (/v1/models/...) served by tornado.

`RestApi.handle(method, uri, body)` is the whole API as a plain function; it
runs in a thread pool (TensorFlow releases the GIL), while tornado's event
loop, in its own thread, only moves bytes.
"""
import asyncio
import collections
import json
import logging
import re
import threading
from concurrent import futures
from urllib.parse import unquote

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
from google.protobuf import json_format
from tensorflow_serving.apis import model_pb2

from . import errors, inference, json_tensor

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


def error_response(status, message):
    """A JSON error response {"error": message}."""
    return Response(status, _JSON, json_tensor.utf8_bytes(json_tensor.error_response(message)))


class RestApi(object):
    """The /v1/ REST API as a function of (method, uri, body)."""

    def __init__(self, models, timeout_ms):
        self._models = models
        self._timeout_ms = timeout_ms

    def handle(self, method, uri, body):
        """Answer one HTTP request; never raises."""
        if not _API_PATH.match(uri):
            return Response(404, _HTML, _NOT_FOUND_PAGE)
        try:
            return Response(200, _JSON, json_tensor.utf8_bytes(self._dispatch(method, uri, body)))
        except errors.ServingError as error:
            return error_response(error.http_status, error.message)
        except RecursionError:
            return error_response(400, "The request is nested too deeply to be processed")
        except Exception as error:  # pylint: disable=broad-except
            LOG.exception("Unexpected failure handling %s %s", method, uri)
            return error_response(500, "Internal error: %s: %s" % (type(error).__name__, error))

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


@tornado.web.stream_request_body
class _Handler(tornado.web.RequestHandler):
    """Collects the body (up to the size limit) and hands the request to RestApi in the pool."""

    SUPPORTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")

    def initialize(self, server):  # pylint: disable=arguments-differ
        """Keep a reference to the RestServer."""
        self._server = server
        self._chunks, self._size = [], 0
        self._counted = False

    def prepare(self):
        """Count the request as in flight and let the body stream past tornado's own limit."""
        self._server.in_flight += 1
        self._counted = True
        self.request.connection.set_max_body_size(_HARD_BODY_LIMIT)

    def _done(self):
        if self._counted:
            self._counted = False
            self._server.in_flight -= 1

    def on_finish(self):
        """The response is sent."""
        self._done()

    def on_connection_close(self):
        """The client went away before the response."""
        super(_Handler, self).on_connection_close()
        self._done()

    def data_received(self, chunk):
        """Keep body bytes up to the limit; beyond it only count them."""
        self._size += len(chunk)
        if self._size <= self._server.max_body_bytes:
            self._chunks.append(chunk)

    async def _respond(self, *_):
        if self._size > self._server.max_body_bytes:
            response = error_response(413, "Request body of %d bytes exceeds the limit of %d bytes "
                                           "(--rest_api_max_body_bytes)" % (self._size, self._server.max_body_bytes))
        else:
            response = await tornado.ioloop.IOLoop.current().run_in_executor(
                self._server.executor, self._server.api.handle, self.request.method, self.request.uri,
                b"".join(self._chunks))
        self.set_status(response.status)
        self.set_header("Content-Type", response.content_type)
        self.finish(response.body)

    get = post = put = delete = patch = head = options = _respond

    def compute_etag(self):
        """No ETags: every response is computed fresh."""
        return None

    def write_error(self, status_code, **kwargs):
        """Errors raised inside tornado also get the JSON error shape."""
        self.set_header("Content-Type", _JSON)
        self.finish(json_tensor.error_response(self._reason))


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
        application = tornado.web.Application([(r".*", _Handler, {"server": self})],
                                              log_function=lambda handler: None)
        self._http = tornado.httpserver.HTTPServer(application, max_body_size=_HARD_BODY_LIMIT)
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
