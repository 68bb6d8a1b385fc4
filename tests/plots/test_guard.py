"""Figures never fail on non-finite or empty input (the guard drops them and says so)."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from workbench.plots import eda, pricing  # noqa: E402
from workbench.plots.guard import finite, hist  # noqa: E402


def _tx(qty, price):
    n = len(qty)
    return pd.DataFrame({"transaction_id": [f"T{i}" for i in range(n)], "customer_id": [f"C{i % 3}" for i in range(n)],
                         "product_id": ["P1"] * n, "timestamp": pd.date_range("2024-01-01", periods=n, freq="D"),
                         "quantity": qty, "unit_price": price})


def test_finite_drops_nan_and_inf(caplog):
    assert finite([1.0, np.nan, np.inf, -np.inf, 2.0]).tolist() == [1.0, 2.0]
    assert "3 non-finite" in caplog.text


def test_hist_of_nothing_finite_is_an_empty_panel():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert not hist(ax, [np.inf, np.nan], "spend")
    assert "no finite spend" in ax.texts[0].get_text()
    assert hist(ax, [3.0, 3.0], "spend")  # one distinct value still draws a bar
    plt.close(fig)


@pytest.mark.parametrize("qty,price", [
    ([1, 2, 1], [1e308, 5.0, np.inf]),       # the overflow of the hostile shop: spend = inf
    ([-1, -2, -1], [5.0, 5.0, 5.0]),         # only returns: no positive spend, no positive invoice
    ([], []),                                # nothing at all
])
def test_eda_figures_survive_hostile_values(qty, price):
    tx = _tx(qty, price)
    products = pd.DataFrame({"product_id": ["P1"], "name": ["one"], "category": ["c"], "price": [5.0]})
    for fig in (eda.spend_and_basket(tx), eda.sales_over_time(tx), eda.top_products_categories(tx, products),
                eda.interaction_heatmap(pd.DataFrame(np.array([[np.inf, 1.0]])) if len(tx) else pd.DataFrame()),
                eda.demographics(pd.DataFrame({"customer_id": ["C1"], "age": [np.nan]}))):
        fig.canvas.draw()


def test_price_change_hist_with_non_finite_changes():
    s = pd.DataFrame({"change": [0.05, np.nan, np.inf, -0.1], "binding": ["", "", "max_change", ""]})
    pricing.price_change_hist(s).canvas.draw()
    pricing.price_change_hist(s.iloc[1:3]).canvas.draw()
