"""Tests of workbench/plots/basket.py: each figure function returns a Figure, also with no rules."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.data import contract
from workbench.plots import basket as basket_plots


def test_basket_figures():
    rules = pd.DataFrame({contract.ANTECEDENTS: [["a"], ["a", "b"]], contract.CONSEQUENTS: [["c"], ["d"]],
                          contract.SUPPORT: [0.1, 0.05], contract.CONFIDENCE: [0.6, 0.8], contract.LIFT: [3.0, 5.0]})
    figs = [basket_plots.rules_table(rules), basket_plots.support_confidence(rules),
            basket_plots.rules_network(rules, names={"a": "Apple"})]
    assert all(isinstance(f, plt.Figure) for f in figs)
    labels = [t.get_text() for t in figs[2].axes[0].texts if t.get_text()]  # arrows are empty annotations
    assert sorted(labels) == ["Apple", "b", "c", "d"]  # one label per item
    empty = rules.iloc[:0]
    assert all(isinstance(f, plt.Figure) for f in (basket_plots.rules_table(empty),
                                                   basket_plots.support_confidence(empty),
                                                   basket_plots.rules_network(empty)))
    plt.close("all")
