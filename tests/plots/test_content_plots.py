"""Tests of workbench/plots/content.py: each figure function returns a Figure from small inputs."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.data import contract
from workbench.plots import content as plots_content


def test_content_figures():
    ex = pd.DataFrame({contract.PRODUCT_ID: ["a", "a"], "similar_product_id": ["b", "c"], "similarity": [0.9, 0.5],
                       "rank": [1, 2], "query_name": ["A", "A"], "similar_name": ["B", "C"],
                       "similar_category": ["x", "y"]})
    points = pd.DataFrame({contract.PRODUCT_ID: list("abc"), contract.CATEGORY: list("xxy"), "x": [0, 1, 2], "y": [1, 0, 1]})
    table = pd.DataFrame({"ndcg@10": [0.05, 0.07]}, index=pd.Index(["popular", "content"], name="model"))
    cold = pd.DataFrame({"model": ["content", "item_knn"], "cold_recall@10": [0.05, 0.0],
                         "cold_recall_only@10": [0.3, 0.2], "cold_ndcg@10": [0.2, 0.1], "cold_recommended": [0.8, 0.0],
                         "random_recall_only@10": [0.23, 0.23]})
    figs = [plots_content.similar_items_table(ex), plots_content.product_map(points), plots_content.model_comparison(table, "ndcg@10"), plots_content.cold_start_bars(cold)]
    assert all(isinstance(f, plt.Figure) for f in figs)
    assert len(figs[3].axes[0].patches) == 8  # 2 models x 4 measures
    plt.close("all")
