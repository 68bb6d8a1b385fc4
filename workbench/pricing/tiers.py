"""Volume tiers in the sales lines: the test, the schedule, and a list price that order size does not make.

A wholesaler sells the same product on the same day at a lower unit price to larger orders. Then the mean
price paid in a period (revenue / units) falls in a week of large orders, whose units are high by
construction, and a demand model reads that as a steep price response. :func:`tier_test` looks for it
within product-day (unit price against line quantity where the product sold at several prices that day),
:func:`tier_schedule` reports the quantity breaks and their discounts, and :func:`list_prices` gives one
price per product and period that the order mix does not move:

* ``smallest_quantity``: the unit price of the period's smallest line(s) (median over them): what the
  smallest buyer paid, i.e. the price before any volume discount. When a period sold only large lines it is
  that tier's price, so a product sold rarely and only in bulk still carries some order-size variation.
* ``modal``: the most frequent unit price of the period's lines (ties: the higher price). Robust to a few
  bulk lines, but a period dominated by bulk lines takes the bulk price.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from workbench.config import settings_from_block
from workbench.data import contract

log = logging.getLogger(__name__)

LIST_PRICE_RULES = ("smallest_quantity", "modal")
MEAN_PAID = "mean_paid"
DAY = "day"


@dataclass(frozen=True)
class TierSettings:
    """When the sales lines count as tiered, and how the schedule is summarised.

    ``min_product_days``: product-days with several unit prices and quantities needed before the test
    speaks (fewer say nothing either way); ``max_median_corr``: the median within product-day correlation
    of log quantity and log unit price must be at or below this, and ``min_share_negative`` of those
    product-days negative (a shop whose prices move for other reasons, e.g. a price change in the middle
    of a day, gives correlations scattered around 0); ``min_lines``: a quantity with fewer lines joins its
    neighbours in the schedule; ``min_step``: a break is a drop of the relative price by at least this.
    """

    min_product_days: int = 30
    max_median_corr: float = -0.5
    min_share_negative: float = 0.7  # share of those product-days whose correlation is negative, at least
    min_lines: int = 30
    min_step: float = 0.02

    @classmethod
    def from_params(cls, params: dict | None) -> "TierSettings":
        """Return settings from the ``pricing.tiers`` params block (unknown keys are an error)."""
        return settings_from_block(cls, params, "pricing.tiers")


def sales_lines(transactions: pd.DataFrame) -> pd.DataFrame:
    """Return the sold lines (quantity > 0, positive unit price): ``product_id, day, quantity, unit_price``."""
    q = transactions[contract.QUANTITY].to_numpy(dtype="float64")
    p = transactions[contract.UNIT_PRICE].to_numpy(dtype="float64")
    keep = (q > 0) & (p > 0)
    return pd.DataFrame({contract.PRODUCT_ID: transactions[contract.PRODUCT_ID].to_numpy()[keep].astype("str"),
                         DAY: transactions[contract.TIMESTAMP].to_numpy()[keep].astype("datetime64[D]"),
                         contract.QUANTITY: q[keep], contract.UNIT_PRICE: p[keep]})


def _group_corr(codes: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per group code: (Pearson correlation of x and y, line count); NaN where either does not vary."""
    n = np.bincount(codes).astype(float)
    sx, sy = np.bincount(codes, weights=x), np.bincount(codes, weights=y)
    sxx, syy, sxy = (np.bincount(codes, weights=v) for v in (x * x, y * y, x * y))
    cxx, cyy, cxy = sxx - sx * sx / n, syy - sy * sy / n, sxy - sx * sy / n
    ok = (cxx > 1e-12) & (cyy > 1e-12)
    corr = np.full(len(n), np.nan)
    corr[ok] = cxy[ok] / np.sqrt(cxx[ok] * cyy[ok])
    return corr, n


def tier_test(lines: pd.DataFrame, settings: TierSettings | None = None) -> dict:
    """Return the tiered-pricing test over product-days: ``product_days`` (with any line), ``product_days_tested``
    (several unit prices and several quantities), ``share_several_prices``, ``median_corr`` (of log quantity and
    log unit price within product-day), ``share_negative``, ``found`` and ``reason``."""
    s = settings or TierSettings()
    codes, _ = pd.factorize(lines[contract.PRODUCT_ID].to_numpy() + "|" + lines[DAY].astype("str").to_numpy())
    lq = np.log(lines[contract.QUANTITY].to_numpy(dtype=float))
    lp = np.log(lines[contract.UNIT_PRICE].to_numpy(dtype=float))
    corr, n = _group_corr(codes, lq, lp)
    n_prices = pd.Series(lp).groupby(codes).nunique().to_numpy()
    tested = np.isfinite(corr)
    out = {"product_days": int(len(n)), "product_days_tested": int(tested.sum()),
           "share_several_prices": float((n_prices > 1).mean()) if len(n) else float("nan"),
           "median_corr": float(np.median(corr[tested])) if tested.any() else None,
           "share_negative": float((corr[tested] < 0).mean()) if tested.any() else None}
    if out["product_days_tested"] < s.min_product_days:
        out.update(found=False, reason=(f"only {out['product_days_tested']} product-days sold at several unit prices and "
                                        f"quantities (pricing.tiers.min_product_days = {s.min_product_days}): one "
                                        f"price per product and day, no volume tiers to see"))
        return out
    found = out["median_corr"] <= s.max_median_corr and out["share_negative"] >= s.min_share_negative
    verb = "falls" if found else "does not fall consistently"
    out.update(found=bool(found), reason=(
        f"within {out['product_days_tested']:,} product-days with several prices the unit price {verb} with the line's "
        f"quantity (median correlation of log quantity and log unit price {out['median_corr']:.2f}, negative in "
        f"{out['share_negative']:.0%}; tiers need <= {s.max_median_corr} and >= {s.min_share_negative:.0%})"))
    return out


def tier_schedule(lines: pd.DataFrame, settings: TierSettings | None = None) -> pd.DataFrame:
    """Return the volume-tier schedule pooled over products: ``quantity_from, quantity_to, relative_price,
    discount, lines, share_lines``. A line's relative price is its unit price over the price of the smallest
    line of the same product and day, over the product-days where a tier applied (several quantities and
    several unit prices; ``lines`` counts those); the schedule is the
    decreasing step function (isotonic regression, weighted by lines) of the median relative price per
    quantity, with steps smaller than ``min_step`` merged. Empty when no product-day has several quantities."""
    s = settings or TierSettings()
    cols = ["quantity_from", "quantity_to", "relative_price", "discount", "lines", "share_lines"]
    key = lines[contract.PRODUCT_ID].to_numpy() + "|" + lines[DAY].astype("str").to_numpy()
    q = lines[contract.QUANTITY].to_numpy(dtype=float)
    codes, _ = pd.factorize(key)
    qmin = pd.Series(q).groupby(codes).transform("min").to_numpy()
    p = lines[contract.UNIT_PRICE].to_numpy(dtype=float)
    several = ((pd.Series(q).groupby(codes).transform("nunique").to_numpy() > 1)
               & (pd.Series(p).groupby(codes).transform("nunique").to_numpy() > 1))
    if not several.any():
        return pd.DataFrame(columns=cols)
    base = pd.Series(np.where(q == qmin, p, np.nan)).groupby(codes).transform("median").to_numpy()
    rel = pd.DataFrame({"q": q[several], "rel": (p / base)[several]})
    per_q = rel.groupby("q", sort=True)["rel"].agg(["median", "size"])
    # quantities with few lines join the nearest smaller quantity with enough (the first ones join upwards)
    big = (per_q["size"] >= s.min_lines).to_numpy()
    if not big.any():
        return pd.DataFrame(columns=cols)
    anchor = pd.Series(np.where(big, per_q.index.to_numpy(), np.nan)).ffill().bfill().to_numpy()
    rel["q_anchor"] = pd.Series(anchor, index=per_q.index).reindex(rel["q"]).to_numpy()
    per_a = rel.groupby("q_anchor", sort=True)["rel"].agg(["median", "size"])
    fit = IsotonicRegression(increasing=False).fit(np.log(per_a.index.to_numpy()), per_a["median"].to_numpy(),
                                                   sample_weight=per_a["size"].to_numpy()).predict(np.log(per_a.index.to_numpy()))
    # merge steps smaller than min_step into the tier before them
    tier, level = np.zeros(len(fit), dtype=int), fit[0]
    for i in range(1, len(fit)):
        if fit[i] <= level - s.min_step:
            tier[i], level = tier[i - 1] + 1, fit[i]
        else:
            tier[i] = tier[i - 1]
    rel["tier"] = pd.Series(tier, index=per_a.index).reindex(rel["q_anchor"]).to_numpy()
    while True:  # the lines' median of a tier must also step down by min_step, else it joins the tier before
        med = rel.groupby("tier", sort=True)["rel"].median()
        flat = np.flatnonzero(np.diff(med.to_numpy()) > -s.min_step)
        if not len(flat):
            break
        rel.loc[rel["tier"] == med.index[flat[0] + 1], "tier"] = med.index[flat[0]]
    out = rel.groupby("tier", sort=True).agg(quantity_from=("q", "min"), quantity_to=("q", "max"),
                                               relative_price=("rel", "median"), lines=("rel", "size"))
    out["discount"] = 1.0 - out["relative_price"] / float(out["relative_price"].iloc[0])
    out["share_lines"] = out["lines"] / float(out["lines"].sum())
    out["quantity_to"] = np.r_[out["quantity_from"].to_numpy()[1:] - 1, out["quantity_to"].to_numpy()[-1]]
    return out.reset_index(drop=True)[cols]


def list_prices(product_codes: np.ndarray, period_codes: np.ndarray, quantity: np.ndarray, unit_price: np.ndarray,
                rule: str = "smallest_quantity") -> pd.DataFrame:
    """Return ``_p, _t, list_price``: one price per (product code, period code) pair by ``rule`` (see the
    module doc: ``smallest_quantity`` or ``modal``)."""
    if rule not in LIST_PRICE_RULES:
        raise ValueError(f"list price rule '{rule}' is unknown; use one of {LIST_PRICE_RULES} (or {MEAN_PAID})")
    df = pd.DataFrame({"_p": product_codes, "_t": period_codes, "q": quantity, "price": unit_price})
    if rule == "smallest_quantity":
        qmin = df.groupby(["_p", "_t"], sort=False)["q"].transform("min")
        out = df.loc[df["q"] == qmin].groupby(["_p", "_t"], sort=False)["price"].median()
    else:
        counts = df.groupby(["_p", "_t", "price"], sort=False).size().rename("n").reset_index()
        counts = counts.sort_values(["_p", "_t", "n", "price"], ascending=[True, True, False, False], kind="stable")
        out = counts.drop_duplicates(["_p", "_t"]).set_index(["_p", "_t"])["price"]
    return out.rename("list_price").reset_index()
