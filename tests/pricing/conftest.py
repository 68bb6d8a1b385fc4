"""Fixtures of the pricing tests: validated synthetic shops and fitted pricing stages (session-scoped)."""
import numpy as np
import pandas as pd
import pytest

#: a fast configuration for small shops (fewer trees, no double ML)
FAST = {"test_periods": 8, "demand_model": {"n_estimators": 60, "learning_rate": 0.1},
        "elasticity": {"dml": False, "model_periods": 4}}


@pytest.fixture(scope="session")
def fast_config():
    """The FAST pricing configuration (a copy)."""
    import copy

    return copy.deepcopy(FAST)


@pytest.fixture(scope="session")
def pricing_shop(small_shop):
    """The 300-customer synthetic shop of tests/conftest.py, validated."""
    from workbench.data.validate import validate_shop

    return validate_shop(small_shop)[0]


@pytest.fixture(scope="session")
def small_fit(pricing_shop):
    """The pricing stage fitted on the small shop with the FAST configuration."""
    from workbench.pricing.pipeline import fit_pricing

    return fit_pricing(pricing_shop, FAST, seed=7)


@pytest.fixture(scope="session")
def default_shop():
    """The default synthetic shop (params/default.yaml: 1,000 customers, 500 products, 104 weeks), validated."""
    from workbench.config import load_params
    from workbench.data.load import load_shop

    return load_shop(load_params("default"))[0]


@pytest.fixture(scope="session")
def default_fit(default_shop):
    """The pricing stage fitted on the default shop with the default pricing params."""
    from workbench.config import load_params, stage
    from workbench.pricing.pipeline import DEFAULTS, fit_pricing

    params = load_params("default")
    return fit_pricing(default_shop, stage(params, "pricing", DEFAULTS), seed=int(params["seed"]))


#: the volume tiers of the tiered test shops: (smallest quantity of the tier, unit price relative to the list price)
TIERS = ((1, 1.0), (12, 0.9), (48, 0.8))
#: order quantities and their probabilities (a wholesaler's mix: mostly small lines, some bulk)
ORDER_SIZES = (np.array([1, 2, 3, 4, 6, 12, 24, 48, 96]), np.array([.25, .2, .1, .1, .1, .1, .08, .05, .02]))


def tiered_shop(elasticity: dict, price_moves: bool, n_per_category: int = 20, n_weeks: int = 60, seed: int = 3):
    """A wholesaler without a prices table: orders per product-day are Poisson with rate a_j x season x
    (list price / usual price) ** e_category, each order's quantity from ORDER_SIZES, and its unit price the
    week's list price times the tier factor of TIERS. ``price_moves``: the list price walks and has promotions
    (10-25% off); otherwise it changes once for one product per category, so nearly all price variation
    is across lines (the tiers)."""
    from workbench.data.shop import Shop

    rng = np.random.default_rng(seed)
    cats = sorted(elasticity)
    n_prod = n_per_category * len(cats)
    cat = np.repeat(np.arange(len(cats)), n_per_category)
    usual = np.round(rng.uniform(2, 20, n_prod), 2)
    rate = rng.lognormal(np.log(4.0), 0.4, n_prod)
    if price_moves:
        walk = np.cumsum(rng.normal(0, 0.03, (n_prod, n_weeks)), axis=1)
        promo = rng.random((n_prod, n_weeks)) < 0.2
        mult = np.exp(walk - walk.mean(axis=1, keepdims=True)) * np.where(promo, 1 - rng.uniform(0.10, 0.25, promo.shape), 1.0)
    else:  # one product per category raises its price once, halfway: a price history, but no price variation to learn from
        mult = np.ones((n_prod, n_weeks))
        mult[::n_per_category, n_weeks // 2:] = 1.05
    listp = np.round(usual[:, None] * mult, 2)
    season = 1 + 0.3 * np.sin(2 * np.pi * (np.arange(n_weeks)[None, :] / 52 + cat[:, None] / len(cats)))
    e = np.array([elasticity[c] for c in cats])[cat]
    week_rate = rate[:, None] * season * (listp / usual[:, None]) ** e[:, None]  # orders per day
    days = np.arange(n_weeks * 7)
    orders = rng.poisson(np.repeat(week_rate, 7, axis=1))  # (product, day)
    prod_idx, day_idx = np.nonzero(orders)
    counts = orders[prod_idx, day_idx]
    prod_line, day_line = np.repeat(prod_idx, counts), np.repeat(day_idx, counts)
    qty = rng.choice(ORDER_SIZES[0], size=len(prod_line), p=ORDER_SIZES[1])
    factor = np.select([qty >= q for q, _ in TIERS[::-1]], [f for _, f in TIERS[::-1]])
    unit = np.round(listp[prod_line, day_line // 7] * factor, 2)
    start = pd.Timestamp("2023-01-02")
    ids = np.array([f"P{i:03d}" for i in range(n_prod)])
    tx = pd.DataFrame({"transaction_id": np.arange(len(qty)).astype(str), "customer_id": (np.arange(len(qty)) % 200).astype(str),
                       "product_id": ids[prod_line], "timestamp": start + pd.to_timedelta(days[day_line], unit="D"),
                       "quantity": qty.astype("int64"), "unit_price": unit})
    products = pd.DataFrame({"product_id": ids, "category": np.array(cats)[cat], "price": usual})
    customers = pd.DataFrame({"customer_id": np.arange(200).astype(str)})
    return Shop(customers=customers, products=products, transactions=tx, name="tiered")


@pytest.fixture(scope="session")
def make_tiered_shop():
    """The builder of the tiered wholesaler shops (:func:`tiered_shop`)."""
    return tiered_shop


@pytest.fixture(scope="session")
def planted_tiers():
    """The planted volume tiers: (smallest quantity, relative unit price) per tier."""
    return TIERS
