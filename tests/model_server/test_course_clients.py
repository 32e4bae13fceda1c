"""The course's own REST and gRPC client code works unchanged against local_model_server (host/port aside)."""
import base64
import glob
import json
import os

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

import saved_model_builders as builders


@pytest.fixture(scope="module")
def expected_raw(saved_models):
    """Outputs of the raw export for predict_x, computed in-process with tf.contrib.predictor."""
    export_dir = glob.glob(saved_models.raw_base + "/*")[0]
    predict = tf.contrib.predictor.from_saved_model(export_dir)
    return predict({name: np.array(values, np.float32) for name, values in builders.PREDICT_X.items()})


def _check_rows(predictions, expected):
    assert len(predictions) == 3
    for row, prediction in enumerate(predictions):
        assert sorted(prediction) == ["class_ids", "logits", "probabilities"]
        assert prediction["class_ids"] == [int(expected["class_ids"][row][0])]
        np.testing.assert_allclose(prediction["logits"], expected["logits"][row], rtol=1e-5)
        np.testing.assert_allclose(prediction["probabilities"], expected["probabilities"][row], rtol=1e-5)


def test_rest_raw_export_with_one_element_lists(server, expected_raw):
    # Each feature is a one-element list, so the batch tensor is [3, 1] for a [None] placeholder:
    # TF Serving feeds it anyway and the graph accepts it.
    url = server.url("/v1/models/raw_export_model:predict")
    response = requests.post(url, data=json.dumps({"signature_name": "serving_default", "instances": [
        {'SepalLength': [5.1], 'SepalWidth': [3.3], 'PetalLength': [1.7], 'PetalWidth': [0.5]},
        {'SepalLength': [5.9], 'SepalWidth': [3.0], 'PetalLength': [4.2], 'PetalWidth': [1.5]},
        {'SepalLength': [6.9], 'SepalWidth': [3.1], 'PetalLength': [5.4], 'PetalWidth': [2.1]},
    ]}))
    assert response.status_code == 200, response.text
    _check_rows(json.loads(response.text)["predictions"], expected_raw)


def test_rest_parsing_export_with_b64_examples(server, expected_raw):
    url = server.url("/v1/models/parsing_export_model:predict")
    instances = [{'examples': {'b64': base64.b64encode(serialized).decode()}}
                 for serialized in builders.iris_examples()]
    response = requests.post(url, json={"signature_name": "serving_default", "instances": instances})
    assert response.status_code == 200, response.text
    _check_rows(response.json()["predictions"], expected_raw)


def _course_grpc_request(model_name):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = 'serving_default'
    return request


def test_grpc_raw_export(server, saved_models, expected_raw):
    channel = grpc.insecure_channel('0.0.0.0:%d' % server.grpc_port)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = _course_grpc_request('raw_export_model')
    request.inputs['SepalLength'].CopyFrom(tf.contrib.util.make_tensor_proto([5.1, 5.9, 6.9], shape=[3]))
    request.inputs['SepalWidth'].CopyFrom(tf.contrib.util.make_tensor_proto([3.3, 3.0, 3.1], shape=[3]))
    request.inputs['PetalLength'].CopyFrom(tf.contrib.util.make_tensor_proto([1.7, 4.2, 5.4], shape=[3]))
    request.inputs['PetalWidth'].CopyFrom(tf.contrib.util.make_tensor_proto([0.5, 1.5, 2.1], shape=[3]))
    result = stub.Predict(request, 10.0)
    logits = result.outputs["logits"]
    assert [dim.size for dim in logits.tensor_shape.dim] == [3, 3]
    assert len(logits.float_val) == 9 and not logits.tensor_content  # typed fields, as TF Serving writes
    np.testing.assert_allclose(tf.make_ndarray(logits), expected_raw["logits"], rtol=1e-5)
    np.testing.assert_array_equal(tf.make_ndarray(result.outputs["class_ids"]), expected_raw["class_ids"])
    assert result.model_spec.name == 'raw_export_model'
    assert result.model_spec.signature_name == 'serving_default'
    assert result.model_spec.version.value == int(os.path.basename(glob.glob(saved_models.raw_base + "/*")[0]))
    channel.close()


def test_grpc_parsing_export(server, expected_raw):
    channel = grpc.insecure_channel('0.0.0.0:%d' % server.grpc_port)
    stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = _course_grpc_request('parsing_export_model')
    list_of_serialized_examples = builders.iris_examples()
    request.inputs['examples'].CopyFrom(tf.contrib.util.make_tensor_proto(list_of_serialized_examples, shape=[3]))
    result = stub.Predict(request, 10.0)
    np.testing.assert_allclose(tf.make_ndarray(result.outputs["probabilities"]), expected_raw["probabilities"],
                               rtol=1e-5)
    channel.close()
