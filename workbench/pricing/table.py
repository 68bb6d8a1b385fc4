"""The demand table: one row per product and period (week by default), zero-sales periods included.

Built with vectorised pandas from the shop's ``prices`` table (the shelf price of every period, sold
or not) and its transactions. Without a ``prices`` table the price of a period is the mean price paid
in it, carried forward over periods without sales: such prices are only seen when something sold,
which biases elasticities towards zero (:func:`price_source_note` says so).

Columns (besides the contract's ``product_id``, ``category``, ``price``, ``competitor_price``,
``stock``): ``period`` (period start), ``units`` (units sold, returns excluded), ``in_stock``,
``ref_price`` (the product's median price), the own-price features of :func:`price_features`,
trailing demand (``lag_units``, ``ma_units``, ``pop_units``, ``cat_lag_units``), seasonality
(``season_sin``, ``season_cos``, ``cat_season_units``, ``season_ratio``), ``base_units`` (a
seasonal-naive forecast: the product's trailing level x its category's ratio of the same period last
year to the periods before it, the demand model's starting point), ``interest`` and ``period_index``.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract
from workbench.data.shop import Shop
from workbench.pricing import tiers
from workbench.pricing.tiers import MEAN_PAID

log = logging.getLogger(__name__)

PERIOD = "period"
PERIOD_INDEX = "period_index"
UNITS = "units"
IN_STOCK = "in_stock"
REF_PRICE = "ref_price"
LOG_PRICE = "log_price"
LOG_COMP = "log_comp_price"
REL_PRICE = "rel_price"
PRICE_RATIO = "price_ratio"
PRICE_CHANGE = "price_change"
LAG_UNITS = "lag_units"
MA_UNITS = "ma_units"
POP_UNITS = "pop_units"
CAT_LAG_UNITS = "cat_lag_units"
CAT_SEASON_UNITS = "cat_season_units"
SEASON_RATIO = "season_ratio"
BASE_UNITS = "base_units"
SEASON_SIN = "season_sin"
SEASON_COS = "season_cos"
INTEREST = "interest"

#: features that are functions of the product's own price (the monotone constraint applies to them)
OWN_PRICE_FEATURES = (REL_PRICE, PRICE_RATIO, PRICE_CHANGE)

#: period alias -> pandas Period frequency and periods per year
_PERIODS = {"W": ("W-SUN", 52.18), "M": ("M", 12.0), "MS": ("M", 12.0), "D": ("D", 365.25)}

PRICES_FROM_TABLE = "prices"
PRICES_FROM_TRANSACTIONS = "transactions"


def _freq(period: str) -> tuple[str, float]:
    if period not in _PERIODS:
        raise ValueError(f"period '{period}' is unknown; use one of {sorted(_PERIODS)}")
    return _PERIODS[period]


def period_start(ts: pd.Series, period: str = "W") -> pd.Series:
    """Return the start of the period (Monday of the week, first of the month ...) of each timestamp."""
    freq, _ = _freq(period)
    return pd.to_datetime(ts).dt.to_period(freq).dt.start_time


def price_source(shop: Shop) -> str:
    """Return ``"prices"`` when the shop has a price history table, else ``"transactions"``."""
    return PRICES_FROM_TABLE if shop.prices is not None and len(shop.prices) else PRICES_FROM_TRANSACTIONS


def price_source_note(source: str) -> str:
    """Return the sentence a notebook prints about where prices come from (and the bias when they are inferred)."""
    if source == PRICES_FROM_TABLE:
        return ("Prices come from the shop's price history (`prices` table): every period's shelf price is known, "
                "sold or not, so periods without sales inform the demand curve too.")
    return ("No `prices` table: prices are inferred from transactions (the mean price paid in a period, carried "
            "forward over periods without sales). Prices are only observed when something sold, so the elasticity "
            "estimates are BIASED towards zero by the unseen no-sale periods.")


def _units(transactions: pd.DataFrame, period: str, price_rule: str = MEAN_PAID) -> pd.DataFrame:
    """Units sold (returns excluded) and the price paid per product and period: the mean price paid
    (``mean_paid``) or a list price of :func:`workbench.pricing.tiers.list_prices` (``price_rule``)."""
    keep = (transactions[data_contract.QUANTITY] > 0).to_numpy()
    q = transactions[data_contract.QUANTITY].to_numpy(dtype="float64")[keep]
    # millions of lines, few products and days: factorize both, compute period starts for the distinct days
    # only, and group on integer codes (a groupby on string ids and a to_period over every line dominated)
    prod_codes, prods = pd.factorize(transactions[data_contract.PRODUCT_ID].to_numpy()[keep])
    day = transactions[data_contract.TIMESTAMP].to_numpy()[keep].astype("datetime64[D]")
    day_codes, days = pd.factorize(day)
    starts = period_start(pd.Series(days), period).to_numpy()
    p_codes, p_uniq = pd.factorize(starts[day_codes])
    df = pd.DataFrame({"_p": prod_codes, "_t": p_codes, UNITS: q,
                       "_paid": q * transactions[data_contract.UNIT_PRICE].to_numpy(dtype="float64")[keep]})
    g = df.groupby(["_p", "_t"], sort=False)[[UNITS, "_paid"]].sum().reset_index()
    out = pd.DataFrame({data_contract.PRODUCT_ID: pd.Index(prods)[g["_p"].to_numpy()], PERIOD: p_uniq[g["_t"].to_numpy()],
                        UNITS: g[UNITS].to_numpy(), "_paid": g["_paid"].to_numpy()})
    out = out.sort_values([data_contract.PRODUCT_ID, PERIOD], kind="stable", ignore_index=True)
    out["_paid_price"] = out["_paid"] / out[UNITS]
    if price_rule != MEAN_PAID:
        lp = tiers.list_prices(df["_p"].to_numpy(), df["_t"].to_numpy(), q,
                               transactions[data_contract.UNIT_PRICE].to_numpy(dtype="float64")[keep], price_rule)
        lp = pd.DataFrame({data_contract.PRODUCT_ID: pd.Index(prods)[lp["_p"].to_numpy()], PERIOD: p_uniq[lp["_t"].to_numpy()],
                           "_list": lp["list_price"].to_numpy()})
        out = out.merge(lp, on=[data_contract.PRODUCT_ID, PERIOD], how="left")
        out["_paid_price"] = out["_list"].to_numpy()
        out = out.drop(columns="_list")
    return out.drop(columns="_paid")


def _price_grid(shop: Shop, units: pd.DataFrame, period: str, price_rule: str = MEAN_PAID) -> pd.DataFrame:
    """Product x period rows with price (and competitor price, stock when known)."""
    if price_source(shop) == PRICES_FROM_TABLE:
        pr = shop.prices.copy()
        pr[PERIOD] = period_start(pr[data_contract.DATE], period)
        agg = {data_contract.PRICE: "mean"}
        for col in (data_contract.COMPETITOR_PRICE, data_contract.STOCK):
            if col in pr:
                agg[col] = "mean" if col == data_contract.COMPETITOR_PRICE else "min"
        return pr.groupby([data_contract.PRODUCT_ID, PERIOD], sort=True, observed=True).agg(agg).reset_index()
    log.warning("no prices table: prices inferred from transactions (%s); see pricing.identification for whether "
                "they identify an elasticity", "the mean paid" if price_rule == MEAN_PAID else f"list price: {price_rule}")
    periods = pd.period_range(units[PERIOD].min(), units[PERIOD].max(), freq=_freq(period)[0]).start_time
    grid = pd.MultiIndex.from_product([shop.products[data_contract.PRODUCT_ID].astype("str"), periods],
                                      names=[data_contract.PRODUCT_ID, PERIOD]).to_frame(index=False)
    grid = grid.merge(units[[data_contract.PRODUCT_ID, PERIOD, "_paid_price"]], on=[data_contract.PRODUCT_ID, PERIOD], how="left")
    gp = grid.groupby(data_contract.PRODUCT_ID, sort=False)["_paid_price"]
    filled = gp.ffill().fillna(gp.bfill())
    listed = grid[data_contract.PRODUCT_ID].map(shop.products.set_index(data_contract.PRODUCT_ID)[data_contract.PRICE])
    grid[data_contract.PRICE] = filled.fillna(listed).to_numpy()
    return grid.drop(columns="_paid_price")


def _seasonal_baseline(per_prod: pd.DataFrame, window: int, lag_year: int) -> pd.DataFrame:
    """Per category and period: the trailing mean units per product (``_cat_trail``) and the seasonal ratio
    of the same period one year earlier to its own trailing mean (smoothed; NaN in the first year)."""
    cp = per_prod.sort_values([data_contract.CATEGORY, PERIOD_INDEX], kind="stable").reset_index(drop=True)
    cp["_cat_trail"] = trailing_mean(cp["_cat_u"], cp[data_contract.CATEGORY].astype("str"), window)
    k = 0.5 * float(cp["_cat_u"].mean())
    # the same period last year, averaged with its neighbours (one period either side) against noise
    cp["_cat_u"] = cp.groupby(data_contract.CATEGORY, observed=True, sort=False)["_cat_u"].transform(
        lambda v: v.rolling(3, center=True, min_periods=1).mean())
    ago = cp[[data_contract.CATEGORY, PERIOD_INDEX, "_cat_u", "_cat_trail"]].copy()
    ago[PERIOD_INDEX] = ago[PERIOD_INDEX] + lag_year
    ago[SEASON_RATIO] = (ago["_cat_u"] + k) / (ago["_cat_trail"] + k)
    out = cp[[data_contract.CATEGORY, PERIOD_INDEX, "_cat_trail"]].merge(ago[[data_contract.CATEGORY, PERIOD_INDEX, SEASON_RATIO]],
                                                            on=[data_contract.CATEGORY, PERIOD_INDEX], how="left")
    return out


def trailing_mean(values: pd.Series, groups: pd.Series, window: int) -> pd.Series:
    """Return the mean of the previous ``window`` values within each group (rows sorted by time inside
    groups; NaN for a group's first row), computed with grouped cumulative sums."""
    if window < 1:
        raise ValueError(f"window must be >= 1, not {window}")
    v = values.astype("float64")
    g = v.groupby(groups.to_numpy(), sort=False)
    csum = g.cumsum()
    pos = g.cumcount()
    before = csum - v  # sum of all earlier values of the group
    dropped = csum.groupby(groups.to_numpy(), sort=False).shift(window + 1).fillna(0.0)  # sum up to t - window - 1
    n = np.minimum(pos.to_numpy(), window)
    out = (before - dropped).to_numpy() / np.where(n > 0, n, np.nan)
    return pd.Series(out, index=values.index)


def price_features(table: pd.DataFrame, price=None) -> pd.DataFrame:
    """Return the own-price feature columns (log price, relative price, price ratio, price change) at
    ``price`` (default: the table's ``price``), so a model can be asked about any candidate price."""
    p = table[data_contract.PRICE].to_numpy(dtype=float) if price is None else np.asarray(price, dtype=float)
    out = pd.DataFrame(index=table.index)
    out[LOG_PRICE] = np.log(p)
    out[REL_PRICE] = p / table[REF_PRICE].to_numpy(dtype=float)
    if data_contract.COMPETITOR_PRICE in table:
        out[PRICE_RATIO] = p / table[data_contract.COMPETITOR_PRICE].to_numpy(dtype=float)
    prev = table["_prev_price"].to_numpy(dtype=float) if "_prev_price" in table else np.full(len(table), np.nan)
    out[PRICE_CHANGE] = np.log(p / prev)
    return out


def build_demand_table(shop: Shop, period: str = "W", interest: pd.DataFrame | None = None,
                       ma_window: int = 4, pop_window: int = 13, price_rule: str = MEAN_PAID) -> pd.DataFrame:
    """Return the product x period demand table (zero-sales periods included) with its features.

    ``interest`` is a DataFrame ``product_id, interest`` (see :func:`interest_scores`); without it the
    ``interest`` column is the product's trailing share of units (popularity). Lags use only earlier
    periods, so a row's features are known before the period starts. Without a ``prices`` table the price
    of a period is the mean price paid (``price_rule="mean_paid"``) or a list price that the order size
    does not make (``smallest_quantity`` or ``modal``, see :mod:`workbench.pricing.tiers`).
    """
    freq, per_year = _freq(period)
    units = _units(shop.transactions, period, price_rule)
    t = _price_grid(shop, units, period, price_rule)
    t[data_contract.PRODUCT_ID] = t[data_contract.PRODUCT_ID].astype("str")
    t = t.merge(units[[data_contract.PRODUCT_ID, PERIOD, UNITS]], on=[data_contract.PRODUCT_ID, PERIOD], how="left")
    t[UNITS] = t[UNITS].fillna(0.0)
    cats = shop.products[[data_contract.PRODUCT_ID, data_contract.CATEGORY]].copy()
    cats[data_contract.PRODUCT_ID] = cats[data_contract.PRODUCT_ID].astype("str")
    t = t.merge(cats, on=data_contract.PRODUCT_ID, how="left")
    t[data_contract.CATEGORY] = t[data_contract.CATEGORY].astype("category")
    t = t.sort_values([data_contract.PRODUCT_ID, PERIOD], kind="stable").reset_index(drop=True)

    periods = np.sort(t[PERIOD].unique())
    t[PERIOD_INDEX] = np.searchsorted(periods, t[PERIOD].to_numpy())
    t[IN_STOCK] = (t[data_contract.STOCK] > 0).to_numpy() if data_contract.STOCK in t else True
    t[REF_PRICE] = t.groupby(data_contract.PRODUCT_ID, sort=False)[data_contract.PRICE].transform("median")
    g = t.groupby(data_contract.PRODUCT_ID, sort=False)
    t["_prev_price"] = g[data_contract.PRICE].shift(1)
    t[LAG_UNITS] = g[UNITS].shift(1)
    t[MA_UNITS] = trailing_mean(t[UNITS], t[data_contract.PRODUCT_ID], ma_window)
    t[POP_UNITS] = trailing_mean(t[UNITS], t[data_contract.PRODUCT_ID], pop_window)
    # category demand last period and one year ago (seasonality the model can see before the period)
    cat_units = t.groupby([data_contract.CATEGORY, PERIOD_INDEX], observed=True)[UNITS].sum()
    n_prod_cat = t.groupby([data_contract.CATEGORY, PERIOD_INDEX], observed=True)[UNITS].size()
    per_prod = (cat_units / n_prod_cat).rename("_cat_u").reset_index()
    lag_year = int(round(per_year))
    for name, shift in ((CAT_LAG_UNITS, 1), (CAT_SEASON_UNITS, lag_year)):
        lagged_cat = per_prod.assign(**{PERIOD_INDEX: per_prod[PERIOD_INDEX] + shift}).rename(columns={"_cat_u": name})
        t = t.merge(lagged_cat, on=[data_contract.CATEGORY, PERIOD_INDEX], how="left")
    t = t.merge(_seasonal_baseline(per_prod, pop_window, lag_year), on=[data_contract.CATEGORY, PERIOD_INDEX], how="left")
    # the product's trailing level (shrunk towards its category's) times the category's seasonal ratio
    level = (pop_window * t[POP_UNITS] + 2.0 * t["_cat_trail"]) / (pop_window + 2.0)
    # no sales yet in the product's window nor its category's (a young or small shop): the mean units per row
    level = level.fillna(t["_cat_trail"]).where(lambda v: v > 0, float(t[UNITS].mean()))
    t[BASE_UNITS] = level.to_numpy() * t[SEASON_RATIO].fillna(1.0).to_numpy()
    t = t.drop(columns="_cat_trail")
    start = pd.to_datetime(t[PERIOD])
    phase = 2 * np.pi * (start.dt.day_of_year.to_numpy() / 365.25)
    t[SEASON_SIN], t[SEASON_COS] = np.sin(phase), np.cos(phase)
    t = pd.concat([t, price_features(t)], axis=1)
    if interest is not None:
        t[INTEREST] = t[data_contract.PRODUCT_ID].map(interest.set_index(data_contract.PRODUCT_ID)[INTEREST]).fillna(0.0).to_numpy()
    else:
        tot = t.groupby(PERIOD_INDEX)[POP_UNITS].transform("sum")
        t[INTEREST] = (t[POP_UNITS] / tot.where(tot > 0)).fillna(0.0)
    return t.sort_values([data_contract.PRODUCT_ID, PERIOD], kind="stable").reset_index(drop=True)


def interest_scores(recs: dict[str, pd.DataFrame], customers=None) -> pd.DataFrame | None:
    """Return ``product_id, interest``: the mean over active customers of 1/rank of the product in their
    recommendation list (0 when absent), averaged over the recommenders; ``None`` when there are none.

    ``recs`` maps a recommender's name to its ``customer_id, product_id, rank`` table (the
    ``recs_<model>`` artifacts). Active customers are those with a list (or ``customers`` if given).
    Reciprocal rank makes recommenders with differently scaled scores comparable.
    """
    frames = []
    for name in sorted(recs):
        r = recs[name]
        missing = {data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, "rank"} - set(r.columns)
        if missing:
            raise ValueError(f"recommendations '{name}' lack columns {sorted(missing)}; expected customer_id, "
                             f"product_id, rank, score")
        active = r[data_contract.CUSTOMER_ID] if customers is None else pd.Series(customers)
        n_active = max(int(pd.Series(active).nunique()), 1)
        if customers is not None:
            r = r[r[data_contract.CUSTOMER_ID].isin(set(customers))]
        rr = (1.0 / r["rank"].astype("float64")).groupby(r[data_contract.PRODUCT_ID].astype("str")).sum() / n_active
        frames.append(rr)
    if not frames:
        return None
    out = pd.concat(frames, axis=1).fillna(0.0).mean(axis=1)
    return out.rename(INTEREST).rename_axis(data_contract.PRODUCT_ID).reset_index().sort_values(data_contract.PRODUCT_ID, ignore_index=True)


def final_recommendations(recs: dict[str, pd.DataFrame], test: pd.DataFrame | None, k: int,
                          n_items: int, families: Mapping[str, str]) -> tuple[str | None, pd.DataFrame | None]:
    """Return ``(name, lists)`` of the run's final recommendations: ``hybrid_final`` when the hybrid ran, else
    the leaderboard's best model outside the baselines (scored on ``test``, the split's relevant pairs);
    ``(None, None)`` when there is none. Baselines (popular, random) are never the interest signal.
    ``families`` maps model names to families (the model registry's,
    :func:`workbench.recommend.registry.families`); a model without one is an error naming it."""
    from workbench.evaluate.leaderboard import SHIPPED_MODEL, family, leaderboard

    if SHIPPED_MODEL in recs:
        return SHIPPED_MODEL, recs[SHIPPED_MODEL]
    candidates = {m: r for m, r in recs.items() if family(m, families) != "baseline"}
    if not candidates or test is None or not len(test):
        return None, None
    best = leaderboard(candidates, test, k, max(int(n_items), 1), families=families, baseline=None).best_model
    return best, candidates[best]


def read_recommendations(artifact_dir) -> dict[str, pd.DataFrame]:
    """Return the ``recs_<model>.parquet`` tables in a run's artifact folder by model name (empty when none)."""
    folder = Path(artifact_dir)
    return {p.stem.removeprefix("recs_"): pd.read_parquet(p) for p in sorted(folder.glob("recs_*.parquet"))}


def price_coverage(table: pd.DataFrame) -> float:
    """Return the share of product x period cells present in the demand table (1.0 = every product has a
    price in every period; less means periods without a known price, e.g. months without sales)."""
    n = table[data_contract.PRODUCT_ID].nunique() * (int(table[PERIOD_INDEX].max()) + 1)
    return len(table) / n if n else float("nan")


def coverage_note(coverage: float) -> str:
    """Return the sentence a notebook prints about gaps in the price history."""
    if coverage >= 0.999:
        return "Every product has a price in every period."
    return (f"The price history covers {coverage:.0%} of product x period cells: periods without a known price "
            "(typically periods without sales) are missing, which biases the elasticities towards zero as "
            "transaction prices do.")
