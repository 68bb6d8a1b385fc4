"""The final recommender as one fitted object: what notebook 05's production lists come from, ready to save.

:class:`FinalRecommender` holds the hybrid fitted on all the data (its components inside), the tuned weights
and switching, the re-ranker, the business rules and what the explanations need (item similarities, product
names, price-sensitive customers). ``recommend(customer_ids, k=None)`` returns the rows of the ``recommendations``
artifact for those customers, as the run wrote them. :meth:`HybridExperiment.final_recommender` builds it.

It answers any customer id. A customer it has never seen, or one without a purchase in the data it was fitted on,
gets the cold-start list: the hybrid's blend under its switching rule (the ``hybrid.switching`` ``from``
components' weight moved to the ``to`` components; components that need an own product score nothing), whether or
not tuning kept switching for the cold bucket and never the re-ranker (it learnt from customers with a history),
every row explained as such (:data:`~workbench.recommend.rules.COLD_START`).

The result, one row per (customer, recommended product), customers in the order first asked, ranks 1..k:

=============== ===============================================================================================
``customer_id`` the customer asked for (each distinct id once: a repeated id gets one list)
``product_id``  the recommended product
``rank``        1 = best
``score``       the final score (blend or re-ranker, after the business rules) the list is sorted by
``confidence``  the weight share of the components that rank the product in their own top lists (0-1)
``explanation`` why, in the customer's terms (for a customer without history: the cold-start explanation)
``reason``      the component contributing most (``collaborative``, ``popular`` ...)
``name``        the product's name
``category``    the product's category
``rule``        the business rule applied to the customer's list (``premium``, ``win_back``, ``value``), or ""
=============== ===============================================================================================

A list can be shorter than ``k`` when fewer products are left to recommend (the catalog is small, or the
customer already holds most of it); an empty id list gives an empty frame with these columns.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.data import contract
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

    def recommend(self, customer_ids=None, k: int | None = None) -> pd.DataFrame:
        """Return the final top ``k`` (default: the run's ``evaluation.k``) of ``customer_ids`` (default: every
        customer it was fitted for; any ids: a list, an array, a Series, one id, or a DataFrame with a
        ``customer_id`` column) with the columns of the module doc; unknown customers get the cold-start list."""
        ids = self.customer_ids if customer_ids is None else requested_ids(customer_ids)
        k = list_length(k, self.experiment.k)
        held = self.hybrid.interactions_.binary()
        step = self.chunk_customers
        chunk = partial(self.experiment._production_chunk, self.hybrid, held=held, sims=self.similarities,
                        names=self.product_names, sensitive=self.price_sensitive, tuning=self.tuning,
                        reranker=self.reranker, k=k)
        if not len(ids):  # the columns and dtypes of a list, without its rows
            return chunk(pd.Index(["-"])).iloc[:0]
        parts = [chunk(ids[s:s + step]) for s in range(0, len(ids), step)]  # chunks of thousands of customers
        return pd.concat(parts, ignore_index=True)


def requested_ids(customer_ids) -> pd.Index:
    """Return the distinct customer ids asked for, as strings, in the order first asked.

    ``customer_ids`` is one id, a list, an array, a Series or a DataFrame (its ``customer_id`` column, or its only
    column); a missing id is a ``ValueError`` naming how many there are."""
    if isinstance(customer_ids, pd.DataFrame):
        if contract.CUSTOMER_ID in customer_ids.columns:
            customer_ids = customer_ids[contract.CUSTOMER_ID]
        elif customer_ids.shape[1] == 1:
            customer_ids = customer_ids.iloc[:, 0]
        else:
            raise ValueError(f"recommend takes a DataFrame with a '{contract.CUSTOMER_ID}' column (or one column "
                             f"of ids); this one has {list(customer_ids.columns)[:8]}")
    elif isinstance(customer_ids, (str, bytes)) or np.ndim(customer_ids) == 0:
        customer_ids = [customer_ids]
    ids = pd.Series(list(customer_ids) if not isinstance(customer_ids, pd.Series) else customer_ids.to_numpy(),
                    dtype="object")
    missing = ids.isna()
    if missing.any():
        raise ValueError(f"recommend: {int(missing.sum())} of the {len(ids)} customer ids are missing (None/NaN); "
                         "pass an id for every customer")
    return pd.Index(ids.astype("str").to_numpy(), dtype="str").unique()


def list_length(k, default: int) -> int:
    """Return ``k`` as the list length (``None``: ``default``); a ``ValueError`` unless it is a whole number >= 1."""
    if k is None:
        return int(default)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise ValueError(f"recommend: k must be a whole number of products >= 1 (or None for the run's "
                         f"{default}), not {k!r}")
    return int(k)
