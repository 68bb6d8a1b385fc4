"""Sparse itemset counting: hand-counted tiny baskets, and the same table as mlxtend fpgrowth on a shop."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from workbench.recommend.itemsets import pairs_in_rows, sparse_itemsets


def _baskets(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    r = np.repeat(np.arange(len(rows)), [len(b) for b in rows])
    c = np.concatenate([np.asarray(b, dtype=np.int64) for b in rows])
    return sp.csr_matrix((np.ones(len(c), dtype=bool), (r, c)), shape=(len(rows), n_items))


def test_pairs_in_rows_enumerates_each_pair_once():
    indptr = np.array([0, 3, 3, 4, 6])  # rows of 3, 0, 1 and 2 entries
    p, q = pairs_in_rows(indptr)
    assert list(zip(p.tolist(), q.tolist())) == [(0, 1), (0, 2), (1, 2), (4, 5)]


def test_hand_counted_supports():
    # 4 baskets over items a, b, c, d: {a,b,c}, {a,b}, {a,c}, {d}
    m = _baskets([[0, 1, 2], [0, 1], [0, 2], [3]], 4)
    fi = sparse_itemsets(m, ["a", "b", "c", "d"], min_support=0.25, max_len=3)
    got = dict(zip(fi["itemsets"], fi["support"]))
    assert got == {("a",): 0.75, ("b",): 0.5, ("c",): 0.5, ("d",): 0.25, ("a", "b"): 0.5, ("a", "c"): 0.5,
                   ("a", "b", "c"): 0.25, ("b", "c"): 0.25}
    # order: support desc, then shorter first, then ids
    assert list(fi["itemsets"]) == [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("d",), ("b", "c"),
                                    ("a", "b", "c")]
    fi2 = sparse_itemsets(m, ["a", "b", "c", "d"], min_support=0.5, max_len=2)
    assert set(fi2["itemsets"]) == {("a",), ("b",), ("c",), ("a", "b"), ("a", "c")}
    assert set(sparse_itemsets(m, ["a", "b", "c", "d"], 0.5, max_len=1)["itemsets"]) == {("a",), ("b",), ("c",)}


def test_duplicate_entries_count_once():
    m = sp.csr_matrix((np.ones(3), (np.array([0, 0, 1]), np.array([0, 0, 1]))), shape=(2, 2))
    fi = sparse_itemsets(m, ["x", "y"], 0.5)
    assert dict(zip(fi["itemsets"], fi["support"])) == {("x",): 0.5, ("y",): 0.5}


def test_bad_settings_say_what_to_do():
    m = _baskets([[0, 1]], 2)
    with pytest.raises(ValueError, match="fpgrowth"):
        sparse_itemsets(m, ["a", "b"], 0.5, max_len=4)
    with pytest.raises(ValueError, match="min_support"):
        sparse_itemsets(m, ["a", "b"], 0.0)


@pytest.mark.parametrize("min_support,max_len", [(0.005, 3), (0.002, 2), (0.01, 1)])
def test_same_table_as_mlxtend_fpgrowth(small_shop, min_support, max_len):
    from workbench.recommend.basket import basket_matrix, frequent_itemsets

    m, _, products = basket_matrix(small_shop.transactions)
    ours = sparse_itemsets(m, products, min_support, max_len)
    ref = frequent_itemsets(m, products, min_support, max_len, method="fpgrowth")
    assert len(ours) == len(ref) > 0
    pd.testing.assert_frame_equal(ours, ref, check_dtype=False)


def test_basket_frequent_itemsets_uses_the_sparse_counter_up_to_three_items(small_shop):
    from workbench.recommend.basket import basket_matrix, frequent_itemsets

    m, _, products = basket_matrix(small_shop.transactions)
    auto = frequent_itemsets(m, products, 0.005, 3)
    pd.testing.assert_frame_equal(auto, sparse_itemsets(m, products, 0.005, 3))
    longer = frequent_itemsets(m, products, 0.01, None)  # no length limit: mlxtend
    assert len(longer) > 0
    with pytest.raises(ValueError, match="auto, sparse or fpgrowth"):
        frequent_itemsets(m, products, 0.005, 3, method="apriori")
