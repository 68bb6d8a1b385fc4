"""The :class:`Shop` container: the contract tables of one data set, plus its truth when planted."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract as data_contract


@dataclass
class Shop:
    """A shop in the data contract: required tables, optional tables and (synthetic only) its truth.

    ``transactions`` may be empty (or ``None`` before validation) when ``events`` or ``ratings`` carry
    the feedback: a shop without money. ``truth`` maps a name to a DataFrame (``segments``, ``bundles``, ``elasticities`` ...) or is
    ``None`` for real data, where nothing is known to be true.
    """

    customers: pd.DataFrame
    products: pd.DataFrame
    transactions: pd.DataFrame | None
    events: pd.DataFrame | None = None
    ratings: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None
    truth: dict[str, pd.DataFrame] | None = None
    name: str = "shop"
    meta: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The contract tables that are present, by name."""
        out = {}
        for name in data_contract.ALL_TABLES:
            df = getattr(self, name)
            if df is not None:
                out[name] = df
        return out

    def replace(self, **tables) -> "Shop":
        """A copy with some tables replaced."""
        kw = {n: getattr(self, n) for n in data_contract.ALL_TABLES}
        kw.update(tables)
        return Shop(**kw, truth=self.truth, name=self.name, meta=dict(self.meta))

    @property
    def has_sales(self) -> bool:
        """Whether the shop has at least one sale line (a shop without money has none)."""
        tx = self.transactions
        return tx is not None and len(tx) > 0 and bool(is_sale(tx).any())

    @property
    def feedback(self) -> str:
        """The table recommenders learn from: ``transactions`` when there are sales, else ``events``, else
        ``ratings`` (the validated shop always has one of them)."""
        if self.has_sales:
            return data_contract.TRANSACTIONS
        for name in (data_contract.EVENTS, data_contract.RATINGS):
            df = getattr(self, name)
            if df is not None and len(df) > 0:
                return name
        return data_contract.TRANSACTIONS

    def summary(self) -> pd.DataFrame:
        """Row and column counts per table."""
        rows = [{"table": n, "rows": len(df), "columns": df.shape[1]} for n, df in self.tables().items()]
        return pd.DataFrame(rows)


def is_sale(transactions: pd.DataFrame) -> pd.Series:
    """The lines that are sales (quantity > 0); the others are returns."""
    return transactions[data_contract.QUANTITY] > 0


def purchases(shop: Shop) -> pd.DataFrame:
    """One row per purchased line, with or without money: the sale lines of ``transactions``, or, in a
    shop without sales, its purchase events (``event == "transaction"``) as one-unit lines whose
    ``unit_price`` is NaN. Recency and frequency (RFM's R and F, BG/NBD) need no more than this.

    A purchase event's ``transaction_id`` is the events' column of that name when present (RetailRocket's
    ``transactionid``), else the customer and the second of the purchase.
    """
    if shop.has_sales:
        tx = shop.transactions
        return tx[is_sale(tx)].reset_index(drop=True)
    ev = shop.events
    cols = [data_contract.TRANSACTION_ID, data_contract.CUSTOMER_ID, data_contract.PRODUCT_ID, data_contract.TIMESTAMP, data_contract.QUANTITY, data_contract.UNIT_PRICE]
    if ev is None or not len(ev):
        return pd.DataFrame({c: pd.Series([], dtype=shop.transactions[c].dtype) if shop.transactions is not None
                             and c in shop.transactions else pd.Series([], dtype="float64") for c in cols})
    buy = ev[ev[data_contract.EVENT].astype("str") == "transaction"]
    tid = (buy[data_contract.CUSTOMER_ID].astype("str") + "@" + buy[data_contract.TIMESTAMP].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    if data_contract.TRANSACTION_ID in buy:
        tid = buy[data_contract.TRANSACTION_ID].astype("str").where(buy[data_contract.TRANSACTION_ID].notna(), tid)
    out = pd.DataFrame({
        data_contract.TRANSACTION_ID: tid.astype("str"),
        data_contract.CUSTOMER_ID: buy[data_contract.CUSTOMER_ID].astype("str"),
        data_contract.PRODUCT_ID: buy[data_contract.PRODUCT_ID].astype("str"),
        data_contract.TIMESTAMP: buy[data_contract.TIMESTAMP],
        data_contract.QUANTITY: 1,
        data_contract.UNIT_PRICE: float("nan"),
    })
    return out.astype({data_contract.QUANTITY: "int64"}).reset_index(drop=True)


def transaction_lines(shop: Shop) -> pd.DataFrame:
    """The lines that customer-level stages (RFM, clustering, CLV, basket analysis) read: the transactions,
    returns included, or, in a shop without sales, its purchase events as one-unit lines without a price
    (:func:`purchases`)."""
    return shop.transactions if shop.has_sales else purchases(shop)


def with_revenue(transactions: pd.DataFrame) -> pd.DataFrame:
    """Transactions with a ``revenue`` column = quantity * unit_price (negative for returns)."""
    out = transactions.copy()
    out[data_contract.REVENUE] = out[data_contract.QUANTITY].astype("float64") * out[data_contract.UNIT_PRICE].astype("float64")
    return out
