"""Side information for the learned re-ranker: customer and product attributes as LightGBM features.

Customer attributes (where the data has them): age, gender, location, occupation, days since signup, and from
the segmentation fitted on the same training part: RFM segment, cluster and CLV. Product attributes: category
and price tier (the price's quintile in the catalog). Text columns become categorical codes that
:class:`SideEncoder` learns on the training data (an unseen value is missing, as LightGBM reads a missing
categorical); LightGBM splits them as categories (``categorical_feature``), not as numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import contract

#: customer columns read as categories / as numbers, when present (customer table, then segments)
CUSTOMER_CATEGORICAL = (contract.GENDER, contract.LOCATION, "occupation", "segment", "cluster")
CUSTOMER_NUMERIC = (contract.AGE, "signup_days", "clv")
#: the brand is left out: as a raw category (hundreds of values) it lowered the validation NDCG of the re-ranker on
#: the default shop (cross-fitted: -0.0005 with it, +0.0025 without it, against no side information)
PRODUCT_CATEGORICAL = (contract.CATEGORY, "price_tier")
#: price tiers: quantiles of the catalog's list prices
PRICE_TIERS = 5


def customer_table(customers: pd.DataFrame | None, segments: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the customer side columns present in ``customers`` (and ``segments``), indexed by customer id."""
    parts = []
    for df in (customers, segments):
        if df is None or contract.CUSTOMER_ID not in df.columns:
            continue
        d = df.drop_duplicates(contract.CUSTOMER_ID).set_index(df[contract.CUSTOMER_ID].drop_duplicates().astype("str"))
        cols = {}
        for c in CUSTOMER_CATEGORICAL:
            if c in d.columns:
                cols[c] = d[c].astype("str").where(d[c].notna())
        for c in (contract.AGE, "clv"):
            if c in d.columns:
                cols[c] = pd.to_numeric(d[c], errors="coerce").astype("float64")
        if contract.SIGNUP_DATE in d.columns:
            t = pd.to_datetime(d[contract.SIGNUP_DATE], errors="coerce")
            cols["signup_days"] = ((t.max() - t).dt.days).astype("float64")
        parts.append(pd.DataFrame(cols, index=d.index))
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame()
    return out.loc[:, ~out.columns.duplicated(keep="last")]


def product_table(products: pd.DataFrame, product_ids: pd.Index) -> pd.DataFrame:
    """Return the product side columns (:data:`PRODUCT_CATEGORICAL`) for ``product_ids``, in that order."""
    p = products.assign(**{contract.PRODUCT_ID: products[contract.PRODUCT_ID].astype("str")})
    p = p.drop_duplicates(contract.PRODUCT_ID).set_index(contract.PRODUCT_ID).reindex(product_ids)
    out = pd.DataFrame(index=product_ids)
    for c in [c for c in PRODUCT_CATEGORICAL if c != "price_tier"]:
        if c in p.columns:
            out[c] = p[c].astype("str").where(p[c].notna())
    if "price_tier" in PRODUCT_CATEGORICAL and contract.PRICE in products.columns:
        catalog = products.drop_duplicates(contract.PRODUCT_ID)  # tiers of the whole catalog, not of the ids asked
        price = pd.to_numeric(catalog[contract.PRICE], errors="coerce")
        if price.nunique() >= PRICE_TIERS:
            tier = pd.Series(pd.qcut(price, PRICE_TIERS, labels=False, duplicates="drop").to_numpy(),
                             index=catalog[contract.PRODUCT_ID].astype("str"))
            tier = tier.reindex(product_ids)
            out["price_tier"] = tier.astype("Int64").astype("str").where(tier.notna())
    return out


class SideEncoder:
    """Codes of the side columns learnt on training data: category -> 0..n-1, an unseen value -> NaN."""

    def fit(self, customers: pd.DataFrame, products: pd.DataFrame) -> "SideEncoder":
        self.customer_columns_ = [c for c in (*CUSTOMER_CATEGORICAL, *CUSTOMER_NUMERIC) if c in customers.columns
                                  and customers[c].notna().any()]
        self.product_columns_ = [c for c in PRODUCT_CATEGORICAL if c in products.columns and products[c].notna().any()]
        self.vocab_ = {}
        for table, cols in ((customers, self.customer_columns_), (products, self.product_columns_)):
            for c in cols:
                if c not in CUSTOMER_NUMERIC:
                    self.vocab_[("p:" if table is products else "c:") + c] = pd.Index(
                        np.sort(table[c].dropna().unique().astype(str)))
        return self

    @property
    def feature_names(self) -> list[str]:
        return [f"customer_{c}" for c in self.customer_columns_] + [f"product_{c}" for c in self.product_columns_]

    @property
    def categorical(self) -> list[str]:
        return ([f"customer_{c}" for c in self.customer_columns_ if c not in CUSTOMER_NUMERIC]
                + [f"product_{c}" for c in self.product_columns_])

    def _codes(self, table: pd.DataFrame, c: str, key: str) -> np.ndarray:
        if c not in table.columns:
            return np.full(len(table), np.nan)
        if c in CUSTOMER_NUMERIC and key == "c:":
            return table[c].to_numpy(dtype=np.float64)
        code = self.vocab_[key + c].get_indexer(table[c].astype("str")).astype(np.float64)
        code[(code < 0) | table[c].isna().to_numpy()] = np.nan
        return code

    def transform(self, customers: pd.DataFrame, products: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Return (customers x customer features, products x product features) as float arrays."""
        C = np.column_stack([self._codes(customers, c, "c:") for c in self.customer_columns_]) \
            if self.customer_columns_ else np.zeros((len(customers), 0))
        P = np.column_stack([self._codes(products, c, "p:") for c in self.product_columns_]) \
            if self.product_columns_ else np.zeros((len(products), 0))
        return C, P
