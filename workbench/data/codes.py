"""Integer codes of id columns, hashed once per column and shared by every stage that groups on them.

RFM, CLV, the interaction matrix, the basket miner and the recommenders all group the same transactions
by ``customer_id`` or ``transaction_id``; at 10M lines each ``pd.factorize`` of those string columns costs
about a second. :func:`factorize_ids` remembers its result for an Arrow-backed column (pandas' ``str``
dtype) while that column lives and is unchanged: a filtered copy, a replaced column or an edited value
is a different Arrow array and is hashed again. Other dtypes are factorized every time.
"""
from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

# id(extension array) -> (weak reference to it, weak reference to its Arrow data at the time, codes, uniques)
_CACHE: dict[int, tuple] = {}


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def factorize_ids(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Return ``pd.factorize(values)`` as (codes, uniques Index), remembered per Arrow-backed column.

    The codes are read-only (they may be shared): copy before changing them.
    """
    arr = values.array if isinstance(values, (pd.Series, pd.Index)) else None
    data = getattr(arr, "_pa_array", None)
    if data is None:
        codes, uniq = pd.factorize(values)
        return codes, pd.Index(uniq)
    for key in [k for k, v in _CACHE.items() if v[0]() is None]:  # forget columns that are gone
        del _CACHE[key]
    hit = _CACHE.get(id(arr))
    if hit is not None and hit[0]() is arr and hit[1]() is data:
        return hit[2], hit[3]
    codes, uniq = pd.factorize(values)
    out = (_readonly(np.asarray(codes)), pd.Index(uniq))
    _CACHE[id(arr)] = (weakref.ref(arr), weakref.ref(data), *out)
    return out


def sorted_codes(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Re-number factorize codes so that they follow the sorted uniques (``pd.factorize(sort=True)``)."""
    order = uniques.argsort()
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return np.where(codes >= 0, rank[np.maximum(codes, 0)], -1), uniques[order]


def compact(codes: np.ndarray, uniques: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """Drop the uniques no code points to (e.g. after selecting rows), keeping their order."""
    used = np.zeros(len(uniques), dtype=bool)
    used[codes[codes >= 0]] = True
    remap = np.cumsum(used) - 1
    return np.where(codes >= 0, remap[np.maximum(codes, 0)], -1), uniques[used]
