"""Exercises of notebook 03: reading and running SavedModels with saved_model_cli."""
import numpy as np

from .. import data, estimator, export, savedmodel_cli
from . import Wrong, call, exercise


@exercise("03.1", "Read the scores output with the CLI", "easy", 5,
          "saved_model_cli show --dir <classify export> --tag_set serve --signature_def classification "
          "prints each output's dtype and shape; return them as ('DT_...', (-1, ...)).")
def check_scores_dtype_and_shape(scores_dtype_and_shape):
    """``scores_dtype_and_shape()`` returns the dtype and shape of the classification signature's scores."""
    out = savedmodel_cli.run("show", "--dir", export.ensure_export("classify"), "--tag_set", "serve",
                             "--signature_def", "classification", echo=False)
    block = out.split("outputs['scores'] tensor_info:")[1]
    dtype = block.split("dtype: ")[1].split()[0]
    shape = tuple(int(d) for d in block.split("shape: (")[1].split(")")[0].split(","))
    got = call(scores_dtype_and_shape)
    try:
        got_dtype, got_shape = got
    except (TypeError, ValueError):
        raise Wrong("return a pair (dtype, shape), got {!r}".format(got)) from None
    if got_dtype != dtype:
        raise Wrong("the dtype {!r} is not what the CLI prints for scores".format(got_dtype))
    if tuple(got_shape) != shape:
        raise Wrong("the shape {} is not the scores' shape (the batch dimension is -1)".format(tuple(got_shape)))
    return "scores is {} of shape {}: one probability per class, for any batch size.".format(dtype, shape)


@exercise("03.2", "Feed test rows with --input_exprs", "medium", 10,
          "One 'alias=[v1, v2, ...]' part per feature, joined by ';'. Build each list from "
          "test_x[name][:5].tolist(), e.g. ';'.join('{}={}'.format(name, test_x[name][:5].tolist()) ...).")
def check_test_rows_exprs(test_rows_exprs):
    """``test_rows_exprs()`` is an ``--input_exprs`` argument feeding the first five test rows to the raw export."""
    exprs = call(test_rows_exprs)
    if not isinstance(exprs, str):
        raise Wrong("return the argument as one string, got a {}".format(type(exprs).__name__))
    try:
        out = savedmodel_cli.run("run", "--dir", export.ensure_export("raw"), "--tag_set", "serve",
                                 "--signature_def", "serving_default", "--input_exprs", exprs, echo=False)
    except savedmodel_cli.CommandFailed as failure:
        raise Wrong("saved_model_cli refused it: {}".format(failure.error)) from None
    got = savedmodel_cli.parse_results(out)["class_ids"].ravel()
    _, (test_x, _) = data.load_data()
    predictions = estimator.ensure_trained().predict(lambda: data.eval_input_fn(test_x[:5], None, 100))
    expected = np.array([p["class_ids"][0] for p in predictions])
    if got.shape != expected.shape or (got != expected).any():
        raise Wrong("the CLI returned classes {} for it, but the first five test rows are {}: five rows, each "
                    "feature's own column".format(got.tolist(), expected.tolist()))
    return "The CLI gives classes {} for the first five test rows, like the Estimator.".format(expected.tolist())
