"""The data contract: every table's columns, dtypes and rules, in one place.

Modules refer to columns through the constants below (``CUSTOMER_ID``, ``PRICE`` ...) rather than
string literals, so the contract has one home. Extra columns in the input are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# ---- column names (the contract) ------------------------------------------------------------
CUSTOMER_ID = "customer_id"
PRODUCT_ID = "product_id"
TRANSACTION_ID = "transaction_id"
SIGNUP_DATE = "signup_date"
AGE = "age"
GENDER = "gender"
LOCATION = "location"
NAME = "name"
CATEGORY = "category"
PRICE = "price"
DESCRIPTION = "description"
BRAND = "brand"
TIMESTAMP = "timestamp"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
EVENT = "event"
RATING = "rating"
DATE = "date"
COMPETITOR_PRICE = "competitor_price"
STOCK = "stock"

#: derived column: quantity * unit_price (returns negative)
REVENUE = "revenue"
# the association-rules table (artifacts/rules.parquet; mlxtend's association_rules columns)
ANTECEDENTS = "antecedents"
CONSEQUENTS = "consequents"
ANTECEDENT_SUPPORT = "antecedent support"
CONSEQUENT_SUPPORT = "consequent support"
SUPPORT = "support"
CONFIDENCE = "confidence"
LIFT = "lift"
LEVERAGE = "leverage"
CONVICTION = "conviction"
RULE_COLUMNS = [ANTECEDENTS, CONSEQUENTS, ANTECEDENT_SUPPORT, CONSEQUENT_SUPPORT, SUPPORT, CONFIDENCE, LIFT, LEVERAGE,
                CONVICTION]

EVENT_TYPES = ("view", "addtocart", "transaction")

# the sessions table (artifacts/sessions.parquet): one row per visit, plus one count column per event type
SESSION_ID = "session_id"
SESSION_START = "start"
SESSION_END = "end"
#: seconds from a session's first event to its last (0 for a one-event session)
SESSION_LENGTH = "length"
#: events in the session (pages per session)
SESSION_EVENTS = "events"
SESSION_COLUMNS = [SESSION_ID, CUSTOMER_ID, SESSION_START, SESSION_END, SESSION_LENGTH, SESSION_EVENTS, *EVENT_TYPES]

# ---- table names ----------------------------------------------------------------------------
CUSTOMERS = "customers"
PRODUCTS = "products"
TRANSACTIONS = "transactions"
EVENTS = "events"
RATINGS = "ratings"
PRICES = "prices"

REQUIRED_TABLES = (CUSTOMERS, PRODUCTS, TRANSACTIONS)
OPTIONAL_TABLES = (EVENTS, RATINGS, PRICES)
ALL_TABLES = REQUIRED_TABLES + OPTIONAL_TABLES
#: a shop needs at least one of these with rows: what customers did (bought, clicked or rated).
#: ``transactions`` may be empty or absent when ``events`` or ``ratings`` exist (a shop without money).
FEEDBACK_TABLES = (TRANSACTIONS, EVENTS, RATINGS)


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    ``kind`` is one of ``id`` (string), ``datetime``, ``date``, ``int``, ``float``, ``category``,
    ``text``. ``positive`` asks for values > 0, ``nonzero`` for values != 0, ``choices`` for a closed set.
    ``bound`` names the :class:`~workbench.data.validate.Limits` field that caps the column's magnitude
    (``max_unit_price`` ...). A column that is not ``required`` may be absent or hold missing values.
    """

    name: str
    kind: str
    required: bool = True
    positive: bool = False
    nonzero: bool = False
    choices: tuple[str, ...] | None = None
    bound: str | None = None


@dataclass(frozen=True)
class TableSchema:
    """Columns of one table, its unique key and its foreign keys (column -> table)."""

    name: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()
    foreign_keys: dict[str, str] = field(default_factory=dict)

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SCHEMAS: dict[str, TableSchema] = {
    CUSTOMERS: TableSchema(
        CUSTOMERS,
        (
            Column(CUSTOMER_ID, "id"),
            Column(SIGNUP_DATE, "datetime"),
            Column(AGE, "int", required=False, bound="max_age"),
            Column(GENDER, "category", required=False),
            Column(LOCATION, "category", required=False),
        ),
        unique=(CUSTOMER_ID,),
    ),
    PRODUCTS: TableSchema(
        PRODUCTS,
        (
            Column(PRODUCT_ID, "id"),
            Column(NAME, "text"),
            Column(CATEGORY, "category"),
            Column(PRICE, "float", required=False, positive=True, bound="max_unit_price"),  # may lack prices
            Column(DESCRIPTION, "text", required=False),
            Column(BRAND, "category", required=False),
        ),
        unique=(PRODUCT_ID,),
    ),
    TRANSACTIONS: TableSchema(
        TRANSACTIONS,
        (
            Column(TRANSACTION_ID, "id"),
            Column(CUSTOMER_ID, "id"),
            Column(PRODUCT_ID, "id"),
            Column(TIMESTAMP, "datetime"),
            Column(QUANTITY, "int", nonzero=True, bound="max_quantity"),
            Column(UNIT_PRICE, "float", positive=True, bound="max_unit_price"),
        ),
        foreign_keys={CUSTOMER_ID: CUSTOMERS, PRODUCT_ID: PRODUCTS},
    ),
    EVENTS: TableSchema(
        EVENTS,
        (
            Column(TIMESTAMP, "datetime"),
            Column(CUSTOMER_ID, "id"),
            Column(PRODUCT_ID, "id"),
            Column(EVENT, "category", choices=EVENT_TYPES),
        ),
        foreign_keys={CUSTOMER_ID: CUSTOMERS, PRODUCT_ID: PRODUCTS},
    ),
    RATINGS: TableSchema(
        RATINGS,
        (
            Column(CUSTOMER_ID, "id"),
            Column(PRODUCT_ID, "id"),
            Column(RATING, "float"),
            Column(TIMESTAMP, "datetime"),
        ),
        foreign_keys={CUSTOMER_ID: CUSTOMERS, PRODUCT_ID: PRODUCTS},
    ),
    PRICES: TableSchema(
        PRICES,
        (
            Column(PRODUCT_ID, "id"),
            Column(DATE, "datetime"),
            Column(PRICE, "float", positive=True, bound="max_unit_price"),
            Column(COMPETITOR_PRICE, "float", required=False, positive=True, bound="max_unit_price"),
            Column(STOCK, "int", required=False, bound="max_quantity"),
        ),
        unique=(PRODUCT_ID, DATE),
        foreign_keys={PRODUCT_ID: PRODUCTS},
    ),
}
