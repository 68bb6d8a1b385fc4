"""The interaction matrix: from_transactions weights and the remembered id mapping of the transactions."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend.interactions import Interactions


def _tx():
    return pd.DataFrame({
        contract.TRANSACTION_ID: pd.array(["t1", "t1", "t2", "t3", "r1"], dtype="str"),
        contract.CUSTOMER_ID: pd.array(["u1", "u1", "u2", "u1", "u1"], dtype="str"),
        contract.PRODUCT_ID: pd.array(["a", "b", "a", "a", "b"], dtype="str"),
        contract.QUANTITY: [2, 1, 3, 1, -1],
    })


@pytest.mark.parametrize("weight, expected", [
    ("quantity", {("u1", "a"): 3, ("u2", "a"): 3}),           # u1 returned its b: net 0, dropped
    ("count", {("u1", "a"): 2, ("u1", "b"): 1, ("u2", "a"): 1}),
    ("binary", {("u1", "a"): 1, ("u1", "b"): 1, ("u2", "a"): 1}),
])
def test_from_transactions_weights(weight, expected):
    inter = Interactions.from_transactions(_tx(), weight=weight)
    got = {(c, p): v for c, p, v in inter.to_frame().itertuples(index=False)}
    assert got == expected


def test_locate_maps_every_line_of_any_frame():
    tx = _tx()
    inter = Interactions.from_transactions(tx, weight="binary", customers=["u0", "u1", "u2"], products=["a", "b", "z"])
    r, c = inter.locate(tx)
    assert list(r) == [1, 1, 2, 1, 1] and list(c) == [0, 1, 0, 0, 1]
    other = tx.assign(**{contract.CUSTOMER_ID: pd.array(["u2", "u9", "u0", "u1", "u1"], dtype="str")})
    r2, _ = inter.locate(other)               # another frame is mapped on its own (unknown ids -> -1)
    assert list(r2) == [2, -1, 0, 1, 1]


def test_customer_and_product_index_unknown_ids():
    inter = Interactions.from_transactions(_tx(), weight="binary")
    assert list(inter.customer_index(["u2", "nobody", "u1"])) == [1, -1, 0]
    assert list(inter.product_index(pd.Index(["b", "a", "zz"]))) == [1, 0, -1]


def _events():
    return pd.DataFrame({contract.CUSTOMER_ID: ["u1", "u1", "u1", "u2", "u2"], contract.PRODUCT_ID: ["a", "a", "a", "b", "a"],
                         contract.EVENT: ["view", "addtocart", "transaction", "view", "wishlist"]})


def test_from_events_weights_per_type():
    inter = Interactions.from_events(_events())
    got = {(c, p): v for c, p, v in inter.to_frame().itertuples(index=False)}
    assert got == {("u1", "a"): 1 + 3 + 5, ("u2", "b"): 1}  # the unknown "wishlist" row is left out, not NaN
    inter = Interactions.from_events(_events(), weights={"view": 0, "transaction": 10})
    got = {(c, p): v for c, p, v in inter.to_frame().itertuples(index=False)}
    assert got == {("u1", "a"): 13}
    with pytest.raises(ValueError, match="wishlist"):
        Interactions.from_events(_events(), weights={"wishlist": 2})
    with pytest.raises(ValueError, match="finite"):
        Interactions.from_events(_events(), weights={"view": float("nan")})


def test_from_shop_follows_the_feedback():
    from workbench.data.shop import Shop

    products = pd.DataFrame({contract.PRODUCT_ID: ["a", "b"]})
    clicks = Shop(customers=None, products=products, transactions=_tx().iloc[0:0], events=_events())
    assert clicks.feedback == contract.EVENTS
    assert Interactions.from_shop(clicks).matrix.sum() == 10
    buys = Shop(customers=None, products=products, transactions=_tx(), events=_events())
    assert buys.feedback == contract.TRANSACTIONS
    assert Interactions.from_shop(buys, weight="count").matrix.sum() == 4
