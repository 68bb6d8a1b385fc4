"""Fixtures of the pricing tests: validated synthetic shops and fitted pricing stages (session-scoped)."""
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
