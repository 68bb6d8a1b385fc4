"""Segments fitted on the transactions they are given: what an evaluation passes to the recommenders that
use segments (cluster trending, the hybrid's segment rules), so they are fitted on the training part only.

``Segmenter(params, customers, products, seed)(train_transactions)`` returns the same per-customer table as
notebook 01's ``customer_segments`` artifact (RFM scores and segment, K-means cluster) computed from
``train_transactions`` alone, with the analysis date the day after the last of them. Notebook 01's artifact
is fitted on all the data and serves the production lists, never an evaluation.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import pandas as pd

from workbench.config import merge_block
from workbench.data import contract
from workbench.errors import StageSkipped
from workbench.segment import DEFAULTS, clusters, rfm
from workbench.segment.table import customer_segments

log = logging.getLogger(__name__)


@dataclass
class Segmenter:
    """Callable: ``segmenter(transactions) -> segments`` (``customer_id``, RFM columns, ``segment``, ``cluster``).

    ``params`` is the ``segmentation:`` block (its ``analysis_date`` is ignored: the date is the day after
    the last transaction given). ``calls`` records the transactions of every call (row count and last time),
    so a test can check what reached it. A call with the same transactions as an earlier one (by content) returns
    that call's segments without refitting: the evaluation asks for the training part's segments more than once.
    """

    params: dict | None
    customers: pd.DataFrame | None = None
    products: pd.DataFrame | None = None
    seed: int = 42
    calls: list[dict] = field(default_factory=list, repr=False)
    _fitted: dict = field(default_factory=dict, repr=False, init=False, compare=False)

    def __call__(self, transactions: pd.DataFrame) -> pd.DataFrame | None:
        """Return the segments of the customers of ``transactions`` fitted on them alone (None when empty)."""
        sales = transactions[transactions[contract.QUANTITY] > 0] if contract.QUANTITY in transactions else transactions
        if len(sales) == 0:
            return None
        last = pd.to_datetime(sales[contract.TIMESTAMP]).max()
        self.calls.append({"rows": int(len(transactions)), "last": last})
        key = _content_key(transactions)
        if key not in self._fitted:
            self._fitted[key] = self._fit(transactions, last)
        else:
            log.info("segmenter: the same %d transactions as before: their segments are reused", len(transactions))
        return self._fitted[key].copy()

    def _fit(self, transactions: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
        cfg = merge_block(DEFAULTS, self.params, "segmentation")
        date = last.normalize() + pd.Timedelta(days=1)
        table = rfm.build_rfm(transactions, self.customers, date, cfg["segment_map"], cfg["iqr_k"])
        km = clusters.choice_only(clusters.settings(cfg))  # notebook 01 shows the evidence; the choice is the same
        features = clusters.cluster_features(table, km["extra_features"], transactions, self.products)
        try:
            model = clusters.make_model(km, self.seed).fit(features)
        except StageSkipped as exc:  # too few buyers for the clustering: the segments alone, one group
            log.info("segmenter: one group (%s)", exc.reason)
            self.calls[-1].update(k=None, why=exc.reason)
            return customer_segments(table)
        self.calls[-1].update(k=int(model.k_), model=model.model_, rule=model.chosen_["rule"],
                              buyers=int(len(features)))
        names = clusters.name_clusters(model.centroids_z_, km["name_threshold"])
        return customer_segments(clusters.assign_clusters(table, features, model, names))

    def describe(self, notebook01: dict | None = None) -> str:
        """Markdown: the clusters the calls so far chose (one per training part) beside notebook 01's choice
        (``notebook01`` is its ``segmentation`` metrics), and why the two may differ."""
        fitted = [c for c in self.calls if "k" in c]
        if not fitted:
            return "No segments were fitted on a training part here."
        ks = sorted({c["k"] for c in fitted if c["k"] is not None})
        first = next((c for c in fitted if c["k"] is not None), None)
        parts = len(fitted)
        if first is None:
            here = f"On the training part(s) here no clustering was possible ({fitted[-1]['why']}): one group."
        else:
            k_text = f"k = {ks[0]}" if len(ks) == 1 else f"k = {', '.join(map(str, ks))}"
            on = "the training part" if parts == 1 else f"each of {parts} training parts"
            here = (f"The segments this notebook evaluates with were fitted on {on} alone: {first['model']}, "
                    f"{k_text}, chosen by the {first['rule']} rule.")
        k01 = (notebook01 or {}).get("k")
        if k01 is None:
            there = "Notebook 01 recorded no clustering in this run."
        else:
            there = f"Notebook 01 chose k = {k01} on all the data; its segments serve the final lists and the report."
        why = ("They may differ: the same rule (`segmentation.clusters`) chooses again on other data (each training "
               "part ends before its held-out baskets, and a selection rule can settle on another k when the data "
               "changes); the held-out baskets must not reach the segments an evaluation uses.")
        same = first is not None and k01 is not None and ks == [int(k01)]
        return f"{here} {there} " + ("Here both agree. " if same else "") + why


def _content_key(df: pd.DataFrame) -> tuple:
    """A key of ``df``'s content: its columns, row count and a 64-bit hash of every row (index ignored)."""
    hashed = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return tuple(df.columns), len(df), hashlib.sha1(hashed.tobytes()).hexdigest()
