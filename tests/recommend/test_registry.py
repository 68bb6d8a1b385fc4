"""The model registry: one entry makes a model known to notebook 02 (models, tuning), the leaderboard, pricing's
interest source, the hybrid and the bench, with no other edit."""
import numpy as np
import pytest

from workbench import bench
from workbench.data import contract
from workbench.data.validate import validate_shop
from workbench.errors import ConfigError
from workbench.evaluate.leaderboard import leaderboard
from workbench.pricing.table import final_recommendations
from workbench.recommend import holdout, hybrid, protocol, registry
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions


class PowerPopular(Recommender):
    """Product popularity raised to ``power``: power 1 ranks exactly like the most-popular baseline (ties by
    column too), a negative power ranks the rarest products first."""

    def __init__(self, power: float = 1.0):
        self.power = power

    def _fit(self, interactions: Interactions, **context) -> None:
        pop = np.asarray(interactions.binary().sum(axis=0)).ravel().astype(np.float64)
        self.scores_ = (pop + 1.0) ** self.power

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.scores_, (len(rows), 1))


TOY = registry.ModelSpec("toy", PowerPopular, "cf", grid={"power": [-1.0, 1.0]}, default=True, hybrid=True,
                         params_from="toy")


@pytest.fixture
def toy(monkeypatch):
    """The toy model registered in the one place models are registered, for this test only."""
    monkeypatch.setitem(registry.MODELS, TOY.name, TOY)
    return TOY


CHRONO = {"evaluation": {"split": "chronological", "ratio": 0.8, "k": 5, "validation": {"folds": 2}}, "seed": 42}


def test_a_registered_model_is_tuned_scored_on_the_leaderboard_and_an_interest_source(toy, small_shop):
    cfg = protocol.settings(None)
    assert "toy" in cfg["models"] and cfg["tune"]["toy"] == {"power": [-1.0, 1.0]}  # a default model, its grid
    hold = holdout.run_holdout(small_shop, CHRONO)
    grids = {"toy": cfg["tune"]["toy"]}  # only the toy's grid searched here (the others have their own tests)
    best, table = protocol.tune(holdout.validation_holdouts(small_shop, hold), {**cfg, "tune": grids}, k=5)["toy"]
    assert best == {"power": 1.0} and len(table) == 2  # the popular order beats the rarest-first one on validation
    models = {m: protocol.make_model(m, cfg, best if m == "toy" else None) for m in ("popular", "toy")}
    res = holdout.evaluate_models(models, hold)
    board = leaderboard(res.recs, hold.test, k=5, n_items=hold.interactions.shape[1], families=registry.families())
    rows = board.rows.set_index("model")
    assert rows.loc["toy", "family"] == "cf"
    assert rows.loc["toy", "ndcg@5"] == rows.loc["popular", "ndcg@5"]  # power 1 lists are the popular lists
    assert final_recommendations(res.recs, hold.test, 5, hold.interactions.shape[1],
                                 registry.families())[0] == "toy"  # the one non-baseline model feeds pricing


def test_a_registered_model_is_a_hybrid_component_with_its_params_block(toy, small_shop):
    tx = small_shop.transactions
    inter = Interactions.from_transactions(tx, weight="binary", products=small_shop.products[contract.PRODUCT_ID])
    cfg = {**hybrid.DEFAULTS, "components": {"toy": {"model": "toy"}}}
    hyb = hybrid.build_hybrid(cfg, inter, {"transactions": tx, "history": tx}, params={"toy": {"power": 2.0}},
                              weights={"toy": 1.0})
    comp = hyb.components["toy"]
    assert isinstance(comp, PowerPopular) and comp.power == 2.0 and comp.interactions_ is inter  # params_from: toy
    ids = inter.customer_ids[:30]
    blended, alone = hyb.recommend(ids, k=5), comp.recommend(ids, k=5)
    assert (blended.groupby(contract.CUSTOMER_ID)[contract.PRODUCT_ID].apply(set)
            == alone.groupby(contract.CUSTOMER_ID)[contract.PRODUCT_ID].apply(set)).all()  # its weight is all


def test_a_registered_model_runs_in_the_bench(toy, small_shop):
    shop, _ = validate_shop(small_shop)
    st = {"shop": shop}
    counts = bench._stage_cf(st, bench.settings({"cf": {"models": ["popular", "toy"]}}))
    n = shop.customers[contract.CUSTOMER_ID].nunique()
    assert counts == {"recs_popular": n * 10, "recs_toy": n * 10}  # top 10 for every customer
    assert st["cf_models"]["toy"].power == 1.0
    assert st["recs"]["toy"][contract.PRODUCT_ID].tolist() == st["recs"]["popular"][contract.PRODUCT_ID].tolist()


def test_every_entry_builds_and_unknown_names_and_keys_are_errors():
    for name, spec in registry.MODELS.items():  # fixed arguments are constructor arguments of the class
        assert isinstance(spec.build(), spec.cls) and spec.build().name == name
    with pytest.raises(ConfigError, match=r"'lamm'.*known: \['binary', 'lam', 'max_items'\]"):
        registry.build("ease", {"lamm": 5.0})
    assert registry.build("content", {"n_examples": 5}, strict=False).name == "content"  # a stage block's own keys
    with pytest.raises(ConfigError, match="'magic' is not registered"):
        registry.get("magic")
    with pytest.raises(ConfigError, match="'random' cannot be a hybrid component"):
        hybrid.build_components(hybrid.component_specs({"components": {"noise": {"model": "random"}}}))
    with pytest.raises(ValueError, match="family 'hybrid'"):
        registry.ModelSpec("mix", PowerPopular, "hybrid")
    with pytest.raises(ValueError, match="unknown needs"):
        registry.ModelSpec("mix", PowerPopular, "cf", needs=frozenset({"weather"}))
    assert registry.names(needs="ratings") == ["svd", "svdpp", "baselineonly"]
