"""The :class:`Shop` container: the contract tables of one data set, plus its truth when planted."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from workbench.data import contract as C


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
        for name in C.ALL_TABLES:
            df = getattr(self, name)
            if df is not None:
                out[name] = df
        return out

    def replace(self, **tables) -> "Shop":
        """A copy with some tables replaced."""
        kw = {n: getattr(self, n) for n in C.ALL_TABLES}
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
            return C.TRANSACTIONS
        for name in (C.EVENTS, C.RATINGS):
            df = getattr(self, name)
            if df is not None and len(df) > 0:
                return name
        return C.TRANSACTIONS

    def summary(self) -> pd.DataFrame:
        """Row and column counts per table."""
        rows = [{"table": n, "rows": len(df), "columns": df.shape[1]} for n, df in self.tables().items()]
        return pd.DataFrame(rows)


def is_sale(transactions: pd.DataFrame) -> pd.Series:
    """The lines that are sales (quantity > 0); the others are returns."""
    return transactions[C.QUANTITY] > 0


def with_revenue(transactions: pd.DataFrame) -> pd.DataFrame:
    """Transactions with a ``revenue`` column = quantity * unit_price (negative for returns)."""
    out = transactions.copy()
    out[C.REVENUE] = out[C.QUANTITY].astype("float64") * out[C.UNIT_PRICE].astype("float64")
    return out
