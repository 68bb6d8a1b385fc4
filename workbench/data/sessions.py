"""Sessions of a clickstream: a visitor's events split wherever they pause longer than an inactivity gap.

A session is a run of one visitor's events in time order with no pause longer than ``gap_minutes`` (params
``clickstream.sessions.gap_minutes``, 30 minutes by default, the web-analytics convention). The sessions table
(``artifacts/sessions.parquet``) has one row per session: ``session_id`` (integers numbered by visitor, then
start), ``customer_id``, ``start``, ``end``, ``length`` (seconds from the first event to the last, 0 for a
single event), ``events`` (pages per session) and one count column per event type (``view``, ``addtocart``,
``transaction``). A bounce is a session of one event.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.config import settings_from_block
from workbench.data import contract as data_contract
from workbench.data.codes import factorize_ids
from workbench.errors import ConfigError

#: params block of the clickstream analyses and its sub-blocks
CLICKSTREAM_KEY = "clickstream"
CLICKSTREAM_BLOCKS = ("sessions", "bots", "session_recs")


@dataclass(frozen=True)
class SessionSettings:
    """How events become sessions (params ``clickstream.sessions``)."""

    gap_minutes: float = 30.0   # a visitor's pause longer than this starts a new session

    def __post_init__(self):
        if not self.gap_minutes > 0:
            raise ConfigError(f"params clickstream.sessions.gap_minutes must be > 0, got {self.gap_minutes!r}")


def clickstream_block(params: dict | None, name: str) -> dict | None:
    """The ``clickstream.<name>`` sub-block of ``params`` (``None`` when absent)."""
    block = (params or {}).get(CLICKSTREAM_KEY) or {}
    if not isinstance(block, dict):
        raise ConfigError(f"params {CLICKSTREAM_KEY} must be a mapping with the blocks {list(CLICKSTREAM_BLOCKS)}")
    unknown = sorted(set(block) - set(CLICKSTREAM_BLOCKS))
    if unknown:
        raise ConfigError(f"params {CLICKSTREAM_KEY}: unknown key(s) {unknown}; known: {list(CLICKSTREAM_BLOCKS)}")
    return block.get(name)


def session_settings(params: dict | None) -> SessionSettings:
    """The ``clickstream.sessions`` block of ``params`` over the defaults (unknown keys are an error)."""
    return settings_from_block(SessionSettings, clickstream_block(params, "sessions"), "clickstream.sessions")


def session_ids(events: pd.DataFrame, gap_minutes: float = SessionSettings.gap_minutes) -> np.ndarray:
    """Return each event's session number (int64, aligned with the rows of ``events``).

    Sessions are numbered by visitor (in order of first appearance), then by time; an event more than
    ``gap_minutes`` after the visitor's previous event starts a new session.
    """
    if not len(events):
        return np.zeros(0, dtype=np.int64)
    codes, _ = factorize_ids(events[data_contract.CUSTOMER_ID])
    t = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    by_time = np.argsort(t, kind="stable")  # clickstreams usually come in time order: timsort runs through it
    order = by_time[np.argsort(codes[by_time], kind="stable")]
    c, ts = codes[order], t[order]
    gap = int(gap_minutes * 60 * 1e9)
    new = np.r_[True, (c[1:] != c[:-1]) | (np.diff(ts) > gap)]
    out = np.empty(len(events), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def event_codes(event: pd.Series) -> np.ndarray:
    """Each event's type as its position in :data:`~workbench.data.contract.EVENT_TYPES` (-1: another type)."""
    kinds = pd.Categorical(event.astype("str")) if not isinstance(event.dtype, pd.CategoricalDtype) else event.array
    names = np.asarray(kinds.categories.astype("str"), dtype=object)
    lookup = np.array([data_contract.EVENT_TYPES.index(c) if c in data_contract.EVENT_TYPES else -1 for c in names] +
                      [-1], dtype=np.int8)
    return lookup[np.asarray(kinds.codes)]  # a missing value (code -1) reads the last entry: -1


def sessionize(events: pd.DataFrame, settings: SessionSettings | None = None) -> pd.DataFrame:
    """Return the sessions table of ``events`` (columns :data:`~workbench.data.contract.SESSION_COLUMNS`)."""
    settings = settings or SessionSettings()
    sid = session_ids(events, settings.gap_minutes)
    n = int(sid.max()) + 1 if len(sid) else 0
    t = pd.Series(events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    by_session = t.groupby(sid, sort=True)  # sessions are numbered 0 .. n - 1, each with events
    start, end = by_session.min().to_numpy(), by_session.max().to_numpy()
    first = pd.Series(np.arange(len(events))).groupby(sid, sort=True).min().to_numpy()
    kinds = event_codes(events[data_contract.EVENT])
    counts = {name: np.bincount(sid[kinds == i], minlength=n).astype(np.int64)
              for i, name in enumerate(data_contract.EVENT_TYPES)}
    customer, customer_ids = factorize_ids(events[data_contract.CUSTOMER_ID])
    if (customer[first] >= 0).all():
        visitors = np.asarray(customer_ids.astype("str"), dtype=object)[customer[first]]
    else:  # a missing visitor id: as the column reads as text
        visitors = events[data_contract.CUSTOMER_ID].astype("str").to_numpy()[first]
    return pd.DataFrame({
        data_contract.SESSION_ID: np.arange(n, dtype=np.int64),
        data_contract.CUSTOMER_ID: visitors if n else np.array([], dtype=object),
        data_contract.SESSION_START: start.astype("datetime64[ns]"),
        data_contract.SESSION_END: end.astype("datetime64[ns]"),
        data_contract.SESSION_LENGTH: (end - start) / 1e9,
        data_contract.SESSION_EVENTS: np.bincount(sid, minlength=n).astype(np.int64),
        **counts,
    }, columns=data_contract.SESSION_COLUMNS)


def session_summary(sessions: pd.DataFrame) -> dict:
    """Return the headline numbers of a sessions table: sessions, visitors, pages and length per session,
    bounce rate (share of one-event sessions) and the share of sessions with a purchase."""
    if not len(sessions):
        return {"sessions": 0, "visitors": 0}
    length = sessions[data_contract.SESSION_LENGTH]
    pages = sessions[data_contract.SESSION_EVENTS]
    return {
        "sessions": len(sessions),
        "visitors": int(sessions[data_contract.CUSTOMER_ID].nunique()),
        "sessions_per_visitor": len(sessions) / max(int(sessions[data_contract.CUSTOMER_ID].nunique()), 1),
        "events_per_session": {"mean": float(pages.mean()), "median": float(pages.median()), "max": int(pages.max())},
        "length_seconds": {"mean": float(length.mean()), "median": float(length.median()),
                           "p90": float(length.quantile(0.9))},
        "bounce_rate": float((pages == 1).mean()),
        "with_purchase": float((sessions["transaction"] > 0).mean()),
    }
