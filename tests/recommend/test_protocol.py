"""Notebook 02's experiment on a small synthetic shop: settings, split, evaluation, artifacts' shape."""
import pandas as pd
import pytest

from workbench.data import contract as C
from workbench.evaluate import published
from workbench.recommend import protocol as P


def test_settings_validate_and_replace_tune():
    cfg = P.settings({"tune": {"ease": {"lam": [1.0]}}})
    assert cfg["tune"] == {"ease": {"lam": [1.0]}}
    assert cfg["ease"]["lam"] == P.DEFAULTS["ease"]["lam"]
    with pytest.raises(ValueError, match="split"):
        P.settings({"split": "nope"})
    with pytest.raises(ValueError, match="unknown"):
        P.settings({"models": ["ease", "magic"]})
    assert "svd" not in P.active_models(P.settings({"models": ["svd", "ease"]}))


def test_evaluate_models_small_shop(small_shop):
    cfg = P.settings({"models": ["random", "popular", "popular_recent", "ease", "item_knn"], "tune": {}})
    rows = P.interaction_rows(small_shop, cfg["source"])
    train, test = P.split_rows(rows, cfg, seed=42)
    assert train[C.TIMESTAMP].max() < test[C.TIMESTAMP].min()
    seen = set(zip(train[C.CUSTOMER_ID], train[C.PRODUCT_ID]))
    assert not any(p in seen for p in zip(test[C.CUSTOMER_ID], test[C.PRODUCT_ID]))  # drop_seen_pairs
    products = small_shop.products[C.PRODUCT_ID]
    inter = P.to_interactions(train, cfg["source"], products)
    models = {m: P.make_model(m, cfg) for m in P.active_models(cfg)}
    res = P.evaluate_models(models, inter, train, test, k=5, features=P.item_features(small_shop.products))
    mj = res.metrics_json()
    assert set(mj) == set(cfg["models"])
    assert {"precision@5", "recall@5", "map@5", "ndcg@5", "coverage"} <= set(mj["ease"])
    for m, rec in res.recs.items():
        assert list(rec.columns) == [C.CUSTOMER_ID, C.PRODUCT_ID, "rank", "score"]
        assert rec.groupby(C.CUSTOMER_ID).size().max() <= 5
    assert res.summary.loc["ease", "ndcg@5"] > res.summary.loc["random", "ndcg@5"]
    table = res.with_ci(n_boot=50)
    assert "ndcg@5 ci" in table.columns
    cur = P.curves(res, test, [1, 3, 5, 10])
    assert sorted(cur["k"].unique()) == [1, 3, 5]
    both = P.beside_published(res.summary.assign(**{"ndcg@10": 0.0, "map@10": 0.0, "precision@10": 0.0,
                                                    "recall@10": 0.0}), published.microsoft_ml100k(), res.seconds)
    assert {"ours", "published: microsoft/recommenders"} == set(both["source"])
    assert (res.timing()["total"] >= 0).all()


def test_tune_uses_train_only(small_shop):
    cfg = P.settings({"tune": {"ease": {"lam": [5.0, 50.0]}}, "models": ["ease"]})
    rows = P.interaction_rows(small_shop, cfg["source"])
    train, _ = P.split_rows(rows, cfg, seed=42)
    tuned = P.tune(train, cfg, small_shop.products[C.PRODUCT_ID])
    best, table = tuned["ease"]
    assert best["lam"] in (5.0, 50.0) and len(table) == 2


def test_published_tables():
    ms = published.microsoft_ml100k()
    assert ms.loc[ms["model"] == "BiVAE (GPU)", "ndcg@10"].item() == pytest.approx(0.475077)
    su = published.surprise_ml100k().set_index("model")
    assert su.loc["SVD", "rmse"] == 0.934 and su.loc["KNNBaseline", "rmse"] == 0.931
