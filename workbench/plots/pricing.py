"""Figures of notebook 06 (dynamic pricing). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.plots.guard import finite, no_data

_COLORS = {"true": "#222222", "model": "#4C72B0", "elasticity_curve": "#DD8452", "naive": "#C44E52",
           "fe": "#8172B3", "fe_pooled": "#55A868", "dml": "#937860", "used": "#55A868"}


def demand_curves(curves: pd.DataFrame) -> plt.Figure:
    """Units over the test periods against price for a few products: true (when known), LightGBM, and the
    constant-elasticity curve the suggestions use (``curves`` from ``demand_curve_table``)."""
    products = list(dict.fromkeys(curves[contract.PRODUCT_ID]))
    n = len(products)
    fig, axes = plt.subplots(1, max(n, 1), figsize=(3.4 * max(n, 1), 3.4), squeeze=False)
    for ax, pid in zip(axes[0], products):
        d = curves.loc[curves[contract.PRODUCT_ID] == pid].sort_values(contract.PRICE)
        for col, label, style in (("true", "true", "-"), ("model", "LightGBM", "--"),
                                  ("elasticity_curve", "elasticity curve", ":")):
            if col in d:
                ax.plot(d[contract.PRICE], d[col], style, color=_COLORS[col], label=label, lw=2)
        now = d.loc[np.isclose(d["multiplier"], 1.0), contract.PRICE]
        if len(now):
            ax.axvline(float(now.iloc[0]), color="#999999", lw=0.8)
        ax.set(title=f"{pid} ({d[contract.CATEGORY].iloc[0]})", xlabel="price", ylabel="units over test periods")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def elasticity_scatter(comparison: pd.DataFrame, methods=("naive", "fe", "fe_pooled", "dml", "model"),
                       labels: dict | None = None) -> plt.Figure:
    """Estimated vs planted elasticity per category, one marker per method, with the identity line."""
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    truth = comparison["true_category"].to_numpy(dtype=float)
    lo = min(np.nanmin(truth), *(np.nanmin(comparison[m]) for m in methods if m in comparison)) - 0.2
    hi = max(np.nanmax(truth), *(np.nanmax(comparison[m]) for m in methods if m in comparison)) + 0.2
    ax.plot([lo, hi], [lo, hi], color="#999999", lw=1)
    for m in methods:
        if m in comparison:
            ax.scatter(truth, comparison[m], s=36, color=_COLORS.get(m), label=(labels or {}).get(m, m), alpha=0.85)
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="planted elasticity (category)", ylabel="estimated elasticity",
           title="Elasticity: estimated vs true")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def price_change_hist(suggestions: pd.DataFrame) -> plt.Figure:
    """Histogram of suggested price changes (%), split by whether a guardrail binds."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ch = 100 * suggestions["change"].to_numpy(dtype=float)
    ok = np.isfinite(ch)
    free = (suggestions["binding"] == "").to_numpy()[ok]
    ch = finite(ch, "price changes")
    if ch.size == 0:
        no_data(ax, "no finite price suggestion")
        return fig
    bins = np.arange(np.floor(min(-12.0, ch.min() - 1)) - 0.5, np.ceil(max(12.0, ch.max() + 1)) + 1.0, 1.0)
    ax.hist([ch[free], ch[~free]], bins=bins, stacked=True, color=["#55A868", "#C44E52"],
            label=["no guardrail binds", "a guardrail binds"])
    ax.set(xlabel="suggested change (%)", ylabel="products", title="Suggested price changes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def revenue_over_time(by_period: pd.DataFrame, title: str = "Revenue over the test periods") -> plt.Figure:
    """Revenue per period under current and suggested prices (and the oracle when present)."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    styles = {"current_revenue": ("current prices", "#4C72B0", "-"),
              "suggested_revenue": ("suggested prices", "#55A868", "-"),
              "oracle_revenue": ("oracle prices", "#222222", ":")}
    for col, (label, color, ls) in styles.items():
        if col in by_period:
            ax.plot(by_period["period"], by_period[col], ls, color=color, label=label, lw=2, marker="o", ms=3)
    ax.set(title=title, ylabel="revenue")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def forecast_over_time(forecast: pd.DataFrame, columns=("units", "model", "last_period", "moving_average")
                       ) -> plt.Figure:
    """Total units per test period: actual against the LightGBM forecast and the naive baselines."""
    agg = forecast.groupby("period", sort=True)[[c for c in columns if c in forecast]].sum()
    fig, ax = plt.subplots(figsize=(8, 3.4))
    for col in agg:
        ax.plot(agg.index, agg[col], marker="o", ms=3, lw=2 if col in ("units", "model") else 1,
                color={"units": "#222222", "model": "#4C72B0"}.get(col), label="actual" if col == "units" else col)
    ax.set(title="Units per test period: actual vs forecasts", ylabel="units")
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig
