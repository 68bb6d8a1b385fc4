"""The per-customer segmentation table that later notebooks read (artifact ``customer_segments.parquet``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.data import contract as data_contract
from workbench.segment import clusters as segment_clusters
from workbench.segment import clv as segment_clv
from workbench.segment import rfm
from workbench.stages import skip_record

#: artifact name (``artifacts/customer_segments.parquet``)
ARTIFACT = "customer_segments"
#: its contract columns, in order; extra columns (first/last purchase, outlier flags, p_alive ...) follow
COLUMNS = (data_contract.CUSTOMER_ID, rfm.RECENCY, rfm.FREQUENCY, rfm.MONETARY, rfm.R_SCORE, rfm.F_SCORE, rfm.M_SCORE, rfm.RFM_SCORE,
           rfm.SEGMENT, segment_clusters.CLUSTER, segment_clusters.CLUSTER_NAME, segment_clv.EXPECTED_PURCHASES, segment_clv.CLV)


def customer_segments(table: pd.DataFrame, predictions: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return one row per customer: the contract columns then the extras; CLV columns missing without predictions."""
    out = table.copy()
    pred_cols = [segment_clv.EXPECTED_PURCHASES, segment_clv.CLV, segment_clv.P_ALIVE, segment_clv.EXPECTED_SPEND]
    for col in pred_cols:
        out[col] = (predictions[col].reindex(out[data_contract.CUSTOMER_ID]).to_numpy(dtype="float64")
                    if predictions is not None else np.nan)
    for col in (segment_clusters.CLUSTER, segment_clusters.CLUSTER_NAME):
        if col not in out:
            out[col] = segment_clusters.NO_CLUSTER if col == segment_clusters.CLUSTER else rfm.NO_PURCHASE
    extras = [c for c in out.columns if c not in COLUMNS]
    out = out[[*COLUMNS, *extras]].reset_index(drop=True)
    out.attrs = {}  # Parquet cannot store a Timestamp in attrs; the analysis date is in metrics.json
    return out


def segmentation_metrics(table: pd.DataFrame, model: segment_clusters.ClusterSelector | None, truth: dict | None,
                         clv_metrics: dict | None, segment_map: dict[str, str] | None = None,
                         clustering_skipped: dict | None = None) -> dict:
    """Return the ``segmentation`` block of metrics.json (segments, the chosen clusters' model, k, silhouette,
    stability_ari, ``selection`` = every candidate's criteria and the choice, ari_vs_truth, clv ...); a shop
    without money adds ``monetary: {"skipped": reason}`` (:func:`~workbench.segment.rfm.monetary_skip_reason`).

    Without a clustering (``model`` None: too few buyers), the model's fields are None, ``clusters`` is empty
    and ``clustering`` holds ``clustering_skipped`` (the ``{"skipped": reason}`` record)."""
    no_money = rfm.monetary_skip_reason(table)
    truth = truth or {}
    clusters = (table.loc[table[segment_clusters.CLUSTER] != segment_clusters.NO_CLUSTER, segment_clusters.CLUSTER_NAME]
                .value_counts().sort_index() if model is not None else pd.Series(dtype="int64"))
    fitted = {"model": model.model_, "k": int(model.k_), "silhouette": model.silhouette_,
              "stability_ari": model.stability_ari_} if model is not None else dict.fromkeys(
        ("model", "k", "silhouette", "stability_ari"))
    return {
        "analysis_date": str(pd.Timestamp(table.attrs["analysis_date"]).date()),
        "customers": int(len(table)),
        "buyers": int((table[rfm.FREQUENCY] > 0).sum()),
        "segments": rfm.segment_counts(table, segment_map),
        "outliers": rfm.outlier_counts(table),
        **fitted,
        "clusters": {str(k): int(v) for k, v in clusters.items()},
        "selection": model.selection() if model is not None else None,
        **({"clustering": clustering_skipped} if model is None and clustering_skipped else {}),
        "ari_vs_truth": truth.get("ari_vs_truth"),
        "rfm_ari_vs_truth": truth.get("rfm_ari_vs_truth"),
        **({"browsers_without_purchase": truth["browsers_without_purchase"]} if "browsers_without_purchase" in truth
           else {}),
        "clv": clv_metrics,
        **({"monetary": skip_record(no_money)} if no_money else {}),
    }
