"""Fixtures of the report tests: a complete metrics.json as the stage notebooks write it (issues 2-8)."""
from __future__ import annotations

import copy
import os
import shutil

import pytest

FULL_METRICS = {
    "data": {"source": "synthetic", "customers": 1000, "products": 500, "transactions": 10769,
             "rows_read": 10800, "rows_quarantined": 31, "fingerprint": "abc123"},
    "segmentation": {"k": 4, "silhouette": 0.412, "stability_ari": 0.93, "ari_vs_truth": 0.61,
                     "segments": {"champions": 150, "hibernating": 400, "loyal_customers": 250, "at_risk": 200},
                     "clv": {"r": 0.25, "alpha": 4.4, "a": 0.8, "b": 2.4}},
    "recommenders": {
        "random": {"precision@10": 0.01, "recall@10": 0.02, "map@10": 0.005, "ndcg@10": 0.012, "coverage": 1.0},
        "popular": {"precision@10": 0.05, "recall@10": 0.10, "map@10": 0.03, "ndcg@10": 0.080, "coverage": 0.02},
        "ease": {"precision@10": 0.09, "recall@10": 0.20, "map@10": 0.07, "ndcg@10": 0.160, "coverage": 0.40},
        "item_knn": {"precision@10": 0.08, "recall@10": 0.18, "map@10": 0.06, "ndcg@10": 0.140, "coverage": 0.50},
    },
    "rating": {"SVD": {"rmse": 0.94, "mae": 0.74}, "KNNBaseline": {"rmse": 0.93, "mae": 0.73}},
    "basket": {"n_itemsets": 900, "n_rules": 120, "bundles_recovered": 8, "bundles_planted": 10,
               "top_rules": [{"antecedents": ["P1"], "consequents": ["P2"], "lift": 12.5},
                             {"antecedents": ["P3"], "consequents": ["P4"], "lift": 9.0}]},
    "hybrid": {"weights": {"default": {"cf": 0.3, "content": 0.25}, "tuned": {"cf": 0.5, "content": 0.1}},
               "ndcg@10": {"default": 0.15, "tuned": 0.18, "learned": 0.17},
               "components": {"cf": 0.16, "content": 0.07}, "popular": 0.08, "best_component": "cf",
               "vs_best_component": {"default": {"delta": -0.01, "low": -0.02, "high": 0.001},
                                     "tuned": {"delta": 0.02, "low": 0.01, "high": 0.03},
                                     "learned": {"delta": 0.01, "low": -0.004, "high": 0.02}},
               "ablation": {"cf": {"delta": 0.05, "low": 0.03, "high": 0.07},
                            "content": {"delta": -0.002, "low": -0.01, "high": 0.006},
                            "seasonal": {"delta": -0.02, "low": -0.03, "high": -0.01}},
               "ab_test": {"lift": 0.12, "low": 0.05, "high": 0.19, "power": 0.9, "n_needed": 1234}},
    "pricing": {"demand_mape": 0.21, "baseline_mape": 0.35, "baseline": "moving_average", "elasticity_mae": 0.11,
                "revenue_regret_pct": 2.4, "ab_uplift": {"estimate": 0.031, "low": 0.012, "high": 0.05},
                "guardrails": {"max_change": 0.1, "min_margin": 0.05}, "suggestions": {"share_binding": 0.4}},
}


@pytest.fixture
def full_metrics() -> dict:
    """A complete synthetic-run metrics dict (a fresh copy per test)."""
    return copy.deepcopy(FULL_METRICS)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (``make test`` installs it with scripts/setup-chromium.sh). Missing, the browser
    tests skip on a developer's machine and fail where ``CI=true``: CI must run them."""
    path = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if path is None:
        msg = "no Chromium on this machine: `make test` installs it (scripts/setup-chromium.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return path
