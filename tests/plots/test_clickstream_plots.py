"""Tests of workbench/plots/clickstream.py: each figure function returns a Figure, also with no rows."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.clickstream import funnel
from workbench.clickstream.interest import interest_scores
from workbench.data import contract
from workbench.data.sessions import sessionize
from workbench.plots import clickstream as cplots

WEIGHTS = {"view": 1.0, "addtocart": 3.0, "transaction": 5.0}


def test_clickstream_figures_with_and_without_rows():
    t0 = pd.Timestamp("2024-01-01 10:00")
    events = pd.DataFrame({contract.CUSTOMER_ID: ["a", "a", "a", "b"], contract.PRODUCT_ID: ["p", "p", "p", "q"],
                           contract.EVENT: ["view", "addtocart", "transaction", "view"],
                           contract.TIMESTAMP: [t0, t0 + pd.Timedelta(minutes=1), t0 + pd.Timedelta(hours=2), t0]})
    products = pd.DataFrame({contract.PRODUCT_ID: ["p", "q"], contract.CATEGORY: ["x", "y"]})
    for ev in (events, events.iloc[:0]):
        pairs = funnel.with_category(funnel.funnel_pairs(ev), products)
        by_product = funnel.conversion(pairs, by=contract.PRODUCT_ID)
        figs = [cplots.sessions(sessionize(ev)),
                cplots.funnel(funnel.conversion(pairs), funnel.conversion(pairs, by=contract.CATEGORY)),
                cplots.product_conversion(by_product), cplots.time_to_purchase(funnel.time_to_purchase(ev, 30)),
                cplots.interest(interest_scores(ev, WEIGHTS), WEIGHTS), cplots.session_recs({}, 20)]
        assert all(isinstance(f, plt.Figure) for f in figs)
    # the interest bars add up to each product's interest
    bars = cplots.interest(interest_scores(events, WEIGHTS), WEIGHTS).axes[0].patches
    assert sum(b.get_width() for b in bars) == 1 * 2 + 3 + 5
    plt.close("all")
