"""The final recommender as one fitted object: what notebook 05's production lists come from, ready to save.

:class:`FinalRecommender` holds the hybrid fitted on all the data (its components inside), the final
weights, switching and re-ranker, the business rules and what the explanations need (item similarities,
product names, price-sensitive customers). ``recommend(customer_ids)`` returns the rows of the
``recommendations`` artifact for those customers, exactly as the run wrote them.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.recommend import rules as R
from workbench.recommend.hybrid import HybridRecommender
from workbench.recommend.hybrid_experiment import REC_COLUMNS, HybridExperiment

#: the experiment's fitted choices the production lists depend on (the rest is evaluation state)
FITTED_CHOICES = ("names", "default_weights", "tuned_weights", "switching", "reranker", "missing")


@dataclass
class FinalRecommender:
    """The production recommender: fitted hybrid, final choices and rules (see the module doc)."""

    experiment: HybridExperiment
    hybrid: HybridRecommender
    similarities: dict
    product_names: pd.Series
    price_sensitive: pd.Index
    customer_ids: pd.Index
    chunk_customers: int

    @classmethod
    def from_experiment(cls, ex: HybridExperiment) -> "FinalRecommender":
        """The production recommender of an experiment after :meth:`HybridExperiment.production`."""
        hyb = ex.production_hybrid
        tx = ex.shop.transactions
        inter = hyb.interactions_
        held = inter.binary()
        sims = R.similarity_matrices(held, ex.shop.products, inter.product_ids, ex._basket_matrix(tx, inter))
        names = ex._product_arrays(inter.product_ids)[3]
        # the rules read only the catalog: keep it, not the transactions
        shop = Shop(customers=ex.shop.customers.iloc[:0], products=ex.shop.products,
                    transactions=tx.iloc[:0], name=ex.shop.name)
        slim = HybridExperiment(shop, ex.cfg, params=ex.params, segments=ex.segments, seed=ex.seed)
        for attr in FITTED_CHOICES:
            if attr in vars(ex):
                setattr(slim, attr, getattr(ex, attr))
        ids = pd.Index(pd.Series(ex.shop.customers[C.CUSTOMER_ID], dtype="str")).unique()
        return cls(slim, hyb, sims, names, ex._price_sensitive(tx), ids,
                   max(int(ex.cfg.get("chunk_customers", 20000)), 1))

    def recommend(self, customer_ids=None) -> pd.DataFrame:
        """Return the final top-k of ``customer_ids`` (default: every customer of the shop it was fitted on),
        with rank, score, confidence, explanation and the business rule applied (the ``recommendations`` rows)."""
        ids = self.customer_ids if customer_ids is None else pd.Index(pd.Series(customer_ids, dtype="str")).unique()
        held = self.hybrid.interactions_.binary()
        step = self.chunk_customers
        parts = [self.experiment._production_chunk(self.hybrid, ids[s:s + step], held, self.similarities,
                                                   self.product_names, self.price_sensitive)
                 for s in range(0, len(ids), step)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*REC_COLUMNS, "rule"])

