"""Figures of notebook 02 (collaborative filtering). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def precision_recall_curves(curves: pd.DataFrame) -> plt.Figure:
    """Precision@K and recall@K against K, one line per model (from ``protocol.curves``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for model, g in curves.groupby("model", sort=False):
        g = g.sort_values("k")
        axes[0].plot(g["k"], g["precision"], marker="o", ms=3, label=model)
        axes[1].plot(g["k"], g["recall"], marker="o", ms=3, label=model)
    axes[0].set(title="Precision@K", xlabel="K", ylabel="precision")
    axes[1].set(title="Recall@K", xlabel="K", ylabel="recall")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.tight_layout()
    return fig


def metric_heatmap(summary: pd.DataFrame, metrics: list[str] | None = None) -> plt.Figure:
    """Model x metric heatmap; colour = value relative to the best model of each metric, text = the value."""
    metrics = metrics or [c for c in summary.columns if pd.api.types.is_numeric_dtype(summary[c])]
    vals = summary[metrics].astype(float)
    rel = vals / vals.max(axis=0).replace(0, np.nan)
    fig, ax = plt.subplots(figsize=(1.1 * len(metrics) + 2.5, 0.45 * len(vals) + 1.5))
    ax.imshow(rel.fillna(0).to_numpy(), cmap="viridis", aspect="auto", vmin=0, vmax=1)
    ax.set_xticks(range(len(metrics)), metrics, rotation=35, ha="right")
    ax.set_yticks(range(len(vals)), vals.index)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            v = vals.iat[i, j]
            ax.text(j, i, f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if rel.iat[i, j] < 0.6 else "black")
    ax.set_title("Models x metrics (colour: share of the best model's value)")
    fig.tight_layout()
    return fig


def metric_intervals(table: pd.DataFrame, per_customer: pd.DataFrame, column: str = "ndcg",
                     label: str = "nDCG@K", n_boot: int = 1000, seed: int = 0) -> plt.Figure:
    """Per-model mean of a per-customer metric with its bootstrap 95% interval (a forest plot)."""
    from workbench.evaluate.significance import bootstrap_ci

    rows = []
    for m in table.index:
        v = per_customer.loc[per_customer["model"] == m, column].to_numpy()
        rows.append((m, *bootstrap_ci(v, n_boot=n_boot, seed=seed)))
    df = pd.DataFrame(rows, columns=["model", "mean", "low", "high"]).sort_values("mean")
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(df) + 1.2))
    y = np.arange(len(df))
    ax.errorbar(df["mean"], y, xerr=[df["mean"] - df["low"], df["high"] - df["mean"]], fmt="o", color="#4C72B0",
                capsize=3)
    ax.set_yticks(y, df["model"])
    ax.set(title=f"{label} per model, 95% bootstrap interval over customers", xlabel=label)
    fig.tight_layout()
    return fig


def timing_bars(timing: pd.DataFrame) -> plt.Figure:
    """Fit and recommend seconds per model (stacked horizontal bars, log scale)."""
    t = timing.sort_values("total")
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(t) + 1.2))
    ax.barh(t.index, t["fit"], color="#4C72B0", label="fit")
    ax.barh(t.index, t["recommend"], left=t["fit"], color="#DD8452", label="recommend")
    ax.set_xscale("log")
    ax.set(title="Seconds per model (fit + recommend for all test customers)", xlabel="seconds (log)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def rating_comparison(ours: pd.DataFrame, published: pd.DataFrame) -> plt.Figure:
    """RMSE and MAE of our k-fold CV beside the published values, per surprise model."""
    both = ours[["model", "rmse", "mae"]].merge(published, on="model", how="left", suffixes=("", " published"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    x = np.arange(len(both))
    for ax, m in zip(axes, ("rmse", "mae")):
        ax.bar(x - 0.2, both[m], width=0.4, label="ours", color="#4C72B0")
        ax.bar(x + 0.2, both[f"{m} published"], width=0.4, label="published", color="#C44E52")
        ax.set_xticks(x, both["model"])
        lo = np.nanmin(both[[m, f"{m} published"]].to_numpy())
        ax.set_ylim(lo * 0.95, None)
        ax.set_title(m.upper())
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
