"""Published numbers the benchmark runs are checked against, each with its source.

One place for every anchor, so a number quoted in a summary is never typed twice. Sources:

- ml-100k ranking: microsoft/recommenders, ``examples/06_benchmarks/movielens.ipynb`` (MovieLens 100k,
  75/25 split stratified by item, seed 42, every test rating relevant, seen items removed, k=10).
- ml-100k rating: Surprise documentation, "Benchmarks" table (5-fold cross-validation, default parameters).
- Groceries: Hahsler, Grün & Hornik, *arules* (R package) on its ``Groceries`` data; support 0.001,
  confidence 0.5, one-item consequents; the top rule by lift {Instant food products, soda} => {hamburger meat}.
- CDNOW: Fader, Hardie & Lee (2005), "Counting your customers the easy way", BG/NBD on the 2,357-customer
  sample, calibration to 1997-09-30, time in weeks.
- Online Retail: UCI Online Retail (Chen, Sain & Guo 2012), cleaned (customer id present, quantity > 0,
  unit price > 0, no cancellations), RFM segments as of 2011-12-11 with the common 10-segment R×F map.
"""
from __future__ import annotations

#: microsoft/recommenders MovieLens 100k benchmark: model -> {metric key in metrics.json: value}
ML100K_RANKING: dict[str, dict[str, float]] = {
    "BiVAE": {"ndcg@10": 0.475, "precision@10": 0.412, "map@10": 0.146},
    "BPR": {"ndcg@10": 0.442, "precision@10": 0.388, "map@10": 0.133},
    "LightGCN": {"ndcg@10": 0.418, "precision@10": 0.361, "map@10": 0.122},
    "SAR": {"ndcg@10": 0.388, "precision@10": 0.334, "map@10": 0.113},
    "SVD": {"ndcg@10": 0.096, "precision@10": 0.091, "map@10": 0.013},
}
ML100K_RANKING_SOURCE = "microsoft/recommenders MovieLens 100k benchmark"

#: Surprise's published 5-fold CV table on ml-100k: model -> {metric: value}
ML100K_RATING: dict[str, dict[str, float]] = {
    "SVD": {"rmse": 0.934, "mae": 0.737},
    "KNNBaseline": {"rmse": 0.931},
}
ML100K_RATING_SOURCE = "Surprise benchmark table (ml-100k, 5-fold CV)"

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
