"""The saved hybrid answers anyone: workbench/recommend/serving.py's FinalRecommender, saved and reloaded, and the
same through the MLflow pyfunc wrapper (workbench/models.py)."""
import logging
import warnings

import numpy as np
import pandas as pd
import pytest

import workbench
from workbench.data import contract
from workbench.recommend.hybrid import COLD, Switching
from workbench.recommend.hybrid_experiment import REC_COLUMNS, HybridExperiment
from workbench.recommend.rules import COLD_START

C_ID, P_ID = contract.CUSTOMER_ID, contract.PRODUCT_ID
NEW = "someone-new"
PREFIX = COLD_START.split("{")[0]
#: a small shop and a short tuning: these tests check the serving contract, not the lists' quality
SHOP = {"n_customers": 150, "n_products": 60, "n_weeks": 26, "seed": 3}
PARAMS = {"hybrid": {"tuning": {"n_random": 10, "n_bags": 10}}, "evaluation": {"n_boot": 20}, "seed": 1}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(the experiment, its tuning, the final recommender saved in a run folder and loaded back, the run folder)."""
    from workbench.data.synthetic import generate_shop
    from workbench.data.validate import validate_shop
    from workbench.models import save_model

    shop = validate_shop(generate_shop(SHOP))[0]
    ex = HybridExperiment(shop, PARAMS)
    validation = ex.fit_validation()
    tuning = ex.tune(validation)
    ex.choose_rules(validation, tuning)
    run = tmp_path_factory.mktemp("served")
    save_model(run, "hybrid", ex.final_recommender(tuning))
    return ex, tuning, workbench.load_model(run, "hybrid"), run


def _buyers(ex):
    tx = ex.shop.transactions
    return pd.Index(tx.loc[tx[contract.QUANTITY] > 0, C_ID].astype("str").unique())


def test_unknown_customer_gets_k_cold_start_products(served):
    ex, tuning, model, _ = served
    got = model.recommend([NEW], k=5)
    assert list(got.columns) == [*REC_COLUMNS, "rule"]
    assert got[C_ID].tolist() == [NEW] * 5 and got["rank"].tolist() == [1, 2, 3, 4, 5]
    assert got[P_ID].is_unique and got[P_ID].isin(ex.shop.products[P_ID].astype("str")).all()
    assert got["explanation"].str.startswith(PREFIX).all()
    # the switching rule's blend: its `from` components carry no weight for a customer without history
    assert not got["reason"].isin(tuning.switching.from_).any()


def test_cold_start_list_is_the_switching_rules_blend(served):
    """Brute force: the candidates of a new customer blended with the switching rule on (whatever tuning kept for
    the cold bucket), sorted; no business rule applies to an unknown customer (no segment, not price-sensitive)."""
    ex, tuning, model, _ = served
    cs = model.hybrid.candidate_set([NEW])
    assert cs.buckets[0] == COLD and cs.history[0] == 0
    rule_on = Switching(True, tuning.switching.from_, tuning.switching.to)
    blended = cs.blend(ex.final_weights(tuning), rule_on)[0]
    cat = ex.shop.products.set_index(ex.shop.products[P_ID].astype("str"))[contract.CATEGORY].astype("str")
    cap = ex.strength().max_per_category if ex.strength().diversity == "max_per_category" else 0
    cap = cap or 10 ** 9
    want, per_cat = [], {}
    for j in np.argsort(-blended, kind="stable"):  # greedy under the per-category cap, as the rule does
        if not np.isfinite(blended[j]) or len(want) == 5:
            break
        pid = str(cs.product_ids[cs.items[0, j]])
        if per_cat.get(cat[pid], 0) < cap:
            want.append(pid)
            per_cat[cat[pid]] = per_cat.get(cat[pid], 0) + 1
    assert model.recommend([NEW], k=5)[P_ID].tolist() == want


def test_customer_without_purchases_is_served_like_a_new_one(served):
    ex, _, model, _ = served
    idle = ex.shop.customers[C_ID].astype("str")
    idle = idle[~idle.isin(_buyers(ex))]
    assert len(idle) > 0  # the generator's browsers never buy
    one = model.recommend([idle.iloc[0]])
    new = model.recommend([NEW])
    assert one["explanation"].str.startswith(PREFIX).all()
    pd.testing.assert_frame_equal(one.drop(columns=C_ID), new.drop(columns=C_ID))


def test_list_length_defaults_to_the_runs_k_and_follows_k(served):
    ex, _, model, _ = served
    buyer = _buyers(ex)[0]
    full = model.recommend([buyer])
    assert len(full) == ex.k == 10 and not full["explanation"].str.startswith(PREFIX).any()
    short = model.recommend([buyer], k=3)
    pd.testing.assert_frame_equal(short, full.head(3))
    for bad in (0, -1, 2.5, True, "5"):
        with pytest.raises(ValueError, match="k must be a whole number"):
            model.recommend([buyer], k=bad)


def test_duplicates_empty_and_frames(served):
    ex, _, model, _ = served
    a, b = _buyers(ex)[:2]
    twice = model.recommend([a, NEW, a, b, NEW])
    assert twice[C_ID].drop_duplicates().tolist() == [a, NEW, b]  # one list each, in the order first asked
    pd.testing.assert_frame_equal(twice, model.recommend([a, NEW, b]))
    pd.testing.assert_frame_equal(model.recommend(pd.DataFrame({C_ID: [a, NEW, b]})), twice)
    pd.testing.assert_frame_equal(model.recommend(a), model.recommend([a]))
    empty = model.recommend([])
    assert len(empty) == 0 and list(empty.columns) == [*REC_COLUMNS, "rule"]
    assert dict(empty.dtypes) == dict(twice.dtypes)
    with pytest.raises(ValueError, match="1 of the 2 customer ids are missing"):
        model.recommend([a, None])
    with pytest.raises(ValueError, match="customer_id"):
        model.recommend(pd.DataFrame({"who": [a], "when": [1]}))


def test_pyfunc_wrapper_serves_new_customers_with_k(served, tmp_path, caplog):
    import mlflow

    from workbench.models import log_mlflow_model

    ex, _, model, run = served
    a = _buyers(ex)[0]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        experiment = mlflow.create_experiment("serving", artifact_location=(tmp_path / "artifacts").as_uri())
        with warnings.catch_warnings(record=True) as caught, mlflow.start_run(experiment_id=experiment) as active:
            warnings.simplefilter("always")
            log_mlflow_model(run, "hybrid")
        pyfunc = mlflow.pyfunc.load_model(f"runs:/{active.info.run_id}/hybrid")
        with caplog.at_level(logging.WARNING, logger="mlflow"):
            five = pyfunc.predict(pd.DataFrame({C_ID: [NEW]}), params={"k": 5})
            default = pyfunc.predict(pd.DataFrame({C_ID: [a, a]}))
    finally:
        mlflow.set_tracking_uri(None)
    assert [str(w.message) for w in caught if issubclass(w.category, UserWarning) and "mlflow" in w.filename] == []
    assert [r.getMessage() for r in caplog.records if "params" in r.getMessage()] == []  # k was not ignored
    pd.testing.assert_frame_equal(five, model.recommend([NEW], k=5))
    assert len(five) == 5 and five["explanation"].str.startswith(PREFIX).all()
    pd.testing.assert_frame_equal(default, model.recommend([a]))


def test_one_test_customer_skips_the_revenue_impact_with_its_reason(served):
    """One tested customer cannot fill both arms of the simulated A/B test: the revenue impact says why (and keeps
    saying so in the hybrid block of metrics.json), the ranking evaluation stands."""
    from workbench.errors import StageSkipped

    ex, _, _, _ = served
    one = HybridExperiment(ex.shop, {**PARAMS, "evaluation": {**PARAMS.get("evaluation", {}), "max_customers": 1}})
    validation = one.fit_validation()
    tuning = one.tune(validation)
    test = one.evaluate(tuning)
    assert len(test.per_customer) == 1
    one.choose_rules(validation, tuning)
    rules = one.apply_rules(test, tuning)
    with pytest.raises(StageSkipped, match="needs at least 2; this split has 1") as caught:
        one.impact(test, rules)
    assert caught.value.stage == "hybrid.revenue"
    assert one.metrics(validation, tuning, test, rules=rules)["revenue"] == {"skipped": caught.value.reason}
