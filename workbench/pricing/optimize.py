"""Price suggestions: the best candidate price per product and period under guardrails.

For each row (a product in a period, at its current price) the objective (revenue, or margin) is
evaluated over a grid of candidate prices ``current * multiplier``; the suggestion is the best
candidate that passes every guardrail, and ``binding`` names the guardrails that stopped the
unconstrained optimum of the grid. Prices are per product and period, never per customer: nothing
here sees a customer.

Demand over the grid comes from :func:`elasticity_curve` (the model's demand at the current price,
moved along a constant-elasticity curve) or from a fitted model directly (:func:`model_curve`).

Besides the guardrails (business limits), a suggestion can be kept inside the range of prices the data has
seen for the product (``bounds``, see :func:`workbench.pricing.identification.price_evidence`): a demand
model says nothing about prices it never observed. That range is not a guardrail; ``evidence_limit`` marks
the suggestions it stopped, so a price at its edge is counted as a corner solution of its own.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from workbench.data import contract

log = logging.getLogger(__name__)

OBJECTIVES = ("revenue", "margin")
UNIT_COST = "unit_cost"
#: guardrail names, in the order they are reported
GUARDRAILS = ("max_change", "competitor_floor", "competitor_ceiling", "min_margin", "below_cost")


@dataclass(frozen=True)
class Guardrails:
    """Limits on a suggested price.

    ``max_change``: largest relative change from the current price per period (0.10 = +-10%);
    ``competitor_floor`` / ``competitor_ceiling``: price between these multiples of the competitor's price
    (``None`` = no limit; ignored where no competitor price is known); ``min_margin``: (price - cost) /
    price at least this; a price below unit cost is never suggested.
    """

    max_change: float = 0.10
    competitor_floor: float | None = 0.80
    competitor_ceiling: float | None = 1.25
    min_margin: float = 0.05

    def __post_init__(self):
        if not 0 <= self.max_change < 1:
            raise ValueError(f"max_change must be in [0, 1), not {self.max_change}")
        if not 0 <= self.min_margin < 1:
            raise ValueError(f"min_margin must be in [0, 1), not {self.min_margin}")
        lo, hi = self.competitor_floor, self.competitor_ceiling
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"competitor_floor ({lo}) must not exceed competitor_ceiling ({hi})")

    @classmethod
    def from_params(cls, params: dict) -> "Guardrails":
        """Return guardrails from a params block (keys as the fields; missing keys keep their defaults)."""
        known = set(asdict(cls()).keys())
        unknown = set(params) - known
        if unknown:
            raise ValueError(f"unknown guardrail(s) {sorted(unknown)}; use {sorted(known)}")
        return cls(**params)


def unit_costs(products: pd.DataFrame, cost_share: float = 0.6) -> pd.Series:
    """Return unit cost per product id: the products' ``unit_cost`` column when present, else
    ``cost_share`` x the product's list price."""
    if not 0 < cost_share < 1:
        raise ValueError(f"cost_share must be in (0, 1), not {cost_share}")
    ids = products[contract.PRODUCT_ID].astype("str")
    if UNIT_COST in products:
        cost = products[UNIT_COST].astype("float64")
        cost = cost.fillna(products[contract.PRICE].astype("float64") * cost_share)
    else:
        cost = products[contract.PRICE].astype("float64") * cost_share
    return pd.Series(cost.to_numpy(), index=ids.to_numpy(), name=UNIT_COST)


def price_multipliers(max_change: float = 0.10, search: float = 0.30, step: float = 0.01) -> np.ndarray:
    """Return the candidate multipliers of the current price: ``1 +- search`` in ``step``s, always including
    ``1 +- max_change`` and 1 (so the guardrail's edge is a candidate)."""
    n = int(round(search / step))
    grid = 1.0 + step * np.arange(-n, n + 1)
    grid = np.unique(np.round(np.r_[grid, 1.0 - max_change, 1.0 + max_change, 1.0], 10))
    return grid[grid > 0]


def elasticity_curve(base_units, elasticity, multipliers) -> np.ndarray:
    """Return units (rows, grid): ``base_units * multiplier ** elasticity`` (constant elasticity around the current price)."""
    b = np.asarray(base_units, dtype=float)[:, None]
    e = np.asarray(elasticity, dtype=float)[:, None]
    return b * np.asarray(multipliers, dtype=float)[None, :] ** e


def model_curve(model, rows: pd.DataFrame, multipliers) -> np.ndarray:
    """Return units (rows, grid) predicted by a fitted demand model at ``price * multiplier``."""
    p = rows[contract.PRICE].to_numpy(dtype=float)
    return np.column_stack([model.predict_at(rows, p * m) for m in np.asarray(multipliers, dtype=float)])


def violations(rows: pd.DataFrame, prices: np.ndarray, multipliers, cost: np.ndarray,
               guardrails: Guardrails) -> dict[str, np.ndarray]:
    """Return, per guardrail, a (rows, grid) array of how far each candidate price breaks it, relative to the
    price (0 where it holds). ``max_change`` is a hard limit; the others can be unreachable within it."""
    m = np.asarray(multipliers, dtype=float)[None, :]
    c = np.asarray(cost, dtype=float)[:, None]
    out = {"max_change": np.broadcast_to(np.maximum(np.abs(m - 1.0) - guardrails.max_change, 0.0), prices.shape)}
    comp = rows[contract.COMPETITOR_PRICE].to_numpy(dtype=float)[:, None] if contract.COMPETITOR_PRICE in rows else None
    for name, ratio, side in (("competitor_floor", guardrails.competitor_floor, -1),
                              ("competitor_ceiling", guardrails.competitor_ceiling, 1)):
        if ratio is None or comp is None:
            out[name] = np.zeros(prices.shape)
        else:
            gap = (ratio * comp - prices) if side < 0 else (prices - ratio * comp)
            out[name] = np.where(np.isfinite(gap), np.maximum(gap, 0.0), 0.0) / prices
    out["min_margin"] = np.maximum(c / (1.0 - guardrails.min_margin) - prices, 0.0) / prices
    out["below_cost"] = np.maximum(c - prices, 0.0) / prices
    return {k: np.where(v > 1e-9, v, 0.0) for k, v in out.items()}


def suggest_prices(rows: pd.DataFrame, units: np.ndarray, multipliers, cost, guardrails: Guardrails,
                   objective: str = "revenue", bounds: np.ndarray | None = None) -> pd.DataFrame:
    """Return one suggestion per row of ``rows`` (``product_id``, ``price`` = current price, optional
    ``competitor_price``): ``current_price, suggested_price, change, expected_units, expected_revenue,
    expected_margin, current_units, current_revenue, unit_cost, binding, evidence_limit``.

    ``units`` is demand over the grid (rows, len(multipliers)); ``cost`` the unit cost per row. The
    suggestion maximises ``objective`` over the candidates within ``max_change`` that pass every other
    guardrail (ties: the one closest to the current price); ``binding`` lists the guardrails the
    unconstrained optimum of the grid breaks ("" when none binds). When no candidate within
    ``max_change`` passes them all (the current price is far outside the competitor band, or below the
    minimum margin), the candidate that breaks them least is taken and ``binding`` starts with
    ``unreachable:`` followed by the guardrails still broken.

    ``bounds`` (optional, (rows, 2)): the lowest and highest multiplier of the current price the data supports
    per row (NaN: no limit on that side). A candidate outside is never suggested (the current price always is a
    candidate), as if it broke ``max_change``; ``evidence_limit`` is True where the suggestion differs from
    the one the guardrails alone would give, i.e. where the observed range, not a guardrail, stopped the move.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective '{objective}' is unknown; choose one of {OBJECTIVES}")
    m = np.asarray(multipliers, dtype=float)
    units = np.asarray(units, dtype=float)
    if units.shape != (len(rows), len(m)):
        raise ValueError(f"units must have shape (rows, grid) = {(len(rows), len(m))}, not {units.shape}")
    if not np.any(np.isclose(m, 1.0)):
        raise ValueError("multipliers must include 1.0 (the current price)")
    if bounds is not None and len(bounds) != len(rows):
        raise ValueError(f"bounds must have one (low, high) pair per row: {len(rows)} rows, {len(bounds)} pairs")
    cur = rows[contract.PRICE].to_numpy(dtype=float)
    cost = np.asarray(cost, dtype=float)
    prices = cur[:, None] * m[None, :]
    value = prices * units if objective == "revenue" else (prices - cost[:, None]) * units
    viol = violations(rows, prices, m, cost, guardrails)
    soft = sum(v for k, v in viol.items() if k != "max_change")
    # ties -> closest to the current price: a tiny penalty on the distance
    scale = np.maximum(np.abs(value).max(axis=1, keepdims=True), 1e-12)
    score = value - 1e-9 * scale * np.abs(m - 1.0)[None, :]
    best_free = np.argmax(score, axis=1)
    best_guard, least = _best(score, soft, viol["max_change"] == 0)
    if bounds is None:
        best, evidence_limit = best_guard, np.zeros(len(rows), dtype=bool)
    else:
        best, least = _best(score, soft, (viol["max_change"] == 0) & within_bounds(m, bounds))
        evidence_limit = best != best_guard
    r = np.arange(len(rows))
    unreachable = least > 0
    binding = np.full(len(rows), "", dtype=object)
    moved = best != best_free
    for name in GUARDRAILS:  # a handful of guardrails, vectorised over rows
        hit = np.where(unreachable, viol[name][r, best] > 0, moved & (viol[name][r, best_free] > 0))
        binding = np.where(hit, np.where(binding == "", name, binding + "+" + name), binding)
    binding = np.where(unreachable, "unreachable:" + binding.astype(str), binding)
    one = int(np.argmin(np.abs(m - 1.0)))
    sp = prices[r, best]
    q = units[r, best]
    out = pd.DataFrame({
        contract.PRODUCT_ID: rows[contract.PRODUCT_ID].astype("str").to_numpy(),
        "current_price": cur,
        "suggested_price": sp,
        "change": sp / cur - 1.0,
        "expected_units": q,
        "expected_revenue": sp * q,
        "expected_margin": (sp - cost) * q,
        "current_units": units[:, one],
        "current_revenue": cur * units[:, one],
        "unit_cost": cost,
        "binding": binding.astype(str),
        "evidence_limit": evidence_limit,
    }, index=rows.index)
    for col in (contract.COMPETITOR_PRICE, contract.CATEGORY, "period"):
        if col in rows:
            out.insert(1, col, rows[col].to_numpy())
    return out


def within_bounds(multipliers, bounds: np.ndarray) -> np.ndarray:
    """Return (rows, grid): whether each multiplier lies inside the row's ``[low, high]`` ``bounds`` (NaN: no
    limit on that side); 1 (the current price) always does."""
    b = np.asarray(bounds, dtype=float)
    if b.ndim != 2 or b.shape[1] != 2:
        raise ValueError(f"bounds must have shape (rows, 2), not {b.shape}")
    m = np.asarray(multipliers, dtype=float)[None, :]
    low = np.minimum(np.nan_to_num(b[:, :1], nan=-np.inf), 1.0)
    high = np.maximum(np.nan_to_num(b[:, 1:], nan=np.inf), 1.0)
    return (m >= low - 1e-9) & (m <= high + 1e-9)


def _best(score: np.ndarray, soft: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (per row the index of the best allowed candidate, its least violation of the soft guardrails):
    the best among the allowed candidates that pass every soft guardrail, or else break them least."""
    least = np.where(allowed, soft, np.inf).min(axis=1, keepdims=True)
    ok = allowed & (soft <= least + 1e-12)  # fully feasible candidates, or the least-violating ones
    return np.argmax(np.where(ok, score, -np.inf), axis=1), least[:, 0]
