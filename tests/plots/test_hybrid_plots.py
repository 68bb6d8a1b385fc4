"""Tests of workbench/plots/hybrid.py: each figure function returns a Figure with the expected bars."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.evaluate.ablation import ABLATION_COLUMNS
from workbench.plots import hybrid as plots_hybrid


def test_hybrid_figures():
    table = pd.DataFrame({"ndcg@10": [0.3, 0.2, 0.1], "ndcg_low": [0.25, 0.15, 0.05], "ndcg_high": [0.35, 0.25, 0.15],
                          "kind": ["hybrid", "component alone", "baseline"]}, index=["tuned", "cf", "popular"])
    fig = plots_hybrid.variant_bars(table, "ndcg@10")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["popular", "cf", "tuned"]  # ascending
    assert len(fig.axes[0].patches) == 3
    fig = plots_hybrid.weights_bars({"cf": 0.7, "content": 0.3}, {"cf": 0.5, "content": 0.2, "popular": 0.3})
    assert len(fig.axes[0].patches) == 6                    # 3 components x (default, tuned)
    abl = pd.DataFrame([["cf", 0.5, 0.3, 0.2, 0.1, 0.05, 0.15, 0.01, 0.2, 0.1, 0.05, 0.15],
                        ["content", 0.5, 0.3, 0.3, 0.0, -0.01, 0.01, 0.9, 0.1, 0.2, 0.1, 0.3]],
                       columns=list(ABLATION_COLUMNS))
    fig = plots_hybrid.ablation_bars(abl)
    assert len(fig.axes) == 2 and all(len(ax.patches) == 2 for ax in fig.axes)
    hist = pd.DataFrame({"n": [5, 20], "hybrid": [0.1, 0.2], "no_switching": [0.05, 0.2], "popular": [0.08, 0.1]},
                        index=["cold", "hot"])
    fig = plots_hybrid.history_bars(hist)
    assert len(fig.axes[0].patches) == 6
    ab = {"n_control": 10, "n_treatment": 10, "conversion": {"control": 0.1, "treatment": 0.2, "p_value": 0.3},
          "revenue": {"control": 1.0, "treatment": 1.5, "lift": 0.5, "low": -0.1, "high": 1.2}}
    fig = plots_hybrid.ab_bars(ab)
    assert "+50.0%" in fig.axes[1].get_title()
    recs = pd.DataFrame({"confidence": [0.1, 0.5, 1.0], "reason": ["cf", "cf", "content"]})
    fig = plots_hybrid.confidence_hist(recs)
    assert len(fig.axes) == 2
    plt.close("all")
