"""The Spark engine against the pandas engine on the same shop: the same validation, RFM, rules and metrics,
k-means clusters that agree, ALS within 0.01 nDCG@10 of ``implicit``'s. Never skipped in CI (see conftest)."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.recommend import basket
from workbench.segment import rfm as segment_rfm

pytestmark = pytest.mark.slow  # a Spark session and two batch runs: minutes; CI runs everything


def _metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def _segments(run_dir) -> pd.DataFrame:
    df = pd.read_parquet(run_dir / "artifacts" / "customer_segments.parquet")
    return df.sort_values(contract.CUSTOMER_ID, kind="stable").reset_index(drop=True)


def test_validation_counts_are_equal(parity_runs):
    pandas_data, spark_data = (_metrics(parity_runs[e])["data"] for e in ("pandas", "spark"))
    assert spark_data["tables"] == pandas_data["tables"]
    assert spark_data["quarantine_reasons"] == pandas_data["quarantine_reasons"]
    for t in spark_data["tables"].values():
        assert t["rows_accepted"] + t["rows_quarantined"] == t["rows_read"]


def test_rfm_values_scores_and_segments_are_identical(parity_runs):
    p, s = _segments(parity_runs["pandas"]), _segments(parity_runs["spark"])
    assert len(p) == len(s) == 2000
    assert p[contract.CUSTOMER_ID].astype("str").tolist() == s[contract.CUSTOMER_ID].astype("str").tolist()
    for col in (segment_rfm.RECENCY, segment_rfm.FREQUENCY, segment_rfm.R_SCORE, segment_rfm.F_SCORE, segment_rfm.M_SCORE):
        assert p[col].astype("Int64").equals(s[col].astype("Int64")), col
    # monetary: the same sums, added in the same order, equal to the bit
    assert np.array_equal(p[segment_rfm.MONETARY].to_numpy(), s[segment_rfm.MONETARY].to_numpy())
    for col in (segment_rfm.RFM_SCORE, segment_rfm.SEGMENT):
        assert p[col].astype("str").tolist() == s[col].astype("str").tolist(), col
    for col in ("recency_outlier", "frequency_outlier", "monetary_outlier"):
        assert p[col].tolist() == s[col].tolist(), col
    assert _metrics(parity_runs["spark"])["batch"]["stages"]["rfm"] == _metrics(parity_runs["pandas"])["batch"]["stages"]["rfm"]


def test_kmeans_clusters_agree_at_the_same_k(parity_runs):
    from sklearn.metrics import adjusted_rand_score

    p, s = _segments(parity_runs["pandas"]), _segments(parity_runs["spark"])
    buyers = (p[segment_rfm.FREQUENCY] > 0).to_numpy()
    assert len(np.unique(p.loc[buyers, "cluster"])) == len(np.unique(s.loc[buyers, "cluster"])) == 5
    ari = adjusted_rand_score(p.loc[buyers, "cluster"], s.loc[buyers, "cluster"])
    assert ari >= 0.95, ari
    assert (s.loc[~buyers, "cluster"] == -1).all() and (s.loc[~buyers, "cluster_name"] == segment_rfm.NO_PURCHASE).all()


def _rule_table(run_dir) -> pd.DataFrame:
    r = pd.read_parquet(run_dir / "artifacts" / "rules.parquet")
    key = [("|".join(map(str, a)), "|".join(map(str, c))) for a, c in zip(r[basket.ANTECEDENTS], r[basket.CONSEQUENTS])]
    return r.set_index(pd.MultiIndex.from_tuples(key, names=["a", "c"])).sort_index()


def test_rules_are_the_same_at_the_same_support_and_confidence(parity_runs):
    p, s = _rule_table(parity_runs["pandas"]), _rule_table(parity_runs["spark"])
    assert len(p) > 5  # the planted bundles give rules
    assert set(p.index) == set(s.index)
    s = s.loc[p.index]
    for col in (basket.SUPPORT, basket.CONFIDENCE, basket.LIFT, basket.ANTECEDENT_SUPPORT, basket.CONSEQUENT_SUPPORT, basket.LEVERAGE):
        np.testing.assert_allclose(s[col].to_numpy(), p[col].to_numpy(), rtol=0, atol=1e-9, err_msg=col)


def test_als_ndcg_is_within_001_of_implicits(parity_runs):
    """MLlib's ALS on the same split against ``implicit``'s at the same factors, confidence and regularisation
    (``SparkALS`` maps the confidence and the total penalty onto MLlib's; the mapping was derived, then checked
    on shops of other seeds, never on this one)."""
    p = _metrics(parity_runs["pandas"])["batch"]["stages"]["als"]
    s = _metrics(parity_runs["spark"])["batch"]["stages"]["als"]
    assert (s["train_rows"], s["test_pairs"], s["customers"]) == (p["train_rows"], p["test_pairs"], p["customers"])
    assert p["metrics"]["ndcg@10"] > 0.02  # both learn something on the planted tastes
    assert abs(s["metrics"]["ndcg@10"] - p["metrics"]["ndcg@10"]) <= 0.01, (s["metrics"], p["metrics"])


def test_spark_ranking_metrics_equal_the_pandas_definitions(spark, parity_runs):
    """The same recommendations scored by both metric modules (a brute-force second implementation)."""
    from workbench.evaluate.metrics import evaluate_ranking
    from workbench.spark.metrics import evaluate_ranking as spark_ranking

    run = parity_runs["pandas"]
    test = pd.read_parquet(run / "artifacts" / "split_test.parquet")[[contract.CUSTOMER_ID, contract.PRODUCT_ID]]
    recs = pd.read_parquet(run / "artifacts" / "recs_als.parquet")
    # a repeated product and a customer without recommendations exercise the edge rules
    recs = pd.concat([recs, recs.iloc[[0]].assign(rank=11)], ignore_index=True)
    recs = recs[recs[contract.CUSTOMER_ID] != recs[contract.CUSTOMER_ID].iloc[-2]]
    for k in (1, 5, 10):
        want = evaluate_ranking(test, recs, k=k, n_items=150)
        got = spark_ranking(spark.createDataFrame(test.astype("str")), spark.createDataFrame(recs), k=k, n_items=150)
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-12, abs=1e-12), (k, key)


def test_rfm_rank_fallback_and_ties_match_pandas(spark):
    """Few distinct values force the rank fallback on monetary; ties across customers in id order."""
    from workbench.spark.rfm import build_rfm, to_pandas_rfm
    from workbench.spark.validate import ROW

    rng = np.random.default_rng(3)
    n = 400
    tx = pd.DataFrame({
        contract.TRANSACTION_ID: [f"T{i:05d}" for i in range(n)],
        contract.CUSTOMER_ID: [f"C{c:03d}" for c in rng.integers(0, 120, n)],
        contract.PRODUCT_ID: "P1",
        contract.TIMESTAMP: pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, n), unit="h"),
        contract.QUANTITY: rng.choice([1, 1, 1, 2, -1], n),
        contract.UNIT_PRICE: 10.0,
    })
    customers = pd.DataFrame({contract.CUSTOMER_ID: [f"C{c:03d}" for c in range(130)]})
    want = segment_rfm.build_rfm(tx, customers)
    got = to_pandas_rfm(build_rfm(spark.createDataFrame(tx.assign(**{ROW: np.arange(n)})),
                                  spark.createDataFrame(customers))[0])
    pd.testing.assert_frame_equal(got[want.columns], want, check_dtype=False)


def test_validation_quarantines_the_same_rows_for_the_same_reasons(spark, small_shop, tmp_path):
    """Broken rows of every kind, written as CSV: both engines give every table the same counts per reason."""
    from workbench.data.sources import read_folder
    from workbench.data.validate import validate_shop
    from workbench.spark.tables import read_tables
    from workbench.spark.validate import validate_tables

    now = pd.Timestamp("2030-01-01")
    tables = {n: df.copy() for n, df in small_shop.tables().items() if n in contract.REQUIRED_TABLES}
    tx = tables[contract.TRANSACTIONS].astype({contract.QUANTITY: "object", contract.UNIT_PRICE: "object", contract.TIMESTAMP: "object"})
    tx[contract.TIMESTAMP] = pd.to_datetime(tx[contract.TIMESTAMP]).dt.strftime("%Y-%m-%d %H:%M:%S")
    broken = [
        {contract.CUSTOMER_ID: None}, {contract.CUSTOMER_ID: "  "}, {contract.TIMESTAMP: "not a date"}, {contract.TIMESTAMP: "2031-05-01 10:00:00"},
        {contract.QUANTITY: "many"}, {contract.QUANTITY: "1.5"}, {contract.QUANTITY: 0}, {contract.UNIT_PRICE: -3.0}, {contract.UNIT_PRICE: "free"},
        {contract.PRODUCT_ID: "NO-SUCH-PRODUCT"}, {contract.CUSTOMER_ID: "NO-SUCH-CUSTOMER"},
    ]
    extra = pd.DataFrame([{**tx.iloc[i].to_dict(), **b} for i, b in enumerate(broken)])
    dupes = tx.iloc[20:25]  # exact duplicate lines: the first of each stays
    tables[contract.TRANSACTIONS] = pd.concat([tx, extra, dupes], ignore_index=True)
    prods = tables[contract.PRODUCTS].copy()
    prods.loc[3, contract.PRICE] = 0.0
    tables[contract.PRODUCTS] = prods
    for name, df in tables.items():
        df.to_csv(tmp_path / f"{name}.csv", index=False)

    _, want = validate_shop(read_folder(tmp_path, "csv"), now=now)
    got = validate_tables(read_tables(spark, str(tmp_path), "csv"), now=now).report
    assert want.tables[contract.TRANSACTIONS].rows_quarantined >= len(broken) + len(dupes) - 1
    for name in contract.REQUIRED_TABLES:
        w, g = want.tables[name], got.tables[name]
        assert (g.rows_read, g.rows_accepted, g.rows_quarantined) == (w.rows_read, w.rows_accepted, w.rows_quarantined)
        assert g.reasons == w.reasons, name
