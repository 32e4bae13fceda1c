"""Exercises of notebook 05: Classify over gRPC, and deadlines against a server that is not there."""
import time

import grpc
from tensorflow_serving.apis import prediction_service_pb2_grpc

from .. import export, serving
from . import Wrong, call, exercise


@exercise("05.1", "Classify over gRPC", "medium", 10,
          "Fill a classification_pb2.ClassificationRequest: model_spec.name 'classify_export_model', "
          "model_spec.signature_name 'classification', and one input.example_list.examples entry per flower "
          "(copy data.to_example(row) into it). stub.Classify(request, 10.0) returns result.classifications, "
          "each with classes (label, score): take the label of the highest score.")
def check_classify_flowers(classify_flowers):
    """``classify_flowers(stub)`` returns the best class label for each of the seed's three flowers."""
    server = serving.start("exercise-05.1", model_name="classify_export_model",
                           model_base_path=export.ensure_export("classify").parent)
    try:
        with grpc.insecure_channel(server.grpc_target) as channel:
            got = call(classify_flowers, prediction_service_pb2_grpc.PredictionServiceStub(channel))
    finally:
        server.stop()
    got = [label.decode() if isinstance(label, bytes) else label for label in (got or [])]
    if got != ["Setosa", "Versicolor", "Virginica"]:
        raise Wrong("it returned {}; the seed's flowers are one of each species, in order".format(got))
    return "Classify over gRPC names the seed's flowers {}.".format(got)


@exercise("05.2", "A deadline against a stopped server", "easy", 10,
          "Call stub.Predict(request, timeout=2.0) inside try/except grpc.RpcError as error, and return "
          "error.code(). With nothing listening, the channel cannot connect: UNAVAILABLE.")
def check_predict_or_code(predict_or_code):
    """``predict_or_code(target)`` calls Predict with a deadline and returns the gRPC status code it ends with."""
    target = "localhost:{}".format(serving.free_port())
    started = time.monotonic()
    code = call(predict_or_code, target)
    seconds = time.monotonic() - started
    if seconds > 5:
        raise Wrong("it took {:.0f} s: set a deadline of a few seconds on the call".format(seconds))
    if code != grpc.StatusCode.UNAVAILABLE:
        raise Wrong("it returned {!r}; a call to a port where nothing listens ends with StatusCode.UNAVAILABLE"
                    .format(code))
    return "Nothing listens on {}: the call ended with {} after {:.2f} s.".format(target, code, seconds)
