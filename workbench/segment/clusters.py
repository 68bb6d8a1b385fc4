"""Customer clusters: features, the selected model, names, actions, profiles and the planted-truth check.

* features (:mod:`workbench.segment.features`): log-RFM of the buyers, standardised by the model, plus the
  ``extra_features`` asked for; customers without a purchase have no recency and are labelled
  ``no_purchase``, cluster -1;
* the model (:mod:`workbench.segment.selection`): k-means and Gaussian mixtures over ``k_range``, every
  candidate scored, one documented ``rule`` choosing the model and k (default: the lowest ICL);
* every customer is assigned; mixtures also give each one the probability of their cluster;
* clusters are named from their centres (z-scores of the log features: "recent high-value frequent"), given
  a suggested action, profiled and cross-tabulated against the RFM segments.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from workbench.config import check_retired, merge_block
from workbench.data import contract
from workbench.segment.features import EXTRA_FEATURES, category_shares, cluster_features  # noqa: F401
from workbench.segment.rfm import FREQUENCY, MONETARY, NO_PURCHASE, RECENCY, SEGMENT
from workbench.segment.selection import CLUSTERING_STAGE, MODELS, ClusterSelector, _sample

log = logging.getLogger(__name__)

CLUSTER, CLUSTER_NAME, CLUSTER_PROBABILITY, CLUSTER_ACTION = "cluster", "cluster_name", "cluster_probability", "action"
NO_CLUSTER = -1

DEFAULTS: dict = {
    "models": list(MODELS),       # candidates: kmeans, gmm_full, gmm_diag (any gmm_<covariance type>)
    "k_range": [2, 10],           # inclusive
    "rule": "icl",                # how the model and k are chosen (workbench.segment.selection.RULES)
    "model": None,                # fix the model (the rule then chooses k) ...
    "k": None,                    # ... or fix k (the rule then chooses the model); both = no choice left
    "min_stability": None,        # leave out candidates whose bootstrap ARI is below this before the rule
    "n_init": 3,                  # starts of each candidate's fit
    "reg_covar": 0.01,            # added to the mixtures' standardised covariance diagonals
    "fit_sample": 20_000,         # fit every candidate on at most this many customers, then assign all
    "criteria_sample": 2_000,     # silhouette, gap and bootstrap stability on this many of them
    "n_bootstrap": 5,             # refits on resamples for the stability ARI (< 2: not measured)
    "gap_references": 5,          # uniform reference sets of the gap statistic (0: not computed)
    "extra_features": [],         # any of workbench.segment.features.EXTRA_FEATURES
    "name_threshold": 0.5,        # |centre z| above this names the cluster (e.g. "recent")
    "embedding_sample": 20_000,   # points in the PCA plot
    "tsne_sample": 500,           # points in the t-SNE plot (0 = no t-SNE)
    "tsne_iter": 500,             # t-SNE iterations (>= 250)
    "n_threads": 1,               # OpenMP/BLAS threads (None = all; 1 is fastest on a busy machine)
    "evidence": True,             # every candidate on every criterion (false: only what the rule reads, same choice)
}

#: words for a high / low centre z-score of each feature (recency: low = recent)
NAME_WORDS: dict[str, tuple[str, str]] = {
    RECENCY: ("lapsed", "recent"),
    MONETARY: ("high-value", "low-value"),
    FREQUENCY: ("frequent", "one-off"),
}
#: a suggested action by the words of a cluster's name: the first entry whose words are all in the name wins
ACTIONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("recent", "frequent"), "reward and retain: loyalty perks, early access, ask for reviews and referrals"),
    (("lapsed", "frequent"), "win back now: a personal offer on their usual categories before a competitor does"),
    (("lapsed", "high-value"), "win back now: a personal offer on their usual categories before a competitor does"),
    (("frequent",), "keep the habit: replenishment reminders and the next product they are likely to need"),
    (("recent", "one-off"), "make the second purchase easy: welcome series and a timed offer on a related product"),
    (("lapsed", "one-off"), "low-cost reactivation only (one campaign), then stop spending on them"),
    (("high-value",), "protect the value: service first, premium and complementary recommendations"),
    (("low-value",), "grow the basket: bundles and cross-sell"),
    (("recent",), "build on the recent visit: recommendations from what they just bought"),
    (("lapsed",), "reactivate with popular products and a modest discount"),
    ((), "keep engaged: the regular newsletter and recommendations"),
)


def settings(segmentation: dict) -> dict:
    """Return the ``clusters`` block of the ``segmentation`` params over :data:`DEFAULTS`; an unknown key is an
    error, a replaced one names its successor."""
    check_retired(segmentation, "segmentation")
    return merge_block(DEFAULTS, segmentation.get("clusters"), "segmentation.clusters")


# ---- naming -------------------------------------------------------------------------------------------

def name_clusters(centroids_z: pd.DataFrame, threshold: float = 0.5) -> dict[int, str]:
    """Return cluster -> name from centroid z-scores of recency, monetary, frequency ("recent high-value frequent")."""
    names = {}
    for k, row in centroids_z.iterrows():  # one row per cluster (a handful)
        words = []
        for feat, (high, low) in NAME_WORDS.items():
            z = row.get(feat, 0.0)
            if z > threshold:
                words.append(high)
            elif z < -threshold:
                words.append(low)
        names[int(k)] = " ".join(words) or "average"
    seen: dict[str, int] = {}
    for k in sorted(names):  # identical names get a number
        n = names[k]
        seen[n] = seen.get(n, 0) + 1
    dup = {n for n, c in seen.items() if c > 1}
    count: dict[str, int] = {}
    for k in sorted(names):
        n = names[k]
        if n in dup:
            count[n] = count.get(n, 0) + 1
            names[k] = f"{n} ({count[n]})"
    return names


def cluster_actions(names: dict[int, str]) -> dict[int, str]:
    """Return cluster -> suggested action from the words of its name (:data:`ACTIONS`)."""
    out = {}
    for k, name in names.items():
        words = set(name.split(" "))
        out[k] = next(action for need, action in ACTIONS if set(need) <= words)
    return out


# ---- the model ------------------------------------------------------------------------------------------

def choice_only(params: dict) -> dict:
    """Return ``params`` without the criteria that only show the evidence: the same choice, fewer fits.

    Only the candidates the rule can choose are fitted and only the criteria it reads are computed
    (:class:`~workbench.segment.selection.ClusterSelector`'s ``evidence=False``); the gap statistic is kept for
    the ``gap`` rule and bootstrap stability when ``min_stability`` is set.
    """
    out = {**params, "evidence": False}
    if out.get("rule") != "gap":
        out["gap_references"] = 0
    if out.get("min_stability") is None:
        out["n_bootstrap"] = 0
    return out


def make_model(params: dict, random_state: int = 42) -> ClusterSelector:
    """Return an unfitted :class:`ClusterSelector` from the ``segmentation.clusters`` params (other keys ignored)."""
    keys = set(ClusterSelector._get_param_names()) - {"random_state"}
    return ClusterSelector(**{k: v for k, v in params.items() if k in keys}, random_state=random_state)


def assign_clusters(table: pd.DataFrame, features: pd.DataFrame, model: ClusterSelector,
                    names: dict[int, str]) -> pd.DataFrame:
    """Return ``table`` with ``cluster`` (-1 without purchases), ``cluster_name`` (``no_purchase``) and, when
    the model is a mixture, ``cluster_probability`` (the membership probability of the assigned cluster; NaN
    without purchases)."""
    labels = pd.Series(model.predict(features), index=features.index)
    out = table.copy()
    out[CLUSTER] = labels.reindex(out[contract.CUSTOMER_ID]).fillna(NO_CLUSTER).astype("int64").to_numpy()
    out[CLUSTER_NAME] = out[CLUSTER].map({**names, NO_CLUSTER: NO_PURCHASE}).astype("str")
    proba = model.cluster_probability(features)
    if proba is not None:
        out[CLUSTER_PROBABILITY] = pd.Series(proba, index=features.index).reindex(out[contract.CUSTOMER_ID]).to_numpy()
    return out


def cluster_profile(table: pd.DataFrame, actions: dict[int, str] | None = None) -> pd.DataFrame:
    """Return per cluster: name, count, share, a profile in words, the suggested action, mean / median
    recency, frequency and monetary, mean membership probability (mixtures) and the main RFM segment."""
    b = table[table[CLUSTER] != NO_CLUSTER]
    g = b.groupby(CLUSTER)
    out = pd.DataFrame({
        CLUSTER_NAME: g[CLUSTER_NAME].first(),
        "count": g.size(),
        "recency_median": g[RECENCY].median().astype("float64"),
        "frequency_mean": g[FREQUENCY].mean(),
        "monetary_median": g[MONETARY].median(),
    })
    out["share"] = out["count"] / out["count"].sum()
    if CLUSTER_PROBABILITY in b:
        out["probability_mean"] = g[CLUSTER_PROBABILITY].mean()
    ct = pd.crosstab(b[CLUSTER], b[SEGMENT], normalize="index")
    out["main_rfm_segment"] = ct.idxmax(axis=1)
    out["main_rfm_share"] = ct.max(axis=1)
    out["profile"] = [f"{r.share:.0%} of buyers; last purchase {r.recency_median:,.0f} days ago (median), "
                      f"{r.frequency_mean:.1f} invoices on average, "
                      + (f"{r.monetary_median:,.0f} net revenue (median); " if pd.notna(r.monetary_median) else "")
                      + f"mostly {r.main_rfm_segment} ({r.main_rfm_share:.0%})" for r in out.itertuples()]
    out[CLUSTER_ACTION] = out.index.map(actions or cluster_actions(out[CLUSTER_NAME].to_dict()))
    first = [CLUSTER_NAME, "count", "share", "profile", CLUSTER_ACTION]
    return out[first + [c for c in out.columns if c not in first]].reset_index()


def segment_crosstab(table: pd.DataFrame, segment_order: list[str] | None = None) -> pd.DataFrame:
    """Return counts of buyers per cluster name (rows) and RFM segment (columns)."""
    b = table[table[CLUSTER] != NO_CLUSTER]
    ct = pd.crosstab(b[CLUSTER_NAME], b[SEGMENT])
    if segment_order:
        ct = ct.reindex(columns=[s for s in segment_order if s in ct.columns])
    return ct


def truth_agreement(table: pd.DataFrame, truth_segments: pd.DataFrame, label: str = "segment") -> dict:
    """Return ARI of clusters and of RFM segments vs the planted segments, over customers with a purchase.

    Planted ``browser`` customers never buy, so they are exactly the ``no_purchase`` customers: a rule, not
    the clustering, finds them, and including them would inflate both ARIs. Their match is reported apart.
    """
    truth = truth_segments.set_index(contract.CUSTOMER_ID)[label].astype("str")
    t = truth.reindex(table[contract.CUSTOMER_ID]).to_numpy()
    buyers = (table[FREQUENCY] > 0).to_numpy() & pd.notna(t)
    no_buy = ~(table[FREQUENCY] > 0).to_numpy()
    browsers = t == "browser"
    return {
        "ari_vs_truth": adjusted_rand_score(t[buyers], table[CLUSTER].to_numpy()[buyers]),
        "rfm_ari_vs_truth": adjusted_rand_score(t[buyers], table[SEGMENT].to_numpy()[buyers]),
        "truth_customers_compared": int(buyers.sum()),
        "browsers_without_purchase": float((browsers & no_buy).sum() / max(int(browsers.sum()), 1)),
    }


def candidate_agreement(model: ClusterSelector, features: pd.DataFrame, truth_segments: pd.DataFrame,
                        label: str = "segment") -> pd.DataFrame:
    """Return the ARI against the planted segments of every candidate (model, k), over the clustered buyers."""
    truth = truth_segments.set_index(contract.CUSTOMER_ID)[label].astype("str").reindex(features.index)
    known = truth.notna().to_numpy()
    rows = [{"model": m, "k": k, "ari_vs_truth": adjusted_rand_score(truth.to_numpy()[known],
                                                                      model.predict_candidate(features, m, k)[known])}
            for m, k in zip(model.criteria_["model"], model.criteria_["k"])]
    return pd.DataFrame(rows)


def embed_2d(Z: np.ndarray, labels: np.ndarray, method: str = "pca", sample: int | None = 20_000,
             random_state: int = 42, max_iter: int = 500, n_threads: int | None = 1) -> pd.DataFrame:
    """Return a 2-D embedding (columns x, y, cluster) of a sample of standardized features by PCA or t-SNE."""
    rng = np.random.default_rng(random_state)
    rows = _sample(len(Z), sample, rng)
    Zs = Z[rows]
    with threadpool_limits(limits=n_threads):
        if method == "pca":
            xy = PCA(n_components=2, random_state=random_state).fit_transform(Zs)
        elif method == "tsne":
            # scikit-learn needs a perplexity below the number of points (a pilot may cluster only a handful)
            perplexity = float(min(30.0, max(5.0, (len(Zs) - 1) / 3.0), len(Zs) - 1))
            xy = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=max(250, int(max_iter)),
                      random_state=random_state, n_jobs=n_threads).fit_transform(Zs)
        else:
            raise ValueError(f"embedding method '{method}' is unknown; use 'pca' or 'tsne'")
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], CLUSTER: np.asarray(labels)[rows]})
