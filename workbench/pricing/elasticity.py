"""Own-price elasticities per category and per product, four ways, side by side.

* :func:`naive_elasticity`: log units on log price over periods that sold, per category, no controls.
  Shelf prices respond to demand (mark-ups in high season, promotions in low season), so this is biased.
* :func:`fe_elasticity`: the log-log regression with controls, fitted as a Poisson regression (PPML, so
  zero-sales periods count) with product and category x period fixed effects and the log competitor
  price. The fixed effects are partialled out of both log price and demand in every IRLS step
  (Frisch-Waugh-Lovell), so only within-product, within-category-period price moves identify the
  elasticity: the seasonal confounding is residualised away.
* :func:`dml_elasticity`: double ML: cross-fitted LightGBM predictions of log relative price and of
  demand from the controls (season, category, trailing demand, competitor price, stock), then a Poisson
  final stage of units on the price residual with the demand prediction as offset.
* :func:`model_elasticity`: finite differences of a fitted :class:`~workbench.pricing.demand.DemandModel`
  over a grid of prices.

:func:`partial_pool` shrinks noisy per-group estimates towards their precision-weighted mean
(empirical Bayes), and :func:`product_elasticities` gives per-product estimates as the category's
elasticity plus a shrunk product deviation.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.pricing import table as pricing_table
from workbench.threads import thread_map

log = logging.getLogger(__name__)

ELASTICITY = "elasticity"
SE = "se"
METHODS = ("naive", "fe", "dml", "model")


# ---- Poisson regression with high-dimensional fixed effects -----------------------------------------------
@dataclass
class PPMLResult:
    """A fitted Poisson regression with fixed effects: coefficients, robust standard errors, fitted means."""

    coef: np.ndarray
    se: np.ndarray
    mu: np.ndarray  # fitted means of the kept rows
    kept: np.ndarray  # boolean mask of the rows used (groups with no positive outcome are dropped)
    x_within: np.ndarray  # regressors with the fixed effects partialled out (weights mu), kept rows
    dispersion: float  # Pearson chi2 / dof
    n_iter: int


def _demean(v: np.ndarray, w: np.ndarray, groups: list[np.ndarray], tol: float = 1e-9,
            max_iter: int = 1000) -> np.ndarray:
    """Return ``v`` (n, k) minus its ``w``-weighted projection on the dummies of ``groups`` (alternating projections)."""
    v = v.copy()
    sums = [np.bincount(g, weights=w) for g in groups]
    for _ in range(max_iter):
        step = 0.0
        for g, s in zip(groups, sums):
            means = np.column_stack([np.bincount(g, weights=w * v[:, i], minlength=len(s)) for i in range(v.shape[1])])
            means /= np.maximum(s, 1e-300)[:, None]
            v -= means[g]
            step = max(step, float(np.abs(means).max()))
        if step < tol or len(groups) == 1:
            break
    return v


def ppml(y, X, groups: list, offset=None, max_iter: int = 100, tol: float = 1e-9) -> PPMLResult:
    """Return the Poisson (pseudo-)maximum-likelihood fit of ``y`` on ``X`` with fixed effects for each
    array of group labels in ``groups`` (and an optional ``offset`` added to the linear predictor);
    standard errors are heteroskedasticity-robust (sandwich).

    Groups whose outcomes are all zero carry no information (their fixed effect is minus infinity) and
    are dropped first, as in ``ppmlhdfe``.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float).reshape(len(y), -1)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    codes = [pd.factorize(np.asarray(g))[0] for g in groups]
    keep = np.ones(len(y), dtype=bool)
    for _ in range(5):  # dropping one group's rows can empty another's
        before = keep.sum()
        for g in codes:
            tot = np.bincount(g[keep], weights=y[keep], minlength=g.max() + 1)
            keep &= tot[g] > 0
        if keep.sum() == before:
            break
    if keep.sum() <= X.shape[1] + 1:
        raise ValueError("ppml: too few rows with sales to estimate; use a longer history or coarser groups")
    y, X, off = y[keep], X[keep], off[keep]
    codes = [pd.factorize(g[keep])[0] for g in codes]
    mu = (y + y.mean()) / 2.0
    eta = np.log(mu)
    dev_old = np.inf
    for it in range(1, max_iter + 1):
        z = eta - off + (y - mu) / mu
        zx = _demean(np.column_stack([z, X]), mu, codes)
        zt, Xt = zx[:, 0], zx[:, 1:]
        A = Xt.T @ (mu[:, None] * Xt)
        try:
            beta = np.linalg.solve(A, Xt.T @ (mu * zt))
        except np.linalg.LinAlgError as exc:
            raise ValueError("ppml: a regressor does not vary within the fixed effects; drop it") from exc
        eta = off + z - (zt - Xt @ beta)
        mu = np.exp(np.clip(eta, -50, 50))
        ratio = np.where(y > 0, y / mu, 1.0)
        dev = 2.0 * float(np.sum(np.where(y > 0, y * np.log(ratio), 0.0) - (y - mu)))
        if abs(dev - dev_old) <= tol * max(abs(dev), 1.0):
            break
        dev_old = dev
    Ainv = np.linalg.inv(A)
    meat = (Xt * ((y - mu) ** 2)[:, None]).T @ Xt
    se = np.sqrt(np.diag(Ainv @ meat @ Ainv))
    n_fe = sum(int(g.max()) + 1 for g in codes)
    dof = max(len(y) - n_fe - X.shape[1], 1)
    disp = float(np.sum((y - mu) ** 2 / mu) / dof)
    return PPMLResult(beta, se, mu, keep, Xt, disp, it)


# ---- the four estimators ---------------------------------------------------------------------------------
def _usable(table: pd.DataFrame) -> pd.DataFrame:
    """In-stock rows with a positive price (out-of-stock periods say nothing about price response)."""
    ok = table[pricing_table.IN_STOCK].to_numpy(dtype=bool) & (table[contract.PRICE].to_numpy(dtype=float) > 0)
    return table.loc[ok]


def naive_elasticity(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``category, elasticity``: the slope of log units on log price over periods with sales,
    pooled over the category's products, without controls (the biased estimate, for comparison)."""
    t = _usable(table)
    t = t.loc[t[pricing_table.UNITS] > 0]
    x, y = np.log(t[contract.PRICE].to_numpy(dtype=float)), np.log(t[pricing_table.UNITS].to_numpy(dtype=float))
    df = pd.DataFrame({contract.CATEGORY: t[contract.CATEGORY].astype("str").to_numpy(), "x": x, "y": y})
    g = df.groupby(contract.CATEGORY, sort=True)
    xm, ym = g["x"].transform("mean"), g["y"].transform("mean")
    df["xy"], df["xx"] = (df["x"] - xm) * (df["y"] - ym), (df["x"] - xm) ** 2
    s = df.groupby(contract.CATEGORY, sort=True)[["xy", "xx"]].sum()
    slope = s["xy"] / s["xx"].where(s["xx"] > 0)
    return slope.rename(ELASTICITY).reset_index()


def _period_groups(t: pd.DataFrame, time_fe: str) -> np.ndarray:
    if time_fe == "category":
        return t[contract.CATEGORY].astype("str").to_numpy() + "|" + t[pricing_table.PERIOD_INDEX].astype("str").to_numpy()
    if time_fe == "global":
        return t[pricing_table.PERIOD_INDEX].to_numpy()
    raise ValueError(f"time_fe '{time_fe}' is unknown; use 'category' (category x period) or 'global' (period)")


def fe_elasticity(table: pd.DataFrame, time_fe: str = "category", by: str = contract.CATEGORY,
                  min_rows_with_sales: int = 10) -> tuple[pd.DataFrame, dict[str, PPMLResult]]:
    """Return (``category, elasticity, se, competitor, n_rows``, fits by category): Poisson log-log of units on
    own and competitor price with product and category x period (``time_fe="category"``) or period
    (``"global"``) fixed effects, one fit per ``by`` group. Groups with too few sales get NaN."""
    if time_fe not in ("category", "global"):
        raise ValueError(f"time_fe '{time_fe}' is unknown; use 'category' (category x period) or 'global' (period)")
    t = _usable(table)
    has_comp = contract.COMPETITOR_PRICE in t and t[contract.COMPETITOR_PRICE].notna().all()
    rows, fits = [], {}
    for name, d in t.groupby(t[by].astype("str").to_numpy(), sort=True):
        X = [np.log(d[contract.PRICE].to_numpy(dtype=float))]
        if has_comp:
            X.append(np.log(d[contract.COMPETITOR_PRICE].to_numpy(dtype=float)))
        row = {by: str(name), ELASTICITY: np.nan, SE: np.nan, "competitor": np.nan, "n_rows": len(d)}
        if int((d[pricing_table.UNITS] > 0).sum()) >= min_rows_with_sales and d[contract.PRODUCT_ID].nunique() > 1:
            try:
                res = ppml(d[pricing_table.UNITS].to_numpy(), np.column_stack(X),
                           [d[contract.PRODUCT_ID].to_numpy(), _period_groups(d, time_fe)])
                row.update({ELASTICITY: res.coef[0], SE: res.se[0],
                            "competitor": res.coef[1] if has_comp else np.nan})
                fits[str(name)] = res
            except ValueError as exc:
                log.warning("fe_elasticity: %s=%s not estimated (%s)", by, name, exc)
        rows.append(row)
    return pd.DataFrame(rows), fits


#: controls of the double-ML nuisance models (those present in the table are used)
DML_CONTROLS = (contract.CATEGORY, pricing_table.SEASON_SIN, pricing_table.SEASON_COS, pricing_table.PERIOD_INDEX, pricing_table.CAT_LAG_UNITS, pricing_table.CAT_SEASON_UNITS,
                "log_comp_rel", pricing_table.IN_STOCK, "log_ref_price", "peer_units", "peer_price")


def _peer_means(t: pd.DataFrame, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over the other products of the same category and period (leave-one-out)."""
    key = t[contract.CATEGORY].astype("str").to_numpy() + "|" + t[pricing_table.PERIOD_INDEX].astype("str").to_numpy()
    codes = pd.factorize(key)[0]
    tot, n = np.bincount(codes, weights=values), np.bincount(codes)
    return np.where(n[codes] > 1, (tot[codes] - values) / np.maximum(n[codes] - 1, 1), np.nan)


def _dml_design(t: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame(index=t.index)
    for f in DML_CONTROLS:
        if f == "peer_units":  # the category's demand this period (other products): common demand shocks
            X[f] = _peer_means(t, t[pricing_table.UNITS].to_numpy(dtype=float))
            continue
        if f == "peer_price":  # the category's pricing this period (other products): mark-ups, promotions
            X[f] = _peer_means(t, np.log(t[pricing_table.REL_PRICE].to_numpy(dtype=float)))
            continue
        if f == "log_comp_rel":
            if contract.COMPETITOR_PRICE in t:
                X[f] = np.log(t[contract.COMPETITOR_PRICE].to_numpy(dtype=float) / t[pricing_table.REF_PRICE].to_numpy(dtype=float))
        elif f == "log_ref_price":
            X[f] = np.log(t[pricing_table.REF_PRICE].to_numpy(dtype=float))
        elif f == contract.CATEGORY:
            X[f] = t[contract.CATEGORY].astype("str").astype("category")
        elif f in t:
            X[f] = t[f].to_numpy(dtype=float)
    return X


def dml_elasticity(table: pd.DataFrame, n_folds: int = 2, n_estimators: int = 100, seed: int = 42,
                   by: str = contract.CATEGORY) -> pd.DataFrame:
    """Return ``category, elasticity, se``: double ML with cross-fitting over products.

    Nuisances (LightGBM, fitted on the other folds' products): m(X) = E[log relative price | X] and
    g(X) = E[units | X] without any price feature. Final stage per ``by`` group: Poisson regression of
    units on the price residual with offset log g(X) and product fixed effects (the nuisances do not
    see product identities, so the product's level is absorbed in the final stage).
    """
    t = _usable(table)
    X = _dml_design(t)
    d = np.log(t[pricing_table.REL_PRICE].to_numpy(dtype=float))
    y = t[pricing_table.UNITS].to_numpy(dtype=float)
    products = t[contract.PRODUCT_ID].astype("str").to_numpy()
    uniq = np.unique(products)
    fold_of = np.random.default_rng(seed).permutation(len(uniq)) % n_folds
    fold = fold_of[np.searchsorted(uniq, products)]
    m_hat, g_hat = np.empty(len(t)), np.empty(len(t))
    common = dict(n_estimators=n_estimators, learning_rate=0.08, num_leaves=15, min_child_samples=40,
                  subsample=0.8, subsample_freq=1, random_state=seed, n_jobs=1, deterministic=True,
                  force_col_wise=True, verbose=-1)

    def cross_fit(task: tuple[int, str]) -> np.ndarray:
        """One nuisance fitted on the other folds and predicted on fold ``k`` (LightGBM releases the GIL: the
        fits run side by side, each on one thread as before, so the numbers do not depend on the cores)."""
        k, objective = task
        tr, te = fold != k, fold == k
        model = lgb.LGBMRegressor(objective=objective, **common).fit(X.loc[tr], (d if objective == "regression"
                                                                                 else y)[tr])
        return model.predict(X.loc[te])

    tasks = [(k, objective) for k in range(n_folds) for objective in ("regression", "poisson")]
    for (k, objective), pred in zip(tasks, thread_map(cross_fit, tasks)):
        (m_hat if objective == "regression" else g_hat)[fold == k] = pred
    resid = d - m_hat
    offset = np.log(np.maximum(g_hat, 1e-12))
    rows = []
    for name, idx in pd.Series(np.arange(len(t))).groupby(t[by].astype("str").to_numpy(), sort=True):
        i = idx.to_numpy()
        row = {by: name, ELASTICITY: np.nan, SE: np.nan, "n_rows": len(i)}
        try:
            res = ppml(y[i], resid[i], [products[i]], offset=offset[i])
            row.update({ELASTICITY: res.coef[0], SE: res.se[0]})
        except ValueError as exc:
            log.warning("dml_elasticity: %s=%s not estimated (%s)", by, name, exc)
        rows.append(row)
    return pd.DataFrame(rows)


def model_elasticity(model, table: pd.DataFrame, multipliers=(0.8, 0.9, 1.0, 1.1, 1.2),
                     last_periods: int | None = 8) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (per product, per category) elasticities of a fitted demand model by finite differences: the
    slope of log(total predicted units) on log(price multiplier) over ``multipliers``, using the product's
    in-stock rows of the last ``last_periods`` periods. The category value is the units-weighted mean."""
    t = _usable(table)
    if last_periods is not None:
        t = t.loc[t[pricing_table.PERIOD_INDEX] > t[pricing_table.PERIOD_INDEX].max() - last_periods]
    lm = np.log(np.asarray(multipliers, dtype=float))
    price = t[contract.PRICE].to_numpy(dtype=float)
    stacked = pd.concat([t] * len(lm), ignore_index=True)  # one predict call for the whole grid
    preds = model.predict_at(stacked, np.concatenate([price * np.exp(v) for v in lm])).reshape(len(lm), -1).T
    prod = t[contract.PRODUCT_ID].astype("str").to_numpy()
    q = pd.DataFrame(preds).groupby(prod, sort=True).sum()
    logq = np.log(np.maximum(q.to_numpy(), 1e-12))
    xc = lm - lm.mean()
    slope = (logq - logq.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    base = q.to_numpy()[:, int(np.argmin(np.abs(lm)))]
    cat = t.groupby(t[contract.PRODUCT_ID].astype("str"), sort=True)[contract.CATEGORY].first().astype("str")
    per_product = pd.DataFrame({contract.PRODUCT_ID: q.index.to_numpy(), contract.CATEGORY: cat.reindex(q.index).to_numpy(),
                                ELASTICITY: slope, "units": base})
    w = per_product["units"].clip(lower=1e-12)
    per_cat = (per_product.assign(_w=w, _wx=w * per_product[ELASTICITY])
               .groupby(contract.CATEGORY, sort=True)[["_wx", "_w"]].sum())
    per_category = (per_cat["_wx"] / per_cat["_w"]).rename(ELASTICITY).reset_index()
    return per_product, per_category


# ---- pooling and per-product estimates -------------------------------------------------------------------
def partial_pool(estimates, se, max_se: float = 2.0, max_iter: int = 200) -> tuple[np.ndarray, float, float]:
    """Return (shrunk estimates, pooled mean, between-group variance tau^2): empirical-Bayes partial pooling
    of independent estimates with standard errors ``se`` towards their precision-weighted mean.

    Estimates with a standard error above ``max_se`` (not identified by the data) take no part and come
    back as the pooled mean; NaN estimates stay NaN.
    """
    est, s = np.asarray(estimates, dtype=float), np.asarray(se, dtype=float)
    ok = np.isfinite(est) & np.isfinite(s) & (s > 0) & (s <= max_se)
    out = est.copy()
    if ok.sum() < 3:  # too few groups to estimate how much they differ
        return out, float(np.nanmean(est)) if ok.any() else np.nan, np.nan
    e, v = est[ok], s[ok] ** 2
    tau2 = max(0.0, float(np.var(e)) - float(np.mean(v)))
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        mu = float(np.sum(w * e) / np.sum(w))
        new = max(0.0, float(np.sum(w * ((e - mu) ** 2 - v)) / np.sum(w)))
        if abs(new - tau2) < 1e-12:
            break
        tau2 = new
    w = 1.0 / (v + tau2)
    mu = float(np.sum(w * e) / np.sum(w))
    out[ok] = mu + tau2 / (tau2 + v) * (e - mu)
    unidentified = np.isfinite(est) & ~ok
    if unidentified.any():
        log.info("partial_pool: %d estimate(s) with se > %.1f (or none) replaced by the pooled mean %.3f",
                 int(unidentified.sum()), max_se, mu)
        out[unidentified] = mu
    return out, mu, tau2


def product_elasticities(table: pd.DataFrame, category_elasticity: pd.DataFrame,
                         fits: dict[str, PPMLResult]) -> pd.DataFrame:
    """Return ``product_id, category, elasticity, deviation, deviation_se``: the category's elasticity plus the
    product's own deviation, estimated by one Newton step from the category fit and shrunk towards 0
    (empirical Bayes over all products). Products of an unestimated category get NaN."""
    t = _usable(table)
    cat_e = category_elasticity.set_index(contract.CATEGORY)[ELASTICITY]
    parts = []
    for name, res in fits.items():
        d = t.loc[t[contract.CATEGORY].astype("str") == name]
        d = d.loc[res.kept]
        y, mu = d[pricing_table.UNITS].to_numpy(dtype=float), res.mu
        prod = d[contract.PRODUCT_ID].astype("str").to_numpy()
        x = np.log(d[contract.PRICE].to_numpy(dtype=float))
        frame = pd.DataFrame({"p": prod, "mu": mu, "mux": mu * x})
        s = frame.groupby("p", sort=False)[["mu", "mux"]].transform("sum")
        xw = x - (s["mux"] / s["mu"]).to_numpy()  # within-product, mu-weighted
        agg = pd.DataFrame({"p": prod, "score": (y - mu) * xw, "info": mu * xw * xw}).groupby("p", sort=True).sum()
        info = agg["info"].where(agg["info"] > 1e-9)
        parts.append(pd.DataFrame({contract.PRODUCT_ID: agg.index, contract.CATEGORY: name,
                                   "deviation": (agg["score"] / info).to_numpy(),
                                   "deviation_se": np.sqrt(max(res.dispersion, 1.0) / info).to_numpy()}))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=[contract.PRODUCT_ID, contract.CATEGORY, "deviation", "deviation_se"])
    # shrink towards 0 (the category value), not towards the mean deviation
    dev, se = out["deviation"].to_numpy(dtype=float), out["deviation_se"].to_numpy(dtype=float)
    ok = np.isfinite(dev) & np.isfinite(se)
    tau2 = _tau2_about_zero(dev[ok], se[ok])
    out["deviation"] = np.where(ok, dev * tau2 / (tau2 + np.where(ok, se, 1.0) ** 2), 0.0)
    out[ELASTICITY] = out[contract.CATEGORY].map(cat_e).to_numpy(dtype=float) + out["deviation"].to_numpy()
    all_products = table[[contract.PRODUCT_ID, contract.CATEGORY]].drop_duplicates(contract.PRODUCT_ID).astype({contract.CATEGORY: "str"})
    out = all_products.merge(out.drop(columns=contract.CATEGORY), on=contract.PRODUCT_ID, how="left")
    fallback = out[contract.CATEGORY].map(cat_e).to_numpy(dtype=float)
    out[ELASTICITY] = np.where(out[ELASTICITY].isna(), fallback, out[ELASTICITY].to_numpy(dtype=float))
    out["deviation"] = out["deviation"].fillna(0.0)
    return out.sort_values(contract.PRODUCT_ID, ignore_index=True)[
        [contract.PRODUCT_ID, contract.CATEGORY, ELASTICITY, "deviation", "deviation_se"]]


def _tau2_about_zero(dev: np.ndarray, se: np.ndarray, max_iter: int = 200) -> float:
    """Variance of true deviations around 0 given noisy estimates (method of moments, iterated weights)."""
    if len(dev) < 3:
        return 0.0
    v = se ** 2
    tau2 = max(0.0, float(np.mean(dev ** 2 - v)))
    for _ in range(max_iter):
        w = 1.0 / (v + tau2)
        new = max(0.0, float(np.sum(w * (dev ** 2 - v)) / np.sum(w)))
        if abs(new - tau2) < 1e-12:
            break
        tau2 = new
    return tau2
