"""Ablation of a weighted blend: leave each component out, and each component alone, with paired bootstrap.

Model-agnostic: the caller passes ``per_customer(weights) -> per-customer metric values`` (aligned on the
same customers for every call, e.g. NDCG@10 of a hybrid blend on one test split), so the same customers
are compared and the difference gets a paired bootstrap interval
(:func:`~workbench.evaluate.significance.paired_bootstrap`).

- leave-one-out: ``delta = full - without`` (positive: the component earns its weight; the interval
  excluding 0 says it is not resampling noise). Leaving out a zero-weight component changes nothing.
- alone: ``delta = full - alone`` (positive: the blend beats the component on its own).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from workbench.evaluate.significance import paired_bootstrap, paired_permutation_pvalue

ABLATION_COLUMNS = ("component", "weight", "full", "without", "delta", "low", "high", "p_value", "alone",
                    "alone_delta", "alone_low", "alone_high")


def without(weights: dict[str, float], name: str) -> dict[str, float]:
    """Return ``weights`` with ``name`` set to 0 and the rest rescaled to the original total."""
    if name not in weights:
        raise KeyError(f"'{name}' is not a component of the blend (components: {sorted(weights)})")
    total = sum(weights.values())
    rest = {k: (0.0 if k == name else float(v)) for k, v in weights.items()}
    s = sum(rest.values())
    return {k: v * total / s for k, v in rest.items()} if s > 0 else rest


def alone(weights: dict[str, float], name: str) -> dict[str, float]:
    """Return weights that keep only ``name`` (weight 1, every other 0)."""
    if name not in weights:
        raise KeyError(f"'{name}' is not a component of the blend (components: {sorted(weights)})")
    return {k: (1.0 if k == name else 0.0) for k in weights}


def ablation(per_customer: Callable[[dict[str, float]], np.ndarray], weights: dict[str, float],
             components: list[str] | None = None, n_boot: int = 1000, alpha: float = 0.05,
             seed: int = 0) -> pd.DataFrame:
    """Return one row per component: ``ABLATION_COLUMNS`` (leave-one-out and alone deltas with intervals).

    ``per_customer(weights)`` returns the metric per customer (same customers, same order, every call);
    ``components`` defaults to every key of ``weights``. Rows keep the order of ``components``.
    """
    names = list(components if components is not None else weights)
    full = np.asarray(per_customer(dict(weights)), dtype=np.float64)
    rows = []
    for name in names:  # one blend evaluation per component and variant
        wo = np.asarray(per_customer(without(weights, name)), dtype=np.float64)
        al = np.asarray(per_customer(alone(weights, name)), dtype=np.float64)
        if wo.shape != full.shape or al.shape != full.shape:
            raise ValueError("per_customer must return values for the same customers on every call")
        d, lo, hi = paired_bootstrap(full, wo, n_boot, alpha, seed)
        da, alo, ahi = paired_bootstrap(full, al, n_boot, alpha, seed)
        p = paired_permutation_pvalue(full, wo, seed=seed) if not np.array_equal(full, wo) else 1.0
        rows.append({"component": name, "weight": float(weights.get(name, 0.0)), "full": float(full.mean()),
                     "without": float(wo.mean()), "delta": d, "low": lo, "high": hi, "p_value": p,
                     "alone": float(al.mean()), "alone_delta": da, "alone_low": alo, "alone_high": ahi})
    return pd.DataFrame(rows, columns=list(ABLATION_COLUMNS))


def earns_weight(table: pd.DataFrame) -> pd.Series:
    """Return per component whether leaving it out hurts with a 95% interval above zero (``low > 0``)."""
    return pd.Series(table["low"].to_numpy() > 0, index=table["component"].to_numpy(), name="earns_weight")


def as_metrics(table: pd.DataFrame) -> dict:
    """Return ``{component: {"delta", "low", "high"}}`` of the leave-one-out rows (the metrics.json form)."""
    return {c: {"delta": float(d), "low": float(lo), "high": float(hi)}
            for c, d, lo, hi in zip(table["component"], table["delta"], table["low"], table["high"])}


def describe(table: pd.DataFrame, metric: str) -> str:
    """Return a few sentences saying which components earn their weight (from an :func:`ablation` table)."""
    earn, hurt, unsure, idle = [], [], [], []
    for r in table.itertuples():
        ci = f"{r.delta:+.4f} (95% interval {r.low:+.4f} to {r.high:+.4f})"
        if r.weight == 0:
            idle.append(r.component)
        elif r.low > 0:
            earn.append(f"{r.component} {ci}")
        elif r.high < 0:
            hurt.append(f"{r.component} {ci}")
        else:
            unsure.append(f"{r.component} {ci}")
    out = []
    if earn:
        out.append(f"Earn their weight (leaving them out lowers {metric}): " + "; ".join(earn) + ".")
    if hurt:
        out.append(f"Cost more than they add (leaving them out raises {metric}): " + "; ".join(hurt) + ".")
    if unsure:
        out.append("Cannot be told apart from zero on this split: " + "; ".join(unsure) + ".")
    if idle:
        out.append("Weight 0 in this blend, so leaving them out changes nothing: " + ", ".join(idle) + ".")
    return " ".join(out) if out else "No component to ablate."
