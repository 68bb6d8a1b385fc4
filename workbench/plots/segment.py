"""Figures of notebook 01 (RFM, clusters and their selection, CLV). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


#: the panels of :func:`selection_criteria`: criterion -> title (which way is better)
SELECTION_PANELS: dict[str, str] = {
    "silhouette": "Silhouette (higher is better)",
    "calinski_harabasz": "Calinski-Harabasz (higher)",
    "davies_bouldin": "Davies-Bouldin (lower)",
    "gap": "Gap statistic (± 1 se)",
    "bic": "BIC, mixtures (lower)",
    "aic": "AIC, mixtures (lower)",
    "icl": "ICL, mixtures (lower)",
    "stability_ari": "Bootstrap stability ARI (higher)",
}


def selection_criteria(criteria: pd.DataFrame, chosen: dict) -> plt.Figure:
    """Every selection criterion against k, one line per candidate model, the chosen (model, k) starred."""
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.4))
    models = list(dict.fromkeys(criteria["model"]))
    colours = dict(zip(models, plt.get_cmap("tab10").colors))
    for ax, (col, title) in zip(axes.ravel(), SELECTION_PANELS.items()):
        for m in models:
            d = criteria[criteria["model"] == m].sort_values("k")
            if d[col].notna().any():
                if col == "gap":
                    ax.errorbar(d["k"], d[col], yerr=d["gap_se"], fmt="o-", ms=3, color=colours[m], label=m)
                else:
                    ax.plot(d["k"], d[col], "o-", ms=3, color=colours[m], label=m)
        hit = criteria[(criteria["model"] == chosen["model"]) & (criteria["k"] == chosen["k"])]
        if not hit.empty and pd.notna(hit[col].iloc[0]):
            ax.plot(hit["k"], hit[col], "*", ms=16, color="#C44E52", zorder=5)
        ax.axvline(chosen["k"], color="#C44E52", ls="--", lw=0.8)
        ax.set(title=title, xlabel="k")
        ax.set_xticks(sorted(criteria["k"].unique()))
        ax.title.set_fontsize(10)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Chosen: {chosen['model']} with k = {chosen['k']} by the '{chosen['rule']}' rule (star)", fontsize=11)
    fig.tight_layout()
    return fig


def rfm_heatmap(counts: pd.DataFrame, monetary: pd.DataFrame, cell_segments: dict[str, str] | None = None) -> plt.Figure:
    """Customers and mean monetary value per R x F score cell (R rows 5..1, F columns 1..5), segments written in."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    for ax, grid, title, fmt, cmap in ((axes[0], counts, "Customers per R x F cell", "{:,.0f}", "Blues"),
                                       (axes[1], monetary, "Mean monetary per R x F cell", "{:,.0f}", "Greens")):
        vals = grid.to_numpy(dtype="float64")
        im = ax.imshow(vals, cmap=cmap, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), [str(c) for c in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [str(r) for r in grid.index])
        ax.set(title=title, xlabel="F score", ylabel="R score")
        hi = np.nanmax(vals) if np.isfinite(vals).any() else 1.0
        for i, r in enumerate(grid.index):
            for j, f in enumerate(grid.columns):
                v = vals[i, j]
                txt = "" if np.isnan(v) else fmt.format(v)
                if cell_segments:
                    txt += "\n" + cell_segments.get(f"{r}{f}", "").replace("_", "\n")
                ax.text(j, i, txt, ha="center", va="center", fontsize=7,
                        color="white" if np.isfinite(v) and v > 0.6 * hi else "black")
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def segment_sizes(summary: pd.DataFrame) -> plt.Figure:
    """Customers and share of revenue per segment (bars, segment order of the summary)."""
    s = summary.iloc[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * len(s) + 1.6), sharey=True)
    axes[0].barh(s["segment"], s["count"], color="#4C72B0")
    axes[0].set(title="Customers per segment", xlabel="customers")
    axes[1].barh(s["segment"], 100 * s["revenue_share"], color="#DD8452")
    axes[1].set(title="Share of net revenue", xlabel="% of revenue")
    fig.tight_layout()
    return fig


def snake_plot(centroids_z: pd.DataFrame, names: dict[int, str]) -> plt.Figure:
    """Standardized feature means per cluster (one line per cluster) across the features."""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * centroids_z.shape[1] + 3), 3.8))
    x = np.arange(centroids_z.shape[1])
    for k, row in centroids_z.iterrows():  # one line per cluster
        ax.plot(x, row.to_numpy(), "o-", label=f"{k}: {names.get(int(k), k)}")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [str(c) for c in centroids_z.columns], rotation=30 if len(x) > 5 else 0)
    ax.set(title="Snake plot: standardized (log) features by cluster", ylabel="z-score")
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def embeddings(panels: dict[str, pd.DataFrame], names: dict[int, str]) -> plt.Figure:
    """Scatter of 2-D embeddings (title -> frame with x, y, cluster), coloured by cluster."""
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.8), squeeze=False)
    cmap = plt.get_cmap("tab10")
    clusters = sorted({int(c) for df in panels.values() for c in df["cluster"].unique()})
    for ax, (title, df) in zip(axes[0], panels.items()):
        for i, k in enumerate(clusters):
            d = df[df["cluster"] == k]
            ax.scatter(d["x"], d["y"], s=6, alpha=0.6, color=cmap(i % 10), label=names.get(k, str(k)))
        ax.set(title=f"{title} ({len(df):,} customers)", xticks=[], yticks=[])
    axes[0][-1].legend(fontsize=8, markerscale=2, bbox_to_anchor=(1.02, 1), loc="upper left")
    fig.tight_layout()
    return fig


def holdout_by_frequency(by_frequency: pd.DataFrame, title: str = "") -> plt.Figure:
    """Mean actual vs predicted holdout purchases per calibration frequency (the Fader-Hardie check)."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(by_frequency))
    ax.plot(x, by_frequency["actual"], "o-", color="#4C72B0", label="actual")
    ax.plot(x, by_frequency["predicted"], "s--", color="#C44E52", label="BG/NBD")
    ax.set_xticks(x, by_frequency["frequency"].astype("str"))
    ax.set(title=title or "Holdout purchases by calibration frequency", xlabel="repeat purchases in calibration",
           ylabel="mean purchases in holdout")
    ax.legend()
    fig.tight_layout()
    return fig


def clv_by_segment(by_segment: pd.DataFrame, by: str = "segment") -> plt.Figure:
    """Mean CLV per customer and share of total CLV per segment."""
    s = by_segment.iloc[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.35 * len(s) + 1.6), sharey=True)
    axes[0].barh(s[by].astype("str"), s["clv_mean"], color="#55A868")
    axes[0].set(title="Mean CLV per customer", xlabel="CLV over the horizon")
    axes[1].barh(s[by].astype("str"), 100 * s["clv_share"], color="#8172B3")
    axes[1].set(title="Share of total CLV", xlabel="% of CLV")
    fig.tight_layout()
    return fig
