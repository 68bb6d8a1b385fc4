"""Baselines: random is reproducible and uniform, most-popular ranks by customers, recent window works."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend.baselines import MostPopular, RandomRecommender
from workbench.recommend.interactions import Interactions

U, I, T = contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.TIMESTAMP


@pytest.fixture
def rows():
    # p1 bought by 3 customers, p2 by 2, p3 by 1 (but recently), p4 by nobody
    return pd.DataFrame({
        U: ["a", "b", "c", "a", "b", "c"],
        I: ["p1", "p1", "p1", "p2", "p2", "p3"],
        T: pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04", "2020-01-05", "2020-03-01"]),
    })


def test_most_popular_order_and_seen_removed(rows):
    inter = Interactions.from_frame(rows, products=["p1", "p2", "p3", "p4"])
    rec = MostPopular().fit(inter).recommend(["c", "zz"], k=3)
    got = rec.groupby(U)[I].apply(list).to_dict()
    assert got["zz"] == ["p1", "p2", "p3"]  # cold customer: plain popularity
    assert got["c"] == ["p2", "p4"]  # c had p1 and p3
    assert list(rec.loc[rec[U] == "zz", "rank"]) == [1, 2, 3]


def test_most_popular_recent_window(rows):
    inter = Interactions.from_frame(rows)
    m = MostPopular(window_days=30).fit(inter, history=rows)
    assert m.name == "popular_recent"
    rec = m.recommend(["new"], k=3)
    assert list(rec[I]) == ["p3", "p1", "p2"]  # p3 is the only product in the last 30 days
    with pytest.raises(ValueError, match="history"):
        MostPopular(window_days=30).fit(inter)


def test_random_is_reproducible_uniform_and_batch_free():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({U: rng.integers(0, 50, 400).astype(str), I: rng.integers(0, 80, 400).astype(str)})
    inter = Interactions.from_frame(df)
    users = inter.customer_ids
    a = RandomRecommender(seed=1).fit(inter).recommend(users, k=5)
    small = RandomRecommender(seed=1)
    small.batch_size = 7
    b = small.fit(inter).recommend(users, k=5)
    pd.testing.assert_frame_equal(a, b)
    c = RandomRecommender(seed=2).fit(inter).recommend(users, k=5)
    assert not a[I].equals(c[I])
    sc = RandomRecommender(seed=3).fit(inter).score_batch(np.arange(len(users)))
    assert sc.min() >= 0 and sc.max() < 1
    assert abs(sc.mean() - 0.5) < 0.02  # 4,000 draws: uniform mean
    seen = set(zip(df[U], df[I]))
    assert not any((u, i) in seen for u, i in zip(a[U], a[I]))
