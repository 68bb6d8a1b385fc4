"""Profiling tables for the EDA notebook: per-column summaries and per-invoice aggregates."""
from __future__ import annotations

import pandas as pd

from workbench.data import contract
from workbench.data.shop import with_revenue


def profile_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per column: dtype, missing count and share, distinct values, min and max."""
    rows = []
    for col in df.columns:
        s = df[col]
        numeric = pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s)
        rows.append({
            "column": col, "dtype": str(s.dtype), "missing": int(s.isna().sum()),
            "missing_share": float(s.isna().mean()) if len(s) else 0.0, "distinct": int(s.nunique()),
            "min": s.min() if numeric and len(s) else None, "max": s.max() if numeric and len(s) else None,
        })
    return pd.DataFrame(rows)


def invoices(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per invoice with customer, time, number of lines, units and net revenue."""
    tx = with_revenue(transactions)
    g = tx.groupby(contract.TRANSACTION_ID, sort=True, observed=True)
    return pd.DataFrame({
        contract.CUSTOMER_ID: g[contract.CUSTOMER_ID].first(),
        contract.TIMESTAMP: g[contract.TIMESTAMP].min(),
        "lines": g.size(),
        "units": g[contract.QUANTITY].sum(),
        contract.REVENUE: g[contract.REVENUE].sum(),
    }).reset_index()


def customer_spend(transactions: pd.DataFrame) -> pd.Series:
    """Net revenue per customer (returns subtracted)."""
    tx = with_revenue(transactions)
    return tx.groupby(contract.CUSTOMER_ID, sort=True)[contract.REVENUE].sum()


def _date(ts) -> str | None:
    return None if pd.isna(ts) else str(pd.Timestamp(ts).date())


def feedback_density(shop) -> float:
    """Share of customer x product pairs with at least one row of the shop's feedback (sales, events or
    ratings: :attr:`~workbench.data.shop.Shop.feedback`)."""
    rows = getattr(shop, shop.feedback)
    if shop.feedback == contract.TRANSACTIONS:
        rows = rows[rows[contract.QUANTITY] > 0]
    cells = len(shop.customers) * len(shop.products)
    return float(len(rows[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].drop_duplicates()) / cells) if cells else 0.0


def eda_summary(shop) -> dict:
    """Headline numbers of a shop for ``metrics.json`` (date range, invoices, basket size, returns).

    A shop without money (no transactions) has no invoices: its money keys are ``None`` or 0, and the dates,
    active customers and density come from its feedback (events or ratings), named in ``feedback``.
    """
    tx = shop.transactions
    inv = invoices(tx)
    sales = inv[inv[contract.REVENUE] > 0]
    rows = getattr(shop, shop.feedback)
    out = {
        "feedback": shop.feedback,
        "invoices": int(len(inv)),
        "first_date": _date(rows[contract.TIMESTAMP].min()) if len(rows) and contract.TIMESTAMP in rows else None,
        "last_date": _date(rows[contract.TIMESTAMP].max()) if len(rows) and contract.TIMESTAMP in rows else None,
        "mean_lines_per_invoice": float(inv["lines"].mean()) if len(inv) else None,
        "mean_invoice_value": float(sales[contract.REVENUE].mean()) if len(sales) else None,
        "return_line_share": float((tx[contract.QUANTITY] < 0).mean()) if len(tx) else None,
        "net_revenue": float(with_revenue(tx)[contract.REVENUE].sum()),
        "buying_customers": int(tx[contract.CUSTOMER_ID].nunique()),
        "active_customers": int(rows[contract.CUSTOMER_ID].nunique()),
        "feedback_density": feedback_density(shop),
        "categories": int(shop.products[contract.CATEGORY].nunique()),
    }
    if shop.events is not None:
        out["events"] = {str(k): int(v) for k, v in shop.events[contract.EVENT].value_counts(sort=False).items()}
    if shop.ratings is not None:
        out["ratings"] = int(len(shop.ratings))
    return out


def interaction_sample(transactions: pd.DataFrame, n_customers: int = 60, n_products: int = 60,
                       seed: int = 0) -> pd.DataFrame:
    """A customers x products table of units bought, for the most active customers and top products
    (``n_customers`` sampled among the top quarter by activity, deterministic by ``seed``)."""
    sales = transactions[transactions[contract.QUANTITY] > 0]
    top_p = sales.groupby(contract.PRODUCT_ID)[contract.QUANTITY].sum().nlargest(n_products).index
    act = sales.groupby(contract.CUSTOMER_ID).size().sort_values(ascending=False)
    pool = act.index[: max(n_customers, len(act) // 4)]
    cust = pd.Series(pool).sample(min(n_customers, len(pool)), random_state=seed)
    sub = sales[sales[contract.CUSTOMER_ID].isin(cust) & sales[contract.PRODUCT_ID].isin(top_p)]
    mat = sub.pivot_table(index=contract.CUSTOMER_ID, columns=contract.PRODUCT_ID, values=contract.QUANTITY, aggfunc="sum",
                          fill_value=0)
    return mat.reindex(index=sorted(cust), columns=top_p, fill_value=0)
