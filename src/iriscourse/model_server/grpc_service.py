"""gRPC PredictionService and ModelService (tensorflow_serving.apis stubs) on top of the registry."""
import functools
import logging
from concurrent import futures

import grpc
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, inference_pb2,
                                     model_management_pb2, model_service_pb2_grpc, predict_pb2,
                                     prediction_service_pb2_grpc, regression_pb2)

from . import errors, inference, monitoring, tensor_proto

LOG = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 2 ** 31 - 1
_SIGNATURE_DEF_FIELD = "signature_def"


def _rpc(method):
    """Turn ServingErrors (and unexpected failures) into gRPC statuses."""
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except errors.ServingError as error:
            failure = error
        except Exception as error:  # pylint: disable=broad-except
            LOG.exception("Unexpected failure in %s", method.__name__)
            failure = errors.ServingError(errors.INTERNAL, "%s: %s" % (type(error).__name__, error))
        details = failure.message.encode("utf-8", "replace").decode("utf-8")
        context.abort(failure.grpc_code, details)
    return wrapper


def _model_spec(request):
    if not request.HasField("model_spec"):
        raise errors.invalid_argument("Missing ModelSpec")
    return request.model_spec


def _target(spec):
    """(name, version, label) that a ModelSpec asks for."""
    choice = spec.WhichOneof("version_choice")
    version = spec.version.value if choice == "version" else None
    label = spec.version_label if choice == "version_label" else None
    return spec.name, version, label


def _timeout_ms(context):
    """The session timeout for the client's deadline, rounded up to a power of two milliseconds."""
    remaining = context.time_remaining()
    if remaining is None:
        return 0
    if remaining <= 0:
        raise errors.ServingError(errors.DEADLINE_EXCEEDED, "Deadline exceeded before the request was run")
    milliseconds = max(int(remaining * 1000), 1)
    return 1 << (milliseconds - 1).bit_length()


def _serialized_examples(model_input):
    """Serialized tf.Examples of an Input proto (context bytes prepended)."""
    kind = model_input.WhichOneof("kind")
    if kind == "example_list":
        return [example.SerializeToString() for example in model_input.example_list.examples]
    if kind == "example_list_with_context":
        listed = model_input.example_list_with_context
        context = listed.context.SerializeToString()
        return [context + example.SerializeToString() for example in listed.examples]
    return []


def run_predict(servable, request, timeout_ms=0):
    """A PredictRequest on a servable (TF Serving's RunPredict): (signature key, [(alias, array)])."""
    key = inference.signature_key(request.model_spec.signature_name)
    if key not in servable.signatures:
        raise errors.failed_precondition('Serving signature key "%s" not found.' % key)
    inputs = {}
    for alias, proto in request.inputs.items():
        try:
            inputs[alias] = tensor_proto.to_ndarray(proto)
        except tensor_proto.TensorParseError:
            raise errors.invalid_argument("tensor parsing error: %s" % alias)
    return key, inference.predict(servable, key, inputs, request.output_filter, timeout_ms)


def run_classify(servable, request, timeout_ms=0):
    """A ClassificationRequest on a servable (RunClassify): (signature key, classifications)."""
    return inference.classify(servable, request.model_spec.signature_name, _serialized_examples(request.input),
                              timeout_ms)


def run_regress(servable, request, timeout_ms=0):
    """A RegressionRequest on a servable (RunRegress): (signature key, values)."""
    return inference.regress(servable, request.model_spec.signature_name, _serialized_examples(request.input),
                             timeout_ms)


def run_multi_inference(servable, request, timeout_ms=0):
    """A MultiInferenceRequest on a servable (RunMultiInference): [(method, signature key, results)]."""
    for task in request.tasks:
        if not task.model_spec.name:
            raise errors.invalid_argument("Found ModelSpec with an empty model name.")
        if task.model_spec.name != request.tasks[0].model_spec.name:
            raise errors.invalid_argument(
                "All ModelSpecs in a MultiInferenceRequest must access the same model name.")
    tasks = [(task.model_spec.signature_name, task.method_name) for task in request.tasks]
    return inference.multi_inference(servable, tasks, _serialized_examples(request.input), timeout_ms)


def _fill_spec(spec, name, version, signature_key):
    spec.name = name
    spec.version.value = version
    spec.signature_name = signature_key


def _fill_classifications(result, classifications):
    for classes in classifications:
        entry = result.classifications.add()
        for label, score in classes:
            entry.classes.add(label=label.decode("utf-8", "replace"), score=score)


def _fill_regressions(result, values):
    for value in values:
        result.regressions.add(value=value)


class PredictionServicer(prediction_service_pb2_grpc.PredictionServiceServicer):
    """tensorflow.serving.PredictionService."""

    def __init__(self, models):
        self._models = models

    @_rpc
    @monitoring.counted_rpc("Predict")
    def Predict(self, request, context):
        """Run a signature on named input tensors."""
        spec = _model_spec(request)
        with self._models.acquire(*_target(spec)) as servable:
            key, outputs = run_predict(servable, request, _timeout_ms(context))
            response = predict_pb2.PredictResponse()
            _fill_spec(response.model_spec, spec.name, servable.version, key)
        for alias, array in outputs:
            tensor_proto.from_ndarray(array, response.outputs[alias])
        return response

    @_rpc
    @monitoring.counted_rpc("Classify")
    def Classify(self, request, context):
        """Classify tf.Examples with a classification signature."""
        spec = _model_spec(request)
        with self._models.acquire(*_target(spec)) as servable:
            key, classifications = run_classify(servable, request, _timeout_ms(context))
            response = classification_pb2.ClassificationResponse()
            _fill_spec(response.model_spec, spec.name, servable.version, key)
        _fill_classifications(response.result, classifications)
        return response

    @_rpc
    @monitoring.counted_rpc("Regress")
    def Regress(self, request, context):
        """Regress tf.Examples with a regression signature."""
        spec = _model_spec(request)
        with self._models.acquire(*_target(spec)) as servable:
            key, values = run_regress(servable, request, _timeout_ms(context))
            response = regression_pb2.RegressionResponse()
            _fill_spec(response.model_spec, spec.name, servable.version, key)
        _fill_regressions(response.result, values)
        return response

    @_rpc
    def MultiInference(self, request, context):
        """Run several classify/regress signatures of one model on the same tf.Examples."""
        first = request.tasks[0].model_spec if request.tasks else None
        with self._models.acquire(*_target(first or inference_pb2.InferenceTask().model_spec)) as servable:
            results = run_multi_inference(servable, request, _timeout_ms(context))
            response = inference_pb2.MultiInferenceResponse()
            for method, key, values in results:
                result = response.results.add()
                _fill_spec(result.model_spec, first.name, servable.version, key)
                if method == inference.CLASSIFY_METHOD:
                    _fill_classifications(result.classification_result, values)
                else:
                    _fill_regressions(result.regression_result, values)
        return response

    @_rpc
    def GetModelMetadata(self, request, context):
        """The signature_def metadata of a model version."""
        spec = _model_spec(request)
        if not request.metadata_field:
            raise errors.invalid_argument("GetModelMetadataRequest must specify at least one metadata_field")
        for field in request.metadata_field:
            if field != _SIGNATURE_DEF_FIELD:
                raise errors.invalid_argument("Metadata field %s is not supported" % field)
        with self._models.acquire(*_target(spec)) as servable:
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = spec.name
            response.model_spec.version.value = servable.version
            response.metadata[_SIGNATURE_DEF_FIELD].Pack(servable.signature_def_map())
        return response


class ModelServicer(model_service_pb2_grpc.ModelServiceServicer):
    """tensorflow.serving.ModelService."""

    def __init__(self, models, reload_config):
        self._models = models
        self._reload_config = reload_config  # ModelServerConfig -> None, raises ServingError

    @_rpc
    def GetModelStatus(self, request, context):
        """Status of every version (or of one version) of a model."""
        return self._models.status(*_target(_model_spec(request)))

    @_rpc
    def HandleReloadConfigRequest(self, request, context):
        """Replace the served model list with the request's model_config_list."""
        try:
            if request.config.WhichOneof("config") != "model_config_list":
                raise errors.invalid_argument("ServerModelConfig type not supported by HandleReloadConfigRequest. "
                                              "Only ModelConfigList is currently supported")
            for index, config in enumerate(request.config.model_config_list.config):
                LOG.info("\nConfig entry\n\tindex : %d\n\tpath : %s\n\tname : %s\n\tplatform : %s",
                         index, config.base_path, config.name, config.model_platform)
            self._reload_config(request.config)
        except errors.ServingError as error:
            LOG.error("ReloadConfig failed: %s", error.message)
            raise
        response = model_management_pb2.ReloadConfigResponse()
        response.status.error_code = errors.OK
        return response


def create_server(models, reload_config, max_workers, channel_arguments=()):
    """A grpc.Server with both services (not yet bound or started)."""
    options = [("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
               ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
               ("grpc.so_reuseport", 0)] + list(channel_arguments)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
                         options=options)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionServicer(models), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelServicer(models, reload_config), server)
    return server
