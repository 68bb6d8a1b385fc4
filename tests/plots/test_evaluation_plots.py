"""Notebook 07's figures: the right series are drawn, and empty inputs give a labelled empty figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from workbench.plots import evaluation


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_model_comparison_bars():
    t = pd.DataFrame({"ndcg@10": [0.2, 0.1], "precision@10": [0.1, 0.05]}, index=pd.Index(["ease", "popular"],
                                                                                          name="model"))
    fig = evaluation.model_comparison(t)
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert [x.get_text() for x in ax.get_yticklabels()] == ["popular", "ease"]
    assert "no ranking model" in _texts(evaluation.model_comparison(t.iloc[:0]))


def test_pk_curves_one_line_per_model_each_panel():
    c = pd.DataFrame({"model": ["a", "a", "b", "b"], "k": [1, 2, 1, 2], "precision": [0.5, 0.4, 0.2, 0.1],
                      "recall": [0.1, 0.2, 0.05, 0.1]})
    fig = evaluation.pk_curves(c, highlight=["a"])
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    assert list(fig.axes[1].lines[0].get_ydata()) == [0.1, 0.2]
    assert "no recommendations" in _texts(evaluation.pk_curves(c.iloc[:0]))


def test_impact_over_time_cumulative_with_share():
    p = pd.to_datetime(["2024-01-01", "2024-01-08"])
    h = pd.DataFrame({"period": list(p) * 2, "model": ["all test purchases"] * 2 + ["a"] * 2,
                      "hits": [3, 4, 1, 2], "revenue": [10.0, 30.0, 5.0, 15.0]})
    ax = evaluation.impact_over_time(h).axes[0]
    assert len(ax.lines) == 1 and list(ax.lines[0].get_ydata()) == [5.0, 20.0]
    assert "50.0% of test revenue" in ax.get_legend().get_texts()[0].get_text()
    ax = evaluation.impact_over_time(h.assign(revenue=float("nan"))).axes[0]
    assert list(ax.lines[0].get_ydata()) == [1, 3]  # falls back to purchase counts


def test_segment_value_and_compare_runs():
    t = pd.DataFrame({"segment": ["champions", "at_risk"], "customer_share": [0.2, 0.8],
                      "revenue_share": [0.7, 0.3]})
    assert len(evaluation.segment_value(t).axes[0].patches) == 4
    runs = pd.DataFrame({"run": ["k5", "k20", "k10"], "params.k": [5, 20, 10], "metrics.m": [0.1, 0.3, 0.2]})
    ax = evaluation.compare_runs(runs, "metrics.m", by="params.k").axes[0]
    assert list(ax.lines[0].get_xdata()) == [5, 10, 20] and ax.get_xlabel() == "k"
    ax = evaluation.compare_runs(runs, "metrics.m").axes[0]
    assert len(ax.patches) == 3
    assert "fewer than two runs" in _texts(evaluation.compare_runs(runs, "metrics.other"))
    assert "fewer than two runs" in _texts(evaluation.compare_runs(runs.assign(**{"metrics.m": [0.1, None, None]}), "metrics.m"))


def test_slice_and_overlap_figures():
    from workbench.plots import evaluation as evaluation_plots

    table = pd.DataFrame({"dimension": ["segment"] * 4 + ["history"] * 2, "slice": ["a", "a", "b", "b", "cold", "cold"],
                          "model": ["m1", "m2"] * 3, "ndcg": [0.1, 0.2, 0.3, 0.1, 0.2, 0.2]})
    table["ndcg_low"], table["ndcg_high"] = table["ndcg"] - 0.05, table["ndcg"] + 0.05
    fig = evaluation_plots.slice_ndcg(table, ["m1", "m2", "absent"])
    shown = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in shown] == ["NDCG@K by segment", "NDCG@K by history"]
    assert len(shown[0].patches) == 4  # two slices x two models
    m = pd.DataFrame([[1.0, 0.25], [0.25, 1.0]], index=["m1", "m2"], columns=["m1", "m2"])
    fig = evaluation_plots.overlap_heatmap(m, 10)
    assert [t.get_text() for t in fig.axes[0].texts] == ["1.00", "0.25", "0.25", "1.00"]
