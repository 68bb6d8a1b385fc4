"""Published benchmark numbers our results are compared with (cited constants, copied by hand, never computed).

``MICROSOFT_ML100K``: microsoft/recommenders README, section "Algorithm Comparison" (commit
005dcd06bd32ab996c7e4c9892ebbfcab80adb1a of https://github.com/recommenders-team/recommenders):
MovieLens 100k, 75/25 split stratified by item (``python_stratified_split(..., filter_by="item")``,
seed 42), every test rating relevant, seen items removed, k = 10, 15 epochs. Their MAP column is AP
normalised by the number of relevant items (our ``map@10`` default). Older versions of that README
list slightly different SAR and LightGCN rows (SAR 0.388 / 0.334 / 0.113, LightGCN 0.418 / 0.361 /
0.122 as nDCG / P / MAP).

``SURPRISE_ML100K``: the benchmark table of scikit-surprise 1.1.5's README (PyPI project description;
https://github.com/NicolasHug/Surprise#benchmarks): MovieLens 100k, default parameters, 5-fold CV.
"""
from __future__ import annotations

import pandas as pd

MICROSOFT_SOURCE = ("microsoft/recommenders README 'Algorithm Comparison' (commit 005dcd06), MovieLens 100k, "
                    "75/25 stratified by item, k=10")
SURPRISE_SOURCE = "scikit-surprise 1.1.5 README 'Benchmarks', MovieLens 100k, default params, 5-fold CV"

#: model -> (map@10, ndcg@10, precision@10, recall@10)
_MICROSOFT = {
    "ALS (Spark)": (0.004732, 0.044239, 0.048462, 0.017796),
    "BiVAE (GPU)": (0.146126, 0.475077, 0.411771, 0.219145),
    "BPR (cornac)": (0.132478, 0.441997, 0.388229, 0.212522),
    "FastAI": (0.025503, 0.147866, 0.130329, 0.053824),
    "LightGCN": (0.088526, 0.419846, 0.379626, 0.144336),
    "NCF": (0.107720, 0.396118, 0.347296, 0.180775),
    "SAR": (0.110591, 0.382461, 0.330753, 0.176385),
    "SVD (surprise)": (0.012873, 0.095930, 0.091198, 0.032783),
}

#: model -> (rmse, mae)
_SURPRISE = {
    "SVD": (0.934, 0.737),
    "SVDpp": (0.919, 0.721),
    "NMF": (0.963, 0.758),
    "SlopeOne": (0.946, 0.743),
    "KNNBasic": (0.980, 0.774),
    "KNNWithMeans": (0.951, 0.749),
    "KNNBaseline": (0.931, 0.733),
    "CoClustering": (0.963, 0.753),
    "BaselineOnly": (0.944, 0.748),
    "NormalPredictor": (1.518, 1.219),
}


def microsoft_ml100k() -> pd.DataFrame:
    """Return the microsoft/recommenders ml-100k ranking table: [model, map@10, ndcg@10, precision@10, recall@10, source]."""
    df = pd.DataFrame([(m, *v) for m, v in _MICROSOFT.items()],
                      columns=["model", "map@10", "ndcg@10", "precision@10", "recall@10"])
    df["source"] = "published: microsoft/recommenders"
    return df.sort_values("ndcg@10", ascending=False, ignore_index=True)


def surprise_ml100k() -> pd.DataFrame:
    """Return Surprise's published ml-100k 5-fold CV table: [model, rmse, mae]."""
    return pd.DataFrame([(m, *v) for m, v in _SURPRISE.items()], columns=["model", "rmse", "mae"])
