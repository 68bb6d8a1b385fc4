"""Validation search: picks the grid point that is best on validation, never looks at test."""
import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.evaluate import split
from workbench.recommend.baselines import RandomRecommender
from workbench.recommend.cf import EASE
from workbench.recommend.interactions import Interactions
from workbench.recommend.tuning import best_params, param_grid, validation_search


def test_param_grid():
    assert param_grid({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]


def test_validation_search_prefers_a_model_over_noise():
    rng = np.random.default_rng(0)
    rows = []
    for u in range(60):  # two taste groups
        base = 0 if u < 30 else 15
        rows += [(f"u{u}", f"i{base + i}") for i in rng.choice(15, 8, replace=False)]
    train = pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID])

    def make(kind, lam=1.0):
        return EASE(lam=lam) if kind == "ease" else RandomRecommender(seed=0)

    folds = [split.stratified_split(train, 0.75, by=contract.CUSTOMER_ID, seed=seed) for seed in (1, 2)]
    table = validation_search(make, {"kind": ["random", "ease"], "lam": [1.0, 10.0]}, folds,
                              lambda df: Interactions.from_frame(df), k=5)
    assert len(table) == 4 and {"ndcg@5", "ndcg@5_std"} <= set(table.columns)
    best = best_params(table)
    assert best["kind"] == "ease" and isinstance(best["lam"], float)
    rand = table.loc[table["kind"] == "random", "ndcg@5"].max()
    assert table.loc[table["kind"] == "ease", "ndcg@5"].min() > rand


def test_validation_search_shows_one_bar_over_every_fit(capsys):
    rng = np.random.default_rng(1)
    train = pd.DataFrame([(f"u{u}", f"i{i}") for u in range(30) for i in rng.choice(12, 5, replace=False)],
                         columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
    folds = [split.stratified_split(train, 0.75, by=contract.CUSTOMER_ID, seed=seed) for seed in (1, 2, 3)]
    validation_search(lambda lam: EASE(lam=lam), {"lam": [1.0, 10.0]}, folds, lambda df: Interactions.from_frame(df),
                      k=5, desc="tune ease")
    last = capsys.readouterr().err.split("\r")[-1]
    assert last.startswith("tune ease: 100%") and "6/6" in last and "fold 3/3 {'lam': 10.0}" in last
    validation_search(lambda lam: EASE(lam=lam), {"lam": [1.0]}, folds[:1], lambda df: Interactions.from_frame(df),
                      k=5, progress=False)
    assert "%|" not in capsys.readouterr().err  # no bar (log lines may be there)
