"""Notebook 06 in functions: demand table -> demand model -> elasticities -> suggestions -> judgement.

``DEFAULTS`` is the ``pricing`` params block with its defaults. :func:`fit_pricing` does the modelling
on a shop and returns a :class:`PricingFit`; :func:`suggest` prices the rows you give it (by default
the latest period), :func:`backtest` replays the suggestions over the test periods against the planted
truth, and :func:`ab_test` simulates the experiment. Customer demographics are never read.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from workbench.config import merge_block
from workbench.data import contract
from workbench.data.shop import Shop
from workbench.pricing import abtest, backtest as pricing_backtest, demand as pricing_demand, elasticity as pricing_elasticity, optimize, table as pricing_table
from workbench.pricing import identification, tiers
from workbench.stages import Limits, require, skip_record

log = logging.getLogger(__name__)

DEFAULTS: dict = {
    "period": "W",               # W (weeks), MS (months) or D
    "test_periods": "auto",      # last periods held out for validation and the backtest; auto = a quarter of
                                 # the periods, at most AUTO_TEST_PERIODS (the value used is in the metrics)
    "ma_window": 4,              # moving-average baseline and feature
    "pop_window": 13,            # trailing popularity window
    "objective": "revenue",      # revenue or margin
    "cost_share": 0.6,           # unit cost = cost_share x list price when the products have no unit_cost
    "curve": "elasticity",       # demand over the price grid: elasticity (model level x constant elasticity) or model
    "search": 0.30,              # candidate prices: current x (1 +- search) ...
    "step": 0.01,                # ... in steps of this
    "guardrails": {                  # limits on a suggested price (workbench.pricing.optimize.Guardrails)
        "max_change": 0.10,          # largest relative change from the current price per period (+-10%)
        "competitor_floor": 0.80,    # price at least this multiple of the competitor's (None = no limit)
        "competitor_ceiling": 1.25,  # price at most this multiple of the competitor's (None = no limit)
        "min_margin": 0.05,          # (price - cost) / price at least this
    },
    "demand_model": {                # the LightGBM demand model (workbench.pricing.demand.DemandModel)
        "objective": "poisson",      # poisson, tweedie or log (L2 on log1p units)
        "n_estimators": 200,         # boosting rounds
        "learning_rate": 0.07,       # LightGBM learning rate
        "num_leaves": 15,            # leaves per tree
        "min_child_samples": 40,     # rows per leaf at least
        "offset": False,             # start the trees from the seasonal-naive base units (needs > 1 year)
    },
    "elasticity": {
        "method": "fe",              # the estimate used: fe (log-log with fixed effects), dml or model
        "pool": True,                # partially pool the categories' estimates (empirical Bayes)
        "time_fe": "category",       # time fixed effects: category (category x period) or global (period)
        "dml": True,                 # also estimate by double ML (cross-fitted LightGBM)
        "dml_folds": 2,              # double ML's cross-fitting folds (over products)
        "dml_estimators": 100,       # boosting rounds of double ML's nuisance models
        "model_periods": 8,          # last periods the demand model's finite differences are read over
    },
    "ab": {                          # the simulated price A/B test
        "n_sims": 200,               # simulated replications
        "alpha": 0.05,               # the test's significance level
    },
    # without a prices table: auto = the smallest-quantity list price when the lines show volume tiers, else
    # the mean price paid; or one of mean_paid, smallest_quantity, modal (see workbench.pricing.tiers)
    "list_price": "auto",
    "tiers": asdict(tiers.TierSettings()),
    "identification": {k: (list(v) if isinstance(v, tuple) else v)
                       for k, v in asdict(identification.IdentificationSettings()).items()},
}
PRICE_RULES = ("auto", tiers.MEAN_PAID, *tiers.LIST_PRICE_RULES)
#: ``test_periods: auto``: a quarter of the sales periods, at most this many (13 weeks: a quarter year)
AUTO_TEST_PERIODS = 13


def auto_test_periods(n_periods: int) -> int:
    """Return the test periods ``test_periods: auto`` means for ``n_periods`` periods of sales: a quarter of them,
    at least 1, at most :data:`AUTO_TEST_PERIODS`."""
    return int(min(max(n_periods // 4, 1), AUTO_TEST_PERIODS))


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
    price_rule: str = tiers.MEAN_PAID  # how the demand table's price was made without a prices table
    tiers: dict = field(default_factory=dict)  # the tiered-pricing test (tiers.tier_test)
    tier_schedule: pd.DataFrame = field(default_factory=pd.DataFrame)
    identification: dict = field(default_factory=dict)  # variation sources, own-price changes (summary)
    verdicts: pd.DataFrame = field(default_factory=pd.DataFrame)  # per category: identified, reason, promo, season
    judgement: pd.DataFrame = field(default_factory=pd.DataFrame)  # per category: raw, used, status, trust, note
    bound_check: pd.DataFrame = field(default_factory=pd.DataFrame)  # per category: priced, on the guardrail, flagged
    price_range: pd.DataFrame = field(default_factory=pd.DataFrame)  # per product: lowest/highest observed price


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


def settings(block: dict | None) -> dict:
    """Return the ``pricing`` params block over :data:`DEFAULTS` (an unknown key is an error naming it)."""
    cfg = merge_block(DEFAULTS, block, "pricing")
    identification.IdentificationSettings.from_params(cfg["identification"])
    tiers.TierSettings.from_params(cfg["tiers"])
    return cfg


def fit_pricing(shop: Shop, config: dict | None = None, interest: pd.DataFrame | None = None,
                seed: int = 42, limits: Limits | None = None) -> PricingFit:
    """Return the fitted pricing stage for ``shop``: demand table, LightGBM demand model (fitted on the
    periods before the test periods), forecast errors against the naive baselines, and elasticities.

    Raises :class:`~workbench.errors.StageSkipped` when the data cannot support it (:func:`check_sales`,
    :func:`check_pricing_data`).
    """
    check_sales(shop)
    cfg = settings(config)
    icfg = identification.IdentificationSettings.from_params(cfg["identification"])
    tcfg = tiers.TierSettings.from_params(cfg["tiers"])
    lines = tiers.sales_lines(shop.transactions)
    tier = tiers.tier_test(lines, tcfg)
    schedule = tiers.tier_schedule(lines, tcfg) if tier["found"] else pd.DataFrame()
    rule = price_rule(cfg["list_price"], pricing_table.price_source(shop), tier["found"])
    tab = pricing_table.build_demand_table(shop, cfg["period"], interest, cfg["ma_window"], cfg["pop_window"], rule)
    if cfg["test_periods"] == "auto":
        n_periods = int(tab[pricing_table.PERIOD_INDEX].max()) + 1 if len(tab) else 0
        cfg["test_periods"] = auto_test_periods(n_periods)
        log.info("pricing: test_periods not set: %d of %d periods (a quarter, at most %d)", cfg["test_periods"],
                 n_periods, AUTO_TEST_PERIODS)
    check_pricing_data(tab, cfg, limits)
    ident, verdicts = diagnose(tab, lines, cfg["period"], icfg, tier, rule, pricing_table.price_source(shop))
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
    pooled, mu, tau2 = pricing_elasticity.partial_pool(fe["fe"], fe["fe_se"], max_se=icfg.max_se)
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
    raw, se, pooled = _chosen_category(el, ecfg, mu, icfg.max_se)
    judged = identification.judge_elasticities(
        pd.DataFrame({contract.CATEGORY: el[contract.CATEGORY], "raw": raw, "se": se}), verdicts, pooled, icfg)
    if rule in tiers.LIST_PRICE_RULES and pricing_table.price_source(shop) == pricing_table.PRICES_FROM_TRANSACTIONS:
        judged = identification.cap_trust(judged, "medium", f"the price is a list price inferred from tiered lines "
                                                            f"({rule}), itself an estimate")
    el["used"] = judged["used"].to_numpy()
    for row in judged.itertuples():
        if row.status != "estimated":
            log.warning("pricing: category %s %s: %s", row.category, row.status, row.note)
    prod = _product_elasticity(tab, el, fits, model_prod, ecfg, icfg.plausible)
    costs = optimize.unit_costs(shop.products, float(cfg["cost_share"]))
    log.info("pricing: %d products x %d periods, test WAPE %.3f (best baseline %.3f)", tab[contract.PRODUCT_ID].nunique(),
             tab[pricing_table.PERIOD_INDEX].max() + 1, errors["mape"].iloc[0], errors["mape"].iloc[1:].min())
    observed = None if pricing_table.price_source(shop) == pricing_table.PRICES_FROM_TABLE \
        else tab[pricing_table.UNITS].to_numpy(dtype=float) > 0  # without a prices table a price is seen when sold
    fit = PricingFit(tab, train, test, model, forecast, errors, el, prod, costs, cfg, mu, tau2, skipped,
                     rule, tier, schedule, ident, verdicts, judged,
                     price_range=identification.price_evidence(tab, observed))
    fit.bound_check = bound_check(fit)
    for row in fit.bound_check.loc[fit.bound_check["flagged"]].itertuples():
        log.warning("pricing: category %s flagged: %.0f%% of its products' best prices sit on the guardrail",
                    row.category, 100 * row.share_on_bound)
    return fit


def price_rule(setting: str, source: str, tiers_found: bool) -> str:
    """Return how the demand table's price is made: ``setting`` unless ``auto``; ``auto`` takes the
    smallest-quantity list price when the prices come from transactions with volume tiers, else the mean
    price paid (with a prices table the rule is not used: the shelf prices are the prices)."""
    if setting not in PRICE_RULES:
        raise ValueError(f"pricing.list_price '{setting}' is unknown; use one of {PRICE_RULES}")
    if setting != "auto":
        return setting
    return "smallest_quantity" if tiers_found and source == pricing_table.PRICES_FROM_TRANSACTIONS else tiers.MEAN_PAID


def diagnose(tab: pd.DataFrame, lines: pd.DataFrame, period: str, settings: identification.IdentificationSettings,
             tier: dict, rule: str, source: str) -> tuple[dict, pd.DataFrame]:
    """Return (summary, per-category verdicts) of the identification diagnostics on the demand table ``tab`` and
    the sales ``lines`` (see :mod:`workbench.pricing.identification`)."""
    changes = identification.own_price_changes(tab, settings.min_change)
    tiered_price = None
    if tier["found"] and source == pricing_table.PRICES_FROM_TRANSACTIONS and rule == tiers.MEAN_PAID:
        tiered_price = ("the lines show volume tiers and the price is the mean paid (params pricing.list_price = "
                        "mean_paid): a period of large orders has a low price and high units by construction")
    verdicts = identification.category_verdicts(changes, settings, tiered_price)
    verdicts = verdicts.merge(identification.promotion_season(tab, settings.promo_depth), on=contract.CATEGORY, how="left")
    enough = changes["n_changes"] >= settings.min_changes
    summary = {"variation": identification.variation_sources(lines, period),
               "share_products_changing": float(enough.mean()) if len(enough) else None,
               "min_changes": settings.min_changes, "min_change": settings.min_change}
    return summary, verdicts

def _chosen_category(el: pd.DataFrame, ecfg: dict, fe_mean: float, max_se: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Return (estimate, standard error, pooled estimate) of the configured method per category."""
    method = ecfg["method"]
    if method not in ("fe", "dml", "model"):
        raise ValueError(f"elasticity.method '{method}' is unknown; choose fe, dml or model")
    pooled = fe_mean
    if method == "fe":
        col, se_col = ("fe_pooled" if ecfg.get("pool", True) else "fe"), "fe_se"
    elif method == "dml":
        if "dml" not in el:
            raise ValueError("elasticity.method=dml needs elasticity.dml: true")
        col, se_col = "dml", "dml_se"
        if ecfg.get("pool", True):
            el["dml_pooled"], pooled, _ = pricing_elasticity.partial_pool(el["dml"], el["dml_se"], max_se=max_se)
            col = "dml_pooled"
    else:
        col, se_col = "model", None
        pooled = float(np.nanmean(el["model"])) if el["model"].notna().any() else float("nan")
    vals = el[col].to_numpy(dtype=float)
    se = el[se_col].to_numpy(dtype=float) if se_col else np.full(len(el), np.nan)
    return vals, se, float(pooled)


def _product_elasticity(tab, el, fits, model_prod, ecfg, plausible) -> pd.DataFrame:
    used = el[[contract.CATEGORY, "used"]].rename(columns={"used": pricing_elasticity.ELASTICITY})
    if ecfg["method"] == "fe":
        out = pricing_elasticity.product_elasticities(tab, used, fits)
    elif ecfg["method"] == "model":
        out = model_prod[[contract.PRODUCT_ID, contract.CATEGORY, pricing_elasticity.ELASTICITY]].copy()
    else:
        prods = tab[[contract.PRODUCT_ID, contract.CATEGORY]].drop_duplicates(contract.PRODUCT_ID).astype({contract.CATEGORY: "str"})
        out = prods.merge(used, on=contract.CATEGORY, how="left").sort_values(contract.PRODUCT_ID, ignore_index=True)
    # a product value outside the plausible band is not used as it is: its category's value instead
    e = out[pricing_elasticity.ELASTICITY].to_numpy(dtype=float)
    cat_used = out[contract.CATEGORY].astype("str").map(el.set_index(contract.CATEGORY)["used"]).to_numpy(dtype=float)
    outside = np.isfinite(e) & ((e < plausible[0]) | (e > plausible[1]))
    out[pricing_elasticity.ELASTICITY] = np.where(outside | np.isnan(cat_used), cat_used, e)
    return out


def demand_over_grid(fit: PricingFit, rows: pd.DataFrame, multipliers: np.ndarray) -> np.ndarray:
    """Return the demand the suggestions believe in, (rows, grid): the configured curve."""
    if fit.config["curve"] == "model":
        return optimize.model_curve(fit.model, rows, multipliers)
    if fit.config["curve"] != "elasticity":
        raise ValueError(f"curve '{fit.config['curve']}' is unknown; use elasticity or model")
    e = rows[contract.PRODUCT_ID].map(fit.product_elasticity.set_index(contract.PRODUCT_ID)[pricing_elasticity.ELASTICITY]).to_numpy(dtype=float)
    # a refused category has no elasticity: a flat curve here, and suggest() keeps its current price
    return optimize.elasticity_curve(fit.model.predict(rows), np.nan_to_num(e, nan=0.0), multipliers)


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
    out = optimize.suggest_prices(rows, units, mult, cost, guard, cfg["objective"], evidence_bounds(fit, rows))
    out["elasticity"] = rows[contract.PRODUCT_ID].map(fit.product_elasticity.set_index(contract.PRODUCT_ID)[pricing_elasticity.ELASTICITY]).to_numpy()
    held = _uncertain_direction(fit, rows, out, mult, cost, guard)
    return _keep_current(fit, rows, out, held, guard.max_change)


def evidence_bounds(fit: PricingFit, rows: pd.DataFrame) -> np.ndarray | None:
    """Return per row the (lowest, highest) multiplier of its current price inside the range of prices its
    product was observed at (``fit.price_range``; NaN where the product was never observed), or None when
    ``pricing.identification.evidence_range`` is off."""
    if not fit.config["identification"].get("evidence_range", True) or fit.price_range.empty:
        return None
    rng = fit.price_range.set_index(contract.PRODUCT_ID)
    ids = rows[contract.PRODUCT_ID].astype("str")
    cur = rows[contract.PRICE].to_numpy(dtype=float)
    return np.column_stack([ids.map(rng["low_price"]).to_numpy(dtype=float) / cur,
                            ids.map(rng["high_price"]).to_numpy(dtype=float) / cur])


def _uncertain_direction(fit: PricingFit, rows: pd.DataFrame, out: pd.DataFrame, mult: np.ndarray, cost: np.ndarray,
                         guard: optimize.Guardrails) -> np.ndarray:
    """Return the rows whose best move points different ways at the two ends of the elasticity's interval
    (elasticity +- ``direction_z`` x its category's standard error): the data cannot tell whether a rise or a
    cut earns more, so the price is held. Only for the elasticity curve, and only where a standard error is known."""
    z = float(fit.config["identification"].get("direction_z", 0.0))
    if z <= 0 or fit.config["curve"] != "elasticity" or fit.judgement.empty:
        return np.zeros(len(rows), dtype=bool)
    se = rows[contract.CATEGORY].astype("str").map(fit.judgement.set_index(contract.CATEGORY)["se"]).to_numpy(dtype=float)
    e = out["elasticity"].to_numpy(dtype=float)
    known = np.isfinite(se) & np.isfinite(e)
    if not known.any():
        return np.zeros(len(rows), dtype=bool)
    base = fit.model.predict(rows)
    moves = []
    for sign in (-1.0, 1.0):
        e_end = np.clip(np.where(known, e + sign * z * np.nan_to_num(se), 0.0), -50.0, 0.0)
        units = optimize.elasticity_curve(base, e_end, mult)
        moves.append(np.sign(optimize.suggest_prices(rows, units, mult, cost, guard, fit.config["objective"])["change"].to_numpy()))
    return known & (moves[0] != moves[1])


def _keep_current(fit: PricingFit, rows: pd.DataFrame, out: pd.DataFrame, held: np.ndarray,
                  max_change: float) -> pd.DataFrame:
    """Keep the current price of the rows whose category's elasticity was refused, of the rows whose category
    is flagged (``fit.bound_check``: the guardrail, not the data, sets its prices) and of the ``held`` rows:
    ``status`` says ``suggested``, ``held``, ``flagged`` or ``refused``, ``reason`` why, ``trust`` the
    category's trust in its elasticity."""
    cats = rows[contract.CATEGORY].astype("str")
    if fit.judgement.empty:
        out["status"], out["reason"], out["trust"] = "suggested", "", ""
        return out
    j = fit.judgement.set_index(contract.CATEGORY)
    refused = cats.map(j["status"]).eq("refused").to_numpy()
    flag_reason = cats.map(flag_reasons(fit, max_change)).astype(object).fillna("").to_numpy()
    flagged = (flag_reason != "") & ~refused
    held = held & ~refused & ~flagged
    keep = refused | flagged | held
    one = out["current_units"].to_numpy()
    for col, val in (("suggested_price", out["current_price"].to_numpy()), ("change", 0.0),
                     ("expected_units", one), ("expected_revenue", out["current_revenue"].to_numpy()),
                     ("expected_margin", (out["current_price"] - out["unit_cost"]).to_numpy() * one), ("binding", ""),
                     ("evidence_limit", False)):
        out[col] = np.where(keep, val, out[col].to_numpy())
    out["change"] = out["change"].astype(float)
    out["evidence_limit"] = out["evidence_limit"].astype(bool)
    out["status"] = np.select([refused, flagged, held], ["refused", "flagged", "held"], "suggested")
    z = float(fit.config["identification"].get("direction_z", 0.0))
    out["reason"] = np.select([refused, flagged, held, out["evidence_limit"].to_numpy()],
                              [cats.map(j["note"]).fillna("").to_numpy(), flag_reason,
                               f"the elasticity's interval (+-{z:g} standard errors) allows both a rise "
                               f"and a cut as the better move: price held", evidence_reasons(fit, rows, out)], "")
    out["trust"] = cats.map(j["trust"]).fillna("").to_numpy()
    return out


def evidence_reasons(fit: PricingFit, rows: pd.DataFrame, out: pd.DataFrame) -> np.ndarray:
    """Return per row, in words, how the range of prices the product was observed at limits its suggestion
    (meant for the rows whose ``evidence_limit`` is set)."""
    if fit.price_range.empty:
        return np.full(len(rows), "", dtype=object)
    rng = fit.price_range.set_index(contract.PRODUCT_ID)
    ids = rows[contract.PRODUCT_ID].astype("str")
    low, high = ids.map(rng["low_price"]).to_numpy(dtype=float), ids.map(rng["high_price"]).to_numpy(dtype=float)
    cur, change = out["current_price"].to_numpy(dtype=float), out["change"].to_numpy(dtype=float)
    reasons = []
    for lo, hi, c, ch in zip(low, high, cur, change):
        seen = f"observed prices {lo:.2f} to {hi:.2f}"
        if abs(ch) > 1e-9:
            reasons.append(f"the best price under the elasticity lies beyond the prices this product was observed at "
                           f"({seen}): moved only to the edge of that range (the edge of the evidence, not an "
                           f"optimum inside it)")
        else:
            side = ("only ever at its current price" if hi - lo <= 1e-9 * max(c, 1.0) else
                    "never below its current price" if lo >= c * (1 - 1e-9) else "never above its current price")
            reasons.append(f"the elasticity points to a move this product was never observed at ({seen}: {side}), "
                           f"so the data cannot say what it does: current price kept")
    return np.asarray(reasons, dtype=object)


def bound_check(fit: PricingFit) -> pd.DataFrame:
    """Return per category ``category, n_priced, n_on_bound, share_on_bound, n_on_evidence, share_on_limit,
    flagged``: of its products priced at their latest period (suggested or held; not refused), how many best
    prices sit on the +-max_change guardrail, how many the range of observed prices stopped (at its edge, or
    kept), the share on either limit, and whether that share reaches ``pricing.identification.bound_flag``.
    A flagged category gets no suggestions (:func:`suggest` keeps its prices): a limit, not the data, would
    set them (the edge of the observed prices is a corner solution as much as the guardrail is)."""
    icfg = identification.IdentificationSettings.from_params(fit.config["identification"])
    max_change = float(optimize.Guardrails.from_params(fit.config["guardrails"]).max_change)
    sug = suggest(replace(fit, bound_check=pd.DataFrame()))
    priced = sug["status"].isin(["suggested", "held"])
    per = pd.DataFrame({"n_priced": priced, "n_on_bound": priced & on_bound(sug, max_change),
                        "n_on_evidence": priced & sug["evidence_limit"].to_numpy(dtype=bool)}).groupby(
        sug[contract.CATEGORY].astype("str").to_numpy(), sort=True).sum().astype(int)
    n = per["n_priced"].where(per["n_priced"] > 0)
    per["share_on_bound"] = per["n_on_bound"] / n
    per["share_on_limit"] = (per["n_on_bound"] + per["n_on_evidence"]) / n  # disjoint: the range stops short of it
    per["flagged"] = per["share_on_limit"].fillna(0.0) >= icfg.bound_flag
    per = per[["n_priced", "n_on_bound", "share_on_bound", "n_on_evidence", "share_on_limit", "flagged"]]
    return per.rename_axis(contract.CATEGORY).reset_index()


def flag_reasons(fit: PricingFit, max_change: float) -> pd.Series:
    """Return per flagged category (index) the reason its products get no suggestion, in words."""
    if fit.bound_check.empty:
        return pd.Series(dtype=object)
    flagged = fit.bound_check.loc[fit.bound_check["flagged"]].set_index(contract.CATEGORY)
    used = fit.elasticities.set_index(contract.CATEGORY)["used"]
    bf = identification.IdentificationSettings.from_params(fit.config["identification"]).bound_flag
    if fit.config["objective"] == "revenue" and fit.config["curve"] == "elasticity":
        why = ("under the revenue objective a constant elasticity always puts the optimum on a limit (below -1 "
               "the largest cut allowed earns most, above -1 the largest rise), so for any elasticity but -1")
    else:
        why = "the estimated demand curve has no optimum inside the limits, so"
    return pd.Series({c: (f"flagged: the model's best price sits on a limit for {r.share_on_limit:.0%} of this "
                          f"category's products (params pricing.identification.bound_flag {bf:.0%}): on or beyond "
                          f"the +-{max_change:.0%} guardrail for {r.share_on_bound:.0%}, at the edge of the prices "
                          f"the product was observed at for {r.share_on_limit - r.share_on_bound:.0%}; {why} the "
                          f"limit and not the data sets the price: current price kept. Before acting, check the category's elasticity ({used.get(c, np.nan):.2f}) against "
                          f"past price changes or a price test, check that the price the model sees is the shelf "
                          f"price, and test a small change on a few products before moving them all")
                      for c, r in flagged.iterrows()}, dtype=object)


def on_bound(suggestions: pd.DataFrame, max_change: float) -> np.ndarray:
    """Return whether each suggested price sits on the +-``max_change`` guardrail (held and refused rows do not)."""
    return np.abs(suggestions["change"].to_numpy(dtype=float)) >= max_change - 1e-9


def trust_table(fit: PricingFit, suggestions: pd.DataFrame) -> pd.DataFrame:
    """Return per category what the report says about its elasticity and suggestions: the verdict and its
    reason, the estimate (``raw``) and what is used, ``status``, ``trust``, ``note``, the promotion and season
    diagnostics, ``n_suggested`` (products priced: moved or held), ``n_held`` (held: direction uncertain),
    ``n_flagged`` (kept at their price because the category is flagged), ``share_on_bound`` (of its priced
    products, the share whose best price sits on the +-max_change guardrail, before the flag: the evidence for
    it), ``share_on_limit`` (the same on the guardrail or at the edge of the observed prices: what the flag
    reads), ``n_on_evidence`` and ``share_on_evidence`` (of its priced products after the flag, those whose move
    the range of prices the product was observed at stopped: at its edge, or kept when the range ends there)
    and ``flag`` (why the category is flagged, "" when it is not; see :func:`bound_check`)."""
    max_change = float(optimize.Guardrails.from_params(fit.config["guardrails"]).max_change)
    status = suggestions.get("status", pd.Series("suggested", index=suggestions.index))
    evidence = suggestions.get("evidence_limit", pd.Series(False, index=suggestions.index)).astype(bool)
    per = pd.DataFrame({"n_suggested": status.isin(["suggested", "held"]), "n_held": status.eq("held"),
                        "n_flagged": status.eq("flagged"), "n_on_evidence": evidence}).groupby(
        suggestions[contract.CATEGORY].astype("str").to_numpy(), sort=True).sum()
    out = fit.judgement.merge(fit.verdicts.drop(columns="reason"), on=contract.CATEGORY, how="left")
    out = out.merge(per.rename_axis(contract.CATEGORY).reset_index(), on=contract.CATEGORY, how="left")
    cols = ["n_suggested", "n_held", "n_flagged", "n_on_evidence"]
    out[cols] = out[cols].fillna(0).astype(int)
    out["share_on_evidence"] = out["n_on_evidence"] / out["n_suggested"].where(out["n_suggested"] > 0)
    check = fit.bound_check if not fit.bound_check.empty else bound_check(fit)
    out = out.merge(check[[contract.CATEGORY, "share_on_bound", "share_on_limit"]], on=contract.CATEGORY, how="left")
    out["flag"] = out[contract.CATEGORY].map(flag_reasons(fit, max_change)).astype(object).fillna("").astype(str)
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
        "elasticities": {r[contract.CATEGORY]: _num(r["used"]) for _, r in fit.elasticities.iterrows()},
        "suggestions": {
            "n": int(len(suggestions)),
            "mean_change": float(suggestions["change"].mean()),
            "share_up": float((suggestions["change"] > 1e-9).mean()),
            "share_down": float((suggestions["change"] < -1e-9).mean()),
            "share_binding": float((suggestions["binding"] != "").mean()),
            "n_refused": int((suggestions["status"] == "refused").sum()) if "status" in suggestions else 0,
            "n_held": int((suggestions["status"] == "held").sum()) if "status" in suggestions else 0,
            "n_flagged": int((suggestions["status"] == "flagged").sum()) if "status" in suggestions else 0,
        },
        "identification": identification_metrics(fit, suggestions),
        "elasticity_mae": None, "revenue_regret_pct": None, "ab_uplift": None,
        **{part: skip_record(reason) for part, reason in fit.skipped.items()},
    }
    if truth_mae is not None:
        out["elasticity_mae"] = _num(truth_mae["used"]["category"])
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


def _num(x) -> float | None:
    """A float, or None for NaN (metrics.json has no NaN)."""
    x = float(x)
    return x if np.isfinite(x) else None


def identification_metrics(fit: PricingFit, suggestions: pd.DataFrame) -> dict:
    """Return the ``pricing.identification`` block of metrics.json: the tier test and schedule, the price rule,
    where the price variation comes from, the share of products with enough own-price changes, per category
    the verdict, trust, diagnostics and suggestions on the guardrail, and the run's red flags.

    ``share_suggestions_on_bound`` counts real suggestions only: of the ``n_suggestions`` products priced
    (moved or held; not refused, not flagged), the share on the +-max_change guardrail;
    ``share_moved_on_bound`` the same over the prices that move; ``n_flagged`` and ``flagged_categories``
    the products and categories kept at their price because their best prices sit on the guardrail.

    The range of prices each product was observed at (``pricing.identification.evidence_range``) is a limit
    apart from the guardrail and counted apart: ``n_on_evidence`` / ``share_suggestions_on_evidence`` the real
    suggestions it stopped (moved to its edge: ``n_moved_to_evidence``; kept at the current price because the
    range ends there: ``n_kept_by_evidence``), ``share_suggestions_on_limit`` those on the guardrail or on that
    edge, and ``share_moved_on_limit`` the same over the prices that move: a corner solution either way, the
    elasticity giving the direction and a limit the step."""
    icfg = identification.IdentificationSettings.from_params(fit.config["identification"])
    max_change = float(optimize.Guardrails.from_params(fit.config["guardrails"]).max_change)
    table = trust_table(fit, suggestions)
    cats = {}
    for r in table.itertuples(index=False):
        cats[r.category] = {"identified": bool(r.identified), "status": r.status, "trust": r.trust, "reason": r.note,
                            "elasticity_raw": _num(r.raw), "elasticity_used": _num(r.used), "se": _num(r.se),
                            "share_products_changing": _num(r.share_changing), "promo_share": _num(r.promo_share),
                            "price_promo_corr": _num(r.price_promo_corr), "price_season_corr": _num(r.price_season_corr),
                            "n_suggested": int(r.n_suggested), "n_held": int(r.n_held), "n_flagged": int(r.n_flagged),
                            "share_on_bound": _num(r.share_on_bound),
                            "n_on_evidence": int(r.n_on_evidence), "share_on_evidence": _num(r.share_on_evidence),
                            "share_on_limit": _num(r.share_on_limit),
                            "flag": r.flag}
    status = suggestions.get("status", pd.Series("suggested", index=suggestions.index))
    bound = on_bound(suggestions, max_change)  # held, flagged and refused prices do not move: never on it
    n_sug, n_moved = int(status.isin(["suggested", "held"]).sum()), int((suggestions["change"].abs() > 1e-9).sum())
    share = float(bound.sum() / n_sug) if n_sug else None
    moved = suggestions["change"].abs().to_numpy(dtype=float) > 1e-9
    evidence = suggestions.get("evidence_limit", pd.Series(False, index=suggestions.index)).to_numpy(dtype=bool)
    limit = bound | evidence
    flagged = [c for c, v in cats.items() if v["n_flagged"] > 0]
    flags = []
    if flagged:
        flags.append(f"no suggestion for {len(flagged)} categor{'y' if len(flagged) == 1 else 'ies'} "
                     f"({', '.join(flagged)}; {int(status.eq('flagged').sum())} products keep their price): nearly all "
                     f"their best prices sit on a limit (the +-{max_change:.0%} guardrail or the edge of the prices the "
                     f"product was observed at), so the limit and not the data would set them")
    on_limit = float(limit.sum() / n_sug) if n_sug else None
    if on_limit is not None and on_limit >= icfg.bound_flag:
        flags.append(f"{on_limit:.0%} of the suggested prices sit on a limit: {share:.0%} on the +-{max_change:.0%} "
                     f"guardrail, {on_limit - share:.0%} at the edge of the prices the product was observed at")
    refused = [c for c, v in cats.items() if v["status"] == "refused"]
    schedule = [{k: _num(v) if k != "lines" else int(v) for k, v in row.items()}
                for row in fit.tier_schedule.to_dict("records")] if not fit.tier_schedule.empty else []
    return {"tiers": {**fit.tiers, "schedule": schedule}, "price_rule": fit.price_rule,
            **fit.identification, "plausible": list(icfg.plausible),
            "share_suggestions_on_bound": share, "n_suggestions": n_sug,
            "share_moved_on_bound": float(bound.sum() / n_moved) if n_moved else None,
            "evidence_range": bool(icfg.evidence_range), "n_on_evidence": int(evidence.sum()),
            "n_moved_to_evidence": int((evidence & moved).sum()), "n_kept_by_evidence": int((evidence & ~moved).sum()),
            "share_suggestions_on_evidence": float(evidence.sum() / n_sug) if n_sug else None,
            "share_suggestions_on_limit": on_limit,
            "share_moved_on_limit": float((limit & moved).sum() / n_moved) if n_moved else None,
            "n_flagged": int(status.eq("flagged").sum()), "flagged_categories": flagged,
            "red_flags": flags, "refused_categories": refused, "categories": cats}
