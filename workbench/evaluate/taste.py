"""How much of a customer's planted taste a recommender recovers (synthetic shops, which plant it).

The synthetic shop records each customer's category affinity (``truth["taste"]``: one column per
category, summing to 1). A model's view of the same customer is the category mix of what it
recommends: :func:`category_shares` of its top-N list (or of any rows, e.g. the customer's own
training purchases, the profile a model starts from). :func:`recover_taste` correlates the two per
customer (Pearson over categories) and :func:`taste_recovery` does it for several models at once.

A model that recommends the same list to everybody (popularity) scores only as far as tastes share the
shop-wide mix; a model that learned taste scores higher. The numbers are correlations in [-1, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.evaluate.significance import bootstrap_ci


@dataclass(frozen=True)
class TasteRecovery:
    """Per customer: the correlation of planted and recovered category affinity and whether the top
    categories agree; customers whose recovered mix is flat (no correlation defined) are left out."""

    per_customer: pd.DataFrame  # customer_id, correlation, top_match
    customers_left_out: int

    def summary(self, n_boot: int = 1000, seed: int = 0) -> dict:
        """Mean correlation with its bootstrap interval, top-category agreement and the customer counts."""
        corr = self.per_customer["correlation"].to_numpy()
        if len(corr) == 0:
            return {"correlation": None, "correlation_low": None, "correlation_high": None,
                    "top_category_match": None, "customers": 0, "customers_left_out": self.customers_left_out}
        mean, low, high = bootstrap_ci(corr, n_boot=n_boot, seed=seed)
        return {"correlation": mean, "correlation_low": low, "correlation_high": high,
                "top_category_match": float(self.per_customer["top_match"].mean()), "customers": int(len(corr)),
                "customers_left_out": self.customers_left_out}


def planted_affinity(taste: pd.DataFrame, categories) -> pd.DataFrame:
    """The planted category affinity (customers x ``categories``) from ``truth["taste"]``."""
    missing = [c for c in categories if c not in taste.columns]
    if missing:
        raise KeyError(f"truth['taste'] has no column for categories {missing}; it has {list(taste.columns)}")
    out = taste.set_index(taste[contract.CUSTOMER_ID].astype("str"))[list(categories)].astype(float)
    out.index.name = contract.CUSTOMER_ID
    return out


def category_shares(rows: pd.DataFrame, products: pd.DataFrame, categories=None) -> pd.DataFrame:
    """Customers x categories: the share of each customer's ``rows`` (recommendations, purchases: any frame
    with customer_id and product_id) falling in each category of ``products``."""
    cat_of = products.drop_duplicates(contract.PRODUCT_ID)
    cat_of = pd.Series(cat_of[contract.CATEGORY].astype("str").to_numpy(), index=cat_of[contract.PRODUCT_ID].astype("str"))
    cats = pd.Series(rows[contract.PRODUCT_ID].astype("str").map(cat_of).to_numpy(), name=contract.CATEGORY)
    counts = pd.crosstab(rows[contract.CUSTOMER_ID].astype("str").to_numpy(), cats.fillna("(unknown)"))
    if categories is not None:
        counts = counts.reindex(columns=list(categories), fill_value=0)
    counts.index.name = contract.CUSTOMER_ID
    return counts.div(counts.sum(axis=1).where(lambda s: s > 0), axis=0).fillna(0.0)


def recover_taste(planted: pd.DataFrame, recovered: pd.DataFrame) -> TasteRecovery:
    """Correlate each customer's planted and recovered category affinity (customers in both frames)."""
    common = planted.index.intersection(recovered.index)
    cols = list(planted.columns)
    p = planted.loc[common, cols].to_numpy(dtype=float)
    r = recovered.reindex(index=common, columns=cols, fill_value=0.0).to_numpy(dtype=float)
    pc, rc = p - p.mean(axis=1, keepdims=True), r - r.mean(axis=1, keepdims=True)
    norm = np.sqrt((pc ** 2).sum(axis=1) * (rc ** 2).sum(axis=1))
    ok = norm > 0
    corr = (pc * rc).sum(axis=1)[ok] / norm[ok]
    per = pd.DataFrame({contract.CUSTOMER_ID: common[ok], "correlation": corr,
                        "top_match": p[ok].argmax(axis=1) == r[ok].argmax(axis=1)})
    return TasteRecovery(per_customer=per, customers_left_out=int((~ok).sum()))


def taste_recovery(lists: dict[str, pd.DataFrame], taste: pd.DataFrame, products: pd.DataFrame,
                   n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """One row per entry of ``lists`` (name -> rows with customer_id, product_id: a model's top-N lists, or a
    reference such as the customers' training purchases): mean correlation with its interval, top-category
    agreement and customers, all on the same customers (those present in every list)."""
    categories = [c for c in taste.columns if c in set(products[contract.CATEGORY].astype("str"))]
    planted = planted_affinity(taste, categories)
    shares = {name: category_shares(rows, products, categories) for name, rows in lists.items()}
    common = planted.index
    for s in shares.values():
        common = common.intersection(s.index)
    rows = []
    for name, s in shares.items():
        res = recover_taste(planted.loc[common], s.loc[common])
        rows.append({"list": name, **res.summary(n_boot=n_boot, seed=seed)})
    return pd.DataFrame(rows).set_index("list")


def to_metrics(table: pd.DataFrame) -> dict[str, dict]:
    """``{list name: {correlation, correlation_low, correlation_high, top_category_match, customers,
    customers_left_out}}`` from :func:`taste_recovery`'s table, counts as integers (for ``metrics.json``)."""
    out = {}
    for name, row in table.iterrows():
        out[str(name)] = {k: (int(v) if k.startswith("customers") else (None if pd.isna(v) else float(v)))
                          for k, v in row.items()}
    return out
