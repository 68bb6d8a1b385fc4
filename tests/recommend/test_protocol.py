"""Notebook 02's models on a small synthetic shop: settings, the one evaluation loop, tuning on train folds."""
import pandas as pd
import pytest

from workbench.data import contract
from workbench.errors import ConfigError
from workbench.evaluate import published
from workbench.recommend import holdout, protocol


def test_settings_validate_and_replace_tune():
    cfg = protocol.settings({"tune": {"ease": {"lam": [1.0]}}})
    assert cfg["tune"] == {"ease": {"lam": [1.0]}}
    with pytest.raises(ConfigError, match="'recommenders.split' is now 'evaluation.split'"):
        protocol.settings({"split": "stratified"})
    with pytest.raises(ValueError, match="unknown"):
        protocol.settings({"models": ["ease", "magic"]})
    assert "svd" not in protocol.active_models(protocol.settings({"models": ["svd", "ease"]}))
    assert "svd" in protocol.active_models(protocol.settings({"models": ["svd", "ease"]}, source="ratings"))


def test_model_defaults_are_the_classes_defaults():
    """One source for each default: a model built from empty settings has its class's constructor defaults."""
    from workbench.recommend.implicit_models import ALS, BPR

    cfg = protocol.settings({})
    for name, cls in (("als", ALS), ("bpr", BPR)):
        assert protocol.make_model(name, cfg).get_params() == cls().get_params()
    assert protocol.make_model("als", cfg).regularization == 1.0  # notebook 02's measured setting, now the class's


CHRONO = {"evaluation": {"split": "chronological", "ratio": 0.8}, "seed": 42}


def test_evaluate_models_small_shop(small_shop):
    cfg = protocol.settings({"models": ["random", "popular", "popular_recent", "ease", "item_knn"], "tune": {}})
    hold = holdout.run_holdout(small_shop, {**CHRONO, "evaluation": {**CHRONO["evaluation"], "k": 5}})
    train, test = hold.train, hold.test
    assert train[contract.TIMESTAMP].max() < test[contract.TIMESTAMP].min()
    seen = set(zip(train[contract.CUSTOMER_ID], train[contract.PRODUCT_ID]))
    assert not any(p in seen for p in zip(test[contract.CUSTOMER_ID], test[contract.PRODUCT_ID]))  # drop_seen_pairs
    models = {m: protocol.make_model(m, cfg) for m in protocol.active_models(cfg)}
    res = holdout.evaluate_models(models, hold, features=protocol.item_features(small_shop.products))
    mj = res.metrics_json()
    assert set(mj) == set(cfg["models"])
    assert {"precision@5", "recall@5", "map@5", "ndcg@5", "coverage"} <= set(mj["ease"])
    for m, rec in res.recs.items():
        assert list(rec.columns) == [contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score"]
        assert rec.groupby(contract.CUSTOMER_ID).size().max() <= 5
        assert set(rec[contract.CUSTOMER_ID]) == set(hold.customers)  # every test customer gets a list
    assert res.summary.loc["ease", "ndcg@5"] > res.summary.loc["random", "ndcg@5"]
    table = res.with_ci(n_boot=50)
    assert "ndcg@5 ci" in table.columns
    cur = protocol.curves(res, test, [1, 3, 5, 10])
    assert sorted(cur["k"].unique()) == [1, 3, 5]
    both = protocol.beside_published(res.summary.assign(**{"ndcg@10": 0.0, "map@10": 0.0, "precision@10": 0.0,
                                                           "recall@10": 0.0}), published.microsoft_ml100k(),
                                     res.seconds)
    assert {"ours", "published: microsoft/recommenders"} == set(both["source"])
    assert (res.timing()["total"] >= 0).all()


def test_tune_uses_train_folds_only(small_shop):
    cfg = protocol.settings({"tune": {"ease": {"lam": [5.0, 50.0]}}, "models": ["ease"]})
    params = {**CHRONO, "evaluation": {**CHRONO["evaluation"], "validation": {"folds": 2}}}
    hold = holdout.run_holdout(small_shop, params)
    folds = holdout.validation_holdouts(small_shop, hold)
    assert len(folds) == 2
    test_start = pd.to_datetime(hold.test[contract.TIMESTAMP]).min()
    for f in folds:  # every validation row, fit or held out, is from the training part (before the test cut-off)
        assert pd.to_datetime(f.train[contract.TIMESTAMP]).max() < test_start
        assert pd.to_datetime(f.test[contract.TIMESTAMP]).max() < test_start
    tuned = protocol.tune(folds, cfg, k=5)
    best, table = tuned["ease"]
    assert best["lam"] in (5.0, 50.0) and len(table) == 2


def test_published_tables():
    ms = published.microsoft_ml100k()
    assert ms.loc[ms["model"] == "BiVAE (GPU)", "ndcg@10"].item() == pytest.approx(0.475077)
    su = published.surprise_ml100k().set_index("model")
    assert su.loc["SVD", "rmse"] == 0.934 and su.loc["KNNBaseline", "rmse"] == 0.931
