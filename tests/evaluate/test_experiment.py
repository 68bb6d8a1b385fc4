"""The one evaluation protocol: settings, every split kind, relevant pairs, validation folds, old keys, artifacts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.data import contract
from workbench.data.shop import Shop
from workbench.errors import ConfigError
from workbench.evaluate import experiment
from workbench.evaluate.split import stratified_split
from workbench.report.record import RunRecorder

U, I, T, TX, Q = contract.CUSTOMER_ID, contract.PRODUCT_ID, contract.TIMESTAMP, contract.TRANSACTION_ID, contract.QUANTITY


@pytest.fixture(scope="module")
def shop():
    """40 customers, 4-6 invoices each of 1-3 lines over 30 products, some repeat purchases and returns."""
    rng = np.random.default_rng(3)
    rows = []
    t0 = pd.Timestamp("2024-01-01")
    inv = 0
    for u in range(40):
        for _ in range(rng.integers(4, 7)):
            when = t0 + pd.Timedelta(hours=int(rng.integers(0, 24 * 200)))
            for p in rng.choice(30, rng.integers(1, 4), replace=False):
                rows.append((f"i{inv}", f"u{u}", f"p{p}", when, int(rng.integers(1, 3)), float(1 + p % 7)))
            inv += 1
    tx = pd.DataFrame(rows, columns=[TX, U, I, T, Q, contract.UNIT_PRICE])
    ret = tx.iloc[::17].assign(**{TX: lambda d: "r" + d[TX], Q: -1})
    tx = pd.concat([tx, ret], ignore_index=True)
    products = pd.DataFrame({I: [f"p{p}" for p in range(30)], contract.NAME: "n", contract.CATEGORY: "c", contract.PRICE: 1.0})
    return Shop(customers=pd.DataFrame({U: [f"u{u}" for u in range(40)]}), products=products, transactions=tx)


def _settings(**block):
    return experiment.settings({"seed": 42, "evaluation": block})


def _pairs(df):
    return set(zip(df[U].astype(str), df[I].astype(str)))


def test_defaults_and_the_run_seed():
    s = experiment.settings({"seed": 7})
    assert (s.split, s.k, s.seed, s.validation.folds, s.source) == ("last_basket", 10, 7, 1, "purchases")
    assert experiment.settings({"seed": 7, "evaluation": {"seed": 3}}).seed == 3
    with pytest.raises(ConfigError, match="evaluation.split must be one of"):
        _settings(split="sideways")
    with pytest.raises(ConfigError, match="unknown key"):
        _settings(splitt="random")
    with pytest.raises(ConfigError, match="last_basket holds out invoices"):
        _settings(source="ratings")


@pytest.mark.parametrize("old, new", sorted(experiment.RETIRED_KEYS.items()))
def test_every_old_key_names_its_new_key(old, new):
    params: dict = {"seed": 1}
    node = params
    *parents, leaf = old.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = 1
    with pytest.raises(ConfigError) as err:
        experiment.settings(params)
    assert f"'{old}' is now '{new}'" in str(err.value)


def test_last_basket_holds_out_each_customers_last_invoice(shop):
    sp = experiment.make_split(shop, _settings(split="last_basket"))
    sales = shop.transactions[shop.transactions[Q] > 0]
    last = sales.sort_values([U, T, TX]).groupby(U).tail(1)[[U, TX]]  # the last invoice of each customer
    last_lines = sales.merge(last, on=[U, TX])
    assert len(sp.train) + len(last_lines) == len(sales)
    assert not set(sp.train[TX]) & set(last[TX])
    # relevant = the last invoice's products the customer had not bought before, one row per pair
    expected = _pairs(last_lines) - _pairs(sp.train)
    assert _pairs(sp.test) == expected and len(sp.test) == len(expected)
    assert list(sp.test.columns[:2]) == [U, I]


def test_chronological_cut_off(shop):
    sp = experiment.make_split(shop, _settings(split="chronological", ratio=0.7))
    assert sp.train[T].max() < sp.test[T].min()
    sales = shop.transactions[shop.transactions[Q] > 0]
    assert len(sp.train) == pytest.approx(0.7 * len(sales), abs=5)
    assert not _pairs(sp.test) & _pairs(sp.train)


def test_stratified_is_the_microsoft_split_then_seen_pairs_dropped(shop):
    s = _settings(split="stratified", ratio=0.75, stratify_by=U, seed=5)
    sp = experiment.make_split(shop, s)
    sales = shop.transactions[shop.transactions[Q] > 0]
    train, test = stratified_split(sales, 0.75, by=U, seed=5)
    assert sp.train.equals(train)
    assert _pairs(sp.test) == _pairs(test) - _pairs(train)
    assert set(sp.train[U]) >= set(sp.test[U])  # every customer in both parts


def test_random_split_and_keeping_seen_pairs(shop):
    s = _settings(split="random", ratio=0.6, drop_seen_pairs=False)
    sp = experiment.make_split(shop, s)
    sales = shop.transactions[shop.transactions[Q] > 0]
    assert len(sp.train) == pytest.approx(0.6 * len(sales), abs=1)
    assert _pairs(sp.test) & _pairs(sp.train)  # repeat purchases stay relevant
    assert not experiment.make_split(shop, _settings(split="random", ratio=0.6, seed=1)).train.equals(sp.train)


def test_relevant_pairs_sum_quantity_and_keep_revenue():
    rows = pd.DataFrame({U: ["a", "a", "b"], I: ["x", "x", "y"], Q: [1, 3, 2], contract.UNIT_PRICE: [2.0, 4.0, 5.0],
                         T: pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-03"])})
    out = experiment.relevant_pairs(rows)
    assert list(out[Q]) == [4, 2] and list(out[T]) == list(pd.to_datetime(["2024-01-01", "2024-01-03"]))
    assert list(out[Q] * out[contract.UNIT_PRICE]) == pytest.approx([1 * 2.0 + 3 * 4.0, 10.0])  # revenue kept


def test_validation_folds_are_nested_inside_train(shop):
    s = _settings(split="last_basket", validation={"folds": 3})
    sp = experiment.make_split(shop, s)
    folds = experiment.validation_folds(shop, sp, s)
    assert len(folds) == 3
    held = set(sp.train[TX])
    for f in folds:  # every fold's rows, fit and held out, come from the training part
        assert set(f.train[TX]) <= held and not _pairs(f.test) & _pairs(f.train)
        held = set(f.train[TX])  # the next fold splits this fold's training part
    sizes = [len(f.train) for f in folds]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3


def test_stratified_folds_use_other_seeds(shop):
    s = _settings(split="stratified", stratify_by=U, validation={"folds": 2, "ratio": 0.8})
    sp = experiment.make_split(shop, s)
    a, b = experiment.validation_folds(shop, sp, s)
    ta, _ = stratified_split(sp.train, 0.8, by=U, seed=43)
    assert a.train.equals(ta) and not a.train.index.equals(b.train.index)


def test_split_artifacts_are_written_once_and_read_identically(shop, tmp_path):
    s = _settings(split="last_basket")
    first = experiment.load_or_make_split(shop, s, RunRecorder(tmp_path / "run"))
    path = tmp_path / "run" / "artifacts" / "split_test.parquet"
    stamp = path.stat().st_mtime_ns
    again = experiment.load_or_make_split(shop, s, RunRecorder(tmp_path / "run"))  # read, not rewritten
    assert path.stat().st_mtime_ns == stamp
    alone = experiment.load_or_make_split(shop, s, RunRecorder(tmp_path / "alone"))  # a notebook run alone
    for other in (again, alone):
        pd.testing.assert_frame_equal(first.train, other.train)
        pd.testing.assert_frame_equal(first.test, other.test)
    assert (tmp_path / "alone" / "artifacts" / "split_test.parquet").read_bytes() == path.read_bytes()
    # other settings: the stale split is replaced
    other = experiment.load_or_make_split(shop, _settings(split="chronological"), RunRecorder(tmp_path / "run"))
    assert other.train[T].max() < other.test[T].min()


def test_the_evaluation_population_is_one_seeded_sample_of_test_customers(shop, tmp_path):
    whole = experiment.make_split(shop, _settings(split="last_basket"))
    everyone = sorted(whole.test[U].unique())
    assert whole.population == experiment.Population(len(everyone), len(everyone), "every test customer")
    s = _settings(split="last_basket", max_customers=12, validation={"folds": 2})
    sp = experiment.load_or_make_split(shop, s, RunRecorder(tmp_path / "run"))
    # the sample is drawn with numpy's seeded choice over the sorted test customers, nothing else
    drawn = set(np.random.default_rng(42).choice(np.array(everyone), 12, replace=False))
    assert set(sp.test[U]) == drawn and sp.population.customers == 12 and sp.population.of == len(everyone)
    assert "seed 42" in sp.population.drawn
    # the sampled customers keep every relevant pair; train is the same as without a sample
    assert _pairs(sp.test) == {p for p in _pairs(whole.test) if p[0] in drawn}
    pd.testing.assert_frame_equal(sp.train.reset_index(drop=True), whole.train.reset_index(drop=True), check_dtype=False)
    # recorded with the split, and read back from it
    assert experiment.read_population(tmp_path / "run" / "artifacts") == sp.population
    again = experiment.load_or_make_split(shop, s, RunRecorder(tmp_path / "run"))
    assert again.population == sp.population
    # validation folds are sampled the same way, each with its own seed
    for f, fold in enumerate(experiment.validation_folds(shop, sp, s)):
        assert fold.test[U].nunique() == 12 and fold.population.of > 12
        assert f"seed {43 + f}" in fold.population.drawn
    with pytest.raises(ConfigError, match="max_customers must be at least 1"):
        _settings(max_customers=0)
