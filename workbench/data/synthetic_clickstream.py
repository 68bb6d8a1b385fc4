"""What the synthetic shop can add to its clickstream: browsing sessions with planted item-to-item behaviour,
and bots. Both are off by default (``data.synthetic.browsing_sessions: 0``, ``n_bots: 0``) and draw from their
own random streams, so switching them on adds rows without changing any other row of the shop.

* **Browsing sessions**: each customer makes ``Poisson(browsing_sessions)`` visits on random days after signing
  up. A visit views ``2 + Geometric`` products, 10 to 150 seconds apart; its first product is drawn by
  popularity and each next one is, with probability ``session_coherence``, one of the previous product's
  planted *session neighbours* (``truth["session_neighbours"]``: four products of the same category), else a
  popularity draw. A session-based recommender can find the neighbours; a popularity list cannot. A visit
  ends with an add-to-cart of its last product with probability :data:`ABANDONED_CART` (a cart never bought).
* **Bots** (``truth["bots"]``, the planted rule each one breaks, see :mod:`workbench.data.bots`), in turn:
  a fast crawler (400 views, 0.5 to 2.5 s apart), a slow crawler (300 views in one visit, 15 to 45 s apart),
  a pinger (one view every 31 to 40 minutes for three days) and a scraper (20 views a day in visits of five for
  30 days, never a cart). Bots are customers ``B00001`` ... with no demographics beyond a signup date.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract

#: planted session neighbours per product
N_NEIGHBOURS = 4
#: the bot kinds in the order they are planted, with the rule each one breaks
BOT_KINDS = (("fast_crawler", "events_per_minute"), ("slow_crawler", "views_per_session"),
             ("pinger", "sessions_per_day"), ("scraper", "views_without_cart"))
#: the share of browsing visits whose last product goes into a cart that is never bought
ABANDONED_CART = 0.1
#: sub-streams of the shop's seed (the rest of the shop draws from the seed itself)
_BROWSING_STREAM, _BOT_STREAM = 1, 2


@dataclass(frozen=True)
class ClickstreamWorld:
    """What the planting needs from the generated shop: the start, the length in days, the products (ids,
    category codes, popularity) and the customers (ids, signup day relative to the start)."""

    start: pd.Timestamp
    n_days: int
    product_ids: np.ndarray
    category: np.ndarray
    popularity: np.ndarray
    customer_ids: np.ndarray
    signup_day: np.ndarray


def _events(world: ClickstreamWorld, sec: np.ndarray, cust: np.ndarray, prod: np.ndarray, ids=None,
            kind: np.ndarray | None = None) -> pd.DataFrame:
    ids = world.customer_ids if ids is None else ids
    kind = np.zeros(len(sec), dtype=np.int8) if kind is None else kind.astype(np.int8)
    return pd.DataFrame({
        data_contract.TIMESTAMP: (world.start + pd.to_timedelta(np.round(sec, 3), unit="s")).as_unit("us"),
        data_contract.CUSTOMER_ID: pd.array(np.asarray(ids, dtype=object)[cust], dtype="str"),
        data_contract.PRODUCT_ID: pd.array(np.asarray(world.product_ids, dtype=object)[prod], dtype="str"),
        data_contract.EVENT: pd.Categorical.from_codes(kind, categories=list(data_contract.EVENT_TYPES)),
    })


def session_neighbours(rng, world: ClickstreamWorld) -> np.ndarray:
    """Return ``(n_products, N_NEIGHBOURS)`` product codes: each product's planted neighbours in its category."""
    n = len(world.product_ids)
    out = np.empty((n, N_NEIGHBOURS), dtype=np.int64)
    for c in np.unique(world.category):
        members = np.flatnonzero(world.category == c)
        for j in members:
            others = members[members != j]
            if not len(others):  # a category of one product: neighbours from the whole catalog
                others = np.delete(np.arange(n), j)
            out[j] = rng.choice(others, size=N_NEIGHBOURS, replace=len(others) < N_NEIGHBOURS)
    return out


def browsing_sessions(seed: int, world: ClickstreamWorld, mean_sessions: float, coherence: float,
                      ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the browsing sessions' view events and the planted neighbours (``product_a, product_b``)."""
    rng = np.random.default_rng([seed, _BROWSING_STREAM])
    nb = session_neighbours(rng, world)
    n_cust = len(world.customer_ids)
    per = rng.poisson(mean_sessions, n_cust)
    cust = np.repeat(np.arange(n_cust), per)
    first = np.clip(world.signup_day[cust], 0, world.n_days - 1)
    day = first + (rng.random(len(cust)) * (world.n_days - first)).astype(np.int64)
    start = day * 86400.0 + rng.uniform(6 * 3600, 23 * 3600, len(cust))
    length = np.minimum(1 + rng.geometric(0.3, len(cust)), 15)
    p = world.popularity / world.popularity.sum()
    items = np.full((len(cust), int(length.max(initial=2))), -1, dtype=np.int64)
    items[:, 0] = rng.choice(len(p), size=len(cust), p=p)
    for step in range(1, items.shape[1]):
        follow = rng.random(len(cust)) < coherence
        nxt = np.where(follow, nb[items[:, step - 1], rng.integers(0, N_NEIGHBOURS, len(cust))],
                       rng.choice(len(p), size=len(cust), p=p))
        items[:, step] = np.where(step < length, nxt, -1)
    gaps = rng.uniform(10, 150, items.shape)
    gaps[:, 0] = 0
    sec = start[:, None] + np.cumsum(gaps, axis=1)
    keep = items >= 0
    rows = np.arange(len(cust))
    cart = rng.random(len(cust)) < ABANDONED_CART
    last = length - 1
    c_sec = sec[rows, last][cart] + rng.uniform(20, 120, int(cart.sum()))
    events = _events(world, np.r_[sec[keep], c_sec],
                     np.r_[np.broadcast_to(cust[:, None], items.shape)[keep], cust[cart]],
                     np.r_[items[keep], items[rows, last][cart]],
                     kind=np.r_[np.zeros(int(keep.sum())), np.ones(int(cart.sum()))])
    pids = np.asarray(world.product_ids, dtype=object)
    truth = pd.DataFrame({"product_a": pd.array(np.repeat(pids, N_NEIGHBOURS), dtype="str"),
                          "product_b": pd.array(pids[nb.ravel()], dtype="str")})
    return events, truth


def bots(seed: int, world: ClickstreamWorld, n_bots: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return the bots' customers rows, their view events and ``truth["bots"]`` (``customer_id, kind, rule``)."""
    rng = np.random.default_rng([seed, _BOT_STREAM])
    ids = np.array([f"B{i:05d}" for i in range(1, n_bots + 1)], dtype=object)
    p = world.popularity / world.popularity.sum()
    secs, custs = [], []
    for b in range(n_bots):
        kind = b % len(BOT_KINDS)
        day0 = int(rng.integers(0, max(world.n_days - 31, 1)))
        base = day0 * 86400.0 + rng.uniform(0, 3600)
        if kind == 0:
            t = base + np.cumsum(rng.uniform(0.5, 2.5, 400))
        elif kind == 1:
            t = base + np.cumsum(rng.uniform(15, 45, 300))
        elif kind == 2:
            t = base + np.cumsum(rng.uniform(31 * 60, 40 * 60, 3 * 24 * 60 // 35))
        else:
            visit = day0 * 86400.0 + np.arange(30)[:, None] * 86400.0 + np.arange(4)[None, :] * 4 * 3600.0
            t = (visit.ravel()[:, None] + np.cumsum(rng.uniform(20, 60, (120, 5)), axis=1)).ravel()
        secs.append(t)
        custs.append(np.full(len(t), b))
    sec = np.concatenate(secs) if secs else np.zeros(0)
    cust = np.concatenate(custs) if custs else np.zeros(0, dtype=np.int64)
    events = _events(world, sec, cust, rng.choice(len(p), size=len(sec), p=p), ids=ids)
    first = np.array([s.min() for s in secs]) if secs else np.zeros(0)
    customers = pd.DataFrame({
        data_contract.CUSTOMER_ID: pd.array(ids, dtype="str"),
        data_contract.SIGNUP_DATE: (world.start + pd.to_timedelta(np.floor(first / 86400), unit="D")).as_unit("ns"),
    })
    truth = pd.DataFrame({data_contract.CUSTOMER_ID: pd.array(ids, dtype="str"),
                          "kind": [BOT_KINDS[b % len(BOT_KINDS)][0] for b in range(n_bots)],
                          "rule": [BOT_KINDS[b % len(BOT_KINDS)][1] for b in range(n_bots)]})
    return customers, events, truth


def add_to_shop(customers: pd.DataFrame, events: pd.DataFrame, extra_customers: list[pd.DataFrame],
                extra_events: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers and events tables with the planted rows added (events in time order, ties as before)."""
    if extra_customers:
        dtypes = customers.dtypes
        customers = pd.concat([customers, *extra_customers], ignore_index=True)
        for col, dtype in dtypes.items():  # keep categories and integers (planted rows leave them missing)
            if isinstance(dtype, pd.CategoricalDtype) or dtype == "str" or pd.api.types.is_datetime64_dtype(dtype):
                customers[col] = customers[col].astype(dtype)
            elif pd.api.types.is_integer_dtype(dtype) and customers[col].isna().any():
                customers[col] = customers[col].astype("Int64")
    if extra_events:
        events = pd.concat([events, *extra_events], ignore_index=True)
        events = events.sort_values(data_contract.TIMESTAMP, kind="stable", ignore_index=True)
    return customers, events
