"""The customer x product interaction matrix (scipy.sparse CSR) with id <-> index maps."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.data.codes import factorize_ids

log = logging.getLogger(__name__)

#: default implicit weights per event type (view < addtocart < transaction)
EVENT_WEIGHTS = {"view": 1.0, "addtocart": 3.0, "transaction": 5.0}


def event_weights(weights: dict | None = None) -> dict[str, float]:
    """:data:`EVENT_WEIGHTS` with ``weights`` (e.g. a params block) on top; unknown types and weights that
    are not finite numbers are errors."""
    unknown = sorted(set(weights or {}) - set(contract.EVENT_TYPES))
    if unknown:
        raise ValueError(f"event weights: unknown event type(s) {unknown}; the types are {list(contract.EVENT_TYPES)}")
    out = {**EVENT_WEIGHTS, **(weights or {})}
    for k, v in out.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
            raise ValueError(f"event weights: {k}={v!r} is not a finite number")
    return {k: float(v) for k, v in out.items()}


def positions(index: pd.Index, values) -> np.ndarray:
    """Return the position of each value in ``index`` (-1 where absent), hashing each distinct value once.

    ``index.get_indexer`` on millions of string ids looks every row up in the index; factorizing first
    (Arrow's hash kernel on string columns) and looking up only the distinct values is about twice as fast.
    """
    codes, uniq = factorize_ids(pd.Series(values, copy=False) if not isinstance(values, pd.Series) else values)
    found = index.get_indexer(uniq)
    return np.where(codes >= 0, found[np.maximum(codes, 0)], -1)


@dataclass
class Interactions:
    """A sparse customers x products matrix plus the ids of its rows and columns.

    ``matrix[i, j]`` is the strength of customer ``customer_ids[i]``'s interaction with product
    ``product_ids[j]`` (units, counts, event weights or ratings). Built once, shared by every model.
    """

    matrix: sp.csr_matrix
    customer_ids: pd.Index
    product_ids: pd.Index

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    def customer_index(self, ids) -> np.ndarray:
        """Row positions of customer ids (-1 where unknown)."""
        return positions(self.customer_ids, ids)

    def product_index(self, ids) -> np.ndarray:
        """Column positions of product ids (-1 where unknown)."""
        return positions(self.product_ids, ids)

    def locate(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Row and column positions (-1 where unknown) of every line of ``frame`` (customer_id, product_id).

        The id columns' hashes are shared (:func:`~workbench.data.codes.factorize_ids`), so the components
        that read the same transactions only look the distinct ids up; callers select lines with masks.
        """
        return (positions(self.customer_ids, frame[contract.CUSTOMER_ID].astype("str")),
                positions(self.product_ids, frame[contract.PRODUCT_ID].astype("str")))

    def binary(self) -> sp.csr_matrix:
        """The matrix with every stored positive value set to 1 (float32)."""
        m = self.matrix.copy().astype(np.float32)
        m.data = (m.data > 0).astype(np.float32)
        m.eliminate_zeros()
        return m

    def to_frame(self) -> pd.DataFrame:
        """Long form: customer_id, product_id, value."""
        coo = self.matrix.tocoo()
        return pd.DataFrame({contract.CUSTOMER_ID: self.customer_ids[coo.row], contract.PRODUCT_ID: self.product_ids[coo.col],
                             "value": coo.data})

    @classmethod
    def from_frame(cls, df: pd.DataFrame, value: str | None = None, customers=None, products=None,
                   aggfunc: str = "sum") -> "Interactions":
        """Build from long rows (customer_id, product_id[, value]); duplicates are summed (or max'ed).

        ``customers``/``products`` fix the universe (e.g. the whole catalog, so products nobody bought
        yet still have a column); by default it is the ids present, sorted.
        """
        cust, prod = _universe(df, customers, products)
        r = positions(cust, df[contract.CUSTOMER_ID].astype("str"))
        c = positions(prod, df[contract.PRODUCT_ID].astype("str"))
        v = (np.ones(len(df), dtype=np.float32) if value is None else df[value].to_numpy(dtype=np.float32))
        return cls(_matrix(r, c, v, len(cust), len(prod), aggfunc), cust, prod)

    @classmethod
    def from_transactions(cls, transactions: pd.DataFrame, weight: str = "quantity", customers=None,
                          products=None) -> "Interactions":
        """Purchases as interactions: ``weight`` = ``quantity`` (net units, returns subtract; non-positive
        totals dropped), ``count`` (lines) or ``binary`` (bought at all)."""
        if weight not in ("quantity", "count", "binary"):
            raise ValueError(f"weight must be quantity, count or binary, not {weight!r}")
        tx = transactions
        lines = np.ones(len(tx), dtype=bool) if weight == "quantity" else (tx[contract.QUANTITY] > 0).to_numpy()
        # the default universe is the ids of the lines used (sales only for count and binary)
        given = customers is not None and products is not None
        cust, prod = _universe(tx if given or lines.all() else tx[lines], customers, products)
        r = positions(cust, tx[contract.CUSTOMER_ID].astype("str"))
        c = positions(prod, tx[contract.PRODUCT_ID].astype("str"))
        v = (tx[contract.QUANTITY].to_numpy(dtype=np.float32) if weight == "quantity"
             else np.ones(len(tx), dtype=np.float32))
        m = _matrix(r[lines], c[lines], v[lines], len(cust), len(prod), "sum")
        if weight == "quantity":
            m.data = np.maximum(m.data, 0)
            m.eliminate_zeros()
        inter = cls(m, cust, prod)
        if weight == "binary":
            inter.matrix = inter.binary()
        return inter

    @classmethod
    def from_events(cls, events: pd.DataFrame, weights: dict | None = None, customers=None,
                    products=None) -> "Interactions":
        """Implicit feedback: each event adds its type's weight (view < addtocart < transaction).

        ``weights`` overrides :data:`EVENT_WEIGHTS` per type (a weight of 0 ignores the type). Rows of a
        type with no weight are left out with a warning, never stored as NaN.
        """
        w = event_weights(weights)
        kinds = events[contract.EVENT].astype("str")
        vals = kinds.map(w).astype("float32")
        unknown = vals.isna().to_numpy()
        if unknown.any():
            log.warning("events: %d row(s) of types without a weight are left out (%s); weights: %s",
                        int(unknown.sum()), sorted(set(kinds[unknown].head(1000))), w)
        df = events.loc[~unknown, [contract.CUSTOMER_ID, contract.PRODUCT_ID]].assign(_w=vals.to_numpy()[~unknown])
        return cls.from_frame(df, "_w", customers, products)

    @classmethod
    def from_shop(cls, shop, weight: str = "quantity", weights: dict | None = None, customers=None,
                  products=None) -> "Interactions":
        """The interactions of the shop's feedback (:attr:`~workbench.data.shop.Shop.feedback`): purchases
        (``weight`` as in :meth:`from_transactions`), else events (``weights`` per type), else ratings."""
        source = shop.feedback
        if source == contract.EVENTS:
            return cls.from_events(shop.events, weights, customers, products)
        if source == contract.RATINGS:
            return cls.from_ratings(shop.ratings, customers, products)
        return cls.from_transactions(shop.transactions, weight, customers, products)

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame, customers=None, products=None) -> "Interactions":
        """Explicit feedback: the rating (the latest wins if a customer rated a product twice)."""
        r = ratings.sort_values(contract.TIMESTAMP) if contract.TIMESTAMP in ratings else ratings
        r = r.drop_duplicates([contract.CUSTOMER_ID, contract.PRODUCT_ID], keep="last")
        return cls.from_frame(r[[contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.RATING]], contract.RATING, customers, products)


def _universe(df: pd.DataFrame, customers=None, products=None) -> tuple[pd.Index, pd.Index]:
    """The sorted customer and product ids: the given universes, else the ids present in ``df``."""
    cust = pd.Index(pd.unique(df[contract.CUSTOMER_ID].astype("str")) if customers is None else
                    pd.Index(customers).astype("str").unique()).sort_values()
    prod = pd.Index(pd.unique(df[contract.PRODUCT_ID].astype("str")) if products is None else
                    pd.Index(products).astype("str").unique()).sort_values()
    return cust, prod


def _matrix(r: np.ndarray, c: np.ndarray, v: np.ndarray, n_rows: int, n_cols: int, aggfunc: str) -> sp.csr_matrix:
    """CSR matrix of the values at (r, c), lines with r or c = -1 left out; duplicates summed (or max'ed)."""
    keep = (r >= 0) & (c >= 0)
    r, c, v = r[keep], c[keep], v[keep]
    if aggfunc == "max":
        key = r.astype(np.int64) * n_cols + c
        order = np.lexsort((v, key))
        key, v = key[order], v[order]
        last = np.r_[key[1:] != key[:-1], True]
        key, v = key[last], v[last]
        r, c = key // n_cols, key % n_cols
    m = sp.csr_matrix((v, (r, c)), shape=(n_rows, n_cols), dtype=np.float32)
    m.sum_duplicates()
    m.eliminate_zeros()
    return m
