"""Business impact of recommendation lists: expected revenue under a stated purchase model, and an A/B simulation.

**Purchase model.** A customer shown a top-K list buys the product at position ``r`` with probability
``p1 / log2(r + 1)`` if it is one they actually bought in the held-out period (their purchase intent),
and never otherwise: a list earns only by putting real intent high. ``p1`` (the purchase probability
of a wanted product at position 1) is calibrated on the data when events exist, as the share of
viewed (customer, product) pairs that were bought (:func:`purchase_probability`); otherwise it is a
stated parameter. A bought product earns its value: the mean revenue of one of its sales lines in train
(:func:`item_values`). The position discount is the one NDCG uses, so expected revenue is a
value-weighted DCG; the ratio of two lists' revenues does not depend on ``p1``.

**A/B simulation.** The evaluated customers are split at random into a control arm (baseline lists) and
a treatment arm (new lists); each shown (customer, product) draws a purchase from the model above.
Conversion (any purchase) and revenue per customer are compared with confidence intervals
(two-proportion z-test; bootstrap of the revenue lift), and the power of the test at this size plus
the customers per arm needed to detect the observed lift with the requested power.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from workbench.data import contract
from workbench.evaluate.significance import bootstrap_means, two_proportion_ztest


def purchase_probability(events: pd.DataFrame | None, fallback: float = 0.3) -> tuple[float, str]:
    """Return ``(p1, source)``: the share of viewed (customer, product) pairs that were bought, or ``fallback``.

    ``source`` says where the number comes from (``events`` or ``parameter``). Events without a view, without a
    purchase event (views and add-to-carts only: the purchases are in the transactions, if anywhere) or with no
    viewed pair bought measure no conversion, so ``fallback`` stands in.
    """
    if events is None or len(events) == 0 or contract.EVENT not in events.columns:
        return float(fallback), "parameter"
    ev = events[[contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.EVENT]].astype({contract.EVENT: "str"})
    viewed = ev.loc[ev[contract.EVENT] == "view", [contract.CUSTOMER_ID, contract.PRODUCT_ID]].drop_duplicates()
    bought = ev.loc[ev[contract.EVENT] == "transaction", [contract.CUSTOMER_ID, contract.PRODUCT_ID]].drop_duplicates()
    if len(viewed) == 0 or len(bought) == 0:
        return float(fallback), "parameter"
    key_v = pd.MultiIndex.from_frame(viewed.astype("str"))
    key_b = pd.MultiIndex.from_frame(bought.astype("str"))
    share = float(key_v.isin(key_b).mean())
    return (share, "events") if share > 0 else (float(fallback), "parameter")


def no_money_reason(transactions: pd.DataFrame) -> str | None:
    """Why revenue impact cannot be measured on these training purchases (none has a price), else ``None``."""
    if transactions[contract.UNIT_PRICE].notna().any():
        return None
    return ("revenue impact values each bought product at the mean revenue of its sales lines, and this shop's "
            f"{len(transactions)} training purchases have no price (a clickstream's purchase events); the expected "
            "revenue and the A/B simulation are not computed, the ranking metrics are")


def item_values(transactions: pd.DataFrame) -> pd.Series:
    """Return the mean revenue (quantity x unit price) of one sales line per product id."""
    sales = transactions[transactions[contract.QUANTITY] > 0]
    rev = sales[contract.QUANTITY].astype("float64") * sales[contract.UNIT_PRICE].astype("float64")
    out = rev.groupby(sales[contract.PRODUCT_ID].astype("str").to_numpy()).mean()
    out.index.name = contract.PRODUCT_ID
    return out.rename("value")


def _list_table(recs: pd.DataFrame, truth: pd.DataFrame, values: pd.Series, k: int,
                customers: pd.Index) -> pd.DataFrame:
    """Top-k rows of ``recs`` for ``customers`` with position, relevance and value."""
    r = recs[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank"]].astype({contract.CUSTOMER_ID: "str", contract.PRODUCT_ID: "str"})
    r = r[(r["rank"] <= k) & r[contract.CUSTOMER_ID].isin(customers)]
    t = pd.MultiIndex.from_frame(truth[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str"))
    rel = pd.MultiIndex.from_frame(r[[contract.CUSTOMER_ID, contract.PRODUCT_ID]]).isin(t)
    val = values.reindex(r[contract.PRODUCT_ID]).fillna(0.0).to_numpy()
    return r.assign(rel=rel, value=val, disc=1.0 / np.log2(r["rank"].to_numpy(dtype=np.float64) + 1.0))


def expected_revenue(recs: pd.DataFrame, truth: pd.DataFrame, values: pd.Series, p1: float,
                     k: int = 10) -> pd.DataFrame:
    """Return per customer of ``truth``: expected purchases and expected revenue of their top-``k`` list.

    Columns ``[customer_id, expected_purchases, expected_revenue]`` under the module's purchase model,
    customers sorted; customers without a list score 0.
    """
    if not 0 < p1 <= 1:
        raise ValueError(f"the purchase probability p1 must be in (0, 1], not {p1}")
    cust = pd.Index(np.sort(truth[contract.CUSTOMER_ID].astype("str").unique()), name=contract.CUSTOMER_ID)
    t = _list_table(recs, truth, values, k, cust)
    prob = p1 * t["disc"].to_numpy() * t["rel"].to_numpy()
    g = pd.DataFrame({contract.CUSTOMER_ID: t[contract.CUSTOMER_ID].to_numpy(), "expected_purchases": prob,
                      "expected_revenue": prob * t["value"].to_numpy()}).groupby(contract.CUSTOMER_ID).sum()
    return g.reindex(cust, fill_value=0.0).reset_index()


def simulate_outcomes(recs: pd.DataFrame, truth: pd.DataFrame, values: pd.Series, p1: float, customers: pd.Index,
                      k: int = 10, seed: int = 0) -> pd.DataFrame:
    """Return per customer in ``customers`` one simulated outcome: ``converted`` (0/1) and ``revenue``."""
    t = _list_table(recs, truth, values, k, customers)
    rng = np.random.default_rng(seed)
    bought = rng.random(len(t)) < p1 * t["disc"].to_numpy() * t["rel"].to_numpy()
    g = pd.DataFrame({contract.CUSTOMER_ID: t[contract.CUSTOMER_ID].to_numpy(), "purchases": bought.astype(np.float64),
                      "revenue": bought * t["value"].to_numpy()}).groupby(contract.CUSTOMER_ID).sum()
    g = g.reindex(customers, fill_value=0.0)
    g["converted"] = (g["purchases"] > 0).astype(np.float64)
    return g.reset_index()


def power_two_proportions(p_a: float, p_b: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Return the power of a two-sided two-proportion z-test with ``n_per_arm`` customers per arm."""
    if n_per_arm <= 0 or p_a == p_b:
        return float(alpha) if p_a == p_b else 0.0
    z = stats.norm.ppf(1 - alpha / 2)
    pbar = (p_a + p_b) / 2
    se0 = math.sqrt(2 * pbar * (1 - pbar) / n_per_arm)
    se1 = math.sqrt((p_a * (1 - p_a) + p_b * (1 - p_b)) / n_per_arm)
    if se1 == 0:
        return 1.0
    d = abs(p_b - p_a)
    return float(stats.norm.cdf((d - z * se0) / se1) + stats.norm.cdf((-d - z * se0) / se1))


def sample_size_two_proportions(p_a: float, p_b: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return customers per arm to detect ``p_a`` vs ``p_b`` (two-sided z-test) with ``power`` (inf if equal)."""
    if p_a == p_b:
        return math.inf
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    pbar = (p_a + p_b) / 2
    num = (za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p_a * (1 - p_a) + p_b * (1 - p_b))) ** 2
    return float(math.ceil(num / (p_b - p_a) ** 2))


def power_means(delta: float, sd: float, n_per_arm: float, alpha: float = 0.05) -> float:
    """Return the power of a two-sided two-sample z-test of means (common ``sd``) with ``n_per_arm`` per arm."""
    if sd <= 0:
        return 1.0 if delta != 0 else float(alpha)
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(delta) / (sd * math.sqrt(2 / n_per_arm))
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def sample_size_means(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return customers per arm to detect a difference ``delta`` of means with common ``sd`` (inf if delta = 0)."""
    if delta == 0:
        return math.inf
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    return float(math.ceil(2 * ((za + zb) * sd / delta) ** 2))


def simulate_ab(control: pd.DataFrame, treatment: pd.DataFrame, truth: pd.DataFrame, values: pd.Series,
                p1: float, k: int = 10, share: float = 0.5, alpha: float = 0.05, power: float = 0.8,
                n_boot: int = 1000, seed: int = 0) -> dict:
    """Return an A/B simulation of two recommendation lists on the customers of ``truth``.

    Keys: ``n_control``, ``n_treatment``; ``conversion`` (``control``, ``treatment``, ``lift``, ``p_value``,
    ``power``, ``n_needed``); ``revenue`` (per customer ``control``, ``treatment``, relative ``lift`` with
    its bootstrap ``low``/``high``, ``power``, ``n_needed``). ``lift``, ``low``, ``high``, ``power`` and
    ``n_needed`` at the top level are those of revenue per customer.
    """
    if not 0 < share < 1:
        raise ValueError(f"share (the treatment share) must be in (0, 1), not {share}")
    cust = pd.Index(np.sort(truth[contract.CUSTOMER_ID].astype("str").unique()), name=contract.CUSTOMER_ID)
    rng = np.random.default_rng(seed)
    treat = np.zeros(len(cust), dtype=bool)
    treat[rng.permutation(len(cust))[: int(round(share * len(cust)))]] = True
    a = simulate_outcomes(control, truth, values, p1, cust[~treat], k, seed + 1)
    b = simulate_outcomes(treatment, truth, values, p1, cust[treat], k, seed + 2)
    ca, cb = a["converted"].to_numpy(), b["converted"].to_numpy()
    ra, rb = a["revenue"].to_numpy(), b["revenue"].to_numpy()
    pa, pb = float(ca.mean()), float(cb.mean())
    _, p_conv = two_proportion_ztest(int(ca.sum()), len(ca), int(cb.sum()), len(cb))
    n_eff = 2 / (1 / len(ca) + 1 / len(cb))  # harmonic mean arm size for unequal arms
    ma, mb = float(ra.mean()), float(rb.mean())
    boot_a = bootstrap_means(ra, n_boot, seed + 3)
    boot_b = bootstrap_means(rb, n_boot, seed + 4)
    lift_boot = np.divide(boot_b, boot_a, out=np.full(n_boot, np.nan), where=boot_a > 0) - 1
    lift_boot = lift_boot[np.isfinite(lift_boot)]
    lo, hi = (np.quantile(lift_boot, [alpha / 2, 1 - alpha / 2]) if len(lift_boot) else (np.nan, np.nan))
    sd = math.sqrt((ra.var(ddof=1) + rb.var(ddof=1)) / 2) if min(len(ra), len(rb)) > 1 else 0.0
    _, p_rev = stats.ttest_ind(rb, ra, equal_var=False) if sd > 0 else (0.0, 1.0)
    rev = {"control": ma, "treatment": mb, "lift": (mb / ma - 1) if ma > 0 else np.nan, "low": float(lo),
           "high": float(hi), "p_value": float(p_rev), "power": power_means(mb - ma, sd, n_eff, alpha),
           "n_needed": sample_size_means(mb - ma, sd, alpha, power)}
    conv = {"control": pa, "treatment": pb, "lift": (pb / pa - 1) if pa > 0 else np.nan, "p_value": p_conv,
            "power": power_two_proportions(pa, pb, n_eff, alpha),
            "n_needed": sample_size_two_proportions(pa, pb, alpha, power)}
    return {"n_control": int(len(ca)), "n_treatment": int(len(cb)), "purchase_prob": float(p1),
            "conversion": conv, "revenue": rev, "lift": rev["lift"], "low": rev["low"], "high": rev["high"],
            "power": rev["power"], "n_needed": rev["n_needed"]}
