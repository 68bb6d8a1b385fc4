"""Bot rules (workbench/data/bots.py) in validation: planted bots are caught, genuine visitors are not."""
import pandas as pd
import pytest

from workbench.config import load_params
from workbench.data import contract
from workbench.data.bots import BotRules, flag_bots, planted_bots_found
from workbench.data.load import load_shop
from workbench.errors import ConfigError


def test_each_rule_fires_on_its_own_pattern():
    t0 = pd.Timestamp("2024-03-01 08:00")
    rows = []
    rows += [("fast", t0 + pd.Timedelta(seconds=2 * i), "view") for i in range(25)]          # 25 in one minute
    rows += [("long", t0 + pd.Timedelta(seconds=60 * i), "view") for i in range(12)]         # 12 views, one visit
    rows += [("ping", t0 + pd.Timedelta(minutes=31 * i), "view") for i in range(10)]         # 10 visits on a day
    rows += [("scrape", t0 + pd.Timedelta(hours=3 * i), "view") for i in range(9)]           # 9 views, no cart
    rows += [("human", t0 + pd.Timedelta(hours=3 * i), "view") for i in range(9)]            # same, but a cart
    rows += [("human", t0 + pd.Timedelta(hours=30), "addtocart")]
    ev = pd.DataFrame(rows, columns=[contract.CUSTOMER_ID, contract.TIMESTAMP, contract.EVENT]).assign(
        **{contract.PRODUCT_ID: "p"})
    rules = BotRules(max_events_per_minute=20, max_views_per_session=10, max_sessions_per_day=8,
                     max_views_without_cart=8)
    bots = flag_bots(ev, rules)
    assert dict(zip(bots[contract.CUSTOMER_ID], bots["rule"])) == {
        "fast": "events_per_minute", "long": "views_per_session", "ping": "sessions_per_day",
        "scrape": "views_without_cart"}
    assert dict(zip(bots[contract.CUSTOMER_ID], bots["events"]))["fast"] == 25
    assert flag_bots(ev, BotRules(enabled=False)).empty


def test_planted_bots_are_all_caught_and_genuine_visitors_are_not():
    params = load_params("clickstream", {"data": {"synthetic": {"n_customers": 1500, "n_weeks": 52}}})
    shop, rep = load_shop(params)
    planted = shop.truth["bots"]
    assert len(planted) == params["data"]["synthetic"]["n_bots"] == 8
    found = planted_bots_found(rep.bots, planted, 1500 + len(planted))
    assert found["caught"] == found["planted"] and found["missed"] == 0
    assert found["genuine_flagged_share"] < 0.01
    # each planted bot is flagged by the rule it was planted to break
    got = rep.bots.set_index(contract.CUSTOMER_ID)["rule"]
    assert (got.reindex(planted[contract.CUSTOMER_ID]).to_numpy() == planted["rule"].to_numpy()).all()
    # their events and their customer rows are in quarantine with the reason; nobody else's
    ev = rep.tables[contract.EVENTS]
    assert ev.rows_accepted + ev.rows_quarantined == ev.rows_read
    q = rep.quarantine[contract.EVENTS]
    assert set(q[contract.CUSTOMER_ID]) == set(planted[contract.CUSTOMER_ID])
    assert sum(v for k, v in ev.reasons.items() if k.startswith("bot:")) == rep.bots["events"].sum()
    assert not shop.events[contract.CUSTOMER_ID].isin(planted[contract.CUSTOMER_ID]).any()
    assert rep.tables[contract.CUSTOMERS].rows_quarantined == len(planted)
    assert not shop.customers[contract.CUSTOMER_ID].isin(planted[contract.CUSTOMER_ID]).any()


def test_planting_is_off_by_default_and_adds_rows_only():
    """Without planting the shop is as before; with it, every earlier row is still there unchanged."""
    small = {"n_customers": 150, "n_products": 60, "n_weeks": 20}
    base, _ = load_shop(load_params("default", {"data": {"synthetic": small}}))
    assert "bots" not in base.truth and "session_neighbours" not in base.truth
    planted, _ = load_shop(load_params("default", {"data": {"synthetic": {**small, "n_bots": 4,
                                                                          "browsing_sessions": 2.0}}}))
    pd.testing.assert_frame_equal(planted.transactions, base.transactions)
    pd.testing.assert_frame_equal(planted.customers, base.customers)  # the bots went to quarantine
    key = [contract.TIMESTAMP, contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.EVENT]
    merged = base.events.astype({contract.EVENT: "str"}).merge(
        planted.events.astype({contract.EVENT: "str"}).drop_duplicates(), on=key, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    assert len(planted.events) > len(base.events)


def test_rules_params_reject_unknown_keys():
    from workbench.data.bots import bot_rules
    assert bot_rules({"clickstream": {"bots": {"max_events_per_minute": 50}}}).max_events_per_minute == 50
    with pytest.raises(ConfigError, match="unknown key"):
        bot_rules({"clickstream": {"bots": {"per_minute": 50}}})
