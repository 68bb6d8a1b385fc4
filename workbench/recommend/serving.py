"""The final recommender as one fitted object: what notebook 05's production lists come from, ready to save.

:class:`FinalRecommender` holds the hybrid fitted on all the data (its components inside), the tuned weights
and switching, the re-ranker, the business rules and what the explanations need (item similarities, product
names, price-sensitive customers). ``recommend(customer_ids)`` returns the rows of the ``recommendations``
artifact for those customers, as the run wrote them. :meth:`HybridExperiment.final_recommender` builds it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from workbench.recommend.hybrid import HybridRecommender
from workbench.recommend.rerank import LearnedReranker

if TYPE_CHECKING:
    from workbench.recommend.hybrid_experiment import HybridExperiment, TuningResult


@dataclass
class FinalRecommender:
    """The production recommender: fitted hybrid, final choices and rules (see the module doc).

    ``experiment`` carries the settings, the catalog and the segments (not the transactions); ``customer_ids``
    are the customers it was fitted for, in order; lists are made ``chunk_customers`` customers at a time.
    """

    experiment: HybridExperiment
    hybrid: HybridRecommender
    tuning: TuningResult
    reranker: LearnedReranker | None
    similarities: dict
    product_names: pd.Series
    price_sensitive: pd.Index
    customer_ids: pd.Index
    chunk_customers: int

    def recommend(self, customer_ids=None) -> pd.DataFrame:
        """Return the final top-k of ``customer_ids`` (default: every customer it was fitted for) with rank,
        score, confidence, explanation, reason and the business rule applied (the ``recommendations`` rows)."""
        ids = self.customer_ids if customer_ids is None else pd.Index(pd.Series(customer_ids, dtype="str")).unique()
        held = self.hybrid.interactions_.binary()
        step = self.chunk_customers
        parts = [self.experiment._production_chunk(self.hybrid, ids[s:s + step], held, self.similarities,
                                                   self.product_names, self.price_sensitive, self.tuning,
                                                   self.reranker)
                 for s in range(0, len(ids), step)]  # chunks of thousands of customers
        return pd.concat(parts, ignore_index=True)
