"""The interface every recommender follows, and the batched top-K machinery they share.

A recommender is a small scikit-learn-style class: constructor arguments are its parameters,
``fit(interactions, **context)`` learns, ``recommend(customer_ids, k, exclude_seen)`` returns a
DataFrame ``[customer_id, product_id, score, rank]`` and ``score(customer_ids, product_ids)`` scores
given pairs. Subclasses implement ``_fit`` and ``_score_rows(rows) -> ndarray (len(rows), n_products)``;
the base class does batching, seen-item exclusion, cold customers and top-K with ``argpartition``.
"""
from __future__ import annotations

import inspect
import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp
from workbench.progress import tqdm

from workbench.data import contract
from workbench.errors import ConfigError, NotFittedError
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)

RANK = "rank"
SCORE = "score"


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``k`` largest entries per row, best first (ties: lower index)."""
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64), np.zeros((scores.shape[0], 0))
    # the k largest sit at the end after partitioning at n - k (twice as fast as partitioning -scores at k - 1)
    part = np.argpartition(scores, n - k, axis=1)[:, n - k:] if k < n else np.tile(np.arange(n), (len(scores), 1))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(vals, order, axis=1)


def constructor_kwargs(cls: type, params: dict | None) -> dict:
    """The entries of ``params`` that name arguments of ``cls.__init__`` (a params block may hold more)."""
    keys = set(inspect.signature(cls.__init__).parameters) - {"self"}
    return {k: v for k, v in (params or {}).items() if k in keys}


class Recommender:
    """Base class. Subclasses set ``name`` and implement ``_fit`` and ``_score_rows``."""

    name = "recommender"
    batch_size = 2048

    # ---- fitting -----------------------------------------------------------------------------
    def fit(self, interactions: Interactions, **context) -> "Recommender":
        """Learn from the interaction matrix (and optional context: products, transactions, ...)."""
        if not isinstance(interactions, Interactions):
            raise TypeError("fit expects an Interactions object (workbench.recommend.interactions)")
        self.interactions_ = interactions
        self._seen = interactions.matrix.tocsr()
        pop = np.asarray(interactions.binary().sum(axis=0)).ravel().astype(np.float64)
        self.popularity_ = pop / max(pop.max(), 1.0)
        self._fit(interactions, **context)
        return self

    def _fit(self, interactions: Interactions, **context) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "interactions_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(interactions) first")

    # ---- scoring -----------------------------------------------------------------------------
    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """Scores of all products for the known customers at matrix rows ``rows`` (a new dense float array:
        the caller writes to it)."""
        raise NotImplementedError

    def _score_cold(self, n: int) -> np.ndarray:
        """Scores for customers unknown at fit time: popularity by default."""
        return np.tile(self.popularity_, (n, 1))

    def score_batch(self, rows: np.ndarray) -> np.ndarray:
        """Scores (len(rows) x n_products) for matrix rows, -1 meaning an unknown customer."""
        rows = np.asarray(rows)
        known = rows >= 0
        if known.all() and len(rows):
            # a model that scores in float32 keeps it (half the memory, faster top-k, the same order)
            part = np.asarray(self._score_rows(rows))
            return part if part.dtype in (np.float32, np.float64) else part.astype(np.float64)
        out = np.empty((len(rows), self.interactions_.shape[1]), dtype=np.float64)
        if known.any():
            out[known] = self._score_rows(rows[known])
        if (~known).any():
            out[~known] = self._score_cold(int((~known).sum()))
        return out

    def recommend(self, customer_ids, k: int = 10, exclude_seen: bool = True,
                  exclude: sp.csr_matrix | None = None, progress: bool = False) -> pd.DataFrame:
        """Top-``k`` products per customer: DataFrame [customer_id, product_id, score, rank].

        ``exclude_seen`` removes what the customer interacted with in the fitted data; ``exclude`` is
        an extra customers x products mask aligned with the fitted matrix (e.g. out-of-stock items).
        """
        self._check_fitted()
        ids = pd.Index(pd.Series(customer_ids, dtype="str")).unique()
        if ids.equals(self.interactions_.customer_ids):  # every customer, in matrix order: no lookup
            rows = np.arange(len(ids))
        else:
            rows = self.interactions_.customer_index(ids)
        parts_i, parts_s = [], []
        batches = range(0, len(ids), self.batch_size)
        for s in tqdm(batches, desc=f"{self.name} top-{k}", disable=not progress, leave=False):
            r = rows[s:s + self.batch_size]
            sc = self.score_batch(r)
            if sc.dtype not in (np.float32, np.float64):
                sc = sc.astype(np.float64)
            known = r >= 0
            if exclude_seen and known.all():
                sc[self._seen[r].nonzero()] = -np.inf
            elif exclude_seen and known.any():
                seen = self._seen[r[known]]
                sub = sc[known]
                sub[seen.nonzero()] = -np.inf
                sc[known] = sub
            if exclude is not None and known.any():
                sub = sc[known]
                sub[exclude[r[known]].nonzero()] = -np.inf
                sc[known] = sub
            idx, val = top_k(sc, k)
            parts_i.append(idx)
            parts_s.append(val)
        if not parts_i:
            return pd.DataFrame({contract.CUSTOMER_ID: pd.Series(dtype="str"), contract.PRODUCT_ID: pd.Series(dtype="str"),
                                 SCORE: pd.Series(dtype="float64"), RANK: pd.Series(dtype="int64")})
        idx = np.vstack(parts_i)
        val = np.vstack(parts_s).astype(np.float64)
        kk = idx.shape[1]
        val = val.ravel()
        keep = np.isfinite(val)
        # ids are gathered with Arrow takes: no Python string objects for millions of rows
        return pd.DataFrame({
            contract.CUSTOMER_ID: pd.array(ids, dtype="str").take(np.repeat(np.arange(len(ids)), kk)[keep]),
            contract.PRODUCT_ID: pd.array(self.interactions_.product_ids, dtype="str").take(idx.ravel()[keep]),
            SCORE: val[keep],
            RANK: np.tile(np.arange(1, kk + 1), len(ids))[keep],
        })

    def score(self, customer_ids, product_ids) -> np.ndarray:
        """Scores of the given (customer, product) pairs (NaN for unknown products)."""
        self._check_fitted()
        cust = pd.Series(customer_ids, dtype="str").to_numpy()
        prod = self.interactions_.product_index(pd.Series(product_ids, dtype="str"))
        out = np.full(len(cust), np.nan)
        uniq, inv = np.unique(cust, return_inverse=True)
        rows = self.interactions_.customer_index(uniq)
        for s in range(0, len(uniq), self.batch_size):  # batches of customers, not pairs
            sc = self.score_batch(rows[s:s + self.batch_size])
            sel = (inv >= s) & (inv < s + self.batch_size) & (prod >= 0)
            out[sel] = sc[inv[sel] - s, prod[sel]]
        return out

    @classmethod
    def from_params(cls, params: dict | None, strict: bool = False):
        """An instance built from a params block: its keys that name constructor arguments. Other keys are
        ignored, or with ``strict`` a :class:`~workbench.errors.ConfigError` naming them and the known ones."""
        if strict:
            known = constructor_kwargs(cls, params)
            unknown = sorted(set(params or {}) - set(known))
            if unknown:
                raise ConfigError(f"{cls.__name__}: unknown parameter(s) {unknown}; known: "
                                  f"{sorted(set(inspect.signature(cls.__init__).parameters) - {'self'})}")
            return cls(**known)
        return cls(**constructor_kwargs(cls, params))

    def get_params(self) -> dict:
        """Constructor parameters (scikit-learn style)."""
        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"
                and hasattr(self, p)}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
