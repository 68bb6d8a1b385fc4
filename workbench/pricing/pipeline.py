"""Notebook 06 in functions: demand table -> demand model -> elasticities -> suggestions -> judgement.

``DEFAULTS`` is the ``pricing`` params block with its defaults. :func:`fit_pricing` does the modelling
on a shop and returns a :class:`PricingFit`; :func:`suggest` prices the rows you give it (by default
the latest period), :func:`backtest` replays the suggestions over the test periods against the planted
truth, and :func:`ab_test` simulates the experiment. Customer demographics are never read.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.shop import Shop
from workbench.pricing import abtest, backtest as pricing_backtest, demand as pricing_demand, elasticity as pricing_elasticity, optimize, table as pricing_table
from workbench.stages import Limits, require, skip_record

log = logging.getLogger(__name__)

DEFAULTS: dict = {
    "period": "W",               # W (weeks), MS (months) or D
    "test_periods": 13,          # last periods held out for validation and the backtest
    "ma_window": 4,              # moving-average baseline and feature
    "pop_window": 13,            # trailing popularity window
    "objective": "revenue",      # revenue or margin
    "cost_share": 0.6,           # unit cost = cost_share x list price when the products have no unit_cost
    "curve": "elasticity",       # demand over the price grid: elasticity (model level x constant elasticity) or model
    "search": 0.30,              # candidate prices: current x (1 +- search) ...
    "step": 0.01,                # ... in steps of this
    "guardrails": {"max_change": 0.10, "competitor_floor": 0.80, "competitor_ceiling": 1.25, "min_margin": 0.05},
    "demand_model": {"objective": "poisson", "n_estimators": 200, "learning_rate": 0.07, "num_leaves": 15,
                     "min_child_samples": 40, "offset": False},
    "elasticity": {"method": "fe", "pool": True, "time_fe": "category", "dml": True, "dml_folds": 2,
                   "dml_estimators": 100, "model_periods": 8},
    "ab": {"n_sims": 200, "alpha": 0.05},
}
METHOD_LABELS = {"naive": "naive log-log (no controls)", "fe": "log-log with controls (PPML, product + category x period FE)",
                 "fe_pooled": "the same, partially pooled (empirical Bayes)", "dml": "double ML (cross-fitted LightGBM)",
                 "model": "LightGBM finite differences"}


@dataclass
class PricingFit:
    """What :func:`fit_pricing` learnt: the table, the split, the demand model and the elasticities."""

    table: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame
    model: pricing_demand.DemandModel
    forecast: pd.DataFrame          # per test row: units and every forecast
    errors: pd.DataFrame            # model, mape (WAPE), rmse on the test periods
    elasticities: pd.DataFrame      # per category, every method side by side
    product_elasticity: pd.DataFrame  # per product: the elasticity the suggestions use
    costs: pd.Series                # unit cost per product id
    config: dict = field(default_factory=dict)
    pooled_mean: float = float("nan")
    pooled_tau2: float = float("nan")
    skipped: dict = field(default_factory=dict)  # part -> reason (e.g. "dml" with too few products)


def check_sales(shop: Shop) -> None:
    """Raise :class:`~workbench.errors.StageSkipped` (``pricing``) unless the shop has sales lines: demand is
    units sold per product and period at a price, which a shop without money (a clickstream) does not have."""
    require(shop.has_sales, "pricing",
            f"pricing learns how the units sold answer the price, and this shop has no sales lines with prices "
            f"(its feedback is {shop.feedback}: a shop without money); the recommenders learn from it, pricing cannot")


def check_pricing_data(table: pd.DataFrame, config: dict, limits: Limits | None = None) -> None:
    """Raise :class:`~workbench.errors.StageSkipped` (``pricing``) unless the demand ``table`` spans the test
    periods plus ``limits.pricing_min_periods`` periods to learn from, something sold in the test periods
    (the forecast is scored on them) and in ``limits.pricing_min_periods`` of the earlier periods (a price
    history can span more periods than the sales), and at least one product was sold at
    ``limits.pricing_min_price_points`` different prices (an elasticity is learnt from price changes)."""
    limits = limits or Limits()
    n_periods = int(table[pricing_table.PERIOD_INDEX].max()) + 1 if len(table) else 0
    test, need = int(config["test_periods"]), int(config["test_periods"]) + limits.pricing_min_periods
    require(n_periods >= need, "pricing",
            f"pricing needs {test} test periods (params pricing.test_periods) plus {limits.pricing_min_periods} "
            f"earlier periods to learn from (params limits.pricing_min_periods), {need} in all; the sales span "
            f"{n_periods} period(s) of '{config['period']}'")
    index, units = table[pricing_table.PERIOD_INDEX].to_numpy(), table[pricing_table.UNITS].to_numpy(dtype="float64")
    sold = np.unique(index[units > 0])
    sold_test, sold_train = int((sold >= n_periods - test).sum()), int((sold < n_periods - test).sum())
    require(sold_test > 0, "pricing",
            f"pricing scores its demand forecast on the last {test} periods (params pricing.test_periods), and "
            f"nothing was sold in them: the sales fall in {len(sold)} of the {n_periods} period(s) of "
            f"'{config['period']}' the price history spans")
    require(sold_train >= limits.pricing_min_periods, "pricing",
            f"pricing learns demand from periods with sales before the {test} test periods, at least "
            f"{limits.pricing_min_periods} of them (params limits.pricing_min_periods); there are {sold_train} "
            f"(sales fall in {len(sold)} of the {n_periods} period(s) of '{config['period']}')")
    levels = table[contract.PRICE].round(2).groupby(table[contract.PRODUCT_ID], observed=True).nunique()
    most = int(levels.max()) if len(levels) else 0
    require(most >= limits.pricing_min_price_points, "pricing",
            f"pricing needs a product sold at {limits.pricing_min_price_points} or more different prices to learn "
            f"how demand answers price (params limits.pricing_min_price_points); every one of the "
            f"{len(levels)} products has at most {most}")


def fit_pricing(shop: Shop, config: dict | None = None, interest: pd.DataFrame | None = None,
                seed: int = 42, limits: Limits | None = None) -> PricingFit:
    """Return the fitted pricing stage for ``shop``: demand table, LightGBM demand model (fitted on the
    periods before the test periods), forecast errors against the naive baselines, and elasticities.

    Raises :class:`~workbench.errors.StageSkipped` when the data cannot support it (:func:`check_sales`,
    :func:`check_pricing_data`).
    """
    check_sales(shop)
    cfg = _merge(DEFAULTS, config or {})
    tab = pricing_table.build_demand_table(shop, cfg["period"], interest, cfg["ma_window"], cfg["pop_window"])
    check_pricing_data(tab, cfg, limits)
    train, test = pricing_demand.time_split(tab, int(cfg["test_periods"]))
    model = pricing_demand.DemandModel(**cfg["demand_model"], random_state=seed).fit(train)
    naive = pricing_demand.naive_forecasts(test)
    forecast = test[[contract.PRODUCT_ID, pricing_table.PERIOD, contract.CATEGORY, pricing_table.UNITS]].copy()
    forecast["model"] = model.predict(test)
    for col in naive:
        forecast[col] = naive[col].to_numpy()
    errors = pricing_demand.forecast_errors(forecast[pricing_table.UNITS], {k: forecast[k].to_numpy() for k in ("model", *naive.columns)})

    ecfg = cfg["elasticity"]
    naive_e = pricing_elasticity.naive_elasticity(tab).rename(columns={pricing_elasticity.ELASTICITY: "naive"})
    fe, fits = pricing_elasticity.fe_elasticity(tab, time_fe=ecfg["time_fe"])
    fe = fe.rename(columns={pricing_elasticity.ELASTICITY: "fe", pricing_elasticity.SE: "fe_se"})
    pooled, mu, tau2 = pricing_elasticity.partial_pool(fe["fe"], fe["fe_se"])
    fe["fe_pooled"] = pooled
    model_prod, model_cat = pricing_elasticity.model_elasticity(model, tab, last_periods=ecfg["model_periods"])
    cats = pd.DataFrame({contract.CATEGORY: sorted(tab[contract.CATEGORY].astype("str").unique())})
    el = cats.merge(naive_e, on=contract.CATEGORY, how="left").merge(
        fe[[contract.CATEGORY, "fe", "fe_se", "fe_pooled", "competitor", "n_rows"]], on=contract.CATEGORY, how="left")
    skipped = {}
    n_products, folds = int(tab[contract.PRODUCT_ID].nunique()), max(int(ecfg["dml_folds"]), 2)
    if ecfg.get("dml", True) and n_products < folds:
        skipped["dml"] = (f"double ML cross-fits its nuisance models over products in {folds} folds (params "
                          f"pricing.elasticity.dml_folds) and needs at least {folds} products; this shop has "
                          f"{n_products}")
        require(ecfg["method"] != "dml", "pricing", skipped["dml"])
        log.warning("pricing: double ML skipped: %s", skipped["dml"])
    elif ecfg.get("dml", True):
        dml = pricing_elasticity.dml_elasticity(tab, n_folds=int(ecfg["dml_folds"]), n_estimators=int(ecfg["dml_estimators"]),
                               seed=seed)
        el = el.merge(dml[[contract.CATEGORY, pricing_elasticity.ELASTICITY, pricing_elasticity.SE]].rename(columns={pricing_elasticity.ELASTICITY: "dml", pricing_elasticity.SE: "dml_se"}),
                      on=contract.CATEGORY, how="left")
    el = el.merge(model_cat.rename(columns={pricing_elasticity.ELASTICITY: "model"}), on=contract.CATEGORY, how="left")
    chosen = _chosen_category(el, ecfg)
    el["used"] = chosen
    prod = _product_elasticity(tab, el, fits, model_prod, ecfg)
    costs = optimize.unit_costs(shop.products, float(cfg["cost_share"]))
    log.info("pricing: %d products x %d periods, test WAPE %.3f (best baseline %.3f)", tab[contract.PRODUCT_ID].nunique(),
             tab[pricing_table.PERIOD_INDEX].max() + 1, errors["mape"].iloc[0], errors["mape"].iloc[1:].min())
    return PricingFit(tab, train, test, model, forecast, errors, el, prod, costs, cfg, mu, tau2, skipped)


def _merge(base: dict, extra: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in extra.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _chosen_category(el: pd.DataFrame, ecfg: dict) -> np.ndarray:
    method = ecfg["method"]
    if method not in ("fe", "dml", "model"):
        raise ValueError(f"elasticity.method '{method}' is unknown; choose fe, dml or model")
    if method == "fe":
        col = "fe_pooled" if ecfg.get("pool", True) else "fe"
    elif method == "dml":
        if "dml" not in el:
            raise ValueError("elasticity.method=dml needs elasticity.dml: true")
        col = "dml"
        if ecfg.get("pool", True):
            el["dml_pooled"] = pricing_elasticity.partial_pool(el["dml"], el["dml_se"])[0]
            col = "dml_pooled"
    else:
        col = "model"
    vals = el[col].to_numpy(dtype=float)
    if np.isnan(vals).any():
        fill = float(np.nanmean(vals)) if np.isfinite(vals).any() else -1.0
        log.warning("no %s elasticity for categories %s: using the mean %.2f", col,
                    el.loc[np.isnan(vals), contract.CATEGORY].tolist(), fill)
        vals = np.where(np.isnan(vals), fill, vals)
    if (vals > 0).any():  # demand never rises with own price: the same assumption as the model's constraint
        log.warning("positive %s elasticity for categories %s set to 0 (demand never rises with own price)", col,
                    el.loc[vals > 0, contract.CATEGORY].tolist())
        vals = np.minimum(vals, 0.0)
    return vals


def _product_elasticity(tab, el, fits, model_prod, ecfg) -> pd.DataFrame:
    used = el[[contract.CATEGORY, "used"]].rename(columns={"used": pricing_elasticity.ELASTICITY})
    if ecfg["method"] == "fe":
        out = pricing_elasticity.product_elasticities(tab, used, fits)
    elif ecfg["method"] == "model":
        out = model_prod[[contract.PRODUCT_ID, contract.CATEGORY, pricing_elasticity.ELASTICITY]].copy()
    else:
        prods = tab[[contract.PRODUCT_ID, contract.CATEGORY]].drop_duplicates(contract.PRODUCT_ID).astype({contract.CATEGORY: "str"})
        out = prods.merge(used, on=contract.CATEGORY, how="left").sort_values(contract.PRODUCT_ID, ignore_index=True)
    out[pricing_elasticity.ELASTICITY] = np.minimum(out[pricing_elasticity.ELASTICITY].to_numpy(dtype=float), 0.0)  # never rising with price
    return out


def demand_over_grid(fit: PricingFit, rows: pd.DataFrame, multipliers: np.ndarray) -> np.ndarray:
    """Return the demand the suggestions believe in, (rows, grid): the configured curve."""
    if fit.config["curve"] == "model":
        return optimize.model_curve(fit.model, rows, multipliers)
    if fit.config["curve"] != "elasticity":
        raise ValueError(f"curve '{fit.config['curve']}' is unknown; use elasticity or model")
    e = rows[contract.PRODUCT_ID].map(fit.product_elasticity.set_index(contract.PRODUCT_ID)[pricing_elasticity.ELASTICITY]).to_numpy(dtype=float)
    return optimize.elasticity_curve(fit.model.predict(rows), e, multipliers)


def latest_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Return each product's latest row of the demand table (the price to change next)."""
    last = table.groupby(contract.PRODUCT_ID, sort=True)[pricing_table.PERIOD_INDEX].transform("max")
    return table.loc[table[pricing_table.PERIOD_INDEX] == last]


def suggest(fit: PricingFit, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return price suggestions for ``rows`` of the demand table (default: every product's latest period)."""
    if rows is None:
        rows = latest_rows(fit.table)
    cfg = fit.config
    guard = optimize.Guardrails.from_params(cfg["guardrails"])
    mult = optimize.price_multipliers(guard.max_change, float(cfg["search"]), float(cfg["step"]))
    cost = rows[contract.PRODUCT_ID].map(fit.costs).to_numpy(dtype=float)
    units = demand_over_grid(fit, rows, mult)
    out = optimize.suggest_prices(rows, units, mult, cost, guard, cfg["objective"])
    out["elasticity"] = rows[contract.PRODUCT_ID].map(fit.product_elasticity.set_index(contract.PRODUCT_ID)[pricing_elasticity.ELASTICITY]).to_numpy()
    return out


def backtest(fit: PricingFit, truth: dict) -> tuple[pd.DataFrame, dict]:
    """Return (per row revenue at current / suggested / oracle prices under the true demand, summary) over
    the test periods; the oracle is the best guardrail-feasible grid price under the TRUE demand curve."""
    rows = fit.test
    sug = suggest(fit, rows)
    cfg = fit.config
    guard = optimize.Guardrails.from_params(cfg["guardrails"])
    mult = optimize.price_multipliers(guard.max_change, float(cfg["search"]), float(cfg["step"]))
    tr = pricing_backtest.truth_rows(truth, rows)
    prices = rows[contract.PRICE].to_numpy(dtype=float)[:, None] * mult[None, :]
    oracle = optimize.suggest_prices(rows, pricing_backtest.true_units_grid(tr, prices), mult, sug["unit_cost"].to_numpy(), guard,
                              cfg["objective"])
    rev = pricing_backtest.revenue_table(sug, oracle, tr)
    rev[contract.CATEGORY] = rows[contract.CATEGORY].astype("str").to_numpy()
    summary = pricing_backtest.regret_summary(rev)
    joint_sug = pricing_backtest.joint_true_units(tr, rev["suggested_price"].to_numpy())
    joint_cur = pricing_backtest.joint_true_units(tr, rev["current_price"].to_numpy())
    summary["joint_uplift_pct"] = 100.0 * (float((joint_sug * rev["suggested_price"]).sum())
                                           / float((joint_cur * rev["current_price"]).sum()) - 1.0)
    summary["share_binding"] = float((sug["binding"] != "").mean())
    return rev, summary


def ab_test(fit: PricingFit, revenue: pd.DataFrame, seed: int = 42) -> dict:
    """Return the simulated A/B test over the test periods (see :func:`workbench.pricing.abtest.simulate_ab`),
    with each product's revenue over the training periods as the CUPED covariate."""
    pre = fit.train
    pre_rev = (pre[pricing_table.UNITS] * pre[contract.PRICE]).groupby(pre[contract.PRODUCT_ID].astype("str")).sum()
    return abtest.simulate_ab(revenue, revenue["current_units"], revenue["suggested_units"], pre_rev,
                              n_sims=int(fit.config["ab"]["n_sims"]), alpha=float(fit.config["ab"]["alpha"]),
                              seed=seed)


def truth_comparison(fit: PricingFit, truth: dict) -> tuple[pd.DataFrame, dict]:
    """Return (per-category estimates next to the planted truth, MAEs per method against the category
    elasticity and against the mean exact product elasticity of the category, and the product-level MAE)."""
    cat_truth = truth["elasticities"].rename(columns={"elasticity": "true_category"})
    pe = truth["product_elasticity"]
    prod_mean = pe.groupby(pe[contract.CATEGORY].astype("str"))["elasticity"].mean().rename("true_product_mean")
    el = fit.elasticities.merge(cat_truth.astype({contract.CATEGORY: "str"}), on=contract.CATEGORY, how="left")
    el = el.merge(prod_mean.reset_index(), on=contract.CATEGORY, how="left")
    mae = {}
    for col in ("naive", "fe", "fe_pooled", "dml", "model", "used"):
        if col in el:
            mae[col] = {"category": float((el[col] - el["true_category"]).abs().mean()),
                        "product_mean": float((el[col] - el["true_product_mean"]).abs().mean())}
    prod = fit.product_elasticity.merge(pe[[contract.PRODUCT_ID, "elasticity", "category_elasticity"]].astype(
        {contract.PRODUCT_ID: "str"}).rename(columns={"elasticity": "true"}), on=contract.PRODUCT_ID, how="inner")
    mae["product"] = {"product": float((prod[pricing_elasticity.ELASTICITY] - prod["true"]).abs().mean()),
                      "category": float((prod[pricing_elasticity.ELASTICITY] - prod["category_elasticity"]).abs().mean())}
    return el, mae


def expected_revenue_test(fit: PricingFit) -> pd.DataFrame:
    """Return per test row the revenue the demand model expects at the current and at the suggested price
    (no truth needed: what a real-data run can show), with ``period`` and ``category``."""
    sug = suggest(fit, fit.test)
    return pd.DataFrame({contract.PRODUCT_ID: sug[contract.PRODUCT_ID], pricing_table.PERIOD: fit.test[pricing_table.PERIOD].to_numpy(),
                         contract.CATEGORY: fit.test[contract.CATEGORY].astype("str").to_numpy(),
                         "current_revenue": sug["current_revenue"], "suggested_revenue": sug["expected_revenue"]})


def revenue_by_period(revenue: pd.DataFrame) -> pd.DataFrame:
    """Return revenue per period: the sum of every ``*_revenue`` column of ``revenue`` by ``period``."""
    cols = [c for c in revenue.columns if c.endswith("_revenue")]
    return revenue.groupby(pricing_table.PERIOD, sort=True)[cols].sum().reset_index()


def demand_curve_table(fit: PricingFit, truth: dict | None = None, products: list[str] | None = None,
                       multipliers=None, n_products: int = 4) -> pd.DataFrame:
    """Return demand curves over the test periods for a few products: ``product_id, category, multiplier,
    price, model, elasticity_curve`` and ``true`` (synthetic only), units summed over the test periods.
    By default the best-selling product of each of the ``n_products`` largest categories."""
    test = fit.test
    if products is None:
        sales = test.groupby([contract.CATEGORY, contract.PRODUCT_ID], observed=True, sort=True)[pricing_table.UNITS].sum().reset_index()
        sales = sales.sort_values([pricing_table.UNITS, contract.PRODUCT_ID], ascending=[False, True], kind="stable")
        top_cats = (sales.groupby(contract.CATEGORY, observed=True)[pricing_table.UNITS].sum().sort_values(ascending=False, kind="stable")
                    .index[:n_products])
        products = [str(sales.loc[sales[contract.CATEGORY] == c, contract.PRODUCT_ID].iloc[0]) for c in top_cats]
    mult = np.round(np.linspace(0.7, 1.3, 13), 4) if multipliers is None else np.asarray(multipliers, dtype=float)
    rows = test.loc[test[contract.PRODUCT_ID].astype("str").isin(products)]
    model_u = optimize.model_curve(fit.model, rows, mult)
    e = rows[contract.PRODUCT_ID].map(fit.product_elasticity.set_index(contract.PRODUCT_ID)[pricing_elasticity.ELASTICITY]).to_numpy(dtype=float)
    el_u = optimize.elasticity_curve(fit.model.predict(rows), e, mult)
    parts = {"model": model_u, "elasticity_curve": el_u}
    if truth is not None:
        tr = pricing_backtest.truth_rows(truth, rows)
        parts["true"] = pricing_backtest.true_units_grid(tr, rows[contract.PRICE].to_numpy(dtype=float)[:, None] * mult[None, :])
    key = rows[contract.PRODUCT_ID].astype("str").to_numpy()
    out = []
    for name, arr in parts.items():
        s = pd.DataFrame(arr, columns=mult).groupby(key, sort=True).sum()
        out.append(s.stack().rename(name))
    df = pd.concat(out, axis=1).rename_axis([contract.PRODUCT_ID, "multiplier"]).reset_index()
    ref = rows.groupby(contract.PRODUCT_ID, sort=True).agg(**{contract.CATEGORY: (contract.CATEGORY, "first"), "_p": (contract.PRICE, "mean")})
    df[contract.CATEGORY] = df[contract.PRODUCT_ID].map(ref[contract.CATEGORY].astype("str")).to_numpy()
    df[contract.PRICE] = df[contract.PRODUCT_ID].map(ref["_p"]).to_numpy() * df["multiplier"].to_numpy()
    return df


def pricing_metrics(fit: PricingFit, suggestions: pd.DataFrame, interest_source: str, price_source: str,
                    backtest_summary: dict | None = None, truth_mae: dict | None = None,
                    ab: dict | None = None) -> dict:
    """Return the ``pricing`` block of metrics.json. Contract keys: ``demand_mape`` (WAPE of the LightGBM
    forecast over the test periods), ``baseline_mape`` (the better naive baseline), ``elasticity_mae``
    (category elasticities used vs the planted category elasticities; None without truth),
    ``revenue_regret_pct`` (vs the oracle, None without truth), ``ab_uplift`` ({estimate, low, high},
    relative revenue uplift as a fraction; None without truth)."""
    err = fit.errors.set_index("model")
    base = err.drop(index="model")
    best = str(base["mape"].idxmin())
    out = {
        "demand_mape": float(err.loc["model", "mape"]),
        "demand_rmse": float(err.loc["model", "rmse"]),
        "baseline_mape": float(base.loc[best, "mape"]),
        "baseline_rmse": float(base.loc[best, "rmse"]),
        "baseline": best,
        "baselines": {k: {"mape": float(r["mape"]), "rmse": float(r["rmse"])} for k, r in base.iterrows()},
        "mape_definition": "WAPE: sum|actual - forecast| / sum(actual) over product x period test rows",
        "n_products": int(fit.table[contract.PRODUCT_ID].nunique()),
        "n_periods": int(fit.table[pricing_table.PERIOD_INDEX].max()) + 1,
        "test_periods": int(fit.config["test_periods"]),
        "period": fit.config["period"],
        "price_source": price_source,
        "interest_source": interest_source,
        "objective": fit.config["objective"],
        "curve": fit.config["curve"],
        "guardrails": dict(fit.config["guardrails"]),
        "elasticity_method": fit.config["elasticity"]["method"]
        + ("_pooled" if fit.config["elasticity"].get("pool", True) and fit.config["elasticity"]["method"] != "model"
           else ""),
        "elasticities": {r[contract.CATEGORY]: float(r["used"]) for _, r in fit.elasticities.iterrows()},
        "suggestions": {
            "n": int(len(suggestions)),
            "mean_change": float(suggestions["change"].mean()),
            "share_up": float((suggestions["change"] > 1e-9).mean()),
            "share_down": float((suggestions["change"] < -1e-9).mean()),
            "share_binding": float((suggestions["binding"] != "").mean()),
        },
        "elasticity_mae": None, "revenue_regret_pct": None, "ab_uplift": None,
        **{part: skip_record(reason) for part, reason in fit.skipped.items()},
    }
    if truth_mae is not None:
        out["elasticity_mae"] = truth_mae["used"]["category"]
        out["elasticity_mae_truth"] = "category"
        out["elasticity_mae_product_mean"] = truth_mae["used"]["product_mean"]
        out["elasticity_mae_products"] = truth_mae["product"]["product"]
        out["elasticity_mae_by_method"] = {k: v for k, v in truth_mae.items() if k not in ("used", "product")}
    if backtest_summary is not None:
        out["revenue_regret_pct"] = backtest_summary["revenue_regret_pct"]
        out["backtest"] = {k: v for k, v in backtest_summary.items() if k != "revenue_regret_pct"}
    if ab is not None:
        out["ab_uplift"] = {"estimate": ab["estimate"], "low": ab["low"], "high": ab["high"]}
        out["ab"] = {k: v for k, v in ab.items() if k not in ("estimate", "low", "high")}
    return out
