"""Error analysis: per-slice values equal the metrics module's per-customer metrics on the slice's customers or
on the truth cut to the slice's products (a second implementation), popularity bands and Jaccard overlap by
hand, and a shared resampling that gives bootstrap_ci's interval column by column."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.evaluate import slices as SL
from workbench.evaluate.metrics import per_customer_metrics
from workbench.evaluate.significance import bootstrap_ci, bootstrap_ci_columns

U, I = contract.CUSTOMER_ID, contract.PRODUCT_ID


def _random_run(seed=0, n_users=80, n_items=40, k=5):
    rng = np.random.default_rng(seed)
    users = [f"c{u:03d}" for u in range(n_users)]
    items = [f"p{i:02d}" for i in range(n_items)]
    truth = pd.DataFrame({U: rng.choice(users, 150), I: rng.choice(items, 150)}).drop_duplicates()
    recs = {}
    for m in ("a", "b", "c"):
        rows = [(u, p, r + 1) for u in users for r, p in enumerate(rng.choice(items, k + 2, replace=False))]
        recs[m] = pd.DataFrame(rows, columns=[U, I, "rank"])
    category = pd.Series(rng.choice(["x", "y", "z"], n_items), index=items)
    return truth, recs, category, k


def test_slices_equal_per_customer_metrics_on_the_slice():
    truth, recs, category, k = _random_run()
    customers = pd.Index(sorted(truth[U].unique()))
    seg = pd.Series(np.where(np.arange(len(customers)) % 3 == 0, "s1", "s2"), index=customers)
    inputs = SL.SliceInputs(truth, pd.DataFrame({"segment": seg}), pd.DataFrame({"category": category}), {})
    lists = SL.Lists.of(recs, customers, k, category.index)
    table = SL.slice_metrics(lists, inputs, n_boot=50, pairs=(("a", "b"),))
    for m in recs:
        full = per_customer_metrics(truth, recs[m], k).set_index(U)
        for s in ("s1", "s2"):  # customer slice: the usual per-customer values, averaged over its customers
            row = table[(table["dimension"] == "segment") & (table["slice"] == s) & (table["model"] == m)].iloc[0]
            assert row["ndcg"] == pytest.approx(full.loc[seg.index[seg == s], "ndcg"].mean())
            assert row["recall"] == pytest.approx(full.loc[seg.index[seg == s], "recall"].mean())
            assert row["customers"] == (seg == s).sum()
        for c in ("x", "y", "z"):  # product slice: the truth cut to the category, the whole list kept
            cut = truth[truth[I].map(category) == c]
            want = per_customer_metrics(cut, recs[m], k)
            row = table[(table["dimension"] == "category") & (table["slice"] == c) & (table["model"] == m)].iloc[0]
            assert row["customers"] == cut[U].nunique()
            assert row["ndcg"] == pytest.approx(want["ndcg"].mean())
            assert row["recall"] == pytest.approx(want["recall"].mean())
            assert row["ndcg_low"] <= row["ndcg"] <= row["ndcg_high"]
    diff = table[(table["model"] == "a - b") & (table["dimension"] == "segment") & (table["slice"] == "s1")].iloc[0]
    a, b = (table[(table["model"] == m) & (table["dimension"] == "segment") & (table["slice"] == "s1")].iloc[0]
            for m in ("a", "b"))
    assert diff["ndcg"] == pytest.approx(a["ndcg"] - b["ndcg"])
    versus = SL.shipped_vs_best(table, "a", "b", SL.SliceSettings(min_customers=1))
    assert list(versus["delta"]) == sorted(versus["delta"])
    assert versus["loses"].tolist() == (versus["high"] < 0).tolist()


def test_skipped_dimension_is_left_out():
    truth, recs, category, k = _random_run(1)
    customers = pd.Index(sorted(truth[U].unique()))
    inputs = SL.SliceInputs(truth, pd.DataFrame(index=customers), pd.DataFrame(index=category.index),
                            {"category": "the shop's products have no category"})
    table = SL.slice_metrics(SL.Lists.of(recs, customers, k), inputs, n_boot=20)
    assert table.empty


def test_popularity_bands_by_share_of_sales():
    # sales lines: p1 50 %, p2 30 %, p3 15 %, p4 5 %, p5 none
    sales = pd.DataFrame({I: ["p1"] * 10 + ["p2"] * 6 + ["p3"] * 3 + ["p4"]})
    bands = SL.popularity_bands(sales, pd.Index(["p1", "p2", "p3", "p4", "p5"]), SL.SliceSettings(0.5, 0.8))
    assert bands.astype(str).tolist() == ["head", "torso", "tail", "tail", "tail"]
    assert list(bands.cat.categories) == ["head", "torso", "tail"]  # the order slices are reported in
    with pytest.raises(ValueError):
        SL.SliceSettings(head_share=0.9, torso_share=0.8)


def test_overlap_is_the_mean_jaccard():
    recs = {"a": pd.DataFrame({U: ["u", "u", "v", "v"], I: ["1", "2", "1", "3"], "rank": [1, 2, 1, 2]}),
            "b": pd.DataFrame({U: ["u", "u", "v", "v"], I: ["2", "4", "3", "1"], "rank": [1, 2, 1, 2]})}
    m = SL.overlap_matrix(SL.Lists.of(recs, ["u", "v"], 2))
    assert m.loc["a", "b"] == pytest.approx((1 / 3 + 1.0) / 2) == m.loc["b", "a"]
    assert m.loc["a", "a"] == 1.0


def test_shared_resampling_gives_bootstrap_ci_per_column():
    values = np.random.default_rng(2).random((500, 3))
    ci = bootstrap_ci_columns(values, n_boot=300, seed=5)
    for j in range(3):
        np.testing.assert_allclose(ci[:, j], bootstrap_ci(values[:, j], n_boot=300, seed=5), rtol=1e-10)


def test_lists_that_hit_nothing_score_zero_in_every_slice():
    """A pilot shop's lists can miss every held-out product: the slices are zeros, not a failed division."""
    truth, recs, category, k = _random_run(seed=3, n_users=12, n_items=20)
    customers = pd.Index(sorted(truth[U].unique()))
    held = set(zip(truth[U], truth[I]))
    misses = {m: r[[(u, p) not in held for u, p in zip(r[U], r[I])]] for m, r in recs.items()}
    lists = SL.Lists.of(misses, customers, k, category.index)
    inputs = SL.SliceInputs(truth, pd.DataFrame({"segment": pd.Series("s", index=customers)}),
                            pd.DataFrame({"category": category}), {})
    table = SL.slice_metrics(lists, inputs, n_boot=20)
    assert len(table) and (table["ndcg"] == 0).all() and (table["recall"] == 0).all()
