"""The next-item protocol (workbench/evaluate/next_item.py): the split, the predictions, the paired intervals,
and session-kNN against session popularity on the planted clickstream."""
import numpy as np
import pandas as pd
import pytest

from workbench.config import load_params
from workbench.data import contract
from workbench.data.load import load_shop
from workbench.evaluate import next_item
from workbench.recommend.session_knn import SessionPopular, make_session_models


def _clicks(rows):
    return pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.TIMESTAMP, contract.PRODUCT_ID]).assign(
        **{contract.TIMESTAMP: lambda d: pd.to_datetime(d[contract.TIMESTAMP]), contract.EVENT: "view"})


def test_sequences_merge_repeats_and_the_split_holds_out_the_last_days():
    rows = []
    for day in range(1, 9):  # one visit a day by a different visitor: x -> y -> y -> z
        for m, item in enumerate(["x", "y", "y", "z"]):
            rows.append((f"v{day}", f"2024-01-{day:02d} 10:{m:02d}", item))
    rows.append(("v9", "2024-01-09 10:00", "x"))        # a one-click visit: nothing to predict
    rows.append(("v9", "2024-01-09 10:01", "new-item"))  # unknown to training
    seq = next_item.session_sequences(_clicks(rows))
    assert seq.groupby(contract.SESSION_ID).size().tolist() == [3] * 8 + [2]
    cfg = next_item.NextItemSettings(test_days=2, min_item_support=2)
    train, test = next_item.split_sessions(seq, cfg)
    # test: visits starting after 2024-01-07 10:01 (two days before the last click): day 8, and day 9 without
    # its unknown item is one click long and left out
    assert train[contract.SESSION_ID].nunique() == 7 and test[contract.SESSION_ID].nunique() == 1
    preds = next_item.predictions({"pop": SessionPopular().fit(train)}, test, k=20)
    # [x] -> y: x is on screen, S-POP ranks y then z (equal popularity, y first by id) -> rank 1;
    # [x, y] -> z: the session's own x first (y is on screen), then z -> rank 2
    assert preds[next_item.POSITION].tolist() == [1, 2]
    assert preds["pop"].tolist() == [1, 2]
    hit, rr = next_item.hit_and_rr(preds["pop"])
    assert hit.tolist() == [1, 1] and rr.tolist() == [1.0, 0.5]


def test_session_bootstrap_resamples_whole_sessions():
    # one session of 99 hits and 99 sessions of one miss: the mean over predictions is 99/198
    values = np.r_[np.ones(99), np.zeros(99)]
    sessions = np.r_[np.zeros(99), np.arange(1, 100)]
    mean, low, high = next_item.session_bootstrap(values, sessions, n_boot=500, seed=1)
    assert mean == pytest.approx(0.5)
    # one session carries all hits: resampling sessions gives a wide interval (iid predictions would not)
    assert high - low > 0.3


def test_session_knn_beats_session_popularity_on_the_planted_clickstream():
    params = load_params("clickstream", {"data": {"synthetic": {"n_customers": 1500, "n_weeks": 52}}})
    shop, _ = load_shop(params)
    cfg = next_item.next_item_settings(params)
    train, test = next_item.split_sessions(next_item.session_sequences(shop.events, cfg.gap_minutes), cfg)
    models = make_session_models(cfg)
    for m in models.values():
        m.fit(train)
    preds = next_item.predictions(models, test, cfg.k)
    out = next_item.summarize(preds, list(models), cfg.k, "session_pop", n_boot=300)
    assert out["predictions"] > 100
    for metric in ("hr@20", "mrr@20"):
        delta = out["models"]["sknn"][f"{metric}_delta_vs_session_pop"]
        assert delta["low"] > 0, (metric, delta)
    # what it finds is the planted behaviour: a product's top 4 hold its planted session neighbours (four products
    # of 500, so about 0.01 by chance)
    planted = shop.truth["session_neighbours"].groupby("product_a")["product_b"].apply(set)
    found = {name: np.mean([len(set(models[name].recommend([p], k=4)[contract.PRODUCT_ID]) & planted[p]) / len(planted[p])
                            for p in models[name].items_]) for name in ("sknn", "session_pop")}
    assert found["sknn"] > 0.25 > 0.05 > found["session_pop"], found
