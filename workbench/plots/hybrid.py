"""Figures of notebook 05 (hybrid, ablation, business impact); each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def variant_bars(table: pd.DataFrame, metric: str) -> plt.Figure:
    """Horizontal bars of ``metric`` per model with its bootstrap interval (``ndcg_low``/``ndcg_high``), by kind."""
    t = table.sort_values(metric)
    colors = {"hybrid": "tab:blue", "component alone": "tab:gray", "baseline": "tab:orange"}
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.2))
    y = np.arange(len(t))
    err = np.vstack([t[metric] - t["ndcg_low"], t["ndcg_high"] - t[metric]]) if "ndcg_low" in t else None
    ax.barh(y, t[metric], xerr=err, color=[colors.get(k, "tab:gray") for k in t.get("kind", ["hybrid"] * len(t))],
            capsize=3)
    ax.set_yticks(y, t.index)
    ax.set_xlabel(f"{metric} (95% bootstrap interval)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors.values()]
    ax.legend(handles, list(colors), loc="lower right", fontsize=8)
    ax.set_title("Hybrid variants, components alone and popularity (test split)")
    fig.tight_layout()
    return fig


def weights_bars(default: dict, tuned: dict) -> plt.Figure:
    """Grouped bars of the default and tuned blend weights per component."""
    names = list(dict.fromkeys([*default, *tuned]))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(x - 0.2, [default.get(n, 0) for n in names], 0.4, label="default (design brief)")
    ax.bar(x + 0.2, [tuned.get(n, 0) for n in names], 0.4, label="tuned (validation split)")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("weight")
    ax.legend()
    ax.set_title("Blend weights")
    fig.tight_layout()
    return fig


def ablation_bars(table: pd.DataFrame) -> plt.Figure:
    """Two panels with 95% error bars: NDCG change when each component is left out, and each component alone."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.4 * len(table) + 1.6), sharey=True)
    y = np.arange(len(table))
    for ax, (d, lo, hi, title) in zip(axes, [("delta", "low", "high", "full - without component (leave-one-out)"),
                                             ("alone_delta", "alone_low", "alone_high", "full - component alone")]):
        err = np.vstack([table[d] - table[lo], table[hi] - table[d]])
        color = np.where(table[lo] > 0, "tab:green", np.where(table[hi] < 0, "tab:red", "tab:gray"))
        ax.barh(y, table[d], xerr=err, color=color, capsize=3)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("NDCG@10 difference (95% paired bootstrap)")
    axes[0].set_yticks(y, table["component"])
    fig.suptitle("Ablation: green = the interval excludes zero in favour of the blend")
    fig.tight_layout()
    return fig


def history_bars(table: pd.DataFrame, columns: list[str] | None = None, label: str = "NDCG@K") -> plt.Figure:
    """Grouped bars of the metric ``label`` names (NDCG at the run's K) per history bucket (cold, warm, hot)."""
    cols = columns or [c for c in ("hybrid", "no_switching", "popular") if c in table.columns]
    x = np.arange(len(table))
    w = 0.8 / max(len(cols), 1)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, c in enumerate(cols):
        ax.bar(x + (i - (len(cols) - 1) / 2) * w, table[c], w, label=c)
    ax.set_xticks(x, [f"{b}\n(n={int(n)})" for b, n in zip(table.index, table["n"])])
    ax.set_ylabel(label)
    ax.legend(fontsize=8)
    ax.set_title("By history bucket (distinct products bought in train)")
    fig.tight_layout()
    return fig


def ab_bars(ab: dict) -> plt.Figure:
    """Two panels: conversion rate and revenue per customer of the simulated A/B arms."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3))
    arms = ["control", "treatment"]
    labels = [f"{ab.get('control_model', 'control')}\n(n={ab['n_control']})",
              f"{ab.get('treatment_model', 'treatment')}\n(n={ab['n_treatment']})"]
    axes[0].bar(labels, [ab["conversion"][a] for a in arms], color=["tab:orange", "tab:blue"])
    axes[0].set_title(f"conversion (p = {ab['conversion']['p_value']:.3f})", fontsize=10)
    axes[1].bar(labels, [ab["revenue"][a] for a in arms], color=["tab:orange", "tab:blue"])
    lift = ab["revenue"]["lift"]
    axes[1].set_title(f"revenue per customer (lift {lift:+.1%}, 95% CI {ab['revenue']['low']:+.1%} to "
                      f"{ab['revenue']['high']:+.1%})", fontsize=10)
    fig.suptitle("Simulated A/B test")
    fig.tight_layout()
    return fig


def confidence_hist(recs: pd.DataFrame) -> plt.Figure:
    """Histogram of recommendation confidence (component agreement) and the count of each explanation kind."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    axes[0].hist(recs["confidence"], bins=20, range=(0, 1), color="tab:blue")
    axes[0].set_xlabel("confidence (weight share of components ranking it in their top N)")
    axes[0].set_ylabel("recommendations")
    counts = recs["reason"].value_counts().sort_values()
    axes[1].barh(counts.index, counts.to_numpy(), color="tab:gray")
    axes[1].set_xlabel("recommendations explained by this component")
    fig.tight_layout()
    return fig
