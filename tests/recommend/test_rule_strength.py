"""The choice of the business rules' strengths within an NDCG budget."""
import numpy as np
import pandas as pd
import pytest

from workbench.evaluate.metrics import intra_list_diversity
from workbench.recommend import rule_strength
from workbench.recommend.rule_strength import RuleStrength, choose_strengths


def _evaluate(strength: RuleStrength) -> dict:
    """A made-up trade-off: each category-cap step below 10 costs 0.002 NDCG, each 0.01 of boost 0.0005."""
    loss = 0.002 * (10 - strength.max_per_category) * (strength.max_per_category > 0) + 0.05 * strength.boost
    return {"loss": loss, "loss_high": loss + 0.001, "intra_list_diversity": 1.0 - strength.max_per_category / 10,
            "rule_share": strength.boost}


def test_the_strongest_setting_within_the_budget_is_chosen():
    ch = choose_strengths(_evaluate, "tuned", "max_per_category", 10, "auto", "auto", "auto", 0.006)
    # brute force over the same grid: the smallest cap with loss_high <= budget (boost 0), then the largest boost
    caps = [n for n in range(9, 0, -1) if 0.002 * (10 - n) + 0.001 <= 0.006]
    cap = min(caps)
    boosts = [b for b in rule_strength.BOOSTS if 0.002 * (10 - cap) + 0.05 * b + 0.001 <= 0.006 + 1e-12]
    assert (ch.strength.max_per_category, ch.strength.boost) == (cap, max(boosts)) == (8, 0.02)
    assert ch.within_budget and ch.trace["chosen"].sum() == 1
    assert ch.validation_loss == pytest.approx(0.002 * 2 + 0.05 * 0.02)


def test_nothing_within_the_budget_keeps_the_weakest_and_says_so():
    ch = choose_strengths(lambda s: {**_evaluate(s), "loss_high": 1.0}, "learned", "mmr", 10, 0, "auto", "auto", 0.005)
    assert ch.strength.mmr_lambda == 1.0 and ch.strength.boost == 0.0 and not ch.within_budget


def test_list_diversity_agrees_with_the_metric():
    rng = np.random.default_rng(0)
    cats = rng.integers(0, 4, size=(30, 6))
    listed = rng.random((30, 6)) > 0.2
    got = rule_strength.list_diversity(cats, listed)
    for i in range(30):
        # one product per (slot): distinct product ids carrying the slot's category
        ids = [f"p{i}_{j}" for j in range(6) if listed[i, j]]
        feats = pd.DataFrame(np.eye(4)[cats[i][listed[i]]], index=ids)
        recs = pd.DataFrame({"customer_id": "x", "product_id": ids})
        if len(ids) < 2:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(intra_list_diversity(recs, feats))
