"""The evaluation protocol of session-based recommendation: predict the next item of held-out sessions.

As in Ludewig and Jannach (2018) and the SR-GNN line of work (Diginetica, Yoochoose): the clickstream is cut
into sessions (:mod:`workbench.data.sessions`), consecutive clicks on the same item are merged, sessions that
start in the last ``test_days`` days are the test sessions and the earlier ones train. Items clicked in fewer
than ``min_item_support`` training sessions are dropped, as are test items unknown to training; sessions
shorter than ``min_length`` clicks are left out. For every test session ``s_1 .. s_L`` and every position
``t < L`` the recommender ranks items for ``s_1 .. s_t`` and is scored on ``s_{t+1}``: ``HR@k`` (hit) and
``MRR@k`` (1 / rank, 0 outside the top ``k``), averaged over all predictions. Differences between two models
get a paired bootstrap interval that resamples whole test sessions (the predictions of one session are not
independent).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.config import settings_from_block
from workbench.data import contract as data_contract
from workbench.data.codes import factorize_ids
from workbench.data.sessions import SessionSettings, clickstream_block, session_ids
from workbench.errors import ConfigError
from workbench.progress import tqdm

log = logging.getLogger(__name__)

#: per-prediction result columns: the test session, the position predicted, and per model its rank (0 = miss)
POSITION = "position"


@dataclass(frozen=True)
class NextItemSettings:
    """The protocol and the session-kNN's neighbourhood (params ``clickstream.session_recs``)."""

    k: int = 20                 # the length of each next-item list (HR@k, MRR@k)
    test_days: int = 7          # sessions that start in the last test_days days are the test sessions
    min_item_support: int = 5   # products seen in fewer training sessions are left out of the protocol
    min_length: int = 2         # sessions shorter than this (after the cut) are dropped: nothing to predict
    neighbours: int = 100       # session-kNN: the most similar past sessions a prediction is voted by
    sample_size: int = 500      # session-kNN: the most recent past sessions sharing an item that are compared
    n_boot: int = 1000          # bootstrap resamples of the test sessions for the intervals
    gap_minutes: float = SessionSettings.gap_minutes

    def __post_init__(self):
        for name in ("k", "test_days", "min_item_support", "neighbours", "sample_size", "n_boot"):
            if not getattr(self, name) >= 1:
                raise ConfigError(f"params clickstream.session_recs.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.min_length < 2:
            raise ConfigError("params clickstream.session_recs.min_length must be >= 2 (a next item to predict)")


def next_item_settings(params: dict | None) -> NextItemSettings:
    """The ``clickstream.session_recs`` block over the defaults; the gap is ``clickstream.sessions``'."""
    block = dict(clickstream_block(params, "session_recs") or {})
    if "gap_minutes" in block:
        raise ConfigError("params clickstream.session_recs: the session gap is clickstream.sessions.gap_minutes")
    gap = settings_from_block(SessionSettings, clickstream_block(params, "sessions"), "clickstream.sessions")
    return settings_from_block(NextItemSettings, {**block, "gap_minutes": gap.gap_minutes},
                               "clickstream.session_recs")


def session_sequences(events: pd.DataFrame, gap_minutes: float = SessionSettings.gap_minutes) -> pd.DataFrame:
    """Return the clicks of every session: ``session_id, product_id, timestamp``, sessions in order of their
    start, clicks in time order, consecutive clicks on the same item merged (a view then an add-to-cart of
    one product is one click)."""
    sid = session_ids(events, gap_minutes)
    product, product_ids = factorize_ids(events[data_contract.PRODUCT_ID])
    t = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    order = np.lexsort((t, sid))  # by session, then time; stable
    sid, product, t = sid[order], product[order], t[order]
    keep = np.r_[True, (sid[1:] != sid[:-1]) | (product[1:] != product[:-1])][:len(sid)]
    sid, product, t = sid[keep], product[keep], t[keep]
    # in time order a session's first click is its start
    firsts = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]][:len(sid)])
    start = np.repeat(t[firsts], np.diff(np.r_[firsts, len(sid)]))
    order = np.lexsort((t, sid, start))
    names = np.asarray(product_ids.astype("str"), dtype=object)
    return pd.DataFrame({data_contract.SESSION_ID: sid[order], data_contract.PRODUCT_ID: names[product[order]],
                         data_contract.TIMESTAMP: t[order].astype("datetime64[ns]")})


def _long_enough(session: np.ndarray, keep: np.ndarray, n: int) -> np.ndarray:
    """``keep`` narrowed to the rows whose session keeps at least ``n`` rows."""
    size = np.bincount(session[keep], minlength=int(session.max()) + 1 if len(session) else 0)
    return keep & (size[session] >= n)


def split_sessions(sequences: pd.DataFrame, settings: NextItemSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(train, test)`` sessions by the protocol of the module docstring."""
    session, _ = pd.factorize(sequences[data_contract.SESSION_ID])
    product, product_ids = pd.factorize(sequences[data_contract.PRODUCT_ID])
    t = sequences[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]")
    start = pd.Series(t).groupby(session).min().to_numpy() if len(t) else t
    cut = t.max() - pd.Timedelta(days=settings.test_days).to_timedelta64() if len(t) else None
    is_test = start[session] > cut if len(t) else np.zeros(0, dtype=bool)
    train = ~is_test
    pairs = pd.unique(session[train].astype(np.int64) * max(len(product_ids), 1) + product[train])
    support = np.bincount(pairs % max(len(product_ids), 1), minlength=len(product_ids))
    train = _long_enough(session, train & (support[product] >= settings.min_item_support), settings.min_length)
    known = np.bincount(product[train], minlength=len(product_ids)) > 0
    test = _long_enough(session, is_test & known[product], settings.min_length)
    return sequences[train].reset_index(drop=True), sequences[test].reset_index(drop=True)


def predictions(models: dict, test: pd.DataFrame, k: int) -> pd.DataFrame:
    """Return one row per prediction: ``session_id, position`` and per model the rank of the true next item
    in its top ``k`` (0 when missed). ``models`` are fitted :class:`~workbench.recommend.session_knn.SessionRecommender`."""
    sid = test[data_contract.SESSION_ID].to_numpy()
    items = test[data_contract.PRODUCT_ID].to_numpy()
    bounds = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1], True])
    rows = {data_contract.SESSION_ID: [], POSITION: []}
    ranks = {name: [] for name in models}
    codes = {name: m.codes(items) if len(items) else np.zeros(0, int) for name, m in models.items()}
    # every model knows the same items (fitted on the same training sessions), so the codes line up with the rows
    for name, c in codes.items():
        if len(c) != len(items):
            raise ValueError(f"{name}: test items unknown to the model; split with split_sessions first")
    for s, e in tqdm(list(zip(bounds[:-1], bounds[1:])), desc="next-item predictions", leave=False):
        for t in range(s + 1, e):
            rows[data_contract.SESSION_ID].append(sid[s])
            rows[POSITION].append(t - s)
            for name, model in models.items():
                top = model.rank_codes(codes[name][s:t], k)
                hit = np.flatnonzero(top == codes[name][t])
                ranks[name].append(int(hit[0]) + 1 if len(hit) else 0)
    out = pd.DataFrame(rows)
    for name in models:
        out[name] = np.asarray(ranks[name], dtype=np.int64)
    return out


def hit_and_rr(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per prediction: hit (rank >= 1) and reciprocal rank (0 when missed)."""
    r = np.asarray(ranks, dtype=np.float64)
    return (r > 0).astype(np.float64), np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0)


def session_bootstrap(values: np.ndarray, sessions: np.ndarray, n_boot: int = 1000, alpha: float = 0.05,
                      seed: int = 0) -> tuple[float, float, float]:
    """Return ``(mean, low, high)`` of per-prediction ``values`` with a percentile interval from resampling
    whole sessions (the mean over the resampled sessions' predictions)."""
    codes, _ = pd.factorize(pd.Series(sessions))
    sums = np.bincount(codes, weights=np.asarray(values, dtype=np.float64))
    counts = np.bincount(codes).astype(np.float64)
    rng = np.random.default_rng(seed)
    n = len(sums)
    boots = np.empty(n_boot)
    chunk = max(1, 4_000_000 // max(n, 1))
    for s in range(0, n_boot, chunk):
        m = min(chunk, n_boot - s)
        idx = rng.integers(0, n, size=(m, n))
        boots[s:s + m] = sums[idx].sum(axis=1) / counts[idx].sum(axis=1)
    low, high = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    return float(sums.sum() / counts.sum()), float(low), float(high)


def summarize(preds: pd.DataFrame, models: list[str], k: int, baseline: str, n_boot: int = 1000,
              seed: int = 0) -> dict:
    """Return per model ``hr@k`` and ``mrr@k`` with session-bootstrap intervals, and per model the paired
    difference to ``baseline`` (``delta_vs_<baseline>``: mean and interval, same resamples for both)."""
    sessions = preds[data_contract.SESSION_ID].to_numpy()
    out = {"predictions": len(preds), "test_sessions": int(preds[data_contract.SESSION_ID].nunique()), "models": {}}
    base_hit, base_rr = hit_and_rr(preds[baseline])
    for name in models:
        hit, rr = hit_and_rr(preds[name])
        row = {}
        for metric, v, b in ((f"hr@{k}", hit, base_hit), (f"mrr@{k}", rr, base_rr)):
            mean, low, high = session_bootstrap(v, sessions, n_boot, seed=seed)
            row[metric], row[f"{metric}_low"], row[f"{metric}_high"] = mean, low, high
            if name != baseline:
                d, dl, dh = session_bootstrap(v - b, sessions, n_boot, seed=seed)
                row[f"{metric}_delta_vs_{baseline}"] = {"delta": d, "low": dl, "high": dh}
        out["models"][name] = row
    return out
