"""Settings that depend on the shop's shape, suggested by ``workbench validate`` from the validated shop.

Each stage's own rule decides (one source for each): the basket support from the itemset counts of
:func:`workbench.recommend.basket.bound_support` and the basket-size distribution, the CLV holdout from
:func:`workbench.segment.clv.auto_holdout_units`, the pricing test periods from
:func:`workbench.pricing.pipeline.auto_test_periods`. Nothing here changes a run: it says what the run will
derive (or what to write down to choose otherwise), as a YAML snippet with the reasons as comments.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.config import stage
from workbench.data import contract
from workbench.data.shop import Shop, transaction_lines

log = logging.getLogger(__name__)

#: basket supports whose itemset counts the suggestion lists (besides the adaptive one and the budget's)
SUPPORT_LADDER = (0.001, 0.002, 0.005, 0.01, 0.02)


@dataclass(frozen=True)
class Suggestion:
    """One setting: its params key, the suggested value, and why."""

    key: str
    value: object
    why: str


def basket_suggestion(lines: pd.DataFrame, params: dict) -> list[Suggestion]:
    """The basket support: the basket-size distribution, the itemsets at the adaptive support and at a ladder of
    supports (counted exactly, not built), and the lowest support within ``basket.max_itemsets``."""
    from workbench.recommend import basket
    from workbench.recommend.itemsets import MAX_LEN, level_counts, min_count

    cfg = stage(params, "basket", basket.DEFAULTS)
    m, baskets, _ = basket.basket_matrix(lines)
    n = len(baskets)
    if n == 0:
        return []
    sizes = np.diff(m.indptr)
    q50, q90, q99 = (int(np.percentile(sizes, q)) for q in (50, 90, 99))
    shape = (f"{n:,} baskets of {q50} products (median), {q90} (90th percentile), {q99} (99th), {int(sizes.max())} "
             f"(largest)")
    requested = basket.resolve_min_support(n, cfg["min_support"], cfg["min_baskets"])
    max_len = min(int(cfg["max_len"]), MAX_LEN) if cfg["max_len"] is not None else MAX_LEN
    counts = np.sort(np.concatenate(level_counts(m, requested, max_len)))[::-1]

    def itemsets_at(support: float) -> int:
        return int((counts >= min_count(n, support)).sum())

    ladder = ", ".join(f"{s:g}: {itemsets_at(s):,}" for s in SUPPORT_LADDER if s > requested)
    budget = cfg["max_itemsets"]
    which = "basket.min_support" if cfg["min_support"] is not None else "the adaptive support (basket.min_baskets)"
    why = (f"{shape}; {which} {requested:.3g} gives {len(counts):,} itemsets"
           + (f"; itemsets at higher supports: {ladder}" if ladder else ""))
    if budget is None or len(counts) <= int(budget):
        return [Suggestion("basket.min_support", cfg["min_support"], why + f"; within basket.max_itemsets ({budget:,})"
                           if budget is not None else why)]
    least = int(counts[int(budget)]) + 1
    fits = round(least / n, 6)
    return [Suggestion("basket.min_support", float(fits),
                       why + f"; basket.max_itemsets ({int(budget):,}) allows support {fits:g} and above "
                             f"({least:,} baskets: {itemsets_at(least / n):,} itemsets); wide baskets multiply the "
                             f"itemsets, so a support of 0.005-0.01 keeps mining to seconds")]


def clv_suggestion(lines: pd.DataFrame, params: dict) -> list[Suggestion]:
    """The CLV holdout: the purchase history's length and what ``holdout_units: auto`` takes from it."""
    from workbench.segment import DEFAULTS, clv, rfm

    cfg = stage(params, "segmentation", DEFAULTS)["clv"]
    if lines[contract.TIMESTAMP].isna().all() or cfg.get("calibration_end") is not None:
        return []
    date = pd.Timestamp(cfg.get("analysis_date") or params.get("segmentation", {}).get("analysis_date")
                        or rfm.default_analysis_date(lines))
    unit = float(cfg["time_unit_days"])
    first = pd.to_datetime(lines[contract.TIMESTAMP]).min().normalize()
    span = (date - pd.Timedelta(days=1) - first).days / unit
    auto = clv.auto_holdout_units(lines, date, unit)
    now = cfg["holdout_units"]
    note = "" if now == "auto" else f"; the params set {now!r}"
    return [Suggestion("segmentation.clv.holdout_units", auto,
                       f"{span:.0f} time units of {unit:g} days of purchases; auto holds out a quarter ({auto}) to "
                       f"check the BG/NBD forecast{note}")]


def pricing_suggestion(lines: pd.DataFrame, params: dict) -> list[Suggestion]:
    """The pricing test periods: the sales periods and what ``test_periods: auto`` takes from them."""
    from workbench.pricing.pipeline import AUTO_TEST_PERIODS, DEFAULTS, auto_test_periods

    cfg = stage(params, "pricing", DEFAULTS)
    ts = pd.to_datetime(lines[contract.TIMESTAMP]).dropna()
    if not len(ts):
        return []
    ts = ts.dt.tz_convert(None) if ts.dt.tz is not None else ts
    n = len(pd.period_range(ts.min(), ts.max(), freq=cfg["period"]))
    auto = auto_test_periods(n)
    now = cfg["test_periods"]
    note = "" if now == "auto" else f"; the params set {now!r}"
    return [Suggestion("pricing.test_periods", auto, f"{n} periods of '{cfg['period']}' with sales; auto tests on a "
                                                     f"quarter, at most {AUTO_TEST_PERIODS} ({auto}){note}")]


def hybrid_suggestion(shop: Shop, params: dict) -> list[Suggestion]:
    """The hybrid's candidates per component against the catalog size."""
    from workbench.recommend.hybrid import DEFAULTS

    cand = int(stage(params, "hybrid", DEFAULTS)["candidates"])
    n = int(shop.products[contract.PRODUCT_ID].nunique())
    value = min(cand, n)
    return [Suggestion("hybrid.candidates", value,
                       f"{n:,} products; each component passes its top {cand} to the blend "
                       f"({min(cand / max(n, 1), 1):.0%} of the catalog); more candidates cost time linearly")]


def suggest_settings(shop: Shop, params: dict) -> list[Suggestion]:
    """Return the shape-dependent settings for ``shop`` (validated) under ``params``."""
    lines = transaction_lines(shop)
    out: list[Suggestion] = []
    if len(lines) and lines[contract.TRANSACTION_ID].notna().any():
        out += basket_suggestion(lines, params)
    if len(lines):
        out += clv_suggestion(lines, params)
        if shop.has_sales:
            out += pricing_suggestion(lines, params)
    out += hybrid_suggestion(shop, params)
    return out


def suggestions_yaml(suggestions: list[Suggestion]) -> str:
    """The suggestions as a params snippet: one ``block:`` per stage, each key with its reason as a comment."""
    lines = ["# settings that depend on this shop's shape (workbench validate); copy what you want to fix"]
    blocks: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        blocks.setdefault(s.key.split(".")[0], []).append(s)
    for block, items in blocks.items():
        lines.append(f"{block}:")
        for s in items:
            path = s.key.split(".")[1:]
            indent = "  "
            for part in path[:-1]:
                lines.append(f"{indent}{part}:")
                indent += "  "
            value = "null" if s.value is None else s.value
            lines.append(f"{indent}{path[-1]}: {value}   # {s.why}")
    return "\n".join(lines)
