"""A real run's saved models reproduce the artifacts it wrote, exactly (notebooks 01, 05 and 06 save them)."""
import json

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.models import KNOWN, library_versions, model_info, saved_models

C_ID = "customer_id"


@pytest.mark.slow
def test_run_saves_every_final_model(default_run):
    saved = saved_models(default_run)
    assert saved == sorted(KNOWN)
    for name in saved:
        assert model_info(default_run, name)["versions"]["lightgbm"] == library_versions()["lightgbm"]


@pytest.mark.slow
def test_hybrid_reproduces_the_recommendations(default_run):
    model = workbench.load_model(default_run, "hybrid")
    want = pd.read_parquet(default_run / "artifacts" / "recommendations.parquet")
    got = model.recommend()
    pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=True)
    some = want[C_ID].drop_duplicates().iloc[[3, 1, 7]]
    part = model.recommend(some)  # any customers, in the order asked: the same lists; scores up to float32
    expected = want.set_index(C_ID).loc[some].reset_index()  # summation order in a smaller batch
    pd.testing.assert_frame_equal(part.drop(columns="score"), expected.drop(columns="score"), check_dtype=False,
                                  check_exact=True)
    np.testing.assert_allclose(part["score"], expected["score"], rtol=1e-6)



@pytest.mark.slow
def test_hybrid_answers_a_new_customer_and_so_does_its_mlflow_model(default_run):
    import mlflow
    from mlflow.tracking import MlflowClient

    from workbench.recommend.rules import COLD_START

    got = workbench.load_model(default_run, "hybrid").recommend(["someone-new"], k=5)
    assert got[C_ID].tolist() == ["someone-new"] * 5 and got["rank"].tolist() == [1, 2, 3, 4, 5]
    assert got["product_id"].is_unique and got["explanation"].str.startswith(COLD_START.split("{")[0]).all()
    info = json.loads((default_run / "tracking.json").read_text())
    client = MlflowClient(tracking_uri=info["tracking_uri"])
    logged = [m for m in client.search_logged_models([info["experiment_id"]])
              if m.source_run_id == info["run_id"] and m.name == "hybrid"]
    mlflow.set_tracking_uri(info["tracking_uri"])
    try:
        pyfunc = mlflow.pyfunc.load_model(logged[0].model_uri)
        served = pyfunc.predict(pd.DataFrame({C_ID: ["someone-new"]}), params={"k": 5})
    finally:
        mlflow.set_tracking_uri(None)
    pd.testing.assert_frame_equal(served, got)


@pytest.mark.slow
def test_reranker_scores_the_saved_hybrids_candidates(default_run):
    hybrid = workbench.load_model(default_run, "hybrid")
    reranker = workbench.load_model(default_run, "reranker")
    products = hybrid.experiment.shop.products
    cs = hybrid.hybrid.candidate_set(hybrid.customer_ids[:40])
    base = cs.blend(hybrid.tuning.weights, hybrid.tuning.switching)
    scores = reranker.scores(cs, base, hybrid.hybrid, products)
    assert np.isfinite(scores).sum(axis=1).max() == min(reranker.depth, cs.items.shape[1])
    np.testing.assert_array_equal(scores, hybrid.reranker.scores(cs, base, hybrid.hybrid, products))


def run_shop(run_dir):
    from workbench.context import Context
    from workbench.report.record import RunRecorder

    params = json.loads((run_dir / "manifest.json").read_text())["params"]
    return Context(params=params, run_dir=run_dir, rec=RunRecorder(run_dir)).shop(), params


@pytest.mark.slow
def test_clustering_and_clv_reproduce_the_customer_segments(default_run):
    from workbench.config import stage
    from workbench.segment import DEFAULTS, clusters, clv, rfm

    shop, params = run_shop(default_run)
    cfg = stage(params, "segmentation", DEFAULTS)
    seg = pd.read_parquet(default_run / "artifacts" / "customer_segments.parquet").set_index(C_ID)
    table = rfm.build_rfm(shop.transactions, shop.customers, cfg["analysis_date"], cfg["segment_map"], cfg["iqr_k"])
    features = clusters.cluster_features(table, clusters.settings(cfg)["extra_features"], shop.transactions,
                                         shop.products)
    model = workbench.load_model(default_run, "clustering")  # the selected model: StandardScaler + estimator
    np.testing.assert_array_equal(model.predict(features), seg.loc[features.index, "cluster"].to_numpy())
    assert type(model.pipeline_[0]).__name__ == "StandardScaler"

    c = cfg["clv"]
    last_day = pd.Timestamp(table.attrs["analysis_date"]).normalize() - pd.Timedelta(days=1)
    summary = clv.calibration_summary(shop.transactions, last_day, c["time_unit_days"], c["birth"], shop.customers)
    pred = workbench.load_model(default_run, "clv").predict(summary, c["horizon"], c["discount_rate"])
    for col in (clv.EXPECTED_PURCHASES, clv.CLV):
        np.testing.assert_array_equal(pred[col].reindex(seg.index).to_numpy(), seg[col].to_numpy())


@pytest.mark.slow
def test_pricing_and_demand_reproduce_the_suggestions(default_run):
    want = pd.read_parquet(default_run / "artifacts" / "pricing_suggestions.parquet")
    pricing = workbench.load_model(default_run, "pricing")
    pd.testing.assert_frame_equal(pricing.suggest(), want, check_dtype=False, check_exact=True)
    demand = workbench.load_model(default_run, "demand")
    rows = pricing.fit.table.sort_values("product_id")
    # at the current price the elasticity curve is the demand model's own forecast
    np.testing.assert_array_equal(demand.predict(rows), want.sort_values("product_id")["current_units"].to_numpy())


@pytest.mark.slow
def test_default_run_is_one_mlflow_run_with_its_models(default_run):
    from mlflow.tracking import MlflowClient

    from workbench.tracking import flat_metrics, flat_params

    info = json.loads((default_run / "tracking.json").read_text())
    client = MlflowClient(tracking_uri=info["tracking_uri"])
    r = client.get_run(info["run_id"])
    manifest = json.loads((default_run / "manifest.json").read_text())
    metrics = json.loads((default_run / "metrics.json").read_text())
    assert r.data.params == flat_params(manifest["params"])
    assert r.data.metrics == flat_metrics(metrics) and len(r.data.metrics) > 100
    assert r.data.tags["workbench.data_fingerprint"] == metrics["data"]["fingerprint"]
    notebooks = {a.path for a in client.list_artifacts(r.info.run_id, "notebooks")}
    assert notebooks == {f"notebooks/{n['notebook']}" for n in manifest["notebooks"]}
    assert "report/index.html" in {a.path for a in client.list_artifacts(r.info.run_id, "report")}
    logged = [m for m in client.search_logged_models([info["experiment_id"]]) if m.source_run_id == r.info.run_id]
    assert sorted(m.name for m in logged) == sorted(KNOWN)
