"""Figures of notebook 00 (data and EDA). Each function returns a matplotlib Figure."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.profile import customer_spend, invoices
from workbench.data.shop import with_revenue
from workbench.plots.guard import drawable, finite, hist, no_data


def spend_and_basket(transactions: pd.DataFrame) -> plt.Figure:
    """Histograms of net spend per customer (log scale) and lines per invoice."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    spend = finite(customer_spend(transactions), "spend per customer")
    spend = spend[spend > 0]
    hist(axes[0], np.log10(spend), "spend per customer", "no customer with a positive net spend", bins=40,
         color="#4C72B0")
    axes[0].set(title="Net spend per customer", xlabel="log10(spend)", ylabel="customers")
    inv = invoices(transactions)
    lines = finite(inv.loc[inv[contract.REVENUE] > 0, "lines"], "lines per invoice")
    top = min(lines.max(), 30) if lines.size else 1
    hist(axes[1], lines, "lines per invoice", "no invoice with a positive net revenue",
         bins=np.arange(0.5, top + 1.5), color="#55A868")
    axes[1].set(title="Basket size", xlabel="lines per invoice", ylabel="invoices")
    fig.tight_layout()
    return fig


def sales_over_time(transactions: pd.DataFrame, freq: str = "W") -> plt.Figure:
    """Net revenue and invoices per period (weekly by default), to show seasonality."""
    tx = with_revenue(transactions)
    if tx.empty:
        fig, ax = plt.subplots(figsize=(11, 3.8))
        no_data(ax, "no transactions")
        return fig
    tx = tx.assign(**{contract.REVENUE: tx[contract.REVENUE].where(drawable(tx[contract.REVENUE]))})
    per = tx.set_index(contract.TIMESTAMP).resample(freq)
    rev = per[contract.REVENUE].sum()
    rev = rev.where(drawable(rev))
    inv = per[contract.TRANSACTION_ID].nunique()
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ax.plot(rev.index, rev.to_numpy(), color="#4C72B0", label="net revenue")
    ax.set(title=f"Sales over time ({freq})", ylabel="net revenue")
    ax2 = ax.twinx()
    ax2.plot(inv.index, inv.to_numpy(), color="#DD8452", alpha=0.7, label="invoices")
    ax2.set_ylabel("invoices")
    fig.legend(loc="upper left", bbox_to_anchor=(0.07, 0.9))
    fig.tight_layout()
    return fig


def top_products_categories(transactions: pd.DataFrame, products: pd.DataFrame, n: int = 15) -> plt.Figure:
    """Bar charts of the top products by units and of net revenue per category."""
    tx = with_revenue(transactions).merge(products[[contract.PRODUCT_ID, contract.NAME, contract.CATEGORY]], on=contract.PRODUCT_ID)
    top = tx.groupby(contract.NAME)[contract.QUANTITY].sum().nlargest(n).sort_values()
    cat = tx.groupby(contract.CATEGORY, observed=True)[contract.REVENUE].sum().sort_values()
    cat = cat[drawable(cat)]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.28 * n + 1.8))
    if top.empty:
        no_data(axes[0], "no products sold")
        no_data(axes[1], "no revenue")
        return fig
    axes[0].barh([str(s)[:35] for s in top.index], top.to_numpy(), color="#4C72B0")
    axes[0].set(title=f"Top {n} products by units", xlabel="units")
    cat = cat.tail(20)
    axes[1].barh([str(c) for c in cat.index], cat.to_numpy(), color="#C44E52")
    axes[1].set(title="Net revenue by category", xlabel="net revenue")
    fig.tight_layout()
    return fig


def interaction_heatmap(matrix: pd.DataFrame) -> plt.Figure:
    """Heatmap of a (sampled) customers x products units matrix (log1p colour scale)."""
    fig, ax = plt.subplots(figsize=(8, 6))
    values = matrix.to_numpy(dtype=float)
    if values.size == 0:
        no_data(ax, "no interactions")
        return fig
    values = np.where(drawable(values), values, 0.0)
    im = ax.imshow(np.log1p(np.clip(values, 0, None)), aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set(title="Customer x product interactions (sample, log1p units)", xlabel="products (top by units)",
           ylabel="customers (sample)")
    ax.set_xticks([]), ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.04)
    fig.tight_layout()
    return fig


def demographics(customers: pd.DataFrame) -> plt.Figure:
    """Age histogram and gender / location counts (panels only for the columns present)."""
    cols = [c for c in (contract.AGE, contract.GENDER, contract.LOCATION) if c in customers and customers[c].notna().any()]
    fig, axes = plt.subplots(1, max(len(cols), 1), figsize=(4 * max(len(cols), 1), 3.6), squeeze=False)
    for ax, col in zip(axes[0], cols):
        s = customers[col]
        if col == contract.AGE:
            hist(ax, s.dropna(), "ages", bins=30, color="#8172B3")
        else:
            vc = s.astype("str").value_counts().head(12).sort_values()
            ax.barh(vc.index.astype(str), vc.to_numpy(), color="#8172B3")
        ax.set_title(col)
    if not cols:
        axes[0][0].text(0.5, 0.5, "no demographics in this data", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.tight_layout()
    return fig
