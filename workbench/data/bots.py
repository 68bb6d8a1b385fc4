"""Suspected bots and crawlers in a clickstream: per-visitor rules that move a visitor's events to quarantine.

A visitor is a suspected bot when any rule of :class:`BotRules` (params ``clickstream.bots``) fires, checked in
this order (the first that fires is the quarantine reason ``bot:<rule>``):

* ``events_per_minute``: more than ``max_events_per_minute`` events in one calendar minute;
* ``views_per_session``: more than ``max_views_per_session`` views in one session (sessions as in
  :mod:`workbench.data.sessions`, params ``clickstream.sessions``);
* ``sessions_per_day``: more than ``max_sessions_per_day`` sessions starting on one calendar day;
* ``views_without_cart``: more than ``max_views_without_cart`` views and never an add-to-cart or a purchase.

The defaults are loose on purpose (people rarely click thirty times a minute or open thirty visits a day); the
rules run in validation, so no stage and no model ever sees a suspected bot. ``enabled: false`` turns them off.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.config import settings_from_block
from workbench.data import contract as data_contract
from workbench.data.codes import factorize_ids
from workbench.data.sessions import clickstream_block, session_ids, SessionSettings
from workbench.errors import ConfigError

log = logging.getLogger(__name__)

#: the rules in the order they are checked (a visitor's reason is the first that fires)
RULES = ("events_per_minute", "views_per_session", "sessions_per_day", "views_without_cart")
#: quarantine reasons are ``bot:<rule>``
REASON_PREFIX = "bot:"


@dataclass(frozen=True)
class BotRules:
    """Thresholds above which a visitor counts as a bot (params ``clickstream.bots``)."""

    enabled: bool = True                # false: no bot rule runs
    max_events_per_minute: int = 30     # events in one calendar minute
    max_views_per_session: int = 200    # views in one session
    max_sessions_per_day: int = 30      # sessions starting on one calendar day
    max_views_without_cart: int = 500   # more views than this and never an add-to-cart or a purchase

    def __post_init__(self):
        for name in ("max_events_per_minute", "max_views_per_session", "max_sessions_per_day",
                     "max_views_without_cart"):
            if not getattr(self, name) >= 1:
                raise ConfigError(f"params clickstream.bots.{name} must be >= 1, got {getattr(self, name)!r}")


def bot_rules(params: dict | None) -> BotRules:
    """The ``clickstream.bots`` block of ``params`` over the defaults (unknown keys are an error)."""
    return settings_from_block(BotRules, clickstream_block(params, "bots"), "clickstream.bots")


def event_codes(event: pd.Series) -> np.ndarray:
    """Each event's type as its position in :data:`~workbench.data.contract.EVENT_TYPES` (-1 for another)."""
    if isinstance(event.dtype, pd.CategoricalDtype) and list(event.cat.categories) == list(data_contract.EVENT_TYPES):
        return event.cat.codes.to_numpy()  # validated events: no string round trip
    return pd.Categorical(event.astype("str"), categories=list(data_contract.EVENT_TYPES)).codes


def _per_visitor_max(visitor: np.ndarray, key: np.ndarray, n_visitors: int) -> np.ndarray:
    """The largest number of rows any one ``key`` value holds, per visitor."""
    out = np.zeros(n_visitors, dtype=np.int64)
    if not len(key):
        return out
    lo = int(key.min())
    span = int(key.max()) - lo + 1
    pairs, counts = np.unique(visitor * span + (key - lo), return_counts=True)
    np.maximum.at(out, pairs // span, counts)
    return out


def visitor_activity(events: pd.DataFrame, gap_minutes: float = SessionSettings.gap_minutes) -> pd.DataFrame:
    """Return per visitor the numbers the rules read: most events in a minute, most views in a session, most
    sessions starting on a day, views, add-to-carts and purchases (index ``customer_id``)."""
    codes, uniq = factorize_ids(events[data_contract.CUSTOMER_ID])
    codes = np.asarray(codes, dtype=np.int64)
    n = len(uniq)
    t = events[data_contract.TIMESTAMP].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    minute = t // 60_000_000_000
    kind = event_codes(events[data_contract.EVENT])
    sid = session_ids(events, gap_minutes)
    view = kind == 0
    views_in_session = np.bincount(sid[view], minlength=int(sid.max()) + 1 if len(sid) else 0)
    session_visitor = np.zeros(len(views_in_session), dtype=np.int64)
    session_visitor[sid] = codes
    session_start = np.full(len(views_in_session), np.iinfo(np.int64).max)
    np.minimum.at(session_start, sid, t)
    most_views = np.zeros(n, dtype=np.int64)
    np.maximum.at(most_views, session_visitor, views_in_session)
    return pd.DataFrame({
        "events_per_minute": _per_visitor_max(codes, minute, n),
        "views_per_session": most_views,
        "sessions_per_day": _per_visitor_max(session_visitor, session_start // 86_400_000_000_000, n),
        **{name: np.bincount(codes[kind == i], minlength=n) for i, name in enumerate(data_contract.EVENT_TYPES)},
    }, index=pd.Index(uniq.astype("str"), name=data_contract.CUSTOMER_ID))


def flag_bots(events: pd.DataFrame, rules: BotRules | None = None,
              gap_minutes: float = SessionSettings.gap_minutes) -> pd.DataFrame:
    """Return the suspected bots: ``customer_id, rule, events`` (the first rule that fires, their events).

    Empty when ``rules.enabled`` is false or nobody breaks a rule.
    """
    rules = rules or BotRules()
    empty = pd.DataFrame({data_contract.CUSTOMER_ID: pd.Series([], dtype="str"), "rule": pd.Series([], dtype="str"),
                          "events": pd.Series([], dtype="int64")})
    if not rules.enabled or not len(events):
        return empty
    act = visitor_activity(events, gap_minutes)
    fired = {
        "events_per_minute": act["events_per_minute"] > rules.max_events_per_minute,
        "views_per_session": act["views_per_session"] > rules.max_views_per_session,
        "sessions_per_day": act["sessions_per_day"] > rules.max_sessions_per_day,
        "views_without_cart": (act["view"] > rules.max_views_without_cart) & (act["addtocart"] == 0)
        & (act["transaction"] == 0),
    }
    rule = pd.Series(None, index=act.index, dtype=object)
    for name in reversed(RULES):  # the first rule in RULES wins
        rule[fired[name].to_numpy()] = name
    bots = rule.dropna()
    if not len(bots):
        return empty
    n_events = act.loc[bots.index, list(data_contract.EVENT_TYPES)].sum(axis=1)
    out = pd.DataFrame({data_contract.CUSTOMER_ID: bots.index.astype("str"), "rule": bots.to_numpy().astype(str),
                        "events": n_events.to_numpy().astype("int64")})
    log.info("bots: %d suspected visitor(s) with %d events (%s)", len(out), int(out["events"].sum()),
             ", ".join(f"{k}={v}" for k, v in out["rule"].value_counts().sort_index().items()))
    return out.sort_values(data_contract.CUSTOMER_ID, ignore_index=True)


def bot_counts(bots: pd.DataFrame | None) -> dict:
    """Return visitors and events per rule, and totals, of a :func:`flag_bots` table (zeros when ``None``)."""
    bots = bots if bots is not None else flag_bots(pd.DataFrame(), BotRules(enabled=False))
    vis = bots["rule"].value_counts()
    ev = bots.groupby("rule")["events"].sum()
    return {"visitors": len(bots), "events": int(bots["events"].sum()),
            "visitors_by_rule": {r: int(vis.get(r, 0)) for r in RULES},
            "events_by_rule": {r: int(ev.get(r, 0)) for r in RULES}}


def planted_bots_found(bots: pd.DataFrame | None, planted: pd.DataFrame, visitors: int) -> dict:
    """Return how the rules did on a shop with planted bots (``truth["bots"]``): planted, caught, missed,
    genuine visitors flagged and their share of the ``visitors`` who are not planted bots."""
    flagged = set() if bots is None else set(bots[data_contract.CUSTOMER_ID].astype("str"))
    truth = set(planted[data_contract.CUSTOMER_ID].astype("str"))
    genuine = len(flagged - truth)
    return {"planted": len(truth), "caught": len(truth & flagged), "missed": len(truth - flagged),
            "genuine_flagged": genuine, "genuine_flagged_share": genuine / max(visitors - len(truth), 1)}
