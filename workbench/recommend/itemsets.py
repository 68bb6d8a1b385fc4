"""Frequent itemsets of up to three items by sparse matrix products: exact, and fast on millions of baskets.

mlxtend's ``fpgrowth`` builds its FP-tree with a Python loop over baskets (about 30 µs each), so 3.5M
invoices (1M customers) take minutes before any mining starts. For the itemsets a cross-sell needs
(``max_len`` <= 3) the counts are plain sparse algebra on the boolean baskets x products matrix ``B``:

* items: column sums of ``B``;
* pairs: the upper triangle of ``B'B`` (products x products);
* triples: with ``P`` the baskets x frequent-pairs indicator (every pair of items inside each basket,
  enumerated without a Python loop), ``P'B`` counts each frequent pair together with every third item.
  A triple's support is at most each of its pairs' (downward closure), so counting only frequent pairs
  extended by a later item finds every frequent triple exactly once. ``P'B`` is taken a block of frequent
  pairs at a time (:data:`BLOCK_CELLS`), so wide wholesale baskets do not blow its memory up.

:func:`level_counts` counts the itemsets without building them (memory of the counts only): the budget
check of ``workbench.recommend.basket.bound_support`` runs it before mining.

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
#: multiply work (about the cells of a sparse product) of one block of frequent pairs when triples are
#: counted: the block's product stays near 30M cells, a few hundred MB, however wide the baskets are
BLOCK_CELLS = 30_000_000


def pairs_in_rows(indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return positions ``(p, q)`` with ``p < q`` of every pair of stored entries inside the same CSR row."""
    lengths = np.diff(np.asarray(indptr, dtype=np.int64))
    n = int(indptr[-1])
    later = np.repeat(np.asarray(indptr[1:], dtype=np.int64), lengths) - np.arange(n) - 1  # entries after p
    p = np.repeat(np.arange(n), later)
    first = np.cumsum(later) - later  # where p's run starts in the output
    q = p + 1 + (np.arange(len(p)) - np.repeat(first, later))
    return p, q


def min_count(n_baskets: int, min_support: float) -> int:
    """Return the fewest baskets an itemset needs at ``min_support``: the smallest count ``c`` with
    ``c / n_baskets >= min_support`` (the comparison the miner makes, so the two agree exactly)."""
    c = max(int(np.ceil(min_support * n_baskets)), 1)
    while c > 1 and (c - 1) / float(n_baskets) >= min_support:
        c -= 1
    while c / float(n_baskets) < min_support:
        c += 1
    return c


def _check(max_len: int | None, min_support: float) -> int:
    if max_len is None:
        max_len = MAX_LEN
    if not 1 <= int(max_len) <= MAX_LEN:
        raise ValueError(f"sparse_itemsets counts itemsets of 1 to {MAX_LEN} items, not max_len={max_len}; "
                         f"use mlxtend fpgrowth for longer ones")
    if not 0.0 < min_support <= 1.0:
        raise ValueError(f"min_support must be in (0, 1], not {min_support}")
    return int(max_len)


def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    B = sp.csr_matrix(matrix, dtype=np.int32, copy=True)
    B.sum_duplicates()
    B.data[:] = 1
    B.eliminate_zeros()
    return B


def _frequent_pairs(B1: sp.csr_matrix, least: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(i, j, count)`` of the item pairs ``i < j`` in at least ``least`` baskets, sorted by (i, j)."""
    G = (B1.T @ B1).tocoo()
    sel = (G.row < G.col) & (G.data >= least)
    pi, pj, pc = G.row[sel], G.col[sel], G.data[sel]
    order = np.lexsort((pj, pi))
    return pi[order], pj[order], pc[order]


def _triples(B1: sp.csr_matrix, pi: np.ndarray, pj: np.ndarray, least: int, block_cells: int = BLOCK_CELLS):
    """Yield ``(pair, item, count)`` arrays of the triples (frequent pair ``pair`` + a later ``item``) in at
    least ``least`` baskets, one block of frequent pairs at a time.

    A block's pairs x items product is sized by its multiply work (each basket holding a pair adds the
    basket's length), about ``block_cells`` cells, so memory stays bounded whatever the basket widths.
    """
    n, m = B1.shape
    p, q = pairs_in_rows(B1.indptr)
    rows = np.repeat(np.arange(n), np.diff(B1.indptr))[p]
    key = B1.indices[p].astype(np.int64) * m + B1.indices[q]
    del p, q
    pair_key = pi.astype(np.int64) * m + pj  # sorted, since (pi, pj) are
    pos = np.searchsorted(pair_key, key)
    hit = pair_key[np.minimum(pos, len(pair_key) - 1)] == key
    PT = sp.csr_matrix((np.ones(int(hit.sum()), dtype=np.int32), (pos[hit], rows[hit])),
                       shape=(len(pair_key), n))  # frequent pairs x baskets holding them
    del rows, key, pos, hit
    work = np.cumsum(PT @ np.diff(B1.indptr).astype(np.int64))
    start = 0
    while start < len(pair_key):
        stop = max(int(np.searchsorted(work, (work[start - 1] if start else 0) + block_cells, side="right")),
                   start + 1)
        T = (PT[start:stop] @ B1).tocoo()  # pairs of the block x items: baskets holding all three
        r = T.row.astype(np.int64) + start
        sel = (T.col > pj[r]) & (T.data >= least)
        yield r[sel], T.col[sel], T.data[sel]
        start = stop


def level_counts(matrix: sp.spmatrix, min_support: float, max_len: int | None = MAX_LEN) -> list[np.ndarray]:
    """Return, per itemset length (1, 2, 3 up to ``max_len``), the basket count of every itemset frequent at
    ``min_support``: what :func:`sparse_itemsets` would find, counted without building it (memory of the
    counts only). The itemsets at any higher support are those whose count reaches it."""
    max_len = _check(max_len, min_support)
    n = matrix.shape[0]
    if n == 0:
        return [np.zeros(0, dtype=np.int64)]
    B = _binary(matrix)
    least = min_count(n, min_support)
    counts = np.asarray(B.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts >= least)
    out = [counts[keep].astype(np.int64)]
    if max_len >= 2 and len(keep) > 1:
        B1 = B[:, keep].tocsr()
        B1.sort_indices()
        pi, pj, pc = _frequent_pairs(B1, least)
        out.append(pc.astype(np.int64))
        if max_len >= 3 and len(pi):
            out.append(np.concatenate([c for _, _, c in _triples(B1, pi, pj, least)]).astype(np.int64))
    return out


def sparse_itemsets(matrix: sp.spmatrix, product_ids, min_support: float,
                    max_len: int | None = MAX_LEN) -> pd.DataFrame:
    """Return the frequent itemsets ``[support, itemsets]`` of a baskets x products 0/1 matrix, up to three items.

    ``max_len`` may be 1, 2 or 3 (None means 3: longer itemsets need mlxtend's ``fpgrowth``).
    """
    max_len = _check(max_len, min_support)
    n = matrix.shape[0]
    B = _binary(matrix)
    least = min_count(n, min_support) if n else 1
    counts = np.asarray(B.sum(axis=0)).ravel()
    keep = np.flatnonzero(counts >= least) if n else np.zeros(0, dtype=np.int64)
    names = np.asarray(pd.Index(product_ids).astype("str"), dtype=object)[keep]
    m = len(keep)
    levels = [(np.arange(m)[:, None], counts[keep])]
    if max_len >= 2 and m > 1:
        B1 = B[:, keep].tocsr()
        B1.sort_indices()
        pi, pj, pc = _frequent_pairs(B1, least)
        levels.append((np.c_[pi, pj], pc))
        if max_len >= 3 and len(pi):
            for r, k, c in _triples(B1, pi, pj, least):
                levels.append((np.c_[pi[r], pj[r], k], c))
    support = np.concatenate([c / float(n) for _, c in levels]) if m else np.zeros(0)
    sets = [tuple(sorted(names[row])) for idx, _ in levels for row in idx]  # one tuple per itemset found
    fi = pd.DataFrame({SUPPORT: support.astype("float64"), ITEMSETS: pd.Series(sets, dtype="object")})
    fi = fi.assign(_len=fi[ITEMSETS].map(len), _key=fi[ITEMSETS].map("|".join))
    fi = fi.sort_values([SUPPORT, "_len", "_key"], ascending=[False, True, True], kind="stable")
    log.info("itemsets: %d baskets, %d frequent items -> %d itemsets (min support %.3g)", n, m, len(fi), min_support)
    return fi.drop(columns=["_len", "_key"]).reset_index(drop=True)
