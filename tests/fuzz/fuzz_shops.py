"""Small random shops over the space of shapes a new user brings, written as CSV contract folders.

A :class:`ShopShape` says what a shop has (how many customers, products and categories, over how many days it
sold, which optional tables and columns it carries, which evaluation protocol its params ask for) plus the seed
of its rows; :func:`build_tables` turns it into the contract tables, deterministically. ``shapes()`` is the
hypothesis strategy the fuzz test draws from. A failing shape is printed with the command that replays it::

    python tests/fuzz/fuzz_shops.py OUT n_customers=3 n_products=1 ... seed=123   # writes OUT/*.csv, OUT/params.yaml
    python -m workbench run --params OUT/params.yaml --out /tmp/replay
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from workbench.data import contract as data_contract

START = pd.Timestamp("2023-01-02")
#: kinds of events a shop can carry: none, views only, views and add-to-carts, or every kind (purchases too)
EVENT_KINDS = ("none", "views", "views_carts", "all")
#: the evaluation protocols a user would pick for the shop: the default (last basket of the purchases), or
#: the clickstream's (its events, one cut-off in time), which needs events
PROTOCOLS = ("default", "events")
#: a quick params profile: the stages' smallest honest settings (fewer candidates, trees, resamples), every
#: stage and code path still run; no MLflow tracking (the report is left out by the runner's --no-report)
FAST_PARAMS: dict = {
    "tracking": {"enabled": False},
    "segmentation": {"clusters": {"k_range": [2, 4], "n_bootstrap": 2, "gap_references": 1, "tsne_sample": 100,
                                  "tsne_iter": 250}},
    "recommenders": {"tune": {"ease": {"lam": [50.0, 500.0]}, "als": {"regularization": [1.0]}},
                     "surprise": {"folds": 2}},
    "hybrid": {"tuning": {"n_random": 10, "n_bags": 10}},
    "pricing": {"test_periods": 4, "demand_model": {"n_estimators": 30}, "ab": {"n_sims": 20},
                "elasticity": {"dml_estimators": 20}},
}
EVENTS_PROTOCOL = {"source": "events", "split": "chronological", "ratio": 0.8}


@dataclass(frozen=True)
class ShopShape:
    """What one drawn shop has; ``seed`` draws its rows."""

    n_customers: int = 20
    n_products: int = 10
    n_categories: int = 2
    span_days: int = 90
    invoices_per_customer: float = 2.0
    sales: bool = True             # transactions with sale lines (False: no transactions table at all)
    returns: bool = False          # some sold lines come back (negative quantity, later)
    product_prices: bool = True    # products.price
    price_history: bool = False    # a weekly prices table
    stock: bool = False            # ... with stock and competitor prices
    events: str = "none"           # EVENT_KINDS
    ratings: bool = False
    demographics: bool = False     # customers.age, gender, location
    time_zones: bool = False       # timestamps written with UTC offsets
    protocol: str = "default"      # PROTOCOLS
    seed: int = 0


def shapes():
    """The hypothesis strategy of :class:`ShopShape`: 1-60 customers, 1-25 products, 1-3 categories, sales over
    1 day to 2 years, every optional table and column with and without."""
    from hypothesis import strategies as st

    return st.builds(
        ShopShape,
        n_customers=st.integers(1, 60), n_products=st.integers(1, 25), n_categories=st.integers(1, 3),
        span_days=st.integers(1, 730), invoices_per_customer=st.floats(0.2, 6.0),
        sales=st.booleans(), returns=st.booleans(), product_prices=st.booleans(), price_history=st.booleans(),
        stock=st.booleans(), events=st.sampled_from(EVENT_KINDS), ratings=st.booleans(),
        demographics=st.booleans(), time_zones=st.booleans(), protocol=st.sampled_from(PROTOCOLS),
        seed=st.integers(0, 2 ** 31 - 1))


def _ids(prefix: str, n: int) -> np.ndarray:
    return np.array([f"{prefix}{i:03d}" for i in range(1, n + 1)], dtype=object)


def _stamps(rng, n: int, span_days: int) -> pd.Series:
    """``n`` timestamps over ``span_days`` days from :data:`START`, to the second."""
    return pd.Series(START + pd.to_timedelta(rng.integers(0, span_days * 86400, n), unit="s"))


def _with_offsets(stamps: pd.Series) -> list[str]:
    """The same instants written in several time zones (+02:00, -05:00 ...)."""
    hours = np.array([2, -5, 0, 9])[np.arange(len(stamps)) % 4]
    local = stamps + pd.to_timedelta(hours, unit="h")
    return [f"{s.isoformat()}{h:+03d}:00" for s, h in zip(local, hours)]


def build_tables(shape: ShopShape) -> dict[str, pd.DataFrame]:
    """The contract tables of ``shape`` (deterministic in it)."""
    rng = np.random.default_rng(shape.seed)
    n_c, n_p, span = shape.n_customers, shape.n_products, shape.span_days
    customers = _ids("C", n_c)
    products = _ids("P", n_p)
    n_cat = min(shape.n_categories, n_p)
    category = np.array([f"cat{c}" for c in range(n_cat)], dtype=object)[np.arange(n_p) % n_cat]
    base_price = np.round(rng.lognormal(2.5, 0.8, n_p), 2) + 0.5
    cust = pd.DataFrame({data_contract.CUSTOMER_ID: customers,
                         data_contract.SIGNUP_DATE: START - pd.to_timedelta(rng.integers(0, 400, n_c), unit="D")})
    if shape.demographics:
        cust[data_contract.AGE] = rng.integers(18, 90, n_c)
        cust[data_contract.GENDER] = rng.choice(["f", "m", "x"], n_c)
        cust[data_contract.LOCATION] = rng.choice(["north", "south", "east"], n_c)
    prod = pd.DataFrame({data_contract.PRODUCT_ID: products, data_contract.NAME: [f"item {p}" for p in products],
                         data_contract.CATEGORY: category,
                         data_contract.DESCRIPTION: [f"a {c} thing, style {s}" for c, s in
                                                     zip(category, rng.choice(["plain", "bold", "soft"], n_p))]})
    if shape.product_prices:
        prod[data_contract.PRICE] = base_price
    # who buys what: skewed customers and products, so some repeat and some pairs co-occur
    pop = rng.dirichlet(np.full(n_p, 0.5))
    activity = rng.dirichlet(np.full(n_c, 0.7))
    n_inv = max(int(round(shape.invoices_per_customer * n_c)), 1)
    inv_customer = customers[rng.choice(n_c, n_inv, p=activity)]
    inv_time = _stamps(rng, n_inv, span)
    sizes = 1 + rng.poisson(1.0, n_inv)
    line_inv = np.repeat(np.arange(n_inv), sizes)
    line_prod = products[rng.choice(n_p, len(line_inv), p=pop)]
    week = (inv_time.to_numpy()[line_inv] - START.to_datetime64()) // np.timedelta64(7, "D")
    walk = 1.0 + 0.1 * np.sin(week.astype(float) + np.arange(len(line_inv)) % 3)
    prod_index = pd.Index(products).get_indexer(line_prod)
    tx = pd.DataFrame({data_contract.TRANSACTION_ID: np.array([f"T{i:05d}" for i in line_inv], dtype=object),
                       data_contract.CUSTOMER_ID: inv_customer[line_inv], data_contract.PRODUCT_ID: line_prod,
                       data_contract.TIMESTAMP: inv_time.to_numpy()[line_inv],
                       data_contract.QUANTITY: rng.integers(1, 4, len(line_inv)),
                       data_contract.UNIT_PRICE: np.round(base_price[prod_index] * walk, 2)})
    tx = tx.drop_duplicates([data_contract.TRANSACTION_ID, data_contract.PRODUCT_ID], ignore_index=True)
    if shape.returns and len(tx):
        back = tx.sample(frac=0.15, random_state=shape.seed % 2 ** 31).copy()
        back[data_contract.TRANSACTION_ID] = "R" + back[data_contract.TRANSACTION_ID].str[1:]
        back[data_contract.QUANTITY] = -back[data_contract.QUANTITY]
        back[data_contract.TIMESTAMP] = back[data_contract.TIMESTAMP] + pd.Timedelta(days=3)
        tx = pd.concat([tx, back], ignore_index=True)
    tables = {data_contract.CUSTOMERS: cust, data_contract.PRODUCTS: prod}
    if shape.sales:
        tables[data_contract.TRANSACTIONS] = tx
    if shape.events != "none":
        tables[data_contract.EVENTS] = _events(rng, shape, tx, customers, products, pop)
    if shape.ratings:
        n_r = max(n_c * 3, 1)
        tables[data_contract.RATINGS] = pd.DataFrame({
            data_contract.CUSTOMER_ID: customers[rng.integers(0, n_c, n_r)],
            data_contract.PRODUCT_ID: products[rng.choice(n_p, n_r, p=pop)],
            data_contract.RATING: rng.integers(1, 6, n_r).astype(float),
            data_contract.TIMESTAMP: _stamps(rng, n_r, span)})
    if shape.price_history or shape.stock:
        tables[data_contract.PRICES] = _prices(rng, shape, products, base_price)
    if shape.time_zones:
        for name in (data_contract.TRANSACTIONS, data_contract.EVENTS, data_contract.RATINGS):
            if name in tables:
                tables[name] = tables[name].assign(
                    **{data_contract.TIMESTAMP: _with_offsets(pd.Series(tables[name][data_contract.TIMESTAMP]))})
    return tables


def _events(rng, shape: ShopShape, tx: pd.DataFrame, customers, products, pop) -> pd.DataFrame:
    """Views (and add-to-carts, and the purchases as events) of the shop's customers."""
    n_v = max(int(len(customers) * 4), 1)
    parts = [pd.DataFrame({data_contract.TIMESTAMP: _stamps(rng, n_v, shape.span_days),
                           data_contract.CUSTOMER_ID: customers[rng.integers(0, len(customers), n_v)],
                           data_contract.PRODUCT_ID: products[rng.choice(len(products), n_v, p=pop)],
                           data_contract.EVENT: "view"})]
    if shape.events in ("views_carts", "all"):
        carts = parts[0].sample(frac=0.3, random_state=shape.seed % 2 ** 31).assign(**{data_contract.EVENT: "addtocart"})
        parts.append(carts)
    if shape.events == "all":
        sold = tx[tx[data_contract.QUANTITY] > 0]
        parts.append(pd.DataFrame({data_contract.TIMESTAMP: sold[data_contract.TIMESTAMP],
                                   data_contract.CUSTOMER_ID: sold[data_contract.CUSTOMER_ID],
                                   data_contract.PRODUCT_ID: sold[data_contract.PRODUCT_ID],
                                   data_contract.EVENT: "transaction"}))
    return pd.concat(parts, ignore_index=True)


def _prices(rng, shape: ShopShape, products, base_price) -> pd.DataFrame:
    """A weekly price history over the span (prices that move; stock and competitor prices when asked)."""
    weeks = pd.date_range(START, START + pd.Timedelta(days=max(shape.span_days - 1, 0)), freq="7D")
    n_w, n_p = len(weeks), len(products)
    factor = np.exp(np.cumsum(rng.normal(0, 0.05, (n_p, n_w)), axis=1))
    out = pd.DataFrame({data_contract.PRODUCT_ID: np.repeat(products, n_w), data_contract.DATE: np.tile(weeks, n_p),
                        data_contract.PRICE: np.round((base_price[:, None] * factor).ravel(), 2).clip(0.01)})
    if shape.stock:
        out[data_contract.STOCK] = rng.integers(0, 30, len(out))
        out[data_contract.COMPETITOR_PRICE] = np.round(out[data_contract.PRICE] * rng.uniform(0.85, 1.2, len(out)), 2)
    return out


def params_for(shape: ShopShape, folder: Path, fast: bool = True) -> dict:
    """The params a user would run the shop with: the CSV folder, the shape's protocol, the quick profile."""
    out = {"name": "fuzz", "seed": 42, "data": {"source": "csv", "path": str(folder), "strict": False},
           **(FAST_PARAMS if fast else {"tracking": {"enabled": False}})}
    if shape.protocol == "events" and shape.events != "none":
        out = {**out, "evaluation": dict(EVENTS_PROTOCOL)}
    return out


def write_shop(shape: ShopShape, folder: str | Path, fast: bool = True) -> Path:
    """Write the shop's CSV tables and its ``params.yaml`` into ``folder``; return the params file."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in build_tables(shape).items():
        df.to_csv(folder / f"{name}.csv", index=False)
    (folder / "shape.yaml").write_text(yaml.safe_dump(asdict(shape), sort_keys=False))
    pfile = folder / "params.yaml"
    pfile.write_text(yaml.safe_dump(params_for(shape, folder, fast), sort_keys=False))
    return pfile


def replay_args(shape: ShopShape) -> str:
    """The ``key=value`` arguments that make ``python tests/fuzz/fuzz_shops.py OUT ...`` write ``shape`` again."""
    return " ".join(f"{k}={v}" for k, v in asdict(shape).items())


def parse_args(args: list[str]) -> ShopShape:
    """The :class:`ShopShape` of ``key=value`` arguments (the others keep their defaults)."""
    kinds = {k: type(v) for k, v in asdict(ShopShape()).items()}
    values = {}
    for arg in args:
        key, _, text = arg.partition("=")
        if key not in kinds:
            raise SystemExit(f"unknown shape key {key!r}; known: {sorted(kinds)}")
        values[key] = text == "True" if kinds[key] is bool else kinds[key](text)
    return ShopShape(**values)


if __name__ == "__main__":
    print(write_shop(parse_args(sys.argv[2:]), Path(sys.argv[1] if len(sys.argv) > 1 else "fuzz_shop")))
