"""EDA headline numbers: a shop with money and a clickstream without it."""
import pandas as pd

from workbench.data import contract
from workbench.data.profile import eda_summary
from workbench.data.shop import Shop
from workbench.data.validate import validate_shop


def _shop(with_money: bool) -> Shop:
    customers = pd.DataFrame({contract.CUSTOMER_ID: ["c1", "c2", "c3"], contract.SIGNUP_DATE: ["2024-01-01"] * 3})
    products = pd.DataFrame({contract.PRODUCT_ID: ["p1", "p2"], contract.NAME: ["mug", "bag"], contract.CATEGORY: ["home", "bags"]})
    events = pd.DataFrame({contract.TIMESTAMP: ["2024-02-01", "2024-02-03", "2024-02-03", "2024-03-09"],
                           contract.CUSTOMER_ID: ["c1", "c1", "c2", "c2"], contract.PRODUCT_ID: ["p1", "p1", "p1", "p2"],
                           contract.EVENT: ["view", "transaction", "view", "addtocart"]})
    tx = None
    if with_money:
        products[contract.PRICE] = [3.0, 10.0]
        tx = pd.DataFrame({contract.TRANSACTION_ID: ["t1", "t1", "t2"], contract.CUSTOMER_ID: ["c1", "c1", "c3"],
                           contract.PRODUCT_ID: ["p1", "p2", "p2"], contract.TIMESTAMP: ["2024-02-03", "2024-02-03", "2024-02-05"],
                           contract.QUANTITY: [2, 1, -1], contract.UNIT_PRICE: [3.0, 10.0, 10.0]})
    return validate_shop(Shop(customers, products, tx, events=events))[0]


def test_eda_summary_of_a_clickstream_counts_its_events():
    s = eda_summary(_shop(with_money=False))
    assert s["feedback"] == "events" and s["invoices"] == 0 and s["net_revenue"] == 0.0
    assert (s["first_date"], s["last_date"]) == ("2024-02-01", "2024-03-09")
    assert s["mean_invoice_value"] is None and s["return_line_share"] is None
    assert s["events"] == {"view": 2, "addtocart": 1, "transaction": 1}
    assert s["active_customers"] == 2 and s["feedback_density"] == 3 / 6  # (c1,p1) (c2,p1) (c2,p2) of 3 x 2


def test_eda_summary_of_a_shop_with_money():
    s = eda_summary(_shop(with_money=True))
    assert s["feedback"] == "transactions" and s["invoices"] == 2
    assert (s["first_date"], s["last_date"]) == ("2024-02-03", "2024-02-05")
    assert s["net_revenue"] == 2 * 3.0 + 10.0 - 10.0 and s["mean_invoice_value"] == 16.0
    assert s["return_line_share"] == 1 / 3 and s["buying_customers"] == 2
    assert s["feedback_density"] == 2 / 6  # sales pairs (c1,p1) (c1,p2); the return is no interaction


def test_purchases_with_and_without_money():
    from workbench.data.shop import purchases

    money = purchases(_shop(with_money=True))
    assert money[contract.TRANSACTION_ID].tolist() == ["t1", "t1"] and money[contract.QUANTITY].tolist() == [2, 1]
    clicks = purchases(_shop(with_money=False))  # the one purchase event: c1 bought p1 on 2024-02-03
    assert clicks[[contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.QUANTITY]].values.tolist() == [["c1", "p1", 1]]
    assert clicks[contract.TIMESTAMP].tolist() == [pd.Timestamp("2024-02-03")] and clicks[contract.UNIT_PRICE].isna().all()
    assert clicks[contract.TRANSACTION_ID].tolist() == ["c1@2024-02-03T00:00:00"]
