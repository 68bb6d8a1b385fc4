"""User-based kNN: a customer's products scored by what their most similar customers bought.

Similarity is the cosine of two customers' purchase vectors with shrinkage, ``x_u.x_v / (|x_u| |x_v| + shrink)``
(the item-kNN formula of :func:`workbench.recommend.cf.cosine_similarity_shrunk`, over customers). Each customer
keeps the ``k_neighbors`` most similar other customers, optionally only from their own RFM segment or cluster
(``group_col``; the segmentation table comes as the ``segments`` fit context), and
``score(u, j) = sum over neighbours v of sim(u, v) x_vj``.

No customers x customers matrix is ever held: the neighbours of a batch of customers are found when the batch
is scored, from one sparse product ``X[batch] @ X'`` (only customers sharing a product get a similarity), and
the top ``k_neighbors`` of each row are chosen with one sort of its candidates: the customers sharing two or more
products with it, and each shared product's ``k_neighbors + 1`` buyers with the fewest purchases (0/1 vectors:
no other customer can rank higher, see :meth:`UserKNN._first_buyers`).

Notebook 02 fits it without a segmentation table (neighbours from every customer); as a hybrid component it gets
the segments the hybrid fits on each training part, so ``group_col`` takes effect there.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)

#: the segmentation columns neighbours can be restricted to
GROUP_COLUMNS = ("segment", "cluster")


def top_k_per_row(S: sp.csr_matrix, k: int | None) -> sp.csr_matrix:
    """Return ``S`` with only the ``k`` largest entries of each row kept (ties: the lower column); all when
    ``k`` is None. Entries must lie in [0, 1] (cosine similarities)."""
    S = sp.csr_matrix(S)
    counts = np.diff(S.indptr)
    if k is None or not len(counts) or counts.max() <= k:
        return S
    S.sort_indices()
    row = np.repeat(np.arange(S.shape[0]), counts)
    long = np.flatnonzero(counts[row] > k)  # rows with at most k entries keep them all
    # one stable sort of the long rows' entries: by row, then by falling similarity (in [0, 1]), then by column
    order = long[np.argsort(row[long] + 0.5 * (1.0 - S.data[long].astype(np.float64)), kind="stable")]
    first = np.r_[0, np.flatnonzero(np.diff(row[order])) + 1]
    pos = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    keep = np.ones(S.nnz, dtype=bool)
    keep[order[pos >= k]] = False
    kept = np.bincount(row[keep], minlength=S.shape[0])
    return sp.csr_matrix((S.data[keep], S.indices[keep], np.r_[0, np.cumsum(kept)]), shape=S.shape)


class UserKNN(Recommender):
    """User-based kNN with shrunk cosine similarity (see the module docstring).

    ``k_neighbors``: neighbours per customer (None: every customer with a shared product); ``shrink``: added to
    the cosine's denominator, so similarities resting on few shared products count less; ``binary``: 0/1
    purchase vectors (else the stored strengths); ``group_col``: ``segment`` or ``cluster`` to take neighbours
    only from the customer's own group (customers without a group take them from everyone), None for everyone.
    """

    name = "user_knn"

    def __init__(self, k_neighbors: int | None = 100, shrink: float = 10.0, binary: bool = True,
                 group_col: str | None = None):
        if group_col is not None and group_col not in GROUP_COLUMNS:
            raise ValueError(f"UserKNN group_col must be one of {GROUP_COLUMNS} or None, not {group_col!r}")
        if k_neighbors is not None and int(k_neighbors) < 1:
            raise ValueError(f"UserKNN k_neighbors must be at least 1 (or None: all), not {k_neighbors}")
        if float(shrink) < 0:
            raise ValueError(f"UserKNN shrink must be >= 0, not {shrink}")
        self.k_neighbors = k_neighbors
        self.shrink = shrink
        self.binary = binary
        self.group_col = group_col

    def _fit(self, interactions: Interactions, segments: pd.DataFrame | None = None, **context) -> None:
        X = interactions.binary() if self.binary else interactions.matrix
        self.X_ = sp.csr_matrix(X, dtype=np.float32)
        self.XT_ = self.X_.T.tocsr()
        self.norms_ = np.sqrt(np.asarray(self.X_.multiply(self.X_).sum(axis=1)).ravel()).astype(np.float64)
        self.groups_ = self._groups(segments, interactions.customer_ids)
        self.first_buyers_ = self._first_buyers() if self.binary and self.k_neighbors is not None else None

    def _first_buyers(self) -> sp.csr_matrix:
        """Products x customers: the ``k_neighbors + 1`` buyers of each product with the smallest purchase
        vectors (within each group too, when neighbours are grouped).

        With 0/1 vectors, a customer who shares one product j with u has similarity ``1 / (|x_u| |x_v| +
        shrink)``: of those, the ones with the smallest ``|x_v|`` rank first, and j's ``k_neighbors + 1``
        smallest buyers (u aside, ``k_neighbors`` of them) each reach at least that similarity. So u's
        neighbours are among the customers sharing two or more products with u and these first buyers of u's
        products: the candidates :meth:`neighbours` ranks, far fewer than every customer sharing a product.
        """
        T = self.XT_.tocoo()
        item, cust = T.row.astype(np.int64), T.col.astype(np.int64)
        order_of = np.empty(len(self.norms_), dtype=np.int64)  # customers by vector length (ties: row)
        order_of[np.lexsort((np.arange(len(self.norms_)), self.norms_))] = np.arange(len(self.norms_))
        keep = np.zeros(len(item), dtype=bool)
        groupings = [np.zeros(len(item), dtype=np.int64)]
        if self.groups_ is not None:
            groupings.append(self.groups_[cust] + 1)
        for group in groupings:
            order = np.lexsort((order_of[cust], group, item))
            key = item[order] * (int(group.max(initial=0)) + 2) + group[order]
            start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
            pos = np.arange(len(order)) - np.repeat(start, np.diff(np.r_[start, len(order)]))
            keep[order[pos <= int(self.k_neighbors)]] = True
        return sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (item[keep], cust[keep])),
                             shape=self.XT_.shape)

    def _groups(self, segments: pd.DataFrame | None, customer_ids: pd.Index) -> np.ndarray | None:
        """Group code per matrix row (-1: no group), or None when neighbours come from everyone."""
        if self.group_col is None:
            return None
        if segments is None or self.group_col not in getattr(segments, "columns", ()):
            log.warning("user_knn: group_col=%r but the fit has no segmentation table with that column (run "
                        "notebook 01 first); neighbours come from every customer", self.group_col)
            return None
        seg = segments.drop_duplicates(contract.CUSTOMER_ID)
        label = seg[self.group_col]
        num = pd.to_numeric(label, errors="coerce")
        label = label.where(label.notna() & ~(num < 0))  # negative clusters: left out of clustering
        by_id = pd.Series(label.to_numpy(), index=seg[contract.CUSTOMER_ID].astype("str"))
        codes, _ = pd.factorize(by_id.reindex(pd.Index(customer_ids).astype("str")), sort=True)
        return codes.astype(np.int64)

    def neighbours(self, rows: np.ndarray) -> sp.csr_matrix:
        """The similarities of matrix rows ``rows`` to their kept neighbours: a len(rows) x customers matrix."""
        rows = np.asarray(rows)
        Xr = self.X_[rows]
        co = sp.csr_matrix(Xr @ self.XT_)
        if self.first_buyers_ is not None:  # the candidates: two or more shared products, or a first buyer
            shared = co.data >= 2
            indptr = np.r_[0, np.cumsum(shared)][co.indptr]
            co2 = sp.csr_matrix((co.data[shared], co.indices[shared], indptr), shape=co.shape)
            first = sp.csr_matrix(Xr @ self.first_buyers_)
            first.data[:] = 1.0  # a first buyer shares at least one product; more puts it in co2 as well
            co = sp.csr_matrix(co2.maximum(first))
        r = np.repeat(np.arange(len(rows)), np.diff(co.indptr))
        c = co.indices
        keep = c != rows[r]
        if self.groups_ is not None:
            g_row = self.groups_[rows][r]
            keep &= (g_row < 0) | (self.groups_[c] == g_row)
        r, c = r[keep], c[keep]
        v = co.data[keep] / (self.norms_[rows][r] * self.norms_[c] + float(self.shrink) + 1e-12)
        pos = v > 0
        indptr = np.r_[0, np.cumsum(np.bincount(r[pos], minlength=len(rows)))]
        S = sp.csr_matrix((v[pos], c[pos], indptr), shape=(len(rows), self.X_.shape[0]))
        return top_k_per_row(S, None if self.k_neighbors is None else int(self.k_neighbors))

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        S = self.neighbours(rows).astype(np.float32)
        return (S @ self.X_).toarray()
