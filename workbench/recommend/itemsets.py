"""Frequent itemsets of up to three items by sparse matrix products: exact, and fast on millions of baskets.

mlxtend's ``fpgrowth`` builds its FP-tree with a Python loop over baskets (about 30 µs each), so 3.5M
invoices (1M customers) take minutes before any mining starts. For the itemsets a cross-sell needs
(``max_len`` <= 3) the counts are plain sparse algebra on the boolean baskets x products matrix ``B``:

* items: column sums of ``B``;
* pairs: the upper triangle of ``B'B`` (products x products);
* triples: with ``P`` the baskets x frequent-pairs indicator (every pair of items inside each basket,
  enumerated without a Python loop), ``P'B`` counts each frequent pair together with every third item.
  A triple's support is at most each of its pairs' (downward closure), so counting only frequent pairs
  extended by a later item finds every frequent triple exactly once.

:func:`sparse_itemsets` returns the same table as ``workbench.recommend.basket.frequent_itemsets``
(supports ``count / n_baskets``, kept when ``>= min_support`` as mlxtend does; itemsets as sorted tuples
of product ids; sorted by support, length, then ids), so the two are interchangeable; the tests check it.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

log = logging.getLogger(__name__)

SUPPORT = "support"
ITEMSETS = "itemsets"
#: the longest itemsets this module counts
MAX_LEN = 3


def pairs_in_rows(indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return positions ``(p, q)`` with ``p < q`` of every pair of stored entries inside the same CSR row."""
    lengths = np.diff(np.asarray(indptr, dtype=np.int64))
    n = int(indptr[-1])
    later = np.repeat(np.asarray(indptr[1:], dtype=np.int64), lengths) - np.arange(n) - 1  # entries after p
    p = np.repeat(np.arange(n), later)
    first = np.cumsum(later) - later  # where p's run starts in the output
    q = p + 1 + (np.arange(len(p)) - np.repeat(first, later))
    return p, q


def sparse_itemsets(matrix: sp.spmatrix, product_ids, min_support: float,
                    max_len: int | None = MAX_LEN) -> pd.DataFrame:
    """Return the frequent itemsets ``[support, itemsets]`` of a baskets x products 0/1 matrix, up to three items.

    ``max_len`` may be 1, 2 or 3 (None means 3: longer itemsets need mlxtend's ``fpgrowth``).
    """
    if max_len is None:
        max_len = MAX_LEN
    if not 1 <= int(max_len) <= MAX_LEN:
        raise ValueError(f"sparse_itemsets counts itemsets of 1 to {MAX_LEN} items, not max_len={max_len}; "
                         f"use mlxtend fpgrowth for longer ones")
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], not {min_support}")
    n = matrix.shape[0]
    B = sp.csr_matrix(matrix, dtype=np.int32, copy=True)
    B.sum_duplicates()
    B.data[:] = 1
    B.eliminate_zeros()
    counts = np.asarray(B.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts / float(n) >= min_support) if n else np.zeros(0, dtype=np.int64)
    names = np.asarray(pd.Index(product_ids).astype("str"), dtype=object)[keep]
    m = len(keep)
    levels = [(np.arange(m)[:, None], counts[keep])]
    if max_len >= 2 and m > 1:
        B1 = B[:, keep].tocsr()
        B1.sort_indices()
        G = (B1.T @ B1).tocoo()
        sel = (G.row < G.col) & (G.data / float(n) >= min_support)
        pi, pj, pc = G.row[sel], G.col[sel], G.data[sel]
        order = np.lexsort((pj, pi))
        pi, pj, pc = pi[order], pj[order], pc[order]
        levels.append((np.c_[pi, pj], pc))
        if max_len >= 3 and len(pi):
            p, q = pairs_in_rows(B1.indptr)
            rows = np.repeat(np.arange(n), np.diff(B1.indptr))[p]
            key = B1.indices[p].astype(np.int64) * m + B1.indices[q]
            pair_key = pi.astype(np.int64) * m + pj  # sorted, since (pi, pj) are
            pos = np.searchsorted(pair_key, key)
            hit = pair_key[np.minimum(pos, len(pair_key) - 1)] == key
            P = sp.csr_matrix((np.ones(int(hit.sum()), dtype=np.int32), (rows[hit], pos[hit])),
                              shape=(n, len(pair_key)))
            T = (P.T.tocsr() @ B1).tocoo()  # frequent pair x item: baskets holding all three
            sel = (T.col > pj[T.row]) & (T.data / float(n) >= min_support)
            r, k, c = T.row[sel], T.col[sel], T.data[sel]
            levels.append((np.c_[pi[r], pj[r], k], c))
    support = np.concatenate([c / float(n) for _, c in levels]) if m else np.zeros(0)
    sets = [tuple(sorted(names[row])) for idx, _ in levels for row in idx]  # one tuple per itemset found
    fi = pd.DataFrame({SUPPORT: support.astype("float64"), ITEMSETS: pd.Series(sets, dtype="object")})
    fi = fi.assign(_len=fi[ITEMSETS].map(len), _key=fi[ITEMSETS].map("|".join))
    fi = fi.sort_values([SUPPORT, "_len", "_key"], ascending=[False, True, True], kind="stable")
    log.info("itemsets: %d baskets, %d frequent items -> %d itemsets (min support %.3g)", n, m, len(fi), min_support)
    return fi.drop(columns=["_len", "_key"]).reset_index(drop=True)
