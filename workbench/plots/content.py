"""Figures of notebook 03 (content-based and context recommenders). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.data import contract


def _short(text, n: int = 38) -> str:
    s = str(text)
    return s if len(s) <= n else s[: n - 1] + "…"


def similar_items_table(examples: pd.DataFrame, n: int = 5) -> plt.Figure:
    """A table figure: for each query product, its ``n`` most similar products with similarity and category.

    ``examples`` is the output of ``content.similar_examples`` (query_/similar_ name and category columns).
    """
    ex = examples[examples["rank"] <= n]
    rows = [[_short(r.query_name), _short(r.similar_name), str(getattr(r, "similar_category", "")),
             f"{r.similarity:.3f}"] for r in ex.itertuples(index=False)]
    fig, ax = plt.subplots(figsize=(12, 0.3 * max(len(rows), 1) + 0.8))
    ax.axis("off")
    if rows:
        tab = ax.table(cellText=rows, colLabels=["product", "similar product", "category", "cosine"],
                       loc="center", cellLoc="left", colWidths=[0.38, 0.38, 0.14, 0.1])
        tab.auto_set_font_size(False)
        tab.set_fontsize(8)
        tab.scale(1, 1.15)
    ax.set_title("Most similar products (content vectors)")
    fig.tight_layout()
    return fig


def product_map(points: pd.DataFrame, max_categories: int = 12) -> plt.Figure:
    """Scatter of the 2-D product map (``content.product_map``), coloured by category (the largest ones)."""
    fig, ax = plt.subplots(figsize=(8, 6))
    cats = points[contract.CATEGORY].astype("str")
    top = cats.value_counts().index[:max_categories]
    cmap = plt.get_cmap("tab20" if len(top) > 10 else "tab10")
    other = ~cats.isin(top)
    if other.any():
        ax.scatter(points.loc[other, "x"], points.loc[other, "y"], s=6, c="#cccccc", label="other", alpha=0.6)
    for i, cat in enumerate(top):
        m = (cats == cat).to_numpy()
        ax.scatter(points.loc[m, "x"], points.loc[m, "y"], s=10, color=cmap(i % cmap.N), label=cat, alpha=0.8)
    ax.set(title="Products in content space (truncated SVD of the product vectors)", xlabel="component 1",
           ylabel="component 2")
    ax.legend(fontsize=7, markerscale=1.5, loc="best", ncol=2)
    fig.tight_layout()
    return fig


def model_comparison(table: pd.DataFrame, metric: str, baseline: str | None = "popular") -> plt.Figure:
    """Horizontal bars of one metric per model (rows = models), the baseline's value as a dashed line."""
    vals = table[metric].astype(float).sort_values()
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(vals) + 1.2))
    colors = ["#C44E52" if m == baseline else "#4C72B0" for m in vals.index]
    ax.barh([str(m) for m in vals.index], vals.to_numpy(), color=colors)
    if baseline in vals.index:
        ax.axvline(vals[baseline], color="#C44E52", ls="--", lw=1)
    ax.set(title=f"{metric} on the held-out period", xlabel=metric)
    fig.tight_layout()
    return fig


def cold_start_bars(table: pd.DataFrame, k: int = 10) -> plt.Figure:
    """Grouped bars of the cold-start experiment (``content.cold_start_eval``): recall on cold products per model."""
    cols = [c for c in (f"cold_recall@{k}", f"cold_recall_only@{k}", f"cold_ndcg@{k}", "cold_recommended")
            if c in table]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(cols))
    w = 0.8 / max(len(table), 1)
    for i, row in enumerate(table.itertuples(index=False)):
        ax.bar(x + i * w, [float(table.iloc[i][c]) for c in cols],
               width=w, label=row.model)
    if f"random_recall_only@{k}" in table and len(table):
        ax.axhline(float(table[f"random_recall_only@{k}"].iloc[0]), color="grey", ls=":", lw=1,
                   label="chance (cold-only recall)")
    ax.set_xticks(x + w * (len(table) - 1) / 2, cols)
    ax.set(title="Cold-start products: recommendable by content, not by CF", ylabel="share")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
