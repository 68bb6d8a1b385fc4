"""A product's interest: what the clickstream says visitors want, as one number per product.

``interest = sum over event types of weight(type) x events of that type on the product``, with the same
weights the recommenders give the events (``view`` 1, ``addtocart`` 3, ``transaction`` 5 by default: see
:data:`workbench.recommend.interactions.EVENT_WEIGHTS`), i.e. the product's column sum of the interaction
matrix the recommenders learn from. ``interest_share`` is the product's share of all interest; the table also
holds the counts per type and the distinct visitors, so a product with many views from one visitor shows as such.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract

INTEREST = "interest"


def interest_scores(events: pd.DataFrame, weights: dict[str, float], products: pd.DataFrame | None = None,
                    ) -> pd.DataFrame:
    """Return ``product_id, [category,] visitors, view, addtocart, transaction, interest, interest_share``,
    highest interest first (ties by product id)."""
    kind = events[data_contract.EVENT].astype("str")
    counts = pd.crosstab(events[data_contract.PRODUCT_ID].astype("str"), kind)
    counts = counts.reindex(columns=list(data_contract.EVENT_TYPES), fill_value=0).astype(np.int64)
    counts.index.name = data_contract.PRODUCT_ID
    out = counts.reset_index()
    visitors = events.groupby(events[data_contract.PRODUCT_ID].astype("str"))[data_contract.CUSTOMER_ID].nunique()
    out.insert(1, "visitors", visitors.reindex(out[data_contract.PRODUCT_ID]).to_numpy().astype(np.int64))
    w = np.array([float(weights.get(t, 0.0)) for t in data_contract.EVENT_TYPES])
    out[INTEREST] = out[list(data_contract.EVENT_TYPES)].to_numpy(dtype=np.float64) @ w
    total = out[INTEREST].sum()
    out["interest_share"] = out[INTEREST] / total if total > 0 else 0.0
    if products is not None:
        cat = products.set_index(products[data_contract.PRODUCT_ID].astype("str"))[data_contract.CATEGORY].astype("str")
        out.insert(1, data_contract.CATEGORY, cat.reindex(out[data_contract.PRODUCT_ID]).to_numpy())
    return out.sort_values([INTEREST, data_contract.PRODUCT_ID], ascending=[False, True], ignore_index=True)
