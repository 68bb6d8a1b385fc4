"""The per-customer artifact and the metrics block that later notebooks and the report read."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.data.validate import validate_shop
from workbench.report.record import to_jsonable
from workbench.segment import DEFAULTS, clusters, clv, rfm
from workbench.segment.table import ARTIFACT, COLUMNS, customer_segments, segmentation_metrics


def test_artifact_and_metrics_contract(small_shop, tmp_path):
    shop, _ = validate_shop(small_shop)
    table = rfm.build_rfm(shop.transactions, shop.customers)
    X = clusters.cluster_features(table)
    model = clusters.make_model({**DEFAULTS["clusters"], "k_range": [2, 4], "n_init": 2, "n_bootstrap": 2,
                                 "gap_references": 2}, 0).fit(X)
    table = clusters.assign_clusters(table, X, model, clusters.name_clusters(model.centroids_z_))
    res = clv.customer_clv(shop.transactions, shop.customers, table.attrs["analysis_date"])
    out = customer_segments(table, res.predictions)
    assert ARTIFACT == "customer_segments"
    assert list(out.columns[: len(COLUMNS)]) == list(COLUMNS) == [
        "customer_id", "recency", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm_score", "segment",
        "cluster", "cluster_name", "expected_purchases", "clv"]
    assert len(out) == len(shop.customers) and set(out[contract.CUSTOMER_ID]) == set(shop.customers[contract.CUSTOMER_ID])
    never = out[rfm.FREQUENCY] == 0
    assert out.loc[never, clv.CLV].isna().all() and out.loc[~never, clv.CLV].notna().all()
    out.to_parquet(tmp_path / "a.parquet")                     # Parquet-safe (no Timestamp attrs)
    back = pd.read_parquet(tmp_path / "a.parquet")
    assert back[rfm.R_SCORE].dtype == "Int64" and back[rfm.RFM_SCORE].isna().sum() == never.sum()

    truth = clusters.truth_agreement(table, small_shop.truth["segments"])
    m = segmentation_metrics(table, model, truth, res.metrics)
    assert {"k", "model", "silhouette", "stability_ari", "segments", "selection", "ari_vs_truth", "rfm_ari_vs_truth",
            "clv"} <= set(m)
    assert sum(m["segments"].values()) == len(table) and m["k"] == model.k_
    sel = m["selection"]
    assert sel["chosen"] == {"model": model.model_, "k": model.k_, "rule": "icl"} and sel["reason"]
    assert {(r["model"], r["k"]) for r in sel["criteria"]} == {(mm, k) for mm in DEFAULTS["clusters"]["models"]
                                                               for k in (2, 3, 4)}
    chosen = next(r for r in sel["criteria"] if (r["model"], r["k"]) == (model.model_, model.k_))
    assert chosen["icl"] == min(r["icl"] for r in sel["criteria"] if r["icl"] is not None)
    if model.is_mixture_:                                    # the artifact's membership probability
        assert out.loc[~never, clusters.CLUSTER_PROBABILITY].notna().all()
    assert {"r", "alpha", "a", "b", "p", "q", "v"} <= set(m["clv"])
    assert isinstance(m["ari_vs_truth"], float)
    json.dumps(to_jsonable(m))
    real = segmentation_metrics(table, model, None, None)   # real data: no truth
    assert real["ari_vs_truth"] is None and real["rfm_ari_vs_truth"] is None


def test_defaults_are_the_params_block():
    assert set(DEFAULTS) == {"analysis_date", "segment_map", "actions", "iqr_k", "clusters", "clv"}
    model = clusters.make_model(DEFAULTS["clusters"], 1)
    assert model.get_params()["k_range"] == DEFAULTS["clusters"]["k_range"] == [2, 10]
    keys = set(model.get_params()) - {"random_state"}
    assert keys <= set(DEFAULTS["clusters"])                # every model setting is a params key
    import inspect
    keys = set(inspect.signature(clv.customer_clv).parameters) - {"transactions", "customers", "analysis_date", "limits"}
    assert set(DEFAULTS["clv"]) - {"enabled"} == keys      # every clv param reaches customer_clv
    assert np.isclose(DEFAULTS["iqr_k"], 1.5)
