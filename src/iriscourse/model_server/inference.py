"""Predict, classify, regress and multi-inference on a servable, with TF Serving's signature rules.

Shared by the REST and gRPC front ends: they turn their requests into arrays
or serialized tf.Examples, and their responses from what these functions return.
"""
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2

from . import errors, monitoring

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"
_INPUTS, _CLASSES, _SCORES, _OUTPUTS = "inputs", "classes", "scores", "outputs"


def signature_key(name):
    """The signature a request means: its name, or serving_default when empty."""
    return name or DEFAULT_SIGNATURE


def _keys(mapping):
    return ",".join(sorted(mapping))


def _dtype_name(array):
    return types_pb2.DataType.Name(tf.as_dtype(array.dtype).as_datatype_enum)


def _shape_text(array):
    return "[%s]" % ",".join(str(size) for size in array.shape)


def _output_aliases(signature, output_filter):
    if not output_filter:
        return sorted(signature.outputs)
    seen = set()
    for alias in output_filter:
        if alias not in signature.outputs:
            raise errors.invalid_argument(
                "output tensor alias not found in signature: %s Outputs expected to be in the set {%s}."
                % (alias, _keys(signature.outputs)))
        if alias in seen:
            raise errors.invalid_argument("duplicate output tensor alias: %s" % alias)
        seen.add(alias)
    return list(output_filter)


def predict(servable, key, inputs, output_filter=(), timeout_ms=0):
    """Run signature `key` on inputs {alias: array}; returns [(alias, array)] for the outputs."""
    signature = servable.signatures[key]
    if signature.method_name not in (PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD):
        raise errors.ServingError(errors.INTERNAL,
                                  "Expected prediction signature method_name to be one of {%s, %s, %s}. Was: %s"
                                  % (PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD, signature.method_name))
    if len(inputs) != len(signature.inputs):
        raise errors.invalid_argument(
            "input size does not match signature: %d!=%d len({%s}) != len({%s}). Sent extra: {%s}. "
            "Missing but required: {%s}."
            % (len(inputs), len(signature.inputs), _keys(inputs), _keys(signature.inputs),
               _keys(set(inputs) - set(signature.inputs)), _keys(set(signature.inputs) - set(inputs))))
    feeds = {}
    for alias in sorted(inputs):
        if alias not in signature.inputs:
            raise errors.invalid_argument(
                "input tensor alias not found in signature: %s. Inputs expected to be in the set {%s}."
                % (alias, _keys(signature.inputs)))
        feeds[signature.inputs[alias].name] = inputs[alias]
    aliases = _output_aliases(signature, output_filter)
    with monitoring.runtime_latency(servable.name, "Predict"):
        values = servable.run(feeds, [signature.outputs[alias].name for alias in aliases], timeout_ms)
    return list(zip(aliases, values))


def _find_signature(servable, name, method, kind):
    key = signature_key(name)
    if key not in servable.signatures:
        raise errors.invalid_argument("No signature was found with the name: %s" % key)
    signature = servable.signatures[key]
    if signature.method_name != method:
        raise errors.invalid_argument("Expected %s signature method_name to be %s. Was: %s"
                                      % (kind, method, signature.method_name))
    return key, signature


def _classification_tensors(signature):
    """Input tensor name and output tensor names of a classification signature."""
    if signature.method_name != CLASSIFY_METHOD:
        raise errors.invalid_argument("Expected classification signature method_name to be %s. Was: %s"
                                      % (CLASSIFY_METHOD, signature.method_name))
    if len(signature.inputs) != 1:
        raise errors.invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) not in (1, 2):
        raise errors.invalid_argument("Expected one or two output Tensors, found %d" % len(signature.outputs))
    if _INPUTS not in signature.inputs:
        raise errors.invalid_argument("No classification inputs found in SignatureDef: %s" % signature)
    names = [signature.outputs[alias].name for alias in (_CLASSES, _SCORES) if alias in signature.outputs]
    if not names:
        raise errors.invalid_argument(
            'Expected classification signature outputs to contain at least one of "classes" or '
            '"scores". Signature was: %s' % signature)
    return signature.inputs[_INPUTS].name, names


def _check_class_tensor(array, alias, dtype, num_examples):
    if array.ndim != 2:
        raise errors.invalid_argument("Expected Tensor shape: [batch_size num_classes] but got %s"
                                      % _shape_text(array))
    if array.dtype != dtype:
        raise errors.invalid_argument("Expected %s Tensor of %s. Got: %s"
                                      % (alias, "DT_STRING" if dtype == object else "DT_FLOAT",
                                         _dtype_name(array)))
    if array.shape[0] != num_examples:
        raise errors.invalid_argument("Expected %s output batch size of %d. Got: %d"
                                      % (alias, num_examples, array.shape[0]))


def _classifications(signature, num_examples, values):
    """[[(label, score), ...] per example] from the fetched class/score tensors."""
    classes = values.get(signature.outputs[_CLASSES].name) if _CLASSES in signature.outputs else None
    scores = values.get(signature.outputs[_SCORES].name) if _SCORES in signature.outputs else None
    if classes is not None:
        _check_class_tensor(classes, _CLASSES, object, num_examples)
    if scores is not None:
        _check_class_tensor(scores, _SCORES, np.float32, num_examples)
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise errors.invalid_argument("Tensors class and score should match in dim_size(1). Got %d vs. %d"
                                      % (classes.shape[1], scores.shape[1]))
    num_classes = (classes if classes is not None else scores).shape[1]
    return [[(classes[row, column] if classes is not None else b"",
              float(scores[row, column]) if scores is not None else 0.0)
             for column in range(num_classes)]
            for row in range(num_examples)]


def _regression_tensors(signature):
    """Input tensor name and output tensor name of a regression signature."""
    if signature.method_name != REGRESS_METHOD:
        raise errors.invalid_argument("Expected regression signature method_name to be %s. Was: %s"
                                      % (REGRESS_METHOD, signature.method_name))
    if len(signature.inputs) != 1:
        raise errors.invalid_argument("Expected one input Tensor.")
    if len(signature.outputs) != 1:
        raise errors.invalid_argument("Expected one output Tensor.")
    if _INPUTS not in signature.inputs:
        raise errors.failed_precondition("No regression inputs found in SignatureDef: %s" % signature)
    if _OUTPUTS not in signature.outputs:
        raise errors.failed_precondition("No regression outputs found in SignatureDef: %s" % signature)
    return signature.inputs[_INPUTS].name, [signature.outputs[_OUTPUTS].name]


def _regressions(signature, num_examples, values):
    """One float per example from the fetched regression output."""
    output = values[signature.outputs[_OUTPUTS].name]
    if not (output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1)):
        raise errors.invalid_argument(
            "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got %s"
            % _shape_text(output))
    if output.shape[0] != num_examples:
        raise errors.invalid_argument("Input batch size did not match output batch size: %d vs. %d"
                                      % (num_examples, output.shape[0]))
    if output.dtype != np.float32:
        raise errors.invalid_argument("Expected output Tensor of DT_FLOAT.  Got: %s" % _dtype_name(output))
    return [float(value) for value in output.reshape(-1)]


def _examples_array(serialized):
    array = np.empty(len(serialized), dtype=object)
    array[:] = list(serialized)
    return array


def _run_examples(servable, input_name, output_names, serialized, timeout_ms):
    fetched = servable.run({input_name: _examples_array(serialized)}, output_names, timeout_ms)
    return dict(zip(output_names, fetched))


def classify(servable, signature_name, serialized, timeout_ms=0):
    """Classify serialized tf.Examples: (signature key, [[(label, score), ...] per example])."""
    key, signature = _find_signature(servable, signature_name, CLASSIFY_METHOD, "classification")
    input_name, output_names = _classification_tensors(signature)
    with monitoring.runtime_latency(servable.name, "Classify"):
        values = _run_examples(servable, input_name, output_names, serialized, timeout_ms)
    return key, _classifications(signature, len(serialized), values)


def regress(servable, signature_name, serialized, timeout_ms=0):
    """Regress serialized tf.Examples: (signature key, [value per example])."""
    key, signature = _find_signature(servable, signature_name, REGRESS_METHOD, "regression")
    input_name, output_names = _regression_tensors(signature)
    with monitoring.runtime_latency(servable.name, "Regress"):
        values = _run_examples(servable, input_name, output_names, serialized, timeout_ms)
    return key, _regressions(signature, len(serialized), values)


def multi_inference(servable, tasks, serialized, timeout_ms=0):
    """Run several classify/regress signatures in one session run.

    tasks is a list of (signature name, method name); returns one
    (method, signature key, results) triple per task.
    """
    seen, plans, input_name, output_names = set(), [], None, set()
    for name, method in tasks:
        key = signature_key(name)
        if key in seen:
            raise errors.invalid_argument("Duplicate evaluation of signature: %s" % key)
        seen.add(key)
        if key not in servable.signatures:
            raise errors.invalid_argument("Requested signature not found in model graph: %s" % key)
        signature = servable.signatures[key]
        if method == CLASSIFY_METHOD:
            task_input, task_outputs = _classification_tensors(signature)
        elif method == REGRESS_METHOD:
            task_input, task_outputs = _regression_tensors(signature)
        else:
            raise errors.unimplemented("Unsupported signature method_name: %s" % method)
        if input_name not in (None, task_input):
            raise errors.invalid_argument("Input tensor must be the same for all Signatures.")
        input_name = task_input
        output_names.update(task_outputs)
        plans.append((method, key, signature))
    values = _run_examples(servable, input_name, sorted(output_names), serialized, timeout_ms)
    monitoring.record_example_count(servable.name, len(serialized))
    results = []
    for method, key, signature in plans:
        post_process = _classifications if method == CLASSIFY_METHOD else _regressions
        results.append((method, key, post_process(signature, len(serialized), values)))
    return results


def input_dtypes(signature):
    """{alias: DataType enum} of a signature's inputs."""
    return {alias: info.dtype for alias, info in signature.inputs.items()}

