"""The price suggester as one fitted object: notebook 06's suggestions, ready to save and reload.

:class:`PriceSuggester` keeps what :func:`~workbench.pricing.pipeline.suggest` needs — the demand model,
the elasticities, unit costs, guardrails and each product's latest period — and drops the training tables.
``suggest()`` returns the ``pricing_suggestions`` rows the run wrote; ``predict(rows)`` the demand model's units.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from workbench.pricing import pipeline


@dataclass
class PriceSuggester:
    """The fitted pricing stage reduced to each product's latest period (see the module doc)."""

    fit: pipeline.PricingFit

    @classmethod
    def from_fit(cls, fit: pipeline.PricingFit) -> "PriceSuggester":
        """Keep the model, elasticities, costs and config of ``fit`` and only the latest row of each product."""
        empty = fit.table.iloc[:0]
        return cls(replace(fit, table=pipeline.latest_rows(fit.table), train=empty, test=empty,
                           forecast=fit.forecast.iloc[:0]))

    def suggest(self, rows: pd.DataFrame | None = None) -> pd.DataFrame:
        """Price suggestions for ``rows`` of the demand table (default: every product's latest period)."""
        return pipeline.suggest(self.fit, rows).reset_index(drop=True)

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """The demand model's expected units for ``rows`` of the demand table."""
        return self.fit.model.predict(rows)
