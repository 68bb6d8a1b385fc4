"""Can the data tell how demand answers the own price? Diagnostics before any elasticity is used.

An elasticity is identified by a product's own price moving over time while the rest stays comparable.
Price variation across the lines of one period (volume tiers, customer-specific prices) says nothing about
demand, and prices that move with the season or only in promotions are confounded with demand shocks.

* :func:`variation_sources`: the within-product variance of log unit price over the sales lines, split into
  over time (between the product's periods) and across lines within a period.
* :func:`own_price_changes`: per product, how often the demand table's price moves by ``min_change`` or more.
* :func:`promotion_season`: per category, the share of product-periods at a promotion (``promo_depth`` or
  more below the product's median price) and the correlation of the within-product log price with the
  promotion flag and with the category's demand level (the season).
* :func:`category_verdicts`: per category, identified or not, with the reason.
* :func:`judge_elasticities`: the elasticity each category may use (raw, shrunk towards the pooled
  estimate, or refused) and how much the report trusts it.
* :func:`price_evidence`: per product, the range of prices the data observed it at; a suggestion stays
  inside it (a demand model cannot say what demand does at a price it never saw).

The thresholds live in :class:`IdentificationSettings` (params ``pricing.identification``).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.config import settings_from_block
from workbench.data import contract
from workbench.pricing import table as pricing_table, tiers

log = logging.getLogger(__name__)

TRUST_LEVELS = ("high", "medium", "low", "none")


@dataclass(frozen=True)
class IdentificationSettings:
    """Thresholds of the identification diagnostics and of the elasticity judgement.

    ``min_change``: a period-to-period move of the log price smaller than this is rounding, not a price
    change (2%); ``min_changes``: changes a product needs over its history to inform its elasticity;
    ``min_share_changing`` and ``min_products``: a category is identified when at least this share of its
    products, and at least this many (2: the category x period effects leave no within variation with one),
    have ``min_changes``; ``promo_depth``: a price this far below the
    product's median is a promotion; ``season_corr_warn``: a within-product correlation of price and the
    category's demand level beyond this is reported as seasonal price-setting (the category x period fixed
    effects absorb it, the naive slope does not).

    ``plausible``: the band of believable category elasticities, default [-5, -0.1]. Published retail
    own-price elasticities centre around -2.5 (meta-analysis of 1,851 estimates: mean -2.62, Bijmolt, van
    Heerde & Pieters 2005, J. Marketing Research 42(2)); beyond -5 a 1% rise would lose more than 5% of
    the units, which only near-identical substitutes show, and above -0.1 demand barely answers price at
    all, so a revenue optimiser raises every price to its guardrail. The planted shops span -0.7 to -2.2.
    An estimate outside the band is replaced by the pooled estimate when that one is inside (trust
    ``low``), else refused. ``max_se_high`` / ``max_se_medium``: the standard error up to which an in-band
    estimate is trusted ``high`` (a 95% interval of about +-0.5) / ``medium`` (+-1), beyond it ``low``;
    ``max_se``: an estimate with a larger standard error is not identified by the data and is refused (the
    same bound above which the partial pooling gives such an estimate no weight); ``bound_flag``: the share of a category's priced products whose
    best price sits on a limit (the +-``max_change`` guardrail, or the edge of the prices the product was observed
    at, see ``evidence_range``) from which the category is flagged and gets no suggestions (a limit, not the data,
    would set them; under the revenue objective a constant elasticity puts every optimum on a limit, so a flag
    asks for a check, it does not say the elasticity is wrong);
    ``direction_z``: a product's price is held when its best move points different ways at elasticity +-
    ``direction_z`` standard errors of its category (1.96: a 95% interval; 0 switches the hold off). Under
    the revenue objective and a constant elasticity that is an interval covering -1.

    ``evidence_range``: a suggested price stays inside the range of prices the product was observed at
    (:func:`price_evidence`; False switches it off). The elasticity is a slope measured over the price moves
    the data shows; beyond the product's lowest and highest observed price the constant-elasticity curve is
    extrapolation, not evidence. A price the range stops is reported as such (``evidence_limit``), apart
    from the guardrail: it is a corner solution of its own, not an optimum inside the range.
    """

    min_change: float = 0.02
    min_changes: int = 2
    min_share_changing: float = 0.2
    min_products: int = 2
    promo_depth: float = 0.05
    season_corr_warn: float = 0.3
    plausible: tuple[float, float] = (-5.0, -0.1)
    max_se_high: float = 0.25
    max_se_medium: float = 0.5
    max_se: float = 2.0
    bound_flag: float = 0.9
    direction_z: float = 1.96
    evidence_range: bool = True

    def __post_init__(self):
        lo, hi = (float(v) for v in self.plausible)  # a list from a params file
        if not lo < hi <= 0:
            raise ValueError(f"pricing.identification.plausible must be [low, high] with low < high <= 0, not {self.plausible}")
        object.__setattr__(self, "plausible", (lo, hi))

    @classmethod
    def from_params(cls, params: dict | None) -> "IdentificationSettings":
        """Return settings from a params block (unknown keys are an error)."""
        return settings_from_block(cls, params, "pricing.identification")


def variation_sources(lines: pd.DataFrame, period: str) -> dict:
    """Return ``over_time`` and ``across_lines``: the shares of the within-product variance of log unit price
    (over the sales ``lines`` of :func:`workbench.pricing.tiers.sales_lines`) between the product's periods and
    across the lines of one product-period, and ``lines``; shares are None when no product's price varies."""
    start = pricing_table.period_start(pd.Series(lines[tiers.DAY]), period).to_numpy()
    lp = np.log(lines[contract.UNIT_PRICE].to_numpy(dtype=float))
    prod, _ = pd.factorize(lines[contract.PRODUCT_ID].to_numpy())
    cell, _ = pd.factorize(pd.MultiIndex.from_arrays([prod, start]))
    dev_prod = lp - (np.bincount(prod, weights=lp) / np.bincount(prod))[prod]
    cell_mean = (np.bincount(cell, weights=lp) / np.bincount(cell))[cell]
    total, within = float(np.sum(dev_prod ** 2)), float(np.sum((lp - cell_mean) ** 2))
    if total <= 1e-12:
        return {"over_time": None, "across_lines": None, "lines": int(len(lp))}
    share = within / total if within / total > 1e-9 else 0.0
    return {"over_time": 1.0 - share, "across_lines": share, "lines": int(len(lp))}


def own_price_changes(table: pd.DataFrame, min_change: float = 0.02) -> pd.DataFrame:
    """Return per product ``product_id, category, n_changes, sd_log_price``: the number of periods whose price
    moved by ``min_change`` (log) or more from the period before, and the sd of the log price over time."""
    t = table.sort_values([contract.PRODUCT_ID, pricing_table.PERIOD_INDEX], kind="stable")
    lp = np.log(t[contract.PRICE].to_numpy(dtype=float))
    g = pd.Series(lp, index=t.index).groupby(t[contract.PRODUCT_ID].to_numpy(), sort=True)
    moved = (pd.Series(lp, index=t.index) - g.shift(1)).abs() >= min_change
    out = pd.DataFrame({"n_changes": moved.groupby(t[contract.PRODUCT_ID].to_numpy(), sort=True).sum().astype(int),
                        "sd_log_price": g.std(ddof=0)})
    cat = t.groupby(t[contract.PRODUCT_ID].to_numpy(), sort=True)[contract.CATEGORY].first().astype("str")
    out.insert(0, contract.CATEGORY, cat)
    return out.rename_axis(contract.PRODUCT_ID).reset_index()


def _within_corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or x.std() < 1e-12 or y.std() < 1e-12:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def promotion_season(table: pd.DataFrame, promo_depth: float = 0.05) -> pd.DataFrame:
    """Return per category ``category, promo_share, price_promo_corr, price_season_corr``: the share of
    product-periods priced ``promo_depth`` or more below the product's median price, and the correlation of
    the within-product log price with that promotion flag and with the category's demand level (log of 1 +
    its mean units per product in the period, centred per category)."""
    t = table
    cat = t[contract.CATEGORY].astype("str").to_numpy()
    lp = np.log(t[contract.PRICE].to_numpy(dtype=float))
    within = lp - pd.Series(lp).groupby(t[contract.PRODUCT_ID].to_numpy()).transform("mean").to_numpy()
    promo = (t[contract.PRICE].to_numpy(dtype=float)
             <= (1.0 - promo_depth) * t[pricing_table.REF_PRICE].to_numpy(dtype=float)).astype(float)
    key = pd.MultiIndex.from_arrays([cat, t[pricing_table.PERIOD_INDEX].to_numpy()])
    level = np.log1p(pd.Series(t[pricing_table.UNITS].to_numpy(dtype=float)).groupby(key).transform("mean").to_numpy())
    level = level - pd.Series(level).groupby(cat).transform("mean").to_numpy()
    rows = []
    for name in sorted(set(cat)):
        i = cat == name
        rows.append({contract.CATEGORY: name, "promo_share": float(promo[i].mean()),
                     "price_promo_corr": _within_corr(within[i], promo[i]),
                     "price_season_corr": _within_corr(within[i], level[i])})
    return pd.DataFrame(rows)


def category_verdicts(changes: pd.DataFrame, settings: IdentificationSettings, tiered_price: str | None = None) -> pd.DataFrame:
    """Return per category ``category, n_products, share_changing, median_changes, identified, reason``.

    A category is identified when at least ``min_share_changing`` of its products (and ``min_products``)
    changed their own price ``min_changes`` times or more. ``tiered_price`` names why the price cannot be
    trusted at all (e.g. mean paid price under volume tiers): then no category is identified.
    """
    s = settings
    enough = changes["n_changes"] >= s.min_changes
    g = changes.assign(_enough=enough).groupby(contract.CATEGORY, sort=True)
    out = pd.DataFrame({"n_products": g.size(), "n_changing": g["_enough"].sum().astype(int),
                        "median_changes": g["n_changes"].median()})
    out["share_changing"] = out["n_changing"] / out["n_products"]
    ok = (out["share_changing"] >= s.min_share_changing) & (out["n_changing"] >= s.min_products)
    reasons = []
    for name, r in out.iterrows():
        have = (f"{int(r['n_changing'])} of {int(r['n_products'])} products ({r['share_changing']:.0%}) changed their own "
                f"price {s.min_changes}+ times by {s.min_change:.0%} or more")
        if tiered_price:
            reasons.append(f"not identified: {tiered_price}")
        elif ok[name]:
            reasons.append(f"identified: {have}")
        else:
            need = (f"at least {s.min_share_changing:.0%} of its products" if r["share_changing"] < s.min_share_changing
                    else f"at least {s.min_products} such products")
            reasons.append(f"not identified: {have}; it needs {need} (params pricing.identification), so demand "
                           f"cannot show how it answers the own price")
    out["identified"] = ok.to_numpy() & (not tiered_price)
    out["reason"] = reasons
    return out.reset_index()[[contract.CATEGORY, "n_products", "n_changing", "share_changing", "median_changes",
                              "identified", "reason"]]


def judge_elasticities(estimates: pd.DataFrame, verdicts: pd.DataFrame, pooled: float,
                       settings: IdentificationSettings) -> pd.DataFrame:
    """Return per category ``category, raw, se, used, status, trust, note``: what each category's elasticity
    may be used as. ``estimates`` has ``category, raw, se`` (the chosen method's estimate); ``pooled`` is the
    pooled estimate over categories. Not identified -> refused (``used`` NaN, trust ``none``); outside the
    ``plausible`` band -> the pooled estimate when it is inside the band (``shrunk``, trust ``low``), else
    refused; a standard error above ``max_se`` -> refused; inside -> ``estimated``, trust ``high`` when
    ``se <= max_se_high``, ``medium`` up to ``max_se_medium``, else ``low``."""
    lo, hi = settings.plausible
    df = estimates.merge(verdicts[[contract.CATEGORY, "identified", "reason"]], on=contract.CATEGORY, how="left")
    df["identified"] = df["identified"].fillna(False).astype(bool)
    pooled_ok = np.isfinite(pooled) and lo <= pooled <= hi
    used, status, trust, note = [], [], [], []
    for _, r in df.iterrows():
        raw, se = float(r["raw"]), float(r["se"]) if pd.notna(r["se"]) else float("nan")
        if not r["identified"]:
            used.append(np.nan), status.append("refused"), trust.append("none")
            note.append(str(r["reason"]) if pd.notna(r["reason"]) else "not identified")
        elif not np.isfinite(raw):
            used.append(np.nan), status.append("refused"), trust.append("none")
            note.append("no estimate: too few sales with price changes in this category")
        elif np.isfinite(se) and se > settings.max_se:
            used.append(np.nan), status.append("refused"), trust.append("none")
            note.append(f"not identified by the data: standard error {se:.3g} above {settings.max_se} (params "
                        f"pricing.identification.max_se)")
        elif not lo <= raw <= hi and pooled_ok:
            used.append(pooled), status.append("shrunk"), trust.append("low")
            note.append(f"estimate {raw:.2f} outside the plausible band [{lo}, {hi}] (params "
                        f"pricing.identification.plausible): replaced by the pooled estimate {pooled:.2f}")
        elif not lo <= raw <= hi:
            used.append(np.nan), status.append("refused"), trust.append("none")
            note.append(f"estimate {raw:.2f} outside the plausible band [{lo}, {hi}] and so is the pooled "
                        f"estimate {pooled:.2f}: refused")
        else:
            level = ("high" if se <= settings.max_se_high else "medium" if se <= settings.max_se_medium else "low") \
                if np.isfinite(se) else "medium"
            used.append(raw), status.append("estimated"), trust.append(level)
            note.append(f"identified, inside the plausible band, standard error {se:.2f}" if np.isfinite(se) else
                        "identified, inside the plausible band, no standard error (the model's finite differences)")
    return pd.DataFrame({contract.CATEGORY: df[contract.CATEGORY].to_numpy(), "raw": df["raw"].to_numpy(dtype=float),
                         "se": df["se"].to_numpy(dtype=float), "used": np.asarray(used, dtype=float),
                         "status": status, "trust": trust, "note": note})


def price_evidence(table: pd.DataFrame, observed: np.ndarray | None = None) -> pd.DataFrame:
    """Return per product ``product_id, low_price, high_price, n_observed``: the lowest and highest price of
    the demand ``table`` over the periods whose price was ``observed`` (a boolean per row; None: every row,
    as with a prices table, whose shelf price is known sold or not), and how many periods that is. Without
    a prices table a period's price is only seen when something sold (the others carry a neighbour's price
    forward), so ``observed`` is then ``units > 0``. A product never observed gets NaN (no range: no limit)."""
    keep = np.ones(len(table), dtype=bool) if observed is None else np.asarray(observed, dtype=bool)
    ids = table[contract.PRODUCT_ID].astype("str")
    price = pd.Series(table[contract.PRICE].to_numpy(dtype=float), index=table.index)[keep]
    g = price.groupby(ids[keep].to_numpy(), sort=True)
    out = pd.DataFrame({"low_price": g.min(), "high_price": g.max(), "n_observed": g.size()})
    out = out.reindex(sorted(ids.unique()))
    out["n_observed"] = out["n_observed"].fillna(0).astype(int)
    return out.rename_axis(contract.PRODUCT_ID).reset_index()


def cap_trust(judged: pd.DataFrame, level: str, why: str) -> pd.DataFrame:
    """Return ``judged`` (of :func:`judge_elasticities`) with every trust above ``level`` lowered to it and
    ``why`` added to those rows' note."""
    rank = {t: i for i, t in enumerate(TRUST_LEVELS)}
    out = judged.copy()
    above = out["trust"].map(rank) < rank[level]
    out.loc[above, "trust"] = level
    out.loc[above, "note"] = out.loc[above, "note"] + f"; at most {level} trust: {why}"
    return out
