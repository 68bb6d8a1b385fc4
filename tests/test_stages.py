"""Stages that cannot work on the data skip with a reason: limits from params, the record, the report's list."""
import json

import pandas as pd
import pytest

from workbench.context import Context
from workbench.errors import ConfigError, StageSkipped
from workbench.report.record import RunRecorder
from workbench.stages import Limits, require, skipped_stages


def test_limits_from_params_and_bad_keys():
    assert Limits.from_params({}) == Limits()
    assert Limits.from_params({"limits": {"clv_min_repeat_buyers": 7}}).clv_min_repeat_buyers == 7
    with pytest.raises(ConfigError, match="rfm_min_buyrs.*known"):
        Limits.from_params({"limits": {"rfm_min_buyrs": 3}})
    with pytest.raises(ConfigError, match="whole number"):
        Limits.from_params({"limits": {"rules_min_baskets": 0}})
    with pytest.raises(ConfigError, match="at least 5"):
        Limits.from_params({"limits": {"rfm_min_buyers": 4}})


def test_require_raises_with_stage_and_reason():
    require(True, "pricing", "never")
    with pytest.raises(StageSkipped) as err:
        require(False, "pricing", "no price variation")
    assert (err.value.stage, err.value.reason) == ("pricing", "no price variation")
    assert str(err.value) == "pricing skipped: no price variation"


def test_skippable_records_nested_and_whole_stage(tmp_path):
    ctx = Context(params={"name": "t", "data": {"source": "synthetic"}}, run_dir=tmp_path, rec=RunRecorder(tmp_path))
    ctx.rec.log_metrics("segmentation", {"customers": 3})
    ran_after = []
    with ctx.skippable("segmentation.clv"):
        require(False, "segmentation.clv", "nobody bought twice")
        ran_after.append(1)
    assert not ran_after
    assert ctx.skipped("segmentation.clv") == {"skipped": "nobody bought twice"}
    assert ctx.skipped("pricing") is None
    ctx.skip("pricing", "one price per product")
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["segmentation"] == {"customers": 3, "clv": {"skipped": "nobody bought twice"}}
    assert metrics["pricing"] == {"skipped": "one price per product"}
    assert skipped_stages(metrics) == [("pricing", "one price per product"),
                                       ("segmentation.clv", "nobody bought twice")]
    with pytest.raises(ValueError):  # only StageSkipped is turned into a skip
        with ctx.skippable("basket"):
            raise ValueError("a real bug")


def test_rfm_skips_below_min_buyers():
    from workbench.segment import rfm

    tx = pd.DataFrame({"transaction_id": ["T1", "T2", "T3"], "customer_id": ["A", "B", "C"],
                       "product_id": ["P"] * 3, "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
                       "quantity": [1, 1, 1], "unit_price": [1.0, 2.0, 3.0]})
    with pytest.raises(StageSkipped, match="at least 5 customers with a purchase.*has 3 of 3") as err:
        rfm.build_rfm(tx)
    assert err.value.stage == "segmentation"


def _days_shop(days_per_customer: dict[str, list[str]]) -> pd.DataFrame:
    rows = [(f"T{c}{i}", c, "P", pd.Timestamp(d), 1, 10.0)
            for c, days in days_per_customer.items() for i, d in enumerate(days)]
    return pd.DataFrame(rows, columns=["transaction_id", "customer_id", "product_id", "timestamp", "quantity",
                                       "unit_price"])


def test_clv_skips_without_repeat_buyers_or_days():
    from workbench.segment import clv

    one_day = _days_shop({c: ["2024-03-01"] for c in "ABCDEFG"})
    with pytest.raises(StageSkipped, match="at least 2 different days.*there are 1") as err:
        clv.customer_clv(one_day, None, pd.Timestamp("2024-03-02"))
    assert err.value.stage == "segmentation.clv"
    once = _days_shop({c: [f"2024-03-0{i + 1}"] for i, c in enumerate("ABCDEFG")})
    with pytest.raises(StageSkipped, match="bought again.*there are 0 of 7 buyers"):
        clv.customer_clv(once, None, pd.Timestamp("2024-03-09"))
    with pytest.raises(StageSkipped, match="calibration end"):  # the holdout leaves one day to learn from
        clv.customer_clv(once, None, pd.Timestamp("2024-03-09"), time_unit_days=1, holdout_units=6)


def test_pricing_skips_without_price_variation_or_history():
    from workbench.pricing.pipeline import check_pricing_data

    table = pd.DataFrame({"product_id": ["P"] * 20, "period_index": range(20), "price": [9.99] * 20, "units": 1.0})
    cfg = {"test_periods": 4, "period": "W"}
    with pytest.raises(StageSkipped, match="2 or more different prices.*at most 1"):
        check_pricing_data(table, cfg)
    check_pricing_data(table.assign(price=[9.99] * 10 + [8.99] * 10), cfg)
    with pytest.raises(StageSkipped, match="plus 4 earlier periods.*span 6 period"):
        check_pricing_data(table.head(6), cfg)
    # a price history longer than the sales: 20 periods of prices, sales in periods 5-8 only (none in the 4 test
    # periods), or in the test periods and 3 earlier ones only (fewer than limits.pricing_min_periods = 4)
    moving = table.assign(price=[9.99] * 10 + [8.99] * 10)
    with pytest.raises(StageSkipped, match="last 4 periods.*nothing was sold in them: the sales fall in 4 of the 20"):
        check_pricing_data(moving.assign(units=[0.0] * 5 + [1.0] * 4 + [0.0] * 11), cfg)
    with pytest.raises(StageSkipped, match="at least 4 of them.*there are 3"):
        check_pricing_data(moving.assign(units=[0.0] * 13 + [1.0] * 7), cfg)


def test_report_summary_lists_skipped_stages_first():
    from workbench.report import summary

    metrics = {"data": {"source": "csv", "customers": 20, "products": 5, "transactions": 30},
               "segmentation": {"customers": 20, "buyers": 12, "clv": {"skipped": "nobody bought twice"}},
               "pricing": {"skipped": "every product has one price"}}
    lines = summary.executive_summary(metrics)
    assert lines[0].startswith("**Skipped: Customer segmentation and CLV, clv** (notebook 01): nobody bought twice")
    assert lines[1].startswith("**Skipped: Dynamic pricing** (notebook 06): every product has one price")
    assert not any("was not run" in line and "pricing" in line for line in lines)
    status = summary.stage_status(metrics).set_index("stage")["ran"]
    assert status["pricing"] == "skipped: every product has one price" and status["segmentation"] == "yes"
    assert status["hybrid"] == "no"


def test_clustering_skips_with_too_few_buyers():
    from workbench.segment import DEFAULTS, clusters

    n = 6
    tx = pd.DataFrame({"transaction_id": [f"T{i}" for i in range(12)], "customer_id": [f"C{i % n}" for i in range(12)],
                       "product_id": ["P1"] * 12, "timestamp": pd.date_range("2024-01-01", periods=12, freq="3D"),
                       "quantity": [1, 2, 3] * 4, "unit_price": [2.0, 5.0, 7.0, 9.0] * 3})
    from workbench.segment import rfm

    table = rfm.build_rfm(tx)
    cfg = clusters.settings(DEFAULTS)
    features = clusters.cluster_features(table, cfg["extra_features"], tx, None)
    with pytest.raises(StageSkipped, match="needs more than .* customers with a purchase; this shop has 6") as err:
        clusters.make_model(cfg, 42).fit(features)
    assert err.value.stage == "segmentation.clustering" == clusters.CLUSTERING_STAGE  # the RFM segments still stand


def test_segmenter_fits_clusters_or_falls_back_to_one_group():
    from workbench.data.synthetic import generate_shop
    from workbench.segment.segmenter import Segmenter

    shop = generate_shop({"n_customers": 300, "n_products": 80, "n_weeks": 26, "seed": 5})
    segs = Segmenter({}, shop.customers, shop.products, seed=1)(shop.transactions)
    assert segs["cluster"].nunique() > 2  # clusters plus the no-purchase group
    few = shop.transactions[shop.transactions["customer_id"].isin(shop.transactions["customer_id"].unique()[:6])]
    segs = Segmenter({}, shop.customers, shop.products, seed=1)(few)
    from workbench.segment.clusters import NO_CLUSTER

    assert (segs["cluster"] == NO_CLUSTER).all() and (segs["frequency"] > 0).sum() == 6


def test_log_metrics_merges_a_model_entry_one_level_down(tmp_path):
    rec = RunRecorder(tmp_path)
    rec.log_metrics("recommenders", {"popular": {"ndcg@10": 0.05}, "ease": {"ndcg@10": 0.1}})
    rec.set_metric("recommenders.popular.taste_recovery", {"correlation": -0.1})
    rec.log_metrics("recommenders", {"popular": {"ndcg@10": 0.06}, "content": {"ndcg@10": 0.04}})
    got = json.loads((tmp_path / "metrics.json").read_text())["recommenders"]
    assert got == {"popular": {"ndcg@10": 0.06, "taste_recovery": {"correlation": -0.1}}, "ease": {"ndcg@10": 0.1},
                   "content": {"ndcg@10": 0.04}}
    rec.log_metrics("recommenders", {"only": 1}, replace=True)
    assert json.loads((tmp_path / "metrics.json").read_text())["recommenders"] == {"only": 1}


def test_segmenter_says_which_clusters_it_chose_beside_notebook_01s():
    from workbench.data.synthetic import generate_shop
    from workbench.segment.segmenter import Segmenter

    shop = generate_shop({"n_customers": 300, "n_products": 80, "n_weeks": 26, "seed": 5})
    segmenter = Segmenter({}, shop.customers, shop.products, seed=1)
    segs = segmenter(shop.transactions)
    k = segmenter.calls[-1]["k"]
    assert k == segs.loc[segs["cluster"] >= 0, "cluster"].nunique()  # the k it reports is the k it used
    text = segmenter.describe({"k": k + 3})
    assert f"k = {k}, chosen by the {segmenter.calls[-1]['rule']} rule" in text
    assert f"Notebook 01 chose k = {k + 3} on all the data" in text and "They may differ" in text
    assert "both agree" in segmenter.describe({"k": k})
