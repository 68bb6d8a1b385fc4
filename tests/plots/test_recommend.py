"""Figures of notebook 02 build from small inputs and return Figures."""
import matplotlib.pyplot as plt
import pandas as pd

from workbench.evaluate import published
from workbench.plots import recommend as rp


def test_figures():
    summary = pd.DataFrame({"ndcg@10": [0.4, 0.2], "coverage": [0.1, 0.5]}, index=["ease", "popular"])
    curves = pd.DataFrame({"model": ["ease"] * 2 + ["popular"] * 2, "k": [1, 5] * 2,
                           "precision": [0.5, 0.4, 0.3, 0.2], "recall": [0.05, 0.2, 0.03, 0.1]})
    pc = pd.DataFrame({"model": ["ease"] * 3 + ["popular"] * 3, "ndcg": [0.1, 0.5, 0.6, 0.0, 0.2, 0.4]})
    timing = pd.DataFrame({"fit": [1.0, 0.01], "recommend": [0.1, 0.1]}, index=["ease", "popular"])
    timing["total"] = timing.sum(axis=1)
    ours = pd.DataFrame({"model": ["SVD"], "rmse": [0.94], "mae": [0.74]})
    figs = [rp.precision_recall_curves(curves), rp.metric_heatmap(summary),
            rp.metric_intervals(summary, pc, n_boot=50), rp.timing_bars(timing),
            rp.rating_comparison(ours, published.surprise_ml100k())]
    for f in figs:
        assert isinstance(f, plt.Figure)
        plt.close(f)
