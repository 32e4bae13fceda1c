import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from iriscourse import agreement, export, frozen, lowlevel, runtimes  # noqa: E402

TF2_ROW = {"runtime": "TF 2 SavedModel", "size_kb": 60.0, "load_ms": 90.0, "batch1_ms": 0.4, "batch30_ms": 0.5}


@pytest.fixture(scope="module")
def measured(module_build_dir):
    rows, _ = lowlevel.test_set()
    clean = lowlevel.ensure_savedmodel()
    graph = frozen.ensure_frozen()
    found = [runtimes.Runtime("TF SavedModel", [clean], lambda: runtimes.savedmodel_predictor(clean)),
             runtimes.Runtime("TF frozen graph", [graph], lambda: runtimes.graph_def_predictor(graph))]
    return runtimes.measure_all(found, rows, repeats=20, loads=2)


def test_every_runtime_gets_every_metric_as_a_positive_number(measured):
    assert list(measured.index) == ["TF SavedModel", "TF frozen graph"]
    assert list(measured.columns) == runtimes.METRICS
    assert (measured.values > 0).all()
    assert measured.loc["TF frozen graph", "size_kb"] == pytest.approx(frozen.ensure_frozen().stat().st_size / 1024)


def test_rows_measured_elsewhere_join_the_table(measured):
    rows = measured.reset_index().to_dict("records") + [TF2_ROW]
    frame = runtimes.table(rows)
    assert list(frame.index)[-1] == "TF 2 SavedModel"
    assert frame.loc["TF 2 SavedModel", "load_ms"] == 90.0


def test_a_row_missing_a_metric_is_rejected_with_the_metrics_it_needs():
    with pytest.raises(ValueError, match=r"lacks \['batch30_ms'\]"):
        runtimes.table([{k: v for k, v in TF2_ROW.items() if k != "batch30_ms"}])


def test_the_chart_has_one_panel_per_metric_and_one_bar_per_runtime(measured):
    figure = runtimes.chart(runtimes.table(measured.reset_index().to_dict("records") + [TF2_ROW]))
    assert [ax.get_title() for ax in figure.axes] == runtimes.METRICS
    assert all(len(ax.patches) == 3 for ax in figure.axes)


def test_savedmodel_predictors_feed_matrix_named_and_example_signatures_alike(module_build_dir):
    rows, _ = lowlevel.test_set()
    raw = runtimes.savedmodel_predictor(export.ensure_export("raw"))
    parsing = runtimes.savedmodel_predictor(export.ensure_export("parsing"))
    assert agreement.compare(raw, parsing, rows, tolerance=0.0).passed
    probabilities = runtimes.savedmodel_predictor(lowlevel.ensure_savedmodel())(rows)
    assert probabilities.shape == (30, 3)
    np.testing.assert_allclose(probabilities, runtimes.graph_def_predictor(frozen.ensure_frozen())(rows), atol=1e-6)
