"""Exercises of notebook 12: an equality check, an ONNX Runtime predictor, catching ops tf2onnx left untranslated."""
import numpy as np

from .. import agreement, lowlevel, onnx_export, paths, runtimes
from . import Wrong, call, exercise

def _pairs():
    """(name, expected, actual, tolerance, whether they agree): one pair per way two runtimes can differ."""
    rng = np.random.RandomState(12)
    logits = 3 * rng.normal(size=(30, 3))
    base = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    close = base + rng.uniform(-5e-7, 5e-7, base.shape)
    shifted = base + [1e-3, -1e-3, 0.0]
    same_class = base.argmax(axis=1) == shifted.argmax(axis=1)
    tie, tie_flipped = [0.4999999, 0.5000001, 0.0], [0.5000001, 0.4999999, 0.0]
    return [
        ("identical arrays", base, base.copy(), 1e-6, True),
        ("differences of 5e-7, tolerance 1e-6", base, close, 1e-6, True),
        ("the same class ids, probabilities 1e-3 apart, tolerance 1e-6", base[same_class], shifted[same_class],
         1e-6, False),
        ("one class id flipped by a 2e-7 change, tolerance 1e-6", np.vstack([base[:3], [tie]]),
         np.vstack([base[:3], [tie_flipped]]), 1e-6, False),
        ("the same class ids, probabilities 1e-3 apart, tolerance 1e-2", base[same_class], shifted[same_class],
         1e-2, True),
    ]


@exercise("12.1", "Your own equality check", "easy", 5,
          "Two conditions, both needed: (expected.argmax(axis=1) == actual.argmax(axis=1)).all(), and "
          "np.abs(expected - actual).max() <= tolerance. Return one bool.")
def check_agree(agree):
    """``agree(expected, actual, tolerance)`` is True only when class ids match and probabilities are close."""
    for name, expected, actual, tolerance, agrees in _pairs():
        got = call(agree, expected, actual, tolerance)
        if not isinstance(got, (bool, np.bool_)):
            raise Wrong("return True or False, not {!r} (for {})".format(type(got).__name__, name))
        if bool(got) != agrees:
            raise Wrong("for {} it returned {}, but they {}".format(
                name, bool(got), "agree" if agrees else "do not agree: " + (
                    "a class id differs" if "flipped" in name else "the probabilities differ by more than the tolerance")))
    return "It accepts close outputs and rejects both a flipped class id and probabilities out of tolerance."


def _clean_onnx():
    """The ONNX model of the clean SavedModel, converted first if missing."""
    target = onnx_export.path("clean")
    if not target.is_file():
        onnx_export.convert(onnx_export.saved_model_command(lowlevel.ensure_savedmodel(), target))
    return target


def _compare(predicted, reference, rows, what):
    """Wrong unless ``predicted`` are the reference probabilities for ``rows``."""
    predicted = np.asarray(predicted)
    if predicted.shape != (len(rows), 3):
        raise Wrong("{}: expected probabilities of shape ({}, 3), got shape {}".format(what, len(rows), predicted.shape))
    if not np.allclose(predicted.sum(axis=1), 1, atol=1e-4):
        raise Wrong("{}: the rows do not sum to 1, so these are not probabilities (logits?); fetch the output "
                    "named 'probabilities'".format(what))
    result = agreement.compare(lambda _: reference, lambda _: predicted, rows)
    if not result.passed:
        raise Wrong("{}: against TF 1.13, {}".format(what, result))
    return result


@exercise("12.2", "Predict with ONNX Runtime", "medium", 10,
          "session = onnxruntime.InferenceSession(str(model_path)); session.run(['probabilities'], "
          "{'features': np.asarray(rows, np.float32)})[0]. Outputs come in the model's order (logits first), so "
          "ask for 'probabilities' by name.")
def check_onnx_predict(onnx_predict):
    """``onnx_predict(model_path, rows)`` returns the clean model's probabilities through onnxruntime."""
    model = _clean_onnx()
    rows, _ = lowlevel.test_set()
    reference = runtimes.savedmodel_predictor(lowlevel.ensure_savedmodel())
    result = _compare(call(onnx_predict, model, rows), reference(rows), rows, "at batch 30")
    _compare(call(onnx_predict, model, rows[:1]), reference(rows[:1]), rows[:1], "at batch 1")
    return "ONNX Runtime matches TF 1.13 at batch 30 and at batch 1: " + str(result)


def _model_with_ops(path, op_types):
    """Save an ONNX model chaining nodes of ``op_types`` (standard or not) from input x to output y."""
    import onnx
    from onnx import TensorProto, helper

    names = ["x"] + ["t{}".format(i) for i in range(len(op_types) - 1)] + ["y"]
    nodes = [helper.make_node(op, [names[i]], [names[i + 1]]) for i, op in enumerate(op_types)]
    graph = helper.make_graph(nodes, "ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", onnx_export.OPSET)]), str(path))
    return path


@exercise("12.3", "Catch what tf2onnx did not convert", "medium", 10,
          "onnx.load(str(model_path)).graph.node lists the nodes; onnx.defs.has(node.op_type, node.domain) says "
          "whether ONNX defines the op. Return the set of op types it does not define: not a fixed list, since "
          "any TensorFlow op tf2onnx cannot translate is left in as it was.")
def check_untranslated_ops(untranslated_ops):
    """``untranslated_ops(model_path)`` is the set of op types in an ONNX model that ONNX does not define."""
    folder = paths.fresh_dir(paths.artifact("exercises", "12.3"))
    cases = [
        ("the clean model converted by tf2onnx", _clean_onnx(), set()),
        ("a model with Relu, ParseExample and Softmax", _model_with_ops(folder / "parse.onnx",
                                                                        ["Relu", "ParseExample", "Softmax"]),
         {"ParseExample"}),
        ("a model with DecodeCSV, Relu and StringToHashBucketFast",
         _model_with_ops(folder / "other.onnx", ["DecodeCSV", "Relu", "StringToHashBucketFast"]),
         {"DecodeCSV", "StringToHashBucketFast"}),
    ]
    for name, model_path, expected in cases:
        got = call(untranslated_ops, model_path)
        try:
            got = set(got)
        except TypeError:
            raise Wrong("return a set of op type names, not {!r}".format(type(got).__name__)) from None
        if got != expected:
            raise Wrong("for {} it returned {}, expected {}".format(name, sorted(got), sorted(expected) or "nothing"))
    return "It finds ParseExample and any other op ONNX does not define, and nothing in a clean conversion."
