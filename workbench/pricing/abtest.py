"""A simulated A/B test of the price suggestions on the synthetic shop.

Products (never customers) are randomised into control (current price) and treatment (suggested
price) for the test periods, by default in pairs of products with similar pre-period revenue. Each product-period's units are drawn from the TRUE demand curve with
Poisson noise. The outcome is revenue per product over the test; the estimate is the difference in
means adjusted with pre-period revenue (CUPED), divided by the control mean: a relative uplift with a
normal-approximation confidence interval. Power is the share of ``n_sims`` independent replications
(new randomisation, new noise) whose interval excludes 0. Everything is seeded and vectorised over
replications.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse, stats

from workbench.data import contract


def _cuped_uplift(y: np.ndarray, x: np.ndarray, treated: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """Vectorised over replications (rows): CUPED-adjusted relative uplift, its interval and z."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    var_x = (xc * xc).sum(axis=-1, keepdims=True)
    theta = np.where(var_x > 0, (xc * yc).sum(axis=-1, keepdims=True) / np.where(var_x > 0, var_x, 1.0), 0.0)
    adj = y - theta * xc
    t, c = treated, ~treated
    nt, nc = t.sum(axis=-1), c.sum(axis=-1)
    mt = np.where(t, adj, 0).sum(axis=-1) / nt
    mc = np.where(c, adj, 0).sum(axis=-1) / nc
    vt = np.where(t, (adj - mt[..., None]) ** 2, 0).sum(axis=-1) / (nt - 1)
    vc = np.where(c, (adj - mc[..., None]) ** 2, 0).sum(axis=-1) / (nc - 1)
    se = np.sqrt(vt / nt + vc / nc)
    base = np.where(c, y, 0).sum(axis=-1) / nc
    delta = mt - mc
    z = stats.norm.ppf(1 - alpha / 2)
    mde = (z + stats.norm.ppf(0.8)) * se / base  # smallest uplift found 80% of the time
    return {"estimate": delta / base, "low": (delta - z * se) / base, "high": (delta + z * se) / base,
            "z": delta / se, "mde": mde}


def assign(pre: np.ndarray, n_sims: int, rng: np.random.Generator, design: str = "paired") -> np.ndarray:
    """Return treatment flags (n_sims, products): ``paired`` sorts products by pre-period revenue and treats
    one of each adjacent pair at random (an odd one out stays in control); ``random`` treats half at random."""
    n_p = len(pre)
    treated = np.zeros((n_sims, n_p), dtype=bool)
    if design == "random":
        order = np.argsort(rng.random((n_sims, n_p)), axis=1)
        np.put_along_axis(treated, order[:, : n_p // 2], True, axis=1)
        return treated
    if design != "paired":
        raise ValueError(f"design '{design}' is unknown; use paired or random")
    by_pre = np.argsort(pre, kind="stable")
    n_pairs = n_p // 2
    first = by_pre[0: 2 * n_pairs: 2]
    second = by_pre[1: 2 * n_pairs: 2]
    coin = rng.random((n_sims, n_pairs)) < 0.5
    treated[:, first] = coin
    treated[:, second] = ~coin
    return treated


def simulate_ab(rows: pd.DataFrame, control_units, treatment_units, pre_revenue: pd.Series,
                n_sims: int = 200, alpha: float = 0.05, seed: int = 42, design: str = "paired") -> dict:
    """Return the simulated A/B result: ``estimate, low, high`` (relative revenue uplift of the first
    replication and its interval), ``power``, ``true_uplift``, ``mean_estimate`` (over replications),
    ``mde`` (median minimum detectable uplift at 80% power), ``n_products``, ``n_sims`` and ``alpha``.

    ``rows`` holds ``product_id``, ``current_price`` and ``suggested_price`` for every product and test
    period; ``control_units`` / ``treatment_units`` are the true expected units at those prices (one per
    row); ``pre_revenue`` is each product's revenue before the test (index: product id), the CUPED
    covariate and the pairing key of the ``paired`` design (see :func:`assign`).
    """
    if n_sims < 1:
        raise ValueError("n_sims must be at least 1")
    prod_codes, products = pd.factorize(rows[contract.PRODUCT_ID].astype("str"))
    n_p = len(products)
    if n_p < 4:
        raise ValueError(f"an A/B test needs at least 4 products, got {n_p}")
    lam = np.stack([np.asarray(control_units, dtype=float), np.asarray(treatment_units, dtype=float)])
    price = np.stack([rows["current_price"].to_numpy(dtype=float), rows["suggested_price"].to_numpy(dtype=float)])
    agg = sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), prod_codes)), shape=(len(rows), n_p))
    x = pre_revenue.reindex(products).fillna(0.0).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    treated = assign(x, n_sims, rng, design)
    # revenue per product under each arm for every replication: draw both arms, keep the assigned one
    rev = np.empty((2, n_sims, n_p))
    for arm in (0, 1):
        units = rng.poisson(np.broadcast_to(np.maximum(lam[arm], 0.0), (n_sims, len(rows))))
        rev[arm] = np.asarray(agg.T @ (units * price[arm]).T).T
    y = np.where(treated, rev[1], rev[0])
    res = _cuped_uplift(y, np.broadcast_to(x, y.shape), treated, alpha)
    significant = (res["low"] > 0) | (res["high"] < 0)
    true_rev = (lam * price).sum(axis=1)
    return {"estimate": float(res["estimate"][0]), "low": float(res["low"][0]), "high": float(res["high"][0]),
            "power": float(significant.mean()), "true_uplift": float(true_rev[1] / true_rev[0] - 1.0),
            "mean_estimate": float(res["estimate"].mean()), "mde": float(np.median(res["mde"])), "n_products": int(n_p), "n_sims": int(n_sims),
            "alpha": float(alpha), "design": design}
