"""Tests of workbench/plots/basket.py: each figure function returns a Figure, also with no rules."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from workbench.plots import basket as P
from workbench.recommend import basket as B


def test_basket_figures():
    rules = pd.DataFrame({B.ANTECEDENTS: [["a"], ["a", "b"]], B.CONSEQUENTS: [["c"], ["d"]], B.SUPPORT: [0.1, 0.05],
                          B.CONFIDENCE: [0.6, 0.8], B.LIFT: [3.0, 5.0]})
    figs = [P.rules_table(rules), P.support_confidence(rules), P.rules_network(rules, names={"a": "Apple"})]
    assert all(isinstance(f, plt.Figure) for f in figs)
    labels = [t.get_text() for t in figs[2].axes[0].texts if t.get_text()]  # arrows are empty annotations
    assert sorted(labels) == ["Apple", "b", "c", "d"]  # one label per item
    empty = rules.iloc[:0]
    assert all(isinstance(f, plt.Figure) for f in (P.rules_table(empty), P.support_confidence(empty),
                                                   P.rules_network(empty)))
    plt.close("all")
