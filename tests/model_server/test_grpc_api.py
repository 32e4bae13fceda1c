"""gRPC contract of local_model_server: PredictionService and ModelService (spec section 11)."""
import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import (classification_pb2, get_model_metadata_pb2, get_model_status_pb2,
                                     inference_pb2, predict_pb2, regression_pb2)

TIMEOUT = 10.0


def _example(**features):
    return tf.train.Example(features=tf.train.Features(feature={
        name: tf.train.Feature(float_list=tf.train.FloatList(value=[value])) for name, value in features.items()}))


def _predict_request(model="half_plus_two", signature="", version=None, label=None, **inputs):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for alias, value in inputs.items():
        request.inputs[alias].CopyFrom(value if isinstance(value, tensor_pb2.TensorProto)
                                       else tf.make_tensor_proto(value))
    return request


def _fails(call, request, code, message, timeout=TIMEOUT):
    with pytest.raises(grpc.RpcError) as failure:
        call(request, timeout)
    assert failure.value.code() == code, failure.value.details()
    assert message in failure.value.details()
    return failure.value.details()


def test_predict_fills_model_spec_and_outputs(prediction_stub):
    response = prediction_stub.Predict(_predict_request(x=np.array([[1.0], [2.0], [5.0]], np.float32)), TIMEOUT)
    assert response.model_spec.name == "half_plus_two"
    assert response.model_spec.version.value == 123
    assert response.model_spec.signature_name == "serving_default"
    assert list(response.outputs["y"].float_val) == [2.5, 3.0, 4.5]
    assert [dim.size for dim in response.outputs["y"].tensor_shape.dim] == [3, 1]


def test_predict_feeds_undeclared_shapes(prediction_stub):
    response = prediction_stub.Predict(_predict_request(x=np.array([1.0, 2.0], np.float32)), TIMEOUT)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [2.5, 3.0]


def test_predict_reads_typed_value_fields_like_tensor_from_proto(prediction_stub):
    short = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0], tensor_shape=tensor_shape_pb2.
                                   TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]))
    response = prediction_stub.Predict(_predict_request(x=short), TIMEOUT)
    assert tf.make_ndarray(response.outputs["y"]).tolist() == [2.5, 2.5, 2.5]


def test_predict_by_version_and_label(prediction_stub):
    x = np.array([1.0], np.float32)
    assert list(prediction_stub.Predict(_predict_request("versioned", version=1, x=x), TIMEOUT)
                .outputs["y"].float_val) == [2.5]
    response = prediction_stub.Predict(_predict_request("versioned", label="canary", x=x), TIMEOUT)
    assert list(response.outputs["y"].float_val) == [3.5]
    assert response.model_spec.version.value == 2


def test_predict_output_filter(prediction_stub):
    request = _predict_request(signature="echo_bytes", text=np.array([b"a", b"\xff"], object))
    request.output_filter.append("text_bytes")
    response = prediction_stub.Predict(request, TIMEOUT)
    assert list(response.outputs) == ["text_bytes"]
    assert list(response.outputs["text_bytes"].string_val) == [b"a", b"\xff"]


def test_predict_output_filter_errors(prediction_stub):
    request = _predict_request(signature="echo_bytes", text=np.array([b"a"], object))
    request.output_filter.extend(["text", "text"])
    _fails(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT, "duplicate output tensor alias: text")
    del request.output_filter[:]
    request.output_filter.append("nope")
    _fails(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT,
           "output tensor alias not found in signature: nope Outputs expected to be in the set {text,text_bytes}.")


def test_predict_input_set_mismatch(prediction_stub):
    request = _predict_request(x=np.array([1.0], np.float32), z=np.array([1.0], np.float32))
    _fails(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT,
           "input size does not match signature: 2!=1 len({x,z}) != len({x}). Sent extra: {z}. "
           "Missing but required: {}.")
    _fails(prediction_stub.Predict, _predict_request(z=np.array([1.0], np.float32)),
           grpc.StatusCode.INVALID_ARGUMENT, "input tensor alias not found in signature: z")
    _fails(prediction_stub.Predict, _predict_request(), grpc.StatusCode.INVALID_ARGUMENT,
           "input size does not match signature: 0!=1")


def test_predict_not_found_and_bad_signature(prediction_stub):
    x = np.array([1.0], np.float32)
    _fails(prediction_stub.Predict, _predict_request("nope", x=x), grpc.StatusCode.NOT_FOUND,
           "Servable not found for request: Latest(nope)")
    _fails(prediction_stub.Predict, _predict_request(version=5, x=x), grpc.StatusCode.NOT_FOUND,
           "Servable not found for request: Specific(half_plus_two, 5)")
    _fails(prediction_stub.Predict, _predict_request("versioned", label="nope", x=x),
           grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: nope")
    _fails(prediction_stub.Predict, _predict_request(signature="nope", x=x), grpc.StatusCode.FAILED_PRECONDITION,
           'Serving signature key "nope" not found.')
    _fails(prediction_stub.Predict, predict_pb2.PredictRequest(), grpc.StatusCode.INVALID_ARGUMENT,
           "Missing ModelSpec")
    _fails(prediction_stub.Predict, _predict_request(signature="custom_method", x=x), grpc.StatusCode.INTERNAL,
           "Expected prediction signature method_name to be one of")


def test_predict_bad_tensors(prediction_stub):
    broken = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0], tensor_shape=tensor_shape_pb2.
                                    TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]))
    _fails(prediction_stub.Predict, _predict_request(x=broken), grpc.StatusCode.INVALID_ARGUMENT,
           "tensor parsing error: x")
    huge = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0], tensor_shape=tensor_shape_pb2.
                                  TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=10 ** 12)]))
    _fails(prediction_stub.Predict, _predict_request(x=huge), grpc.StatusCode.INVALID_ARGUMENT,
           "tensor parsing error: x")
    _fails(prediction_stub.Predict, _predict_request(x=np.array(["a"], object)), grpc.StatusCode.INVALID_ARGUMENT,
           "Type mismatch")
    request = _predict_request("raw_export_model", SepalLength=[5.1, 5.9], SepalWidth=[3.3], PetalLength=[1.7],
                               PetalWidth=[0.5])
    _fails(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT, "Dimensions of inputs should match")


def test_predict_rejects_malformed_serialized_examples(prediction_stub):
    for model, signature, alias in [("half_plus_two", "regress_x_to_y", "inputs"),
                                    ("parsing_export_model", "", "examples")]:
        request = _predict_request(model, signature, **{alias: np.array([b"\xff", b"\x0a"], object)})
        _fails(prediction_stub.Predict, request, grpc.StatusCode.INVALID_ARGUMENT, "Could not parse example input")
    request = _predict_request(signature="regress_x_to_y", inputs=np.array([_example(x=2.0).SerializeToString()]))
    assert list(prediction_stub.Predict(request, TIMEOUT).outputs["outputs"].float_val) == [3.0]


def test_predict_messages_above_the_default_4_mib_limit(prediction_stub):
    x = np.arange(2 * 1024 * 1024, dtype=np.float32)  # 8 MiB in, 8 MiB out
    response = prediction_stub.Predict(_predict_request(x=x), TIMEOUT)
    assert len(response.outputs["y"].float_val) == x.size


def test_client_deadline_is_deadline_exceeded(prediction_stub):
    request = _predict_request(signature="blocked", x=np.array([1.0], np.float32))
    _fails(prediction_stub.Predict, request, grpc.StatusCode.DEADLINE_EXCEEDED, "", timeout=1.0)
    assert prediction_stub.Predict(_predict_request(x=np.array([1.0], np.float32)), TIMEOUT).outputs["y"].float_val


def _examples_input(target, *examples, **context):
    if context:
        target.example_list_with_context.examples.extend(examples)
        target.example_list_with_context.context.CopyFrom(_example(**context))
    else:
        target.example_list.examples.extend(examples)


def test_classify(prediction_stub):
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "half_plus_two"
    request.model_spec.signature_name = "classify_x_to_y"
    _examples_input(request.input, _example(x=2.0), _example(x=80.0))
    response = prediction_stub.Classify(request, TIMEOUT)
    assert [[(c.label, c.score) for c in entry.classes] for entry in response.result.classifications] == [
        [("", 3.0)], [("", 42.0)]]
    assert response.model_spec.version.value == 123
    request.model_spec.signature_name = ""
    _fails(prediction_stub.Classify, request, grpc.StatusCode.INVALID_ARGUMENT,
           "Expected classification signature method_name to be tensorflow/serving/classify. "
           "Was: tensorflow/serving/predict")


def test_regress_with_context(prediction_stub):
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "half_plus_two"
    request.model_spec.signature_name = "regress_x_to_y2"
    _examples_input(request.input, _example(x2=1.0), _example(x=2.0), x=4.0)
    response = prediction_stub.Regress(request, TIMEOUT)
    assert [entry.value for entry in response.result.regressions] == [5.0, 4.0]
    request.model_spec.signature_name = "nope"
    _fails(prediction_stub.Regress, request, grpc.StatusCode.INVALID_ARGUMENT,
           "No signature was found with the name: nope")


def test_multi_inference(prediction_stub):
    request = inference_pb2.MultiInferenceRequest()
    for signature, method in [("regress_x_to_y", "tensorflow/serving/regress"),
                              ("classify_x_to_y", "tensorflow/serving/classify")]:
        task = request.tasks.add(method_name=method)
        task.model_spec.name = "half_plus_two"
        task.model_spec.signature_name = signature
    _examples_input(request.input, _example(x=10.0))
    response = prediction_stub.MultiInference(request, TIMEOUT)
    assert response.results[0].regression_result.regressions[0].value == 7.0
    assert response.results[1].classification_result.classifications[0].classes[0].score == 7.0
    assert response.results[0].model_spec.signature_name == "regress_x_to_y"
    request.tasks[1].model_spec.signature_name = "regress_x_to_y"
    _fails(prediction_stub.MultiInference, request, grpc.StatusCode.INVALID_ARGUMENT,
           "Duplicate evaluation of signature: regress_x_to_y")


def test_get_model_metadata(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "versioned"
    request.metadata_field.append("signature_def")
    response = prediction_stub.GetModelMetadata(request, TIMEOUT)
    assert response.model_spec.name == "versioned" and response.model_spec.version.value == 2
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    assert signatures.signature_def["serving_default"].outputs["y"].name == "y:0"
    assert signatures.signature_def["regress_x_to_y"].method_name == "tensorflow/serving/regress"


def test_get_model_metadata_errors(prediction_stub):
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "half_plus_two"
    _fails(prediction_stub.GetModelMetadata, request, grpc.StatusCode.INVALID_ARGUMENT,
           "GetModelMetadataRequest must specify at least one metadata_field")
    request.metadata_field.append("graph")
    _fails(prediction_stub.GetModelMetadata, request, grpc.StatusCode.INVALID_ARGUMENT,
           "Metadata field graph is not supported")
    del request.metadata_field[:]
    request.metadata_field.append("signature_def")
    request.model_spec.name = "nope"
    _fails(prediction_stub.GetModelMetadata, request, grpc.StatusCode.NOT_FOUND,
           "Servable not found for request: Latest(nope)")


def test_get_model_status(model_stub):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "versioned"
    response = model_stub.GetModelStatus(request, TIMEOUT)
    assert [(entry.version, entry.state, entry.status.error_code) for entry in response.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0),
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE, 0)]
    request.model_spec.version.value = 1
    assert [entry.version for entry in model_stub.GetModelStatus(request, TIMEOUT).model_version_status] == [1]
    request.model_spec.version.value = 3
    _fails(model_stub.GetModelStatus, request, grpc.StatusCode.NOT_FOUND, "Could not find version 3 of model versioned")
    request.model_spec.name = "nope"
    request.model_spec.ClearField("version")
    _fails(model_stub.GetModelStatus, request, grpc.StatusCode.NOT_FOUND, "Could not find any versions of model nope")
