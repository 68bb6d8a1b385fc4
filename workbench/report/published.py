"""Published numbers the benchmark runs are checked against, each with its source.

The ml-100k tables live in :mod:`workbench.evaluate.published` (notebook 02 prints them); this module reads
them from there, so no number is typed twice, and adds the anchors of the other data sets:

- Groceries: Hahsler, Grün & Hornik, *arules* (R package) on its ``Groceries`` data; support 0.001,
  confidence 0.5, one-item consequents; the top rule by lift {Instant food products, soda} => {hamburger meat}.
- CDNOW: Fader, Hardie & Lee (2005), "Counting your customers the easy way", BG/NBD on the 2,357-customer
  sample, calibration to 1997-09-30, time in weeks.
- Online Retail: UCI Online Retail (Chen, Sain & Guo 2012), cleaned (customer id present, quantity > 0,
  unit price > 0, no cancellations), RFM segments as of 2011-12-11 with the common 10-segment R×F map.
"""
from __future__ import annotations

from workbench.evaluate import published as _ml

#: the microsoft/recommenders rows the benchmark summary checks, by their name in that table
ML100K_MODELS = ("BiVAE (GPU)", "BPR (cornac)", "LightGCN", "SAR", "SVD (surprise)")
#: Surprise rows checked (both columns)
SURPRISE_MODELS = ("SVD", "KNNBaseline")


def _ml100k_ranking() -> dict[str, dict[str, float]]:
    t = _ml.microsoft_ml100k().set_index("model")
    return {m: {c: float(t.loc[m, c]) for c in ("ndcg@10", "precision@10", "map@10")} for m in ML100K_MODELS}


def _ml100k_rating() -> dict[str, dict[str, float]]:
    t = _ml.surprise_ml100k().set_index("model")
    return {m: {c: float(t.loc[m, c]) for c in ("rmse", "mae")} for m in SURPRISE_MODELS}


#: microsoft/recommenders MovieLens 100k benchmark: model -> {metric key in metrics.json: value}
ML100K_RANKING: dict[str, dict[str, float]] = _ml100k_ranking()
ML100K_RANKING_SOURCE = _ml.MICROSOFT_SOURCE
#: Surprise's published 5-fold CV table on ml-100k: model -> {metric: value}
ML100K_RATING: dict[str, dict[str, float]] = _ml100k_rating()
ML100K_RATING_SOURCE = _ml.SURPRISE_SOURCE

#: arules Groceries at support 0.001 / confidence 0.5
GROCERIES = {"n_rules": 5668, "n_rules_any_consequent": 5829, "whole_milk_support": 0.2555, "top_lift": 18.996}
GROCERIES_SOURCE = "R arules, Groceries data (Hahsler et al.)"

#: BG/NBD on the CDNOW sample (Fader, Hardie & Lee 2005)
CDNOW_BGNBD = {"r": 0.2426, "alpha": 4.4135, "a": 0.7929, "b": 2.4258}
CDNOW_SOURCE = "Fader, Hardie & Lee (2005), BG/NBD on CDNOW sample"

#: Online Retail after the usual cleaning: customers and the 10 RFM segment counts
ONLINE_RETAIL_CUSTOMERS = 4338
ONLINE_RETAIL_SEGMENTS = {
    "hibernating": 1071, "loyal_customers": 819, "champions": 633, "at_risk": 593, "potential_loyalists": 484,
    "about_to_sleep": 352, "need_attention": 187, "promising": 94, "cant_lose": 63, "new_customers": 42,
}
ONLINE_RETAIL_SOURCE = "UCI Online Retail, common RFM segmentation as of 2011-12-11"
