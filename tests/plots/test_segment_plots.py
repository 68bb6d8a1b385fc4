"""Figures of notebook 01: each function returns a Figure with the expected panels."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.plots import segment as plots_segment
from workbench.segment import rfm


def test_segment_figures():
    crit = pd.DataFrame({"model": ["kmeans"] * 3 + ["gmm_full"] * 3, "k": [2, 3, 4] * 2})
    for col in plots_segment.SELECTION_PANELS:
        crit[col] = np.linspace(0.1, 0.6, 6)
    crit["gap_se"] = 0.01
    crit.loc[crit["model"] == "kmeans", ["bic", "aic", "icl"]] = np.nan
    figs = [plots_segment.selection_criteria(crit, {"model": "gmm_full", "k": 3, "rule": "icl"})]
    grid = pd.DataFrame(np.arange(25.0).reshape(5, 5), index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    figs.append(plots_segment.rfm_heatmap(grid, grid * 10, rfm.check_segment_map(rfm.DEFAULT_SEGMENT_MAP)))
    summary = pd.DataFrame({"segment": ["champions", "hibernating"], "count": [3, 5], "revenue_share": [0.7, 0.3]})
    figs.append(plots_segment.segment_sizes(summary))
    cz = pd.DataFrame({"recency": [-1.0, 1.0], "frequency": [1.0, -1.0], "monetary": [1.0, -1.0]})
    figs.append(plots_segment.snake_plot(cz, {0: "recent", 1: "lapsed"}))
    emb = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5], "cluster": [0, 1, 1]})
    figs.append(plots_segment.embeddings({"PCA": emb, "t-SNE": emb}, {0: "a", 1: "b"}))
    by_f = pd.DataFrame({"frequency": ["0", "1", "2+"], "actual": [0.2, 0.7, 2.0], "predicted": [0.2, 0.5, 1.9]})
    figs.append(plots_segment.holdout_by_frequency(by_f))
    by_s = pd.DataFrame({"segment": ["a", "b"], "clv_mean": [10.0, 2.0], "clv_share": [0.8, 0.2]})
    figs.append(plots_segment.clv_by_segment(by_s))
    assert [len(f.axes) for f in figs] == [8, 4, 2, 1, 2, 1, 2]   # heatmap: 2 panels + 2 colour bars
    panels = figs[0].axes
    # silhouette: two models, the star, the chosen k; BIC, AIC, ICL: k-means has none, so one model less
    assert [len(ax.get_lines()) for ax in panels[:1] + panels[4:7]] == [4, 3, 3, 3]
    assert "gmm_full with k = 3" in figs[0]._suptitle.get_text()
    heat_texts = [t.get_text() for t in figs[1].axes[0].texts]
    assert len(heat_texts) == 25 and heat_texts[4] == "4\nchampions" and heat_texts[20] == "20\nhibernating"
    for f in figs:
        plt.close(f)
