"""Figures of notebook 08 (clickstream). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.clickstream.funnel import CONVERSIONS, STEPS
from workbench.data import contract
from workbench.plots.guard import finite, hist, no_data


def sessions(sessions_table: pd.DataFrame) -> plt.Figure:
    """Histograms of events per session and of session length (minutes, sessions of two or more events)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    pages = finite(sessions_table[contract.SESSION_EVENTS], "events per session")
    top = min(pages.max(), 30) if pages.size else 1
    hist(axes[0], np.minimum(pages, top), "events per session", "no sessions", bins=np.arange(0.5, top + 1.5),
         color="#4C72B0")
    axes[0].set(title="Events per session (last bar: that many or more)", xlabel="events", ylabel="sessions")
    multi = sessions_table[sessions_table[contract.SESSION_EVENTS] > 1]
    hist(axes[1], multi[contract.SESSION_LENGTH] / 60, "session length", "no session with two or more events",
         bins=40, color="#55A868")
    axes[1].set(title="Session length (two or more events)", xlabel="minutes", ylabel="sessions")
    fig.tight_layout()
    return fig


def funnel(overall: pd.DataFrame, by_category: pd.DataFrame) -> plt.Figure:
    """Visitor-product pairs reaching each step, and each category's conversions with Wilson intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    counts = overall[list(STEPS)].iloc[0].to_numpy(dtype=float) if len(overall) else np.zeros(len(STEPS))
    if counts.sum() > 0:
        axes[0].bar(list(STEPS), counts, color=["#4C72B0", "#DD8452", "#55A868"])
        axes[0].set_yscale("log")
        for i, c in enumerate(counts):
            axes[0].text(i, c, f"{int(c):,}", ha="center", va="bottom", fontsize=8)
    else:
        no_data(axes[0], "no events")
    axes[0].set(title="Funnel: visitor-product pairs reaching each step", ylabel="pairs (log)")
    ax = axes[1]
    if len(by_category):
        y = np.arange(len(by_category))
        for j, (name, _, _) in enumerate(CONVERSIONS[:2]):
            mid = by_category[name].to_numpy(dtype=float)
            err = np.vstack([mid - by_category[f"{name}_low"], by_category[f"{name}_high"] - mid])
            ax.errorbar(mid, y + (j - 0.5) * 0.3, xerr=np.clip(np.nan_to_num(err), 0, None), fmt="o", capsize=2,
                        label=name.replace("_", " "))
        ax.set_yticks(y, by_category[contract.CATEGORY].astype(str))
        ax.legend(fontsize=8)
    else:
        no_data(ax, "no categories")
    ax.set(title="Conversion by category (95% Wilson intervals)", xlabel="share of pairs")
    fig.tight_layout()
    return fig


def product_conversion(by_product: pd.DataFrame, n: int = 25) -> plt.Figure:
    """View-to-purchase conversion of the ``n`` most viewed products with Wilson intervals (few views: wide)."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    top = by_product.sort_values([STEPS[0], contract.PRODUCT_ID], ascending=[False, True]).head(n)
    if not len(top):
        no_data(ax, "no products")
        return fig
    name = CONVERSIONS[2][0]
    mid = top[name].to_numpy(dtype=float)
    err = np.vstack([mid - top[f"{name}_low"], top[f"{name}_high"] - mid])
    x = np.arange(len(top))
    ax.errorbar(x, mid, yerr=np.clip(np.nan_to_num(err), 0, None), fmt="o", capsize=2, color="#4C72B0")
    ax.set_xticks(x, top[contract.PRODUCT_ID].astype(str), rotation=70, fontsize=7)
    ax.set(title=f"View-to-purchase conversion of the {len(top)} most viewed products (95% Wilson intervals)",
           ylabel="share of viewing visitors who bought")
    fig.tight_layout()
    return fig


def time_to_purchase(times: pd.DataFrame) -> plt.Figure:
    """Histogram of hours from a visitor's first event on a product to buying it (log scale)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    h = finite(times["hours"], "hours to purchase") if len(times) else np.zeros(0)
    hist(ax, np.log10(h[h > 0]), "hours to purchase", "no purchase after an earlier event", bins=40,
         color="#C44E52")
    ax.set(title="Time to purchase (first event on the product to its purchase)", xlabel="log10(hours)",
           ylabel="purchases")
    fig.tight_layout()
    return fig


def interest(scores: pd.DataFrame, weights: dict[str, float], n: int = 20) -> plt.Figure:
    """The ``n`` products of highest interest, each bar split by the event type its interest came from
    (``weights`` per event type, as in :func:`workbench.clickstream.interest.interest_scores`)."""
    fig, ax = plt.subplots(figsize=(11, 4.2))
    top = scores.head(n)
    if not len(top):
        no_data(ax, "no products")
        return fig
    left = np.zeros(len(top))
    for step in STEPS:
        part = top[step].to_numpy(dtype=float) * float(weights.get(step, 0.0))
        ax.barh(np.arange(len(top)), part, left=left, label=step)
        left += part
    ax.set_yticks(np.arange(len(top)), top[contract.PRODUCT_ID].astype(str), fontsize=7)
    ax.invert_yaxis()
    ax.legend(fontsize=8)
    ax.set(title=f"Interest: the {len(top)} products visitors want most", xlabel="interest (weighted events)")
    fig.tight_layout()
    return fig


def session_recs(summary: dict, k: int) -> plt.Figure:
    """HR@k and MRR@k per session recommender with their session-bootstrap intervals."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    models = list(summary.get("models", {}))
    for ax, metric in zip(axes, (f"hr@{k}", f"mrr@{k}")):
        if not models:
            no_data(ax, "no test sessions")
            continue
        mid = np.array([summary["models"][m][metric] for m in models])
        low = np.array([summary["models"][m][f"{metric}_low"] for m in models])
        high = np.array([summary["models"][m][f"{metric}_high"] for m in models])
        ax.bar(models, mid, yerr=np.clip(np.vstack([mid - low, high - mid]), 0, None), capsize=3, color="#4C72B0")
        ax.set(title=f"{metric.upper()} on held-out sessions", ylabel=metric)
    fig.tight_layout()
    return fig
