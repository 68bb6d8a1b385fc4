"""Figures of notebook 07 (evaluation report) and of run comparison. Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.data import contract

PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974",
           "#64B5CD")


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_axis_off()


def model_comparison(table: pd.DataFrame, metrics: tuple[str, ...] | None = None) -> plt.Figure:
    """Grouped horizontal bars: one group per model (rows of ``table``, best first), one bar per metric
    (default: every ``<metric>@K`` column of ``table``, the first one ranking the models)."""
    metrics = tuple(m for m in (metrics or [c for c in table.columns if "@" in str(c)]) if m in table.columns)
    n = len(table)
    fig, ax = plt.subplots(figsize=(9, 0.45 * max(n, 2) * max(len(metrics), 1) / 2 + 1.5))
    if n == 0 or not metrics:
        _empty(ax, "no ranking model recorded")
        return fig
    t = table.iloc[::-1]  # best at the top
    h = 0.8 / len(metrics)
    y = np.arange(n)
    for i, m in enumerate(metrics):
        ax.barh(y + i * h, t[m].astype(float).fillna(0).to_numpy(), height=h, label=m, color=PALETTE[i % 10])
    ax.set_yticks(y + h * (len(metrics) - 1) / 2, [str(s) for s in t.index])
    ax.set(title=f"Ranking models on the test split (best {metrics[0]} at the top)",
           xlabel="metric value")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def pk_curves(curves: pd.DataFrame, highlight: list[str] | None = None) -> plt.Figure:
    """Precision@K and recall@K against K, one line per model (``curves`` from ``report.evaluation.curves``)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    if not len(curves):
        for ax in axes:
            _empty(ax, "no recommendations saved (recs_<model>.parquet)")
        return fig
    for i, (model, g) in enumerate(curves.groupby("model", sort=True)):
        strong = highlight is None or model in highlight
        kw = dict(color=PALETTE[i % 10], lw=2 if strong else 1, alpha=1 if strong else 0.5, marker="o", ms=3)
        axes[0].plot(g["k"], g["precision"], label=model, **kw)
        axes[1].plot(g["k"], g["recall"], label=model, **kw)
    axes[0].set(title="Precision@K", xlabel="K", ylabel="precision")
    axes[1].set(title="Recall@K", xlabel="K", ylabel="recall")
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig


def impact_over_time(hits: pd.DataFrame, value: str = contract.REVENUE) -> plt.Figure:
    """Cumulative held-out revenue (or hits) that each model's top-K lists contained, over the test period,
    with the share of all test purchases in the legend."""
    fig, ax = plt.subplots(figsize=(11, 3.8))
    if not len(hits) or hits[value].isna().all():
        value = "hits"
    if not len(hits):
        _empty(ax, "the test split has no timestamps")
        return fig
    total = hits[hits["model"] == "all test purchases"][value].sum()
    models = sorted(m for m in hits["model"].unique() if m != "all test purchases")
    for i, m in enumerate(models):
        g = hits[hits["model"] == m].sort_values("period")
        cum = g[value].cumsum()
        share = cum.iloc[-1] / total if total else np.nan
        ax.plot(g["period"], cum, color=PALETTE[i % 10], lw=1.8, label=f"{m} ({share:.1%} of test {value})")
    what = "net revenue" if value == contract.REVENUE else "purchases"
    ax.set(title=f"Held-out {what} that the top-K lists contained (cumulative over the test period)",
           ylabel=f"cumulative {what}")
    ax.legend(fontsize=8, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def segment_value(table: pd.DataFrame) -> plt.Figure:
    """Share of customers beside share of revenue per segment (``table`` from ``report.evaluation.segment_value``)."""
    fig, ax = plt.subplots(figsize=(9, 0.35 * max(len(table), 3) + 1.2))
    if not len(table):
        _empty(ax, "no segments")
        return fig
    t = table.iloc[::-1]
    y = np.arange(len(t))
    ax.barh(y + 0.2, t["customer_share"], height=0.4, color="#8C8C8C", label="share of customers")
    ax.barh(y - 0.2, t["revenue_share"], height=0.4, color="#4C72B0", label="share of net revenue")
    ax.set_yticks(y, t.iloc[:, 0].astype(str))
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set(title="What each segment is worth", xlabel="share")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def compare_runs(runs: pd.DataFrame, metric: str, by: str | None = None) -> plt.Figure:
    """A metric across runs: a line against the swept param ``by`` when it is numeric, else one bar per run."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    if metric not in runs.columns or runs[metric].notna().sum() < 2:
        _empty(ax, f"fewer than two runs recorded {metric}")
        return fig
    d = runs[runs[metric].notna()]
    label = metric.removeprefix("metrics.")
    if by is not None and by in d.columns and pd.api.types.is_numeric_dtype(d[by]):
        d = d.sort_values(by)
        ax.plot(d[by], d[metric], marker="o", color=PALETTE[0])
        for x, yv, name in zip(d[by], d[metric], d["run"]):
            ax.annotate(str(name), (x, yv), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set(xlabel=by.removeprefix("params."), ylabel=label, title=f"{label} across runs")
    else:
        d = d.sort_values("run")
        ax.bar(d["run"].astype(str), d[metric].astype(float), color=PALETTE[0])
        ax.set(ylabel=label, title=f"{label} across runs")
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def slice_ndcg(table: pd.DataFrame, models: list[str], metric: str = "ndcg", label: str = "NDCG@K") -> plt.Figure:
    """One panel per slice dimension: ``metric`` per slice for ``models`` with their intervals (``table`` from
    :func:`workbench.evaluate.slices.slice_metrics`: dimension, slice, model, metric, metric_low, metric_high)."""
    models = [m for m in dict.fromkeys(models) if m in set(table["model"])] if len(table) else []
    dims = list(dict.fromkeys(table["dimension"])) if len(table) else []
    cols = 2
    rows = max(1, -(-len(dims) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(12, 3.2 * rows), squeeze=False)
    if not dims or not models:
        _empty(axes[0, 0], "no slices: no leaderboard in this run")
        for ax in axes.ravel()[1:]:
            ax.set_axis_off()
        return fig
    h = 0.8 / len(models)
    for ax, dim in zip(axes.ravel(), dims):
        t = table[(table["dimension"] == dim) & table["model"].isin(models)]
        slices = list(dict.fromkeys(t["slice"]))
        y = np.arange(len(slices))
        for i, m in enumerate(models):
            g = t[t["model"] == m].set_index("slice").reindex(slices)
            v = g[metric].to_numpy(dtype=float)
            err = np.vstack([v - g[f"{metric}_low"].to_numpy(dtype=float), g[f"{metric}_high"].to_numpy(dtype=float) - v])
            ax.barh(y + i * h, v, height=h, xerr=err, color=PALETTE[i % 10], label=m, error_kw={"lw": 0.8})
        ax.set_yticks(y + h * (len(models) - 1) / 2, slices, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{label} by {dim.replace('_', ' ')}", fontsize=10)
    for ax in axes.ravel()[len(dims):]:
        ax.set_axis_off()
    axes[0, 0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def overlap_heatmap(matrix: pd.DataFrame, k: int | None = None) -> plt.Figure:
    """Heatmap of the mean Jaccard similarity of two models' top-K lists (``matrix``: models x models)."""
    n = len(matrix)
    fig, ax = plt.subplots(figsize=(0.5 * max(n, 4) + 2.5, 0.45 * max(n, 4) + 1.5))
    if n == 0:
        _empty(ax, "no recommendation lists saved")
        return fig
    im = ax.imshow(matrix.to_numpy(dtype=float), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(n), [str(c) for c in matrix.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), [str(c) for c in matrix.index], fontsize=8)
    for i in range(n):
        for j in range(n):
            v = float(matrix.iat[i, j])
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v < 0.6 else "black")
    fig.colorbar(im, ax=ax, fraction=0.04, label="mean Jaccard")
    ax.set_title(f"Overlap of the models' top-{k if k else 'K'} lists")
    fig.tight_layout()
    return fig
