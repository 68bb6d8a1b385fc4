"""Sessions by inactivity gap (workbench/data/sessions.py), checked against a hand-made clickstream."""
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.sessions import session_settings, sessionize
from workbench.errors import ConfigError


def _events(rows):
    return pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.TIMESTAMP, contract.PRODUCT_ID, contract.EVENT]) \
        .assign(**{contract.TIMESTAMP: lambda d: pd.to_datetime(d[contract.TIMESTAMP])})


EVENTS = _events([
    ("b", "2024-01-01 10:00:00", "p1", "view"),
    ("a", "2024-01-01 09:00:00", "p1", "view"),
    ("a", "2024-01-01 09:29:59", "p2", "view"),       # 29:59 after the first: same visit
    ("a", "2024-01-01 09:40:00", "p2", "addtocart"),
    ("a", "2024-01-01 10:10:01", "p2", "transaction"),  # 30:01 after the add-to-cart: a new visit
    ("b", "2024-01-02 10:00:00", "p3", "view"),
])


def test_sessions_split_at_the_gap_and_count_events_by_type():
    s = sessionize(EVENTS)
    assert list(s.columns) == contract.SESSION_COLUMNS
    # numbered by visitor in order of first appearance (b first), then by time
    assert s[contract.CUSTOMER_ID].tolist() == ["b", "b", "a", "a"]
    a1 = s.iloc[2]
    assert (a1[contract.SESSION_START], a1[contract.SESSION_END]) == (pd.Timestamp("2024-01-01 09:00"),
                                                                      pd.Timestamp("2024-01-01 09:40"))
    assert a1[contract.SESSION_LENGTH] == 40 * 60 and a1[contract.SESSION_EVENTS] == 3
    assert (a1["view"], a1["addtocart"], a1["transaction"]) == (2, 1, 0)
    assert s.iloc[3][["events", "transaction", contract.SESSION_LENGTH]].tolist() == [1, 1, 0]
    assert s["events"].sum() == len(EVENTS)


def test_gap_is_a_parameter():
    wide = sessionize(EVENTS, session_settings({"clickstream": {"sessions": {"gap_minutes": 40}}}))
    assert wide.loc[wide[contract.CUSTOMER_ID] == "a", "events"].tolist() == [4]
    with pytest.raises(ConfigError, match="unknown key"):
        session_settings({"clickstream": {"sessions": {"gap": 40}}})
    with pytest.raises(ConfigError, match=r"clickstream: unknown key\(s\) \['funnel'\]"):
        session_settings({"clickstream": {"funnel": {}}})
    with pytest.raises(ConfigError, match="gap_minutes must be > 0"):
        session_settings({"clickstream": {"sessions": {"gap_minutes": 0}}})
