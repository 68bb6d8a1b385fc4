"""The per-customer segmentation table that later notebooks read (artifact ``customer_segments.parquet``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import contract as C
from workbench.segment import clusters as K
from workbench.segment import clv as V
from workbench.segment import rfm as R
from workbench.stages import skip_record

#: artifact name (``artifacts/customer_segments.parquet``)
ARTIFACT = "customer_segments"
#: its contract columns, in order; extra columns (first/last purchase, outlier flags, p_alive ...) follow
COLUMNS = (C.CUSTOMER_ID, R.RECENCY, R.FREQUENCY, R.MONETARY, R.R_SCORE, R.F_SCORE, R.M_SCORE, R.RFM_SCORE,
           R.SEGMENT, K.CLUSTER, K.CLUSTER_NAME, V.EXPECTED_PURCHASES, V.CLV)


def customer_segments(table: pd.DataFrame, predictions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per customer: the contract columns then the extras; CLV columns missing without predictions."""
    out = table.copy()
    pred_cols = [V.EXPECTED_PURCHASES, V.CLV, V.P_ALIVE, V.EXPECTED_SPEND]
    for col in pred_cols:
        out[col] = (predictions[col].reindex(out[C.CUSTOMER_ID]).to_numpy(dtype="float64")
                    if predictions is not None else np.nan)
    for col in (K.CLUSTER, K.CLUSTER_NAME):
        if col not in out:
            out[col] = K.NO_CLUSTER if col == K.CLUSTER else R.NO_PURCHASE
    extras = [c for c in out.columns if c not in COLUMNS]
    out = out[[*COLUMNS, *extras]].reset_index(drop=True)
    out.attrs = {}  # Parquet cannot store a Timestamp in attrs; the analysis date is in metrics.json
    return out


def segmentation_metrics(table: pd.DataFrame, model: K.ClusterSelector, truth: dict | None, clv_metrics: dict | None,
                         segment_map: dict[str, str] | None = None) -> dict:
    """Return the ``segmentation`` block of metrics.json (segments, the chosen clusters' model, k, silhouette,
    stability_ari, ``selection`` = every candidate's criteria and the choice, ari_vs_truth, clv ...); a shop
    without money adds ``monetary: {"skipped": reason}`` (:func:`~workbench.segment.rfm.monetary_skip_reason`)."""
    no_money = R.monetary_skip_reason(table)
    truth = truth or {}
    clusters = table.loc[table[K.CLUSTER] != K.NO_CLUSTER, K.CLUSTER_NAME].value_counts().sort_index()
    return {
        "analysis_date": str(pd.Timestamp(table.attrs["analysis_date"]).date()),
        "customers": int(len(table)),
        "buyers": int((table[R.FREQUENCY] > 0).sum()),
        "segments": R.segment_counts(table, segment_map),
        "outliers": R.outlier_counts(table),
        "model": model.model_,
        "k": int(model.k_),
        "silhouette": model.silhouette_,
        "stability_ari": model.stability_ari_,
        "clusters": {str(k): int(v) for k, v in clusters.items()},
        "selection": model.selection(),
        "ari_vs_truth": truth.get("ari_vs_truth"),
        "rfm_ari_vs_truth": truth.get("rfm_ari_vs_truth"),
        **({"browsers_without_purchase": truth["browsers_without_purchase"]} if "browsers_without_purchase" in truth
           else {}),
        "clv": clv_metrics,
        **({"monetary": skip_record(no_money)} if no_money else {}),
    }
