"""Model selection: every rule on planted blobs, the criteria's conventions, fixed choices, errors."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from workbench.errors import ConfigError, NotFittedError, StageSkipped
from workbench.segment import selection as segment_selection

CENTRES = ((0.0, 0.0, 0.0), (6.0, 0.0, 0.0), (0.0, 6.0, 6.0))


def _blobs(n_per=150, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 0.5, (n_per, 3)) for c in CENTRES])
    return pd.DataFrame(X, columns=["recency", "frequency", "monetary"])


@pytest.fixture(scope="module")
def fitted():
    X = _blobs()
    sel = segment_selection.ClusterSelector(k_range=(2, 5), n_init=2, n_bootstrap=3, gap_references=3, criteria_sample=300,
                            random_state=1).fit(X)
    return X, sel


def test_every_rule_finds_the_three_planted_blobs(fitted):
    X, sel = fitted
    crit = sel.criteria_
    assert list(zip(crit["model"], crit["k"])) == [(m, k) for m in segment_selection.MODELS for k in (2, 3, 4, 5)]
    for rule in segment_selection.RULES:
        pos, reason = sel.choose(rule)
        assert crit.loc[pos, "k"] == 3, (rule, reason)
    assert sel.k_ == 3 and sel.model_ in ("gmm_full", "gmm_diag") and sel.is_mixture_
    assert sel.chosen_["rule"] == "icl" and "lowest icl" in sel.chosen_["reason"]
    truth = np.repeat([0, 1, 2], 150)
    labels = sel.predict(X)
    assert pd.crosstab(labels, truth).gt(0).sum().eq(1).all()            # each blob is one cluster
    # clusters are numbered by size; centres back in feature units are the blob centres
    assert sorted(map(tuple, sel.centroids_.round(0).to_numpy() + 0.0)) == sorted(CENTRES)


def test_criteria_conventions(fitted):
    X, sel = fitted
    c = sel.criteria_.set_index(["model", "k"])
    km = c.loc["kmeans"]
    assert km[["bic", "aic", "icl"]].isna().all().all()                    # likelihoods are the mixtures' only
    assert km.loc[3, "stability_ari"] > 0.99                                 # the planted partition every time
    assert km.loc[3, "silhouette"] > km.loc[[2, 4, 5], "silhouette"].max()
    # the silhouette is sklearn's on the whole criteria sample (300 of 450 rows, standardised)
    assert km.loc[3, "silhouette"] == pytest.approx(sel.silhouette_ if sel.model_ == "kmeans" else km.loc[3, "silhouette"])
    Z = sel.transform(X)
    lab = sel.estimators_[("kmeans", 3)].predict(Z)
    assert silhouette_score(Z, lab) == pytest.approx(km.loc[3, "silhouette"], abs=0.02)
    # separated blobs: memberships are certain, so the ICL's entropy term vanishes at the planted k
    full = c.loc["gmm_full"]
    assert full.loc[3, "icl"] == pytest.approx(full.loc[3, "bic"], rel=1e-6)
    assert (full["icl"] >= full["bic"] - 1e-6).all()
    # within-cluster sum of squares of k-means on the fit sample = its inertia (all rows fitted here)
    assert km.loc[3, "within_ss"] == pytest.approx(sel.estimators_[("kmeans", 3)].inertia_, rel=1e-9)
    # the gap rises to the planted k (Tibshirani: uniform references have no clusters)
    assert km.loc[3, "gap"] > km.loc[2, "gap"] and (c["gap_se"].dropna() >= 0).all()


def test_probability_is_a_mixture_membership():
    X = _blobs()
    mix = segment_selection.ClusterSelector(models=["gmm_diag"], k_range=(3, 3), n_bootstrap=0, gap_references=0).fit(X)
    p = mix.cluster_probability(X)
    assert p.min() > 0.99                                               # far-apart blobs: certain
    # two mirror-image blobs: the point half way between them belongs to each with probability 1/2
    half = np.random.default_rng(0).normal((-2.0, 0.0, 0.0), 0.7, (200, 3))
    pair = pd.DataFrame(np.r_[half, -half], columns=X.columns)
    two = segment_selection.ClusterSelector(models=["gmm_full"], k_range=(2, 2), n_bootstrap=0, gap_references=0).fit(pair)
    assert two.cluster_probability(pd.DataFrame([[0.0, 0.0, 0.0]], columns=X.columns))[0] == pytest.approx(0.5, abs=0.01)
    km = segment_selection.ClusterSelector(models=["kmeans"], k_range=(3, 3), rule="silhouette", n_bootstrap=0,
                           gap_references=0).fit(X)
    assert km.cluster_probability(X) is None and not km.is_mixture_


def test_fixed_choices_and_the_selection_block(fitted):
    X = _blobs(n_per=200)
    sel = segment_selection.ClusterSelector(k_range=(2, 3), model="kmeans", k=5, fit_sample=400, n_bootstrap=0,
                            gap_references=0, random_state=0).fit(X)
    assert (sel.model_, sel.k_, sel.chosen_["rule"]) == ("kmeans", 5, "fixed")
    assert set(sel.criteria_["k"]) == {2, 3, 5}                      # a fixed k outside the range is scored too
    assert len(sel.predict(X)) == len(X)                             # fitted on 400, assigns all
    only_k = segment_selection.ClusterSelector(k_range=(2, 4), k=2, n_bootstrap=0, gap_references=0).fit(X)
    assert only_k.k_ == 2 and "k fixed to 2" in only_k.chosen_["reason"]
    block = fitted[1].selection()
    assert block["chosen"] == {"model": fitted[1].model_, "k": 3, "rule": "icl"}
    assert len(block["criteria"]) == 12 and set(block["criteria"][0]) == {"model", "k", *segment_selection.CRITERIA}
    assert block["criteria"][0]["bic"] is None                       # k-means has no BIC: null, not NaN
    json.dumps(block)


@pytest.mark.parametrize("settings", [{"rule": "icl"}, {"rule": "silhouette"}, {"rule": "bic", "k": 4},
                                      {"rule": "calinski_harabasz", "model": "kmeans"},
                                      {"rule": "icl", "min_stability": 0.9}])
def test_without_evidence_the_choice_and_the_labels_are_the_same(settings):
    X = _blobs(seed=4)
    common = dict(k_range=(2, 5), n_init=2, n_bootstrap=3, gap_references=0, criteria_sample=300, random_state=2,
                  **settings)
    full = segment_selection.ClusterSelector(**common).fit(X)
    lean = segment_selection.ClusterSelector(**common, evidence=False).fit(X)
    assert (lean.model_, lean.k_) == (full.model_, full.k_)
    assert lean.chosen_["reason"].split(";")[0] == full.chosen_["reason"].split(";")[0]  # same value, same runner-up
    np.testing.assert_array_equal(lean.predict(X), full.predict(X))
    pd.testing.assert_frame_equal(lean.centroids_, full.centroids_)
    # only the candidates the rule can choose, and only the criteria it reads
    pool = full.criteria_
    if segment_selection.RULES[settings["rule"]].mixtures_only:
        pool = pool[pool["model"] != "kmeans"]
    for key in ("model", "k"):
        if key in settings:
            pool = pool[pool[key] == settings[key]]
    assert list(zip(lean.criteria_["model"], lean.criteria_["k"])) == list(zip(pool["model"], pool["k"]))
    unread = {"silhouette": "bic", "icl": "silhouette", "bic": "davies_bouldin", "calinski_harabasz": "silhouette"}
    assert lean.criteria_[unread[settings["rule"]]].isna().all()


def test_same_seed_same_criteria():
    X = _blobs(seed=3)
    a = segment_selection.ClusterSelector(k_range=(2, 4), n_bootstrap=2, gap_references=2, random_state=5).fit(X)
    b = segment_selection.ClusterSelector(k_range=(2, 4), n_bootstrap=2, gap_references=2, random_state=5).fit(X)
    pd.testing.assert_frame_equal(a.criteria_, b.criteria_)
    assert json.dumps(a.selection()) == json.dumps(b.selection())


def test_errors_say_what_to_change():
    X = _blobs()
    with pytest.raises(NotFittedError):
        segment_selection.ClusterSelector().predict(X)
    with pytest.raises(ConfigError, match="k_range"):
        segment_selection.ClusterSelector(k_range=(1, 3)).fit(X)
    with pytest.raises(ConfigError, match="unknown clustering model"):
        segment_selection.ClusterSelector(models=["dbscan"]).fit(X)
    with pytest.raises(ConfigError, match="unknown selection rule"):
        segment_selection.ClusterSelector(rule="elbow").fit(X)
    with pytest.raises(ConfigError, match="add gmm_full or gmm_diag"):
        segment_selection.ClusterSelector(models=["kmeans"], rule="bic", n_bootstrap=0, gap_references=0).fit(X)
    with pytest.raises(StageSkipped, match="needs more than 10"):
        segment_selection.ClusterSelector().fit(X.head(8))
