"""Tests of workbench/data/adapters/retail_price.py against the shared data set (skipped when absent)."""
import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.sources import ADAPTERS, load_source
from workbench.data.validate import validate_shop


@pytest.fixture(scope="module")
def shop(datasets):
    if not (datasets / "retail-price" / "retail_price.csv").is_file():
        pytest.skip("retail-price data set not found")
    return load_source({"source": "retail_price"})


def test_registered():
    assert ADAPTERS["retail_price"] == "retail_price"


def test_published_counts_and_prices(shop, datasets):
    raw = pd.read_csv(datasets / "retail-price" / "retail_price.csv")
    assert len(shop.products) == 52 and shop.products[contract.CATEGORY].nunique() == 9
    assert len(shop.prices) == 676 == len(shop.transactions)
    assert shop.prices[contract.DATE].min() == pd.Timestamp("2017-01-01")
    assert shop.prices[contract.DATE].max() == pd.Timestamp("2018-08-01")
    comp = raw[["comp_1", "comp_2", "comp_3"]].mean(axis=1).to_numpy()
    assert shop.prices[contract.COMPETITOR_PRICE].to_numpy() == pytest.approx(comp)
    assert {"comp_1", "comp_2", "comp_3"} <= set(shop.prices.columns)
    assert shop.transactions[contract.QUANTITY].sum() == raw["qty"].sum()
    assert (shop.transactions[contract.QUANTITY] * shop.transactions[contract.UNIT_PRICE]).sum() == pytest.approx(
        (raw["qty"] * raw["unit_price"]).sum())


def test_synthetic_customers_one_per_month(shop):
    assert len(shop.customers) == 20 and shop.customers[contract.CUSTOMER_ID].iloc[0] == "M2017-01"
    assert shop.transactions[contract.CUSTOMER_ID].isin(shop.customers[contract.CUSTOMER_ID]).all()


def test_validates_without_quarantine(shop):
    valid, report = validate_shop(shop, strict=True)
    assert report.rows_quarantined == 0 and valid.prices is not None and len(valid.prices) == 676


def test_pricing_runs_on_it(shop):
    from workbench.config import load_params, stage
    from workbench.pricing.pipeline import DEFAULTS, fit_pricing, suggest

    valid = validate_shop(shop)[0]
    cfg = stage(load_params("retail_price"), "pricing", DEFAULTS)
    fit = fit_pricing(valid, cfg, seed=42)
    assert len(fit.elasticities) == 9
    # every category gets an elasticity or a refusal with its reason
    refused = fit.judgement["status"].eq("refused").to_numpy()
    assert np.isfinite(fit.elasticities["used"].to_numpy()[~refused]).all()
    assert fit.judgement.loc[refused, "note"].str.len().gt(0).all()
    sug = suggest(fit)
    assert len(sug) == 52 and (sug["change"].abs() <= cfg["guardrails"]["max_change"] + 0.001).all()
