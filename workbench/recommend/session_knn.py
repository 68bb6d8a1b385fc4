"""Session-based recommendation: the next item for the visitor in front of you, from their current session only.

Three recommenders learn from training sessions (``session_id, product_id`` rows in time order, one visit per
session id; see :func:`workbench.evaluate.next_item.session_sequences`) and rank items for a session given as
the list of items seen so far. None needs to know who the visitor is, so a visitor never seen in training gets
a list (:meth:`SessionRecommender.recommend_for_session`), and events after the training cut-off change the
list without refitting.

* :class:`SessionKNN` (Jannach and Ludewig 2017, "When recurrent neural networks meet the neighborhood for
  session-based recommendation"; compared in Ludewig and Jannach 2018): the ``sample_size`` most recent training
  sessions sharing an item with the current one are the candidates, the ``k`` most similar are the neighbours,
  and an item scores the summed similarity of the neighbours holding it. ``SKNN`` (``weighting=None``) uses the
  cosine of the binary item sets; ``V-SKNN`` (``weighting="linear"``) weighs the current session's items by
  position (the last item 1, the first ``1/L``), so recent clicks count more.
* :class:`SessionCooccurrence`: items that appeared in the same training sessions as the session's last item,
  by how many sessions they shared (the simple association baseline of that literature).
* :class:`SessionPopular` (S-POP): items of the current session by how often they were clicked in it, then
  the items in most training sessions.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract as data_contract
from workbench.data.sessions import SessionSettings
from workbench.errors import NotFittedError

log = logging.getLogger(__name__)

RANK = "rank"
SCORE = "score"


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest scores, best first (ties: lower position first)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


class SessionRecommender:
    """Base class: fit on training sessions, rank items for a session's items. Subclasses implement ``_fit``
    and ``_scores(codes) -> ndarray (n_items)`` for the session's known item codes in click order."""

    name = "session"

    def __init__(self, gap_minutes: float = SessionSettings.gap_minutes):
        self.gap_minutes = gap_minutes

    def fit(self, sequences: pd.DataFrame) -> "SessionRecommender":
        """Learn from training sessions: ``session_id, product_id`` rows, sessions in time order (the order of
        their first rows), clicks in order within a session."""
        sid = pd.factorize(sequences[data_contract.SESSION_ID], sort=False)[0]
        items, uniq = pd.factorize(sequences[data_contract.PRODUCT_ID].astype("str"), sort=True)
        self.items_ = pd.Index(uniq, dtype="str")
        self.item_codes_ = dict(zip(self.items_, range(len(self.items_))))  # a dict: fast for a few items
        n_s, n_i = int(sid.max()) + 1 if len(sid) else 0, len(self.items_)
        x = sp.csr_matrix((np.ones(len(sid)), (sid, items)), shape=(n_s, n_i))
        x.data[:] = 1.0  # duplicates summed by the constructor: a session holds an item or not
        self.sessions_ = x
        self.popularity_ = np.asarray(x.sum(axis=0)).ravel()
        self._fit()
        return self

    def _fit(self) -> None:
        pass

    def _check(self) -> None:
        if not hasattr(self, "items_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(sequences) first")

    def codes(self, items) -> np.ndarray:
        """Item codes of product ids in click order, unknown products left out."""
        self._check()
        lookup = self.item_codes_
        pos = np.fromiter((lookup.get(str(x), -1) for x in items), dtype=np.int64)
        return pos[pos >= 0]

    def rank_codes(self, codes: np.ndarray, k: int) -> np.ndarray:
        """The top ``k`` item codes for a session's known item codes (click order); popularity when empty.

        The item the visitor is on (the last click) is never recommended: sessions merge repeated clicks,
        so it cannot be the next one."""
        scores = self._scores(codes) if len(codes) else np.zeros(len(self.items_))
        # popularity breaks ties (and fills a short list), below any real score
        scores = scores + self.popularity_ / (self.popularity_.max(initial=0) + 1) * 1e-6
        if len(codes):
            scores[codes[-1]] = -np.inf
        return _top(scores, k)

    def recommend(self, items, k: int = 20) -> pd.DataFrame:
        """Return ``product_id, score, rank`` for a session that clicked ``items`` (product ids, in order)."""
        codes = self.codes(items)
        top = self.rank_codes(codes, k)
        scores = self._scores(codes)[top] if len(codes) else self.popularity_[top]
        return pd.DataFrame({data_contract.PRODUCT_ID: self.items_[top], SCORE: scores,
                             RANK: np.arange(1, len(top) + 1)})

    def recommend_for_session(self, events: pd.DataFrame, k: int = 20) -> list[str]:
        """Return ``k`` product ids for a visitor from their events (``product_id`` and ``timestamp``; other
        columns ignored): the items of their latest session (events no more than ``gap_minutes`` apart) are
        the session, unknown products are left out; with none known, the most popular items."""
        self._check()
        if len(events):
            t = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            order = np.argsort(t, kind="stable")
            t = t[order]
            new = np.r_[True, np.diff(t) > int(self.gap_minutes * 60e9)]
            items = events[data_contract.PRODUCT_ID].to_numpy()[order[np.flatnonzero(new)[-1]:]]
        else:
            items = []
        return [str(p) for p in self.items_[self.rank_codes(self.codes(items), k)]]

    def _scores(self, codes: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class SessionPopular(SessionRecommender):
    """S-POP: the session's own items by clicks in it, then the items in most training sessions."""

    name = "session_pop"

    def _scores(self, codes: np.ndarray) -> np.ndarray:
        return np.bincount(codes, minlength=len(self.items_)).astype(np.float64)


class SessionCooccurrence(SessionRecommender):
    """Items by the number of training sessions they shared with the session's last item."""

    name = "session_cooc"

    def _fit(self) -> None:
        co = (self.sessions_.T @ self.sessions_).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        self.cooccurrence_ = co

    def _scores(self, codes: np.ndarray) -> np.ndarray:
        return self.cooccurrence_[codes[-1]].toarray().ravel()


class SessionKNN(SessionRecommender):
    """Session-kNN: SKNN (``weighting=None``) or V-SKNN (``weighting="linear"``); see the module docstring."""

    def __init__(self, k: int = 100, sample_size: int = 500, weighting: str | None = "linear",
                 gap_minutes: float = SessionSettings.gap_minutes):
        super().__init__(gap_minutes)
        if weighting not in (None, "linear"):
            raise ValueError(f"SessionKNN: weighting={weighting!r}; use None (SKNN) or 'linear' (V-SKNN)")
        if k < 1 or sample_size < 1:
            raise ValueError(f"SessionKNN: k={k} and sample_size={sample_size} must be >= 1")
        self.k, self.sample_size, self.weighting = k, sample_size, weighting

    @property
    def name(self) -> str:
        return "vsknn" if self.weighting == "linear" else "sknn"

    def _fit(self) -> None:
        self.item_sessions_ = self.sessions_.T.tocsr()  # item -> the sessions holding it, oldest first
        self.lengths_ = np.diff(self.sessions_.indptr).astype(np.float64)

    def _weights(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The session's distinct items and their weights (the latest click of an item sets its weight)."""
        if self.weighting == "linear":
            w = np.arange(1, len(codes) + 1) / len(codes)
        else:
            w = np.ones(len(codes))
        weight = np.zeros(len(self.items_))
        weight[codes] = w  # later clicks overwrite earlier ones
        items = np.unique(codes)
        return items, weight[items]

    def neighbours(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The neighbour sessions (training row numbers) of a session's item codes and their similarities."""
        items, w = self._weights(codes)
        xt = self.item_sessions_
        starts, ends = xt.indptr[items], xt.indptr[items + 1]
        idx = np.concatenate([xt.indices[s:e] for s, e in zip(starts, ends)]) if len(items) else np.zeros(0, int)
        if not len(idx):
            return idx, np.zeros(0)
        vals = np.repeat(w, ends - starts)
        cand, inverse = np.unique(idx, return_inverse=True)
        dot = np.bincount(inverse, weights=vals)
        if len(cand) > self.sample_size:  # the most recent candidate sessions (rows follow time)
            cand, dot = cand[-self.sample_size:], dot[-self.sample_size:]
        sim = dot / np.sqrt(len(items) * self.lengths_[cand])
        top = _top(sim, self.k)
        return cand[top], sim[top]

    def _scores(self, codes: np.ndarray) -> np.ndarray:
        rows, sim = self.neighbours(codes)
        x = self.sessions_
        if not len(rows):
            return np.zeros(len(self.items_))
        starts, ends = x.indptr[rows], x.indptr[rows + 1]
        idx = np.concatenate([x.indices[s:e] for s, e in zip(starts, ends)])
        return np.bincount(idx, weights=np.repeat(sim, ends - starts), minlength=len(self.items_))


def make_session_models(settings) -> dict[str, SessionRecommender]:
    """The session recommenders compared in notebook 08, by name, from :class:`NextItemSettings`-like
    ``settings`` (``neighbours``, ``sample_size``, ``gap_minutes``)."""
    models = [SessionPopular(settings.gap_minutes), SessionCooccurrence(settings.gap_minutes),
              SessionKNN(settings.neighbours, settings.sample_size, None, settings.gap_minutes),
              SessionKNN(settings.neighbours, settings.sample_size, "linear", settings.gap_minutes)]
    return {m.name: m for m in models}
