"""Splitters: sizes, no leaks, stratification and the last-basket rule."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate import split

U, I, T, TX = contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.TIMESTAMP, contract.TRANSACTION_ID


@pytest.fixture
def ratings():
    rng = np.random.default_rng(0)
    n = 2000
    return pd.DataFrame({U: rng.integers(0, 80, n).astype(str), I: rng.integers(0, 60, n).astype(str),
                         T: pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 10_000, n), unit="min")}
                        ).drop_duplicates([U, I]).reset_index(drop=True)


def _disjoint_cover(df, tr, te):
    assert len(tr) + len(te) == len(df)
    assert set(tr.index).isdisjoint(te.index)
    assert set(tr.index) | set(te.index) == set(df.index)


def test_random_split(ratings):
    tr, te = split.random_split(ratings, 0.75, seed=42)
    _disjoint_cover(ratings, tr, te)
    assert len(tr) == pytest.approx(0.75 * len(ratings), abs=1)
    tr2, _ = split.random_split(ratings, 0.75, seed=42)
    assert tr.index.equals(tr2.index)
    assert not tr.index.equals(split.random_split(ratings, 0.75, seed=1)[0].index)


def test_stratified_split_per_item(ratings):
    tr, te = split.stratified_split(ratings, 0.75, by=I, seed=42)
    _disjoint_cover(ratings, tr, te)
    n = ratings.groupby(I).size()
    ntr = tr.groupby(I).size().reindex(n.index, fill_value=0)
    # microsoft rule: rows with rank / n <= ratio go to train -> floor(ratio * n) of them
    assert (ntr == np.floor(0.75 * n + 1e-9).astype(int)).all()
    both = n[n >= 2].index
    assert set(both) <= set(tr[I]) and set(both) <= set(te[I])


def test_stratified_split_matches_microsoft_reference(ratings):
    # the reference algorithm (python_stratified_split) written out with pandas
    df = ratings.copy()
    np.random.seed(42)
    df["random"] = np.random.rand(len(df))
    df = df.sort_values([I, "random"])
    g = df.groupby(I)
    df["r"] = (g.cumcount() + 1) / g[I].transform("count")
    expect = set(df.index[df["r"] <= 0.75])
    tr, _ = split.stratified_split(ratings, 0.75, by=I, seed=42)
    assert set(tr.index) == expect


def test_chronological_split(ratings):
    tr, te = split.chronological_split(ratings, ratio=0.8)
    _disjoint_cover(ratings, tr, te)
    assert tr[T].max() < te[T].min()
    assert len(tr) / len(ratings) == pytest.approx(0.8, abs=0.01)
    cut = pd.Timestamp("2020-01-04")
    tr, te = split.chronological_split(ratings, cutoff=cut)
    assert (tr[T] < cut).all() and (te[T] >= cut).all()


def test_leave_last_basket_out():
    tx = pd.DataFrame({
        U: ["a", "a", "a", "b", "b", "c", "c", "d"],
        TX: ["a1", "a1", "a2", "b1", "b2", "c1", "c1", "d1"],
        I: ["1", "2", "3", "1", "4", "2", "5", "1"],
        T: pd.to_datetime(["2020-01-01", "2020-01-01", "2020-02-01", "2020-03-01", "2020-01-15",
                           "2020-01-10", "2020-01-10", "2020-01-05"]),
    })
    tr, te = split.leave_last_basket_out(tx)
    _disjoint_cover(tx, tr, te)
    assert sorted(te[TX].unique()) == ["a2", "b1"]  # b's last basket is b1 (later date), c and d have one
    assert set(tr[U]) == {"a", "b", "c", "d"}
    # every test basket is whole and strictly after the customer's train baskets
    last_train = tr.groupby(U)[T].max()
    assert (te[T].to_numpy() >= last_train.reindex(te[U]).to_numpy()).all()


def test_drop_seen_pairs():
    train = pd.DataFrame({U: ["a", "b"], I: ["1", "2"]})
    test = pd.DataFrame({U: ["a", "a", "b"], I: ["1", "3", "1"]})
    out = split.drop_seen_pairs(test, train)
    assert list(zip(out[U], out[I])) == [("a", "3"), ("b", "1")]


def test_errors_say_what_to_do(ratings):
    with pytest.raises(ValueError, match="between 0 and 1"):
        split.random_split(ratings, 1.5)
    with pytest.raises(KeyError, match="column"):
        split.stratified_split(ratings, by="nope")
