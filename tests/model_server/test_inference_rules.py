"""TF Serving's rules for classify, regress and multi-inference signatures and outputs, checked in-process.

A fake servable returns chosen arrays, so each rule about a signature's shape or an output tensor is
reached directly: its canonical code and message are what a client would see.
"""
import numpy as np
import pytest
import tensorflow as tf

from iriscourse.model_server import errors, inference

CLASSIFY, REGRESS, PREDICT = inference.CLASSIFY_METHOD, inference.REGRESS_METHOD, inference.PREDICT_METHOD


def _signature(inputs, outputs, method):
    def info(name, dtype=tf.float32):
        return tf.saved_model.utils.build_tensor_info(tf.placeholder(dtype, name=name))
    with tf.Graph().as_default():
        return tf.saved_model.signature_def_utils.build_signature_def(
            {alias: info(name, tf.string) for alias, name in inputs.items()},
            {alias: info(name) for alias, name in outputs.items()}, method)


class _Servable(object):
    """Signatures by key; run() returns the arrays set in ``values`` for the fetched tensor names."""

    name = "fake"  # the model name the metrics are recorded under

    def __init__(self, signatures, values):
        self.signatures, self.values = signatures, values

    def run(self, feeds, fetches, timeout_ms=0):
        return [self.values[name] for name in fetches]


def _fails(code, message, call, *args):
    with pytest.raises(errors.ServingError) as caught:
        call(*args)
    assert (errors.code_name(caught.value.code), caught.value.message) == (code, message)


SCORES = np.array([[0.1, 0.9], [0.7, 0.3]], np.float32)
CLASSES = np.array([[b"a", b"b"], [b"a", b"b"]], object)


def _classifier(outputs, values, inputs=None, method=CLASSIFY):
    signature = _signature(inputs or {"inputs": "in"}, outputs, method)
    return _Servable({"c": signature}, values)


def test_classify_pairs_labels_and_scores_per_example():
    servable = _classifier({"classes": "c", "scores": "s"}, {"c:0": CLASSES, "s:0": SCORES})
    key, results = inference.classify(servable, "c", [b"x", b"y"])
    assert key == "c" and results == [[(b"a", pytest.approx(0.1)), (b"b", pytest.approx(0.9))],
                                      [(b"a", pytest.approx(0.7)), (b"b", pytest.approx(0.3))]]


def test_classify_with_only_scores_or_only_classes_fills_the_other_with_defaults():
    _, scores_only = inference.classify(_classifier({"scores": "s"}, {"s:0": SCORES}), "c", [b"x", b"y"])
    assert scores_only[0] == [(b"", pytest.approx(0.1)), (b"", pytest.approx(0.9))]
    _, classes_only = inference.classify(_classifier({"classes": "c"}, {"c:0": CLASSES}), "c", [b"x", b"y"])
    assert classes_only[1] == [(b"a", 0.0), (b"b", 0.0)]


@pytest.mark.parametrize("inputs, outputs, method, code, message", [
    ({"inputs": "in"}, {"scores": "s"}, REGRESS, "INVALID_ARGUMENT",
     "Expected classification signature method_name to be tensorflow/serving/classify. Was: "
     "tensorflow/serving/regress"),
    ({"inputs": "in", "more": "in2"}, {"scores": "s"}, CLASSIFY, "INVALID_ARGUMENT", "Expected one input Tensor."),
    ({"inputs": "in"}, {"scores": "s", "classes": "c", "extra": "e"}, CLASSIFY, "INVALID_ARGUMENT",
     "Expected one or two output Tensors, found 3"),
])
def test_classification_signature_rules(inputs, outputs, method, code, message):
    _fails(code, message, inference.classify, _Servable({"c": _signature(inputs, outputs, method)}, {}), "c", [b"x"])


def test_a_classification_signature_needs_inputs_and_classes_or_scores():
    no_inputs = _Servable({"c": _signature({"examples": "in"}, {"scores": "s"}, CLASSIFY)}, {})
    with pytest.raises(errors.ServingError, match="No classification inputs found in SignatureDef"):
        inference.classify(no_inputs, "c", [b"x"])
    no_outputs = _Servable({"c": _signature({"inputs": "in"}, {"probs": "s"}, CLASSIFY)}, {})
    with pytest.raises(errors.ServingError, match='at least one of "classes" or "scores"'):
        inference.classify(no_outputs, "c", [b"x"])


@pytest.mark.parametrize("values, message", [
    ({"s:0": SCORES[0]}, "Expected Tensor shape: [batch_size num_classes] but got [2]"),
    ({"s:0": SCORES.astype(np.float64)}, "Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE"),
    ({"s:0": SCORES[:1]}, "Expected scores output batch size of 2. Got: 1"),
    ({"s:0": SCORES, "c:0": CLASSES[:, :1]}, "Tensors class and score should match in dim_size(1). Got 1 vs. 2"),
    ({"s:0": SCORES, "c:0": SCORES}, "Expected classes Tensor of DT_STRING. Got: DT_FLOAT"),
])
def test_classification_output_tensor_rules(values, message):
    outputs = {"scores": "s", "classes": "c"} if "c:0" in values else {"scores": "s"}
    _fails("INVALID_ARGUMENT", message, inference.classify, _classifier(outputs, values), "c", [b"x", b"y"])


REGRESSION = _signature({"inputs": "in"}, {"outputs": "o"}, REGRESS)


@pytest.mark.parametrize("output", [np.array([1.5, 2.5], np.float32), np.array([[1.5], [2.5]], np.float32)])
def test_regress_accepts_batch_or_batch_by_one_outputs(output):
    assert inference.regress(_Servable({"r": REGRESSION}, {"o:0": output}), "r", [b"x", b"y"]) == ("r", [1.5, 2.5])


@pytest.mark.parametrize("output, message", [
    (np.zeros((2, 2), np.float32), "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got "
                                   "[2,2]"),
    (np.zeros(3, np.float32), "Input batch size did not match output batch size: 2 vs. 3"),
    (np.zeros(2, np.float64), "Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE"),
])
def test_regression_output_tensor_rules(output, message):
    _fails("INVALID_ARGUMENT", message, inference.regress, _Servable({"r": REGRESSION}, {"o:0": output}), "r",
           [b"x", b"y"])


@pytest.mark.parametrize("inputs, outputs, method, code, message", [
    ({"inputs": "in"}, {"outputs": "o"}, CLASSIFY, "INVALID_ARGUMENT",
     "Expected regression signature method_name to be tensorflow/serving/regress. Was: tensorflow/serving/classify"),
    ({"inputs": "in", "b": "in2"}, {"outputs": "o"}, REGRESS, "INVALID_ARGUMENT", "Expected one input Tensor."),
    ({"inputs": "in"}, {"outputs": "o", "b": "o2"}, REGRESS, "INVALID_ARGUMENT", "Expected one output Tensor."),
])
def test_regression_signature_rules(inputs, outputs, method, code, message):
    _fails(code, message, inference.regress, _Servable({"r": _signature(inputs, outputs, method)}, {}), "r", [b"x"])


def test_regression_signatures_without_the_standard_aliases_are_failed_preconditions():
    for inputs, outputs, what in (({"examples": "in"}, {"outputs": "o"}, "inputs"),
                                  ({"inputs": "in"}, {"values": "o"}, "outputs")):
        servable = _Servable({"r": _signature(inputs, outputs, REGRESS)}, {})
        with pytest.raises(errors.ServingError) as caught:
            inference.regress(servable, "r", [b"x"])
        assert caught.value.code == errors.FAILED_PRECONDITION
        assert caught.value.message.startswith("No regression %s found in SignatureDef" % what)


def test_multi_inference_rules():
    other_input = _signature({"inputs": "in2"}, {"scores": "s"}, CLASSIFY)
    servable = _Servable({"r": REGRESSION, "c2": other_input,
                          "c": _signature({"inputs": "in"}, {"scores": "s"}, CLASSIFY)},
                         {"o:0": np.array([1.0], np.float32), "s:0": np.array([[0.5]], np.float32)})
    results = inference.multi_inference(servable, [("r", REGRESS), ("c", CLASSIFY)], [b"x"])
    assert [(method, key) for method, key, _ in results] == [(REGRESS, "r"), (CLASSIFY, "c")]
    _fails("INVALID_ARGUMENT", "Input tensor must be the same for all Signatures.", inference.multi_inference,
           servable, [("r", REGRESS), ("c2", CLASSIFY)], [b"x"])
    _fails("INVALID_ARGUMENT", "Requested signature not found in model graph: nope", inference.multi_inference,
           servable, [("nope", REGRESS)], [b"x"])
    _fails("UNIMPLEMENTED", "Unsupported signature method_name: " + PREDICT, inference.multi_inference,
           servable, [("r", PREDICT)], [b"x"])


class _Recording(_Servable):
    """A servable that records what predict feeds and fetches, and returns one array per fetch."""

    def run(self, feeds, fetches, timeout_ms=0):
        self.fed, self.fetched, self.timeout_ms = feeds, fetches, timeout_ms
        return [np.full(1, index, np.float32) for index, _ in enumerate(fetches)]


def _predictor(method=PREDICT):
    signature = _signature({"a": "in_a", "b": "in_b"}, {"y": "out_y", "z": "out_z"}, method)
    return _Recording({"serving_default": signature, "p": signature}, {})


@pytest.mark.parametrize("method", [PREDICT, CLASSIFY, REGRESS])
def test_predict_feeds_each_alias_by_tensor_name_and_returns_outputs_in_alias_order(method):
    servable = _predictor(method)
    outputs = inference.predict(servable, "p", {"b": 2, "a": 1}, timeout_ms=250)
    assert servable.fed == {"in_a:0": 1, "in_b:0": 2}
    assert servable.fetched == ["out_y:0", "out_z:0"] and servable.timeout_ms == 250
    assert [alias for alias, _ in outputs] == ["y", "z"]
    assert [value.tolist() for _, value in outputs] == [[0.0], [1.0]]


def test_an_output_filter_fetches_only_those_outputs_in_its_order():
    servable = _predictor()
    assert [alias for alias, _ in inference.predict(servable, "p", {"a": 1, "b": 2}, ["z"])] == ["z"]
    assert servable.fetched == ["out_z:0"]
    assert [alias for alias, _ in inference.predict(servable, "p", {"a": 1, "b": 2}, ["z", "y"])] == ["z", "y"]


@pytest.mark.parametrize("inputs, output_filter, code, message", [
    ({"a": 1}, (), "INVALID_ARGUMENT",
     "input size does not match signature: 1!=2 len({a}) != len({a,b}). Sent extra: {}. Missing but required: {b}."),
    ({"a": 1, "b": 2, "c": 3}, (), "INVALID_ARGUMENT",
     "input size does not match signature: 3!=2 len({a,b,c}) != len({a,b}). Sent extra: {c}. "
     "Missing but required: {}."),
    ({"a": 1, "c": 3}, (), "INVALID_ARGUMENT",
     "input tensor alias not found in signature: c. Inputs expected to be in the set {a,b}."),
    ({"a": 1, "b": 2}, ["w"], "INVALID_ARGUMENT",
     "output tensor alias not found in signature: w Outputs expected to be in the set {y,z}."),
    ({"a": 1, "b": 2}, ["y", "y"], "INVALID_ARGUMENT", "duplicate output tensor alias: y"),
])
def test_predict_request_rules(inputs, output_filter, code, message):
    _fails(code, message, inference.predict, _predictor(), "p", inputs, output_filter)


def test_predict_refuses_a_signature_of_another_method_as_an_internal_error():
    _fails("INTERNAL", "Expected prediction signature method_name to be one of {tensorflow/serving/predict, "
                       "tensorflow/serving/classify, tensorflow/serving/regress}. Was: my/custom_method",
           inference.predict, _predictor("my/custom_method"), "p", {"a": 1, "b": 2})


def test_an_empty_signature_name_means_serving_default_and_unknown_names_are_reported():
    assert inference.signature_key("") == "serving_default" == inference.DEFAULT_SIGNATURE
    assert inference.signature_key("p") == "p"
    _fails("INVALID_ARGUMENT", "No signature was found with the name: nope", inference.classify,
           _predictor(), "nope", [b"x"])
    _fails("INVALID_ARGUMENT", "Expected classification signature method_name to be tensorflow/serving/classify. "
                               "Was: tensorflow/serving/predict", inference.classify, _predictor(), "", [b"x"])
    _fails("INVALID_ARGUMENT", "Expected regression signature method_name to be tensorflow/serving/regress. "
                               "Was: tensorflow/serving/predict", inference.regress, _predictor(), "p", [b"x"])


def test_examples_are_fed_as_one_string_vector():
    servable = _Recording({"r": REGRESSION}, {})
    servable.run = lambda feeds, fetches, timeout_ms=0: (setattr(servable, "fed", feeds) or
                                                         [np.array([0.5, 0.5], np.float32)])
    inference.regress(servable, "r", [b"x", b"y"])
    fed = servable.fed["in:0"]
    assert fed.dtype == object and fed.tolist() == [b"x", b"y"]
