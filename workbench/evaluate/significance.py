"""Uncertainty of evaluation results: bootstrap confidence intervals over customers, paired comparisons, A/B.

Everything is seeded and vectorised (resampling indices drawn as one matrix, in chunks to bound memory),
so the same inputs and seed give the same numbers.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from workbench.evaluate.metrics import METRIC_NAMES, PER_CUSTOMER_COLUMNS

#: resampled values held in memory at once (rows x customers)
_CHUNK_CELLS = 4_000_000


def _clean(values, what: str = "values") -> np.ndarray:
    a = np.asarray(values, dtype=np.float64).ravel()
    if len(a) == 0:
        raise ValueError(f"{what} is empty: nothing to bootstrap")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} has NaN or infinite entries: drop or fill them first")
    return a


def bootstrap_means(values, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Return ``n_boot`` means of resamples (with replacement, same size) of ``values``."""
    a = _clean(values)
    rng = np.random.default_rng(seed)
    n = len(a)
    rows = max(1, _CHUNK_CELLS // n)
    out = np.empty(n_boot)
    for s in range(0, n_boot, rows):
        m = min(rows, n_boot - s)
        out[s:s + m] = a[rng.integers(0, n, size=(m, n))].mean(axis=1)
    return out


def bootstrap_ci_columns(values, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> np.ndarray:
    """Return ``(3, columns)``: the mean of each column of ``values`` (customers x columns) and its percentile
    bootstrap (1 - alpha) interval, every column resampled with the same customers.

    The resamples are :func:`bootstrap_means`' (same seed, same draws), applied to all columns at once as counts
    per customer, so one column gives :func:`bootstrap_ci`'s interval.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"values must be a non-empty customers x columns array, not shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("values has NaN or infinite entries: drop or fill them first")
    rng = np.random.default_rng(seed)
    n = a.shape[0]
    rows = max(1, _CHUNK_CELLS // n)
    boots = np.empty((n_boot, a.shape[1]))
    for s in range(0, n_boot, rows):
        m = min(rows, n_boot - s)
        idx = rng.integers(0, n, size=(m, n))
        counts = np.bincount((idx + n * np.arange(m)[:, None]).ravel(), minlength=m * n).reshape(m, n)
        boots[s:s + m] = counts @ a / n
    low, high = np.quantile(boots, [alpha / 2, 1 - alpha / 2], axis=0)
    return np.vstack([a.mean(axis=0), low, high])


def bootstrap_ci(values, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Return ``(mean, low, high)``: the mean of ``values`` and its percentile-bootstrap (1 - alpha) interval."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    a = _clean(values)
    boots = bootstrap_means(a, n_boot, seed)
    low, high = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return float(a.mean()), float(low), float(high)


def paired_bootstrap(a, b, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> tuple[float, float, float]:
    """Return ``(delta, low, high)``: mean of a - b over the same customers and its bootstrap interval.

    ``a`` and ``b`` are per-customer values of two models aligned on the same customers (e.g. the
    ``ndcg`` columns of two :func:`per_customer_metrics` frames); the interval excluding 0 means the
    difference is unlikely to be resampling noise.
    """
    x, y = _clean(a, "a"), _clean(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must be aligned on the same customers ({len(x)} vs {len(y)} values)")
    return bootstrap_ci(x - y, n_boot, alpha, seed)


def paired_permutation_pvalue(a, b, n_perm: int = 2000, seed: int = 0) -> float:
    """Return the two-sided p-value of a paired sign-flip permutation test of mean(a - b) = 0."""
    d = _clean(a, "a") - _clean(b, "b")
    rng = np.random.default_rng(seed)
    obs = abs(d.mean())
    n = len(d)
    rows = max(1, _CHUNK_CELLS // n)
    count = 0
    for s in range(0, n_perm, rows):
        m = min(rows, n_perm - s)
        signs = rng.integers(0, 2, size=(m, n)) * 2 - 1
        count += int((np.abs((signs * d).mean(axis=1)) >= obs - 1e-15).sum())
    return float((count + 1) / (n_perm + 1))


def metric_cis(per_customer: pd.DataFrame, k: int = 10, n_boot: int = 1000, alpha: float = 0.05,
               seed: int = 0) -> pd.DataFrame:
    """Return [metric, mean, low, high] for every metric column of a ``per_customer_metrics`` frame."""
    rows = []
    for c in PER_CUSTOMER_COLUMNS:
        if c in per_customer.columns and len(per_customer):
            m, lo, hi = bootstrap_ci(per_customer[c].to_numpy(), n_boot, alpha, seed)
            rows.append({"metric": f"{METRIC_NAMES[c]}@{k}", "mean": m, "low": lo, "high": hi})
    return pd.DataFrame(rows, columns=["metric", "mean", "low", "high"])


def two_proportion_ztest(success_a: int, n_a: int, success_b: int, n_b: int) -> tuple[float, float]:
    """Return ``(z, two-sided p)`` of an A/B test of two conversion rates (pooled two-proportion z-test)."""
    if min(n_a, n_b) <= 0:
        raise ValueError("n_a and n_b must be positive group sizes")
    pa, pb = success_a / n_a, success_b / n_b
    p = (success_a + success_b) / (n_a + n_b)
    se = math.sqrt(p * (1 - p) * (1 / n_a + 1 / n_b))
    if se == 0:
        return 0.0, 1.0
    z = (pb - pa) / se
    return float(z), float(math.erfc(abs(z) / math.sqrt(2.0)))  # two-sided normal tail


def paired_sample_size(diff, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return the customers a paired comparison needs to detect mean(``diff``) with this power (two-sided alpha).

    ``diff`` are per-customer differences (e.g. NDCG of the hybrid minus NDCG of a component):
    n = ((z_{1-alpha/2} + z_power) * sd / mean)^2, rounded up; ``inf`` when the mean is 0.
    """
    from scipy.stats import norm

    d = np.asarray(diff, dtype=np.float64)
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0
    if mean == 0.0:
        return float("inf")
    return float(np.ceil(((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * sd / mean) ** 2))
