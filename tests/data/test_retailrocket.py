"""The RetailRocket adapter on small events files written here (the published data set is not needed)."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.adapters import retailrocket
from workbench.data.load import load_shop
from workbench.errors import DataSourceError, DataValidationError
from workbench.recommend.interactions import Interactions

#: rows in the published layout (the first is the file's first line, 2015-06-02 05:02:12.117 UTC)
EVENTS = """timestamp,visitorid,event,itemid,transactionid
1433221332117,257597,view,355908,
1433224214164,992329,view,248676,
1433221999827,111016,view,318965,
1433222147345,992329,addtocart,248676,
1433222276276,992329,transaction,248676,4000
1433222300000,992329,transaction,5555,4000
not-a-time,111016,view,318965,
1433222400000,,view,355908,
1433222500000,257597,wishlist,355908,
"""


def _write(tmp_path, text=EVENTS):
    f = tmp_path / "events.csv"
    f.write_text(text)
    return f


def test_published_layout_maps_onto_the_contract(tmp_path):
    f = _write(tmp_path)
    shop, rep = load_shop({"data": {"source": "retailrocket", "path": str(f)}})
    ev = rep.tables[contract.EVENTS]
    assert (ev.rows_read, ev.rows_accepted) == (9, 6)
    # the adapter turns text that is no Unix time into a missing time (it warns), validation quarantines it
    assert ev.reasons == {"missing_value:timestamp": 1, "missing_value:customer_id": 1, "invalid_value:event": 1}
    assert shop.events[contract.TIMESTAMP].iloc[0] == pd.Timestamp("2015-06-02 05:02:12.117")
    assert shop.events[contract.CUSTOMER_ID].tolist()[:3] == ["257597", "992329", "111016"]
    buys = shop.events[shop.events[contract.EVENT] == "transaction"]
    assert buys[contract.TRANSACTION_ID].tolist() == ["4000", "4000"] and buys[contract.PRODUCT_ID].tolist() == ["248676", "5555"]
    assert shop.events.loc[shop.events[contract.EVENT] == "view", contract.TRANSACTION_ID].isna().all()
    # visitors signed up when first seen; items in category "unknown" without properties; no money
    c = shop.customers.set_index(contract.CUSTOMER_ID)[contract.SIGNUP_DATE]
    assert c["992329"] == pd.Timestamp(1433222147345, unit="ms")
    assert set(shop.products[contract.CATEGORY].astype("str")) == {"unknown"}
    assert len(shop.transactions) == 0 and shop.products[contract.PRICE].isna().all() and shop.feedback == contract.EVENTS
    inter = Interactions.from_shop(shop)
    assert inter.matrix[inter.customer_index(["992329"])[0], inter.product_index(["248676"])[0]] == 1 + 3 + 5


def test_item_properties_give_the_latest_category(tmp_path):
    f = _write(tmp_path)
    pd.DataFrame({"timestamp": [1, 2, 1, 5], "itemid": [355908, 355908, 248676, 248676],
                  "property": ["categoryid", "categoryid", "categoryid", "790"],
                  "value": ["10", "12", "7", "n100.000"]}).to_csv(tmp_path / "item_properties_part1.csv", index=False)
    shop = retailrocket.load(path=f)
    cat = shop.products.set_index(contract.PRODUCT_ID)[contract.CATEGORY]
    assert cat.to_dict() == {"248676": "cat7", "318965": "unknown", "355908": "cat12", "5555": "unknown"}


def test_wrong_layout_and_wrong_unit_stop_clearly(tmp_path):
    f = _write(tmp_path, "time,visitor,event,item\n1,2,view,3\n")
    with pytest.raises(DataSourceError, match=r"lacks column\(s\) \['timestamp', 'visitorid'"):
        retailrocket.load(path=f)
    # seconds read as milliseconds land in January 1970: every row is before data.validation.min_date (the
    # visitors' first-seen dates are checked first)
    secs = "timestamp,visitorid,event,itemid,transactionid\n1433221332,1,view,2,\n1433221400,1,view,3,\n"
    f = _write(tmp_path, secs)
    with pytest.raises(DataValidationError, match=r"customers\.signup_date: rule 'non_empty_after_validation'.*"
                                                  r"before_min_date:signup_date"):
        load_shop({"data": {"source": "retailrocket", "path": str(f)}})
    shop, _ = load_shop({"data": {"source": "retailrocket", "path": str(f), "timestamp_unit": "s"}})
    assert shop.events[contract.TIMESTAMP].iloc[0] == pd.Timestamp("2015-06-02 05:02:12")


def test_round_trip_of_the_synthetic_clickstream(tmp_path):
    """Synthetic events written in the RetailRocket layout load back to the same interactions."""
    src, _ = load_shop({"seed": 5, "data": {"source": "synthetic", "drop": ["transactions", "prices", "products.price"],
                                            "synthetic": {"n_customers": 150, "n_products": 120, "n_weeks": 26}}})
    f = retailrocket.write_events(src.events, tmp_path / "rr" / "events.csv")
    shop, rep = load_shop({"data": {"source": "retailrocket", "path": str(f)}})
    assert rep.rows_quarantined == 0 and len(shop.events) == len(src.events)
    assert shop.events[contract.EVENT].value_counts().to_dict() == src.events[contract.EVENT].value_counts().to_dict()
    a, b = Interactions.from_shop(src), Interactions.from_shop(shop)
    assert a.shape == b.shape  # the products nobody touched are not in the file
    assert np.array_equal(np.sort(a.matrix.data), np.sort(b.matrix.data))
    # per customer, the same event history (ids renumbered in order of first appearance)
    per = lambda s: sorted(s.events.groupby(contract.CUSTOMER_ID).size().tolist())
    assert per(shop) == per(src)
    assert shop.events[contract.TRANSACTION_ID].notna().sum() == (src.events[contract.EVENT] == "transaction").sum()
