"""A sampled evaluation through the notebooks: every leaderboard row is scored on the same customers.

A small shop run with ``evaluation.max_customers`` well below its test customers: notebooks 02-05 save their
lists and notebook 07 scores them. Each saved list must cover exactly the sampled customers of ``split_test``,
and every leaderboard NDCG must equal a brute-force NDCG recomputed from the saved files over that population.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest
from test_leaderboard import brute_ndcg

from workbench.data import contract
from workbench.runner import run

U, I = contract.CUSTOMER_ID, contract.PRODUCT_ID
SAMPLE = 25


@pytest.fixture(scope="module")
def sampled_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("population") / "run"
    overrides = ["data.synthetic.n_customers=300", "data.synthetic.n_products=60", "data.synthetic.n_weeks=52",
                 f"evaluation.max_customers={SAMPLE}", "evaluation.n_boot=50", "recommenders.tune={}",
                 "hybrid.tuning.n_random=20", "hybrid.tuning.n_bags=20", "tracking.enabled=false"]
    return run("default", out=out, only=["00", "02", "03", "04", "05", "07"], overrides=overrides,
               render=False)


@pytest.mark.slow
def test_every_leaderboard_row_is_scored_on_the_sampled_population(sampled_run):
    metrics = json.loads((sampled_run / "metrics.json").read_text())
    test = pd.read_parquet(sampled_run / "artifacts" / "split_test.parquet")
    population = set(test[U].astype(str))
    recorded = metrics["evaluation"]["population"]
    assert len(population) == recorded["customers"] == SAMPLE and recorded["of"] > SAMPLE
    assert json.loads((sampled_run / "artifacts" / "split.json").read_text())["population"] == recorded
    assert metrics["evaluation"]["verdict"]["population"] == recorded
    rows = {r["model"]: r for r in metrics["evaluation"]["leaderboard"]}
    families = {r["family"] for r in rows.values()}
    assert {"baseline", "cf", "content", "basket", "hybrid"} <= families
    for model, row in rows.items():
        recs = pd.read_parquet(sampled_run / "artifacts" / f"recs_{model}.parquet")
        assert set(recs[U].astype(str)) == population, model
        assert row["customers_listed"] == SAMPLE
        assert row["ndcg@10"] == pytest.approx(brute_ndcg(recs, test, 10), abs=5e-5), model  # metrics.json keeps 4 digits
