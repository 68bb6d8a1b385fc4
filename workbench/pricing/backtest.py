"""Judging price suggestions against the planted truth of the synthetic shop (the oracle).

The true demand of a product at any price is :func:`workbench.data.synthetic.true_expected_units`:
exact, with the other products' prices held where they are. Regret is therefore defined product by
product: for each product and period, revenue at our suggested price, at the current price, and at the
oracle's price (the best guardrail-feasible candidate under the TRUE demand curve, same grid and
guardrails as ours), each with every other product at its current price;

    regret % = 100 * (oracle revenue - our revenue) / oracle revenue,   summed over products and periods.

:func:`joint_true_units` answers the harder question: what happens when all suggestions are applied
at once. In the generator, demand within a (category, price tier) group only shifts between its
products, so joint price cuts partly cannibalise each other.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.synthetic import true_expected_units
from workbench.pricing import table as pricing_table

CATEGORY_ELASTICITY = "category_elasticity"
#: the truth column naming the set of products an explore line chooses among
CHOICE_GROUP = "choice_group"


def truth_rows(truth: dict, rows: pd.DataFrame) -> pd.DataFrame:
    """Return ``truth["demand"]`` aligned to ``rows`` (by product and period), with the category elasticity
    and choice group that :func:`true_expected_units` and :func:`joint_true_units` need."""
    dem = truth["demand"].rename(columns={contract.DATE: pricing_table.PERIOD})
    pe = truth["product_elasticity"]
    pe = pe[[contract.PRODUCT_ID, CATEGORY_ELASTICITY, contract.CATEGORY, CHOICE_GROUP if CHOICE_GROUP in pe else "tier"]]
    dem = dem.merge(pe.astype({contract.PRODUCT_ID: "str"}), on=contract.PRODUCT_ID, how="left")
    key = rows[[contract.PRODUCT_ID, pricing_table.PERIOD]].astype({contract.PRODUCT_ID: "str"})
    out = key.merge(dem.astype({contract.PRODUCT_ID: "str"}), on=[contract.PRODUCT_ID, pricing_table.PERIOD], how="left", validate="1:1")
    if out["expected_units"].isna().any():
        raise ValueError("some rows have no truth: the table and the truth come from different shops or periods")
    out.index = rows.index
    return out


def true_units_grid(truth_aligned: pd.DataFrame, prices: np.ndarray) -> np.ndarray:
    """Return true expected units (rows, grid) at each candidate price column of ``prices``."""
    return np.column_stack([true_expected_units(truth_aligned, prices[:, j]) for j in range(prices.shape[1])])


def revenue_table(suggestions: pd.DataFrame, oracle: pd.DataFrame, truth_aligned: pd.DataFrame) -> pd.DataFrame:
    """Return per row: true units and revenue at the current, suggested and oracle prices."""
    cur = suggestions["current_price"].to_numpy(dtype=float)
    sug = suggestions["suggested_price"].to_numpy(dtype=float)
    ora = oracle["suggested_price"].to_numpy(dtype=float)
    out = pd.DataFrame({contract.PRODUCT_ID: suggestions[contract.PRODUCT_ID].to_numpy(),
                        pricing_table.PERIOD: truth_aligned[pricing_table.PERIOD].to_numpy()}, index=suggestions.index)
    for name, p in (("current", cur), ("suggested", sug), ("oracle", ora)):
        q = true_expected_units(truth_aligned, p)
        out[f"{name}_price"] = p
        out[f"{name}_units"] = q
        out[f"{name}_revenue"] = p * q
    return out


def regret_summary(revenue: pd.DataFrame) -> dict:
    """Return totals and ``revenue_regret_pct`` = 100 (oracle - suggested) / oracle, ``uplift_pct`` of the
    suggestions and ``oracle_uplift_pct`` over current prices, all under the true demand curves."""
    cur, sug, ora = (float(revenue[f"{k}_revenue"].sum()) for k in ("current", "suggested", "oracle"))
    return {"revenue_current": cur, "revenue_suggested": sug, "revenue_oracle": ora,
            "revenue_regret_pct": 100.0 * (ora - sug) / ora if ora > 0 else np.nan,
            "uplift_pct": 100.0 * (sug / cur - 1.0) if cur > 0 else np.nan,
            "oracle_uplift_pct": 100.0 * (ora / cur - 1.0) if cur > 0 else np.nan,
            "current_regret_pct": 100.0 * (ora - cur) / ora if ora > 0 else np.nan}


def joint_true_units(truth_aligned: pd.DataFrame, new_price) -> np.ndarray:
    """Return true expected units per row when ALL rows' prices change at once (rows must hold every product
    of each choice group in a period: ``choice_group`` of the truth, or (category, tier) in older truths).
    First picks re-split the group's fixed number of lines by the new choice shares; favourite and bundle
    lines scale with the product's own price factor."""
    t = truth_aligned
    p_now = t[contract.PRICE].to_numpy(dtype=float)
    r = (np.asarray(new_price, dtype=float) / p_now) ** t[CATEGORY_ELASTICITY].to_numpy(dtype=float)
    s = t["share"].to_numpy(dtype=float)
    first = t["first_pick_units"].to_numpy(dtype=float)
    if CHOICE_GROUP in t:
        group = t[CHOICE_GROUP].astype("str")
    else:
        group = t[contract.CATEGORY].astype("str") + "|" + t["tier"].astype("str")
    key = pd.factorize(group + "|" + t[pricing_table.PERIOD].astype("str"))[0]
    group_first = np.bincount(key, weights=first)[key]
    denom = np.bincount(key, weights=s * r)[key]
    new_first = np.where(denom > 0, group_first * s * r / np.where(denom > 0, denom, 1.0), 0.0)
    constant = t["bundle_units"].to_numpy(dtype=float)
    if "favourite_units" in t:
        constant = constant + t["favourite_units"].to_numpy(dtype=float)
    return new_first + constant * r
