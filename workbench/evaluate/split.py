"""Train/test splitters for recommender evaluation: pure functions, DataFrames in, ``(train, test)`` out.

Every splitter keeps the input's columns and index (so a row can be traced back) and the input's row
order inside each part. Semantics follow microsoft/recommenders' ``python_splitters`` where a splitter
has a counterpart there:

- :func:`random_split`: rows at random (scikit-learn ``train_test_split``).
- :func:`stratified_split`: per group (item or customer) a ``ratio`` share of the group's rows goes to
  train, the rest to test; ``python_stratified_split`` semantics (a random key drawn with
  ``np.random.RandomState(seed).rand`` in row order, rows ranked inside their group by that key, the
  rows whose rank / group size is <= ``ratio`` go to train). On the same rows in the same order it
  gives exactly their split.
- :func:`chronological_split`: one global cut-off date: before it train, from it on test.
- :func:`leave_last_basket_out`: per customer, the last invoice goes to test.

:func:`drop_seen_pairs` removes from a test set the (customer, product) pairs already in train, which
is what "seen items removed" evaluation needs when the data can repeat a pair (repeat purchases).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from workbench.data import contract

log = logging.getLogger(__name__)


def _check_ratio(ratio: float) -> float:
    ratio = float(ratio)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be strictly between 0 and 1 (the train share), not {ratio}")
    return ratio


def _check_columns(df: pd.DataFrame, cols, what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: column(s) {missing} not in the frame (columns: {list(df.columns)}); "
                       f"pass the right column names")


def random_split(df: pd.DataFrame, ratio: float = 0.75, seed: int = 42) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)``: a random ``ratio`` share of the rows in train, the rest in test."""
    ratio = _check_ratio(ratio)
    if len(df) < 2:
        raise ValueError(f"random_split needs at least 2 rows, got {len(df)}")
    from sklearn.model_selection import train_test_split  # imported here: sklearn is slow to import

    pos = np.arange(len(df))
    tr, _ = train_test_split(pos, train_size=ratio, random_state=seed)
    mask = np.zeros(len(df), dtype=bool)
    mask[tr] = True
    return df[mask], df[~mask]


def stratified_split(df: pd.DataFrame, ratio: float = 0.75, by: str = contract.PRODUCT_ID, seed: int = 42,
                     min_rows: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)`` split per group of ``by`` (item or customer): ``ratio`` of each group in train.

    microsoft/recommenders ``python_stratified_split`` semantics: inside each group rows are ordered by
    a random key (``RandomState(seed).rand`` drawn in row order) and the ones with rank / group size
    <= ``ratio`` go to train, so a group of n >= 2 rows lands in both parts and a group of a single row
    lands in test. ``min_rows`` drops groups with fewer rows first (their ``min_rating``).
    """
    ratio = _check_ratio(ratio)
    _check_columns(df, [by], "stratified_split")
    if min_rows > 1:
        size = df.groupby(by, sort=False, observed=True)[by].transform("size")
        df = df[size.to_numpy() >= min_rows]
    key = np.random.RandomState(seed).rand(len(df))
    codes = pd.factorize(df[by], sort=True, use_na_sentinel=False)[0]
    order = np.lexsort((key, codes))
    sc = codes[order]
    start = np.r_[True, sc[1:] != sc[:-1]] if len(sc) else np.zeros(0, dtype=bool)
    grp_start = np.maximum.accumulate(np.where(start, np.arange(len(sc)), 0)) if len(sc) else sc
    rank = np.arange(len(sc)) - grp_start + 1
    size = np.bincount(codes)[sc] if len(sc) else sc
    in_train = np.empty(len(df), dtype=bool)
    in_train[order] = rank / np.maximum(size, 1) <= ratio
    return df[in_train], df[~in_train]


def chronological_split(df: pd.DataFrame, cutoff=None, ratio: float = 0.8,
                        time_col: str = contract.TIMESTAMP) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)`` at one global cut-off: rows before ``cutoff`` train, rows at or after it test.

    Without ``cutoff`` it is the time at the ``ratio`` quantile of the rows, so about ``ratio`` of the
    rows (all of one timestamp on the same side) land in train.
    """
    _check_columns(df, [time_col], "chronological_split")
    t = pd.to_datetime(df[time_col])
    if cutoff is None:
        ratio = _check_ratio(ratio)
        if len(df) < 2:
            raise ValueError(f"chronological_split needs at least 2 rows, got {len(df)}")
        srt = np.sort(t.to_numpy())
        cutoff = srt[min(int(np.floor(ratio * len(srt))), len(srt) - 1)]
    cutoff = pd.Timestamp(cutoff)
    before = (t < cutoff).to_numpy()
    log.info("chronological split at %s: %d train rows, %d test rows", cutoff, before.sum(), (~before).sum())
    return df[before], df[~before]


def leave_last_basket_out(transactions: pd.DataFrame, col_user: str = contract.CUSTOMER_ID,
                          col_basket: str = contract.TRANSACTION_ID,
                          time_col: str = contract.TIMESTAMP) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)``: each customer's last invoice in test, the rest in train.

    The last invoice is the one with the latest timestamp (ties: the largest invoice id). Customers with
    a single invoice stay entirely in train (nothing to hold out without making them cold).

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({
    ...     "transaction_id": ["t1", "t1", "t2", "t3", "t4"], "customer_id": ["a", "a", "a", "b", "b"],
    ...     "product_id": ["p1", "p2", "p3", "p1", "p2"],
    ...     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-01-05", "2024-03-01"]),
    ...     "quantity": 1, "unit_price": 1.0})
    >>> train, test = leave_last_basket_out(lines)
    >>> print(train[["customer_id", "product_id"]].to_string(index=False))
    customer_id product_id
              a         p1
              a         p2
              b         p1
    >>> print(test[["customer_id", "product_id"]].to_string(index=False))
    customer_id product_id
              a         p3
              b         p2
    """
    _check_columns(transactions, [col_user, col_basket, time_col], "leave_last_basket_out")
    tx = transactions
    baskets = (tx.groupby([col_user, col_basket], sort=False, observed=True)[time_col].max()
               .rename("_t").reset_index())
    baskets = baskets.sort_values([col_user, "_t", col_basket], kind="mergesort")
    n_baskets = baskets.groupby(col_user, sort=False, observed=True)[col_basket].transform("size")
    last = ~baskets.duplicated(col_user, keep="last")
    held = baskets.loc[last.to_numpy() & (n_baskets.to_numpy() >= 2), [col_user, col_basket]]
    key = pd.MultiIndex.from_frame(tx[[col_user, col_basket]])
    in_test = key.isin(pd.MultiIndex.from_frame(held))
    return tx[~in_test], tx[in_test]


def drop_seen_pairs(test: pd.DataFrame, train: pd.DataFrame, col_user: str = contract.CUSTOMER_ID,
                    col_item: str = contract.PRODUCT_ID) -> pd.DataFrame:
    """Return ``test`` without the rows whose (customer, product) pair also occurs in ``train``."""
    _check_columns(test, [col_user, col_item], "drop_seen_pairs(test)")
    _check_columns(train, [col_user, col_item], "drop_seen_pairs(train)")
    seen = pd.MultiIndex.from_frame(train[[col_user, col_item]].astype("str"))
    key = pd.MultiIndex.from_frame(test[[col_user, col_item]].astype("str"))
    return test[~key.isin(seen)]
