"""Runtimes side by side: size on disk, load time and latency, as a table and a chart.

A runtime is a name, the files it loads, and a ``load()`` returning a predictor (a callable from a
``[n, 4]`` float32 matrix in ``lowlevel.INPUT_ORDER`` to probabilities). Rows measured elsewhere
(another environment's numbers, as dicts with the same keys) join the same table.
"""
import collections

import numpy as np
import pandas as pd
import tensorflow as tf

from . import bench, data, formats, frozen, lowlevel

Runtime = collections.namedtuple("Runtime", ["name", "files", "load"])
# Units are part of the names, so a dict from elsewhere says what it measured.
METRICS = ["size_kb", "load_ms", "batch1_ms", "batch30_ms"]


def savedmodel_predictor(export_dir, signature_key="serving_default", output="probabilities"):
    """A TF 1.13 predictor over a SavedModel's signature, whichever its inputs.

    ``features`` is fed the matrix; named inputs get one column each (by ``INPUT_ORDER``); an
    ``examples`` (parsing) signature gets the rows serialized as tf.Examples.
    """
    graph = tf.Graph()
    sess = tf.Session(graph=graph, config=lowlevel.session_config())
    signature = tf.saved_model.loader.load(sess, ["serve"], str(export_dir)).signature_def[signature_key]
    fetch = signature.outputs[output].name
    inputs = {key: info.name for key, info in signature.inputs.items()}
    if set(inputs) == {"features"}:
        return lambda rows: sess.run(fetch, {inputs["features"]: rows})
    if set(inputs) == {"examples"}:
        return lambda rows: sess.run(fetch, {inputs["examples"]: data.serialize_examples(
            {name: rows[:, i] for i, name in enumerate(lowlevel.INPUT_ORDER)})})
    return lambda rows: sess.run(fetch, {inputs[name]: rows[:, i] for i, name in enumerate(lowlevel.INPUT_ORDER)})


def graph_def_predictor(graph_def_path, input_name=lowlevel.INPUT, output=lowlevel.PROBABILITIES):
    """A TF 1.13 predictor over a frozen GraphDef file, fed and fetched by tensor name."""
    graph = tf.Graph()
    with graph.as_default():
        tf.import_graph_def(frozen.read_graph_def(graph_def_path), name="")
    sess = tf.Session(graph=graph, config=lowlevel.session_config())
    return lambda rows: sess.run(output, {input_name: rows})


def _median_ms(call, repeats):
    return 1000 * float(np.median(bench.time_calls(call, repeats, warmup=0)))


def measure(runtime, rows, repeats=200, loads=3):
    """One row of the table: size on disk, median load time, median latency at batch 1 and at ``len(rows)``."""
    load_ms = _median_ms(runtime.load, loads)
    predict = runtime.load()
    one = rows[:1]
    predict(one)
    predict(rows)
    return {"runtime": runtime.name, "size_kb": formats.disk_bytes(runtime.files) / 1024, "load_ms": load_ms,
            "batch1_ms": _median_ms(lambda: predict(one), repeats),
            "batch30_ms": _median_ms(lambda: predict(rows), repeats)}


def table(rows):
    """The measured rows (dicts: ``runtime`` and every metric in ``METRICS``) as a frame indexed by runtime."""
    for row in rows:
        missing = [key for key in ["runtime"] + METRICS if key not in row]
        if missing:
            raise ValueError("row {!r} lacks {}: every row needs 'runtime' and {}".format(
                row.get("runtime"), missing, METRICS))
    return pd.DataFrame([{key: row[key] for key in ["runtime"] + METRICS} for row in rows]).set_index("runtime")


def measure_all(runtimes, rows, repeats=200, loads=3):
    """``measure`` each runtime in turn, in one run; the table of them."""
    return table([measure(runtime, rows, repeats, loads) for runtime in runtimes])


def chart(frame):
    """A matplotlib Figure with one bar chart per metric, one bar per runtime."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4 * len(METRICS), 3.5))
    for ax, metric in zip(axes, METRICS):
        ax.bar(range(len(frame)), frame[metric])
        ax.set_xticks(range(len(frame)))
        ax.set_xticklabels(frame.index, rotation=45, ha="right")
        ax.set_title(metric)
    fig.tight_layout()
    return fig
