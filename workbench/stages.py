"""What a stage needs from the data before it can work, and how a stage that cannot work steps aside.

A stage's entry point checks its needs with :func:`require` and raises
:class:`~workbench.errors.StageSkipped` with a reason in the user's terms. The notebook records
``{"skipped": "<reason>"}`` under the stage's ``metrics.json`` key (see :meth:`workbench.context.Context.skippable`),
says so, and the run goes on; the report lists the skipped stages first (:func:`skipped_stages`).

The thresholds are the ``limits:`` block of a params file (defaults in :class:`Limits`)::

    limits:
      rfm_min_buyers: 5            # RFM quintile scores: customers with a purchase (at least 5, one per score)
      clv_min_repeat_buyers: 2     # BG/NBD: customers who bought on two or more days (in the calibration period)
      clv_min_purchase_days: 2     # BG/NBD: distinct days with a purchase in the calibration period
      rules_min_baskets: 2         # association rules: baskets (invoices) with two or more products
      recommenders_min_test_customers: 1  # ranking evaluation: customers with a test basket
      hybrid_min_test_customers: 1  # hybrid and ablation: customers with a test basket
      pricing_min_price_points: 2  # pricing: distinct prices of at least one product
      pricing_min_periods: 4       # pricing: periods (weeks) of sales history before the test periods (spanned and with sales)
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Iterator

from workbench.errors import ConfigError, StageSkipped

#: params key of the thresholds block
LIMITS_KEY = "limits"
#: the key a skipped stage records its reason under
SKIPPED = "skipped"


@dataclass(frozen=True)
class Limits:
    """The least data each stage needs (params ``limits:``); below it the stage is skipped with a reason."""

    rfm_min_buyers: int = 5                   # customers with a purchase (RFM quintiles; at least 5)
    clv_min_repeat_buyers: int = 2            # customers who bought again on a later day (segmentation.clv)
    clv_min_purchase_days: int = 2            # distinct purchase days in the CLV calibration period
    rules_min_baskets: int = 2                # baskets with two or more products (association rules)
    recommenders_min_test_customers: int = 1  # customers with a test basket (ranking evaluation)
    hybrid_min_test_customers: int = 1        # customers with a test or validation basket (hybrid and ablation)
    pricing_min_price_points: int = 2         # some product sold at this many different prices (pricing)
    pricing_min_periods: int = 4              # periods of sales history before the test periods (pricing)

    @classmethod
    def from_params(cls, params: dict | None) -> "Limits":
        """The ``limits`` block of ``params`` over the defaults; unknown keys raise :class:`ConfigError`."""
        block = (params or {}).get(LIMITS_KEY) or {}
        if not isinstance(block, dict):
            raise ConfigError(f"params '{LIMITS_KEY}' must be a mapping, e.g. {{rfm_min_buyers: 5}}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(block) - known)
        if unknown:
            raise ConfigError(f"params {LIMITS_KEY}: unknown key(s) {unknown}; known: {sorted(known)}")
        values = {}
        for key, value in block.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"params {LIMITS_KEY}.{key} must be a whole number >= 1, got {value!r}")
            values[key] = value
        if values.get("rfm_min_buyers", cls.rfm_min_buyers) < 5:
            raise ConfigError(f"params {LIMITS_KEY}.rfm_min_buyers must be at least 5 (one buyer per quintile score)")
        return cls(**values)


def require(ok: bool, stage: str, reason: str) -> None:
    """Raise :class:`StageSkipped` for ``stage`` with ``reason`` unless ``ok``."""
    if not ok:
        raise StageSkipped(stage, reason)


def skip_record(reason: str) -> dict:
    """What a skipped stage records under its key in ``metrics.json``."""
    return {SKIPPED: str(reason)}


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if not isinstance(node, dict):
        return
    if isinstance(node.get(SKIPPED), str):
        yield path, node[SKIPPED]
        return
    for key in sorted(node):
        yield from _walk(node[key], f"{path}.{key}" if path else str(key))


def skipped_stages(metrics: dict) -> list[tuple[str, str]]:
    """``(stage key, reason)`` of every stage or part of a stage that recorded ``{"skipped": reason}``,
    in key order (``segmentation.clv`` for a part)."""
    return list(_walk(metrics, ""))
