"""K-means on standardized, log-transformed RFM (plus optional behaviour features), with an honest k.

* features: ``log1p`` of recency, frequency and monetary (monetary clipped at 0), optionally average
  basket value, tenure and category revenue shares; buyers only (customers without a purchase have no
  recency and are labelled ``no_purchase``, cluster -1);
* k: every k of ``k_range`` is fitted (``n_init`` starts) on at most ``fit_sample`` customers; the
  elbow (inertia) and the silhouette (on a fixed ``silhouette_sample``, so never quadratic in the
  customers) are kept; k = the best silhouette unless ``k`` is fixed;
* stability: the chosen k is refitted on ``n_bootstrap`` bootstrap samples and each fit labels the
  same customers; stability = mean adjusted Rand index over all pairs of fits;
* all customers are assigned with ``predict``; clusters are named from their centroids (z-scores of
  the log features: "recent high-value frequent") and cross-tabulated against the RFM segments.
"""
from __future__ import annotations

import logging
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from workbench.data import contract as C
from workbench.data.shop import with_revenue
from workbench.errors import NotFittedError
from workbench.segment.rfm import FIRST_PURCHASE, FREQUENCY, MONETARY, NO_PURCHASE, RECENCY, SEGMENT

log = logging.getLogger(__name__)

CLUSTER, CLUSTER_NAME = "cluster", "cluster_name"
NO_CLUSTER = -1
BASKET_VALUE, TENURE = "basket_value", "tenure"
EXTRA_FEATURES = (BASKET_VALUE, TENURE, "category_shares")

DEFAULTS: dict = {
    "k_range": [2, 8],            # inclusive
    "k": None,                    # fix k instead of choosing it by silhouette
    "n_init": 10,
    "fit_sample": 100_000,        # fit on at most this many customers, then predict all
    "silhouette_sample": 5_000,   # silhouette on a fixed-size sample
    "n_bootstrap": 10,
    "extra_features": [],         # any of basket_value, tenure, category_shares
    "name_threshold": 0.5,        # |centroid z| above this names the cluster (e.g. "recent")
    "embedding_sample": 20_000,   # points in the PCA plot
    "tsne_sample": 500,           # points in the t-SNE plot (0 = no t-SNE)
    "tsne_iter": 500,             # t-SNE iterations (>= 250)
    "n_threads": 1,               # OpenMP/BLAS threads for K-means (None = all; 1 is fastest on a busy machine)
}

#: words for a high / low centroid z-score of each feature (recency: low = recent)
NAME_WORDS: dict[str, tuple[str, str]] = {
    RECENCY: ("lapsed", "recent"),
    MONETARY: ("high-value", "low-value"),
    FREQUENCY: ("frequent", "one-off"),
}


# ---- features ---------------------------------------------------------------------------------------

def category_shares(transactions: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Return per customer (index) the share of purchase revenue in each product category (columns ``cat_<name>``)."""
    tx = with_revenue(transactions[transactions[C.QUANTITY] > 0])
    cat = products.set_index(C.PRODUCT_ID)[C.CATEGORY].astype("str")
    tx = tx.assign(**{C.CATEGORY: tx[C.PRODUCT_ID].map(cat).fillna("unknown").to_numpy()})
    wide = tx.pivot_table(index=C.CUSTOMER_ID, columns=C.CATEGORY, values=C.REVENUE, aggfunc="sum",
                          fill_value=0.0, observed=True)
    wide = wide.div(wide.sum(axis=1).replace(0.0, np.nan), axis=0).fillna(0.0)
    wide.columns = [f"cat_{c}" for c in wide.columns]
    return wide.sort_index(axis=1)


def cluster_features(table: pd.DataFrame, extra: list[str] | tuple[str, ...] = (),
                     transactions: pd.DataFrame | None = None, products: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the clustering features of the buyers (index customer_id): log1p R, F, M and the ``extra`` ones."""
    unknown = set(extra) - set(EXTRA_FEATURES)
    if unknown:
        raise ValueError(f"unknown extra feature(s) {sorted(unknown)}; choose from {list(EXTRA_FEATURES)}")
    b = table[table[FREQUENCY] > 0].set_index(C.CUSTOMER_ID)
    out = pd.DataFrame({
        RECENCY: np.log1p(b[RECENCY].astype("float64")),
        FREQUENCY: np.log1p(b[FREQUENCY].astype("float64")),
        MONETARY: np.log1p(b[MONETARY].astype("float64").clip(lower=0.0)),
    }, index=b.index)
    if BASKET_VALUE in extra:
        out[BASKET_VALUE] = np.log1p((b[MONETARY].clip(lower=0.0) / b[FREQUENCY]).astype("float64"))
    if TENURE in extra:
        date = pd.Timestamp(table.attrs.get("analysis_date", b["last_purchase"].max()))
        out[TENURE] = np.log1p((date - b[FIRST_PURCHASE]).dt.days.astype("float64"))
    if "category_shares" in extra:
        if transactions is None or products is None:
            raise ValueError("category_shares needs the transactions and products")
        out = out.join(category_shares(transactions, products).reindex(out.index).fillna(0.0))
    return out


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


# ---- the model ------------------------------------------------------------------------------------------

def _sample(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Return sorted row positions of a sample of ``size`` of ``n`` rows (all rows when small)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


class RFMKMeans(BaseEstimator, ClusterMixin):
    """Standardize + K-means with k chosen by silhouette over ``k_range``, bootstrap stability and names.

    After ``fit``: ``k_``, ``scores_`` (k, inertia, silhouette), ``silhouette_``, ``stability_ari_``,
    ``centroids_`` (feature units), ``centroids_z_`` (standardized), ``names_`` (cluster -> name) and
    ``pipeline_`` (StandardScaler + KMeans).
    """

    def __init__(self, k_range=(2, 8), k: int | None = None, n_init: int = 10, fit_sample: int | None = 100_000,
                 silhouette_sample: int = 5_000, n_bootstrap: int = 10, name_threshold: float = 0.5,
                 n_threads: int | None = 1, random_state: int = 42):
        self.k_range = k_range
        self.k = k
        self.n_init = n_init
        self.fit_sample = fit_sample
        self.silhouette_sample = silhouette_sample
        self.n_bootstrap = n_bootstrap
        self.name_threshold = name_threshold
        self.n_threads = n_threads
        self.random_state = random_state

    def _pipeline(self, k: int, seed: int) -> Pipeline:
        return make_pipeline(StandardScaler(), KMeans(n_clusters=k, n_init=self.n_init, random_state=seed))

    def fit(self, X: pd.DataFrame, y=None) -> "RFMKMeans":
        """Choose k, fit the final model, measure stability and name the clusters; return self."""
        with threadpool_limits(limits=self.n_threads):
            return self._fit(X)

    def _fit(self, X: pd.DataFrame) -> "RFMKMeans":
        rng = np.random.default_rng(self.random_state)
        Xv = np.asarray(X, dtype="float64")
        lo, hi = int(self.k_range[0]), int(self.k_range[1])
        if lo < 2 or hi < lo:
            raise ValueError(f"k_range must be [low, high] with 2 <= low <= high, got {self.k_range}")
        if len(Xv) <= hi:
            raise ValueError(f"K-means with k up to {hi} needs more than {hi} customers, got {len(Xv)}")
        fit_rows = _sample(len(Xv), self.fit_sample, rng)
        Xf = Xv[fit_rows]
        n_sil = min(len(Xf), int(self.silhouette_sample))
        rows = []
        models = {}
        for k in tqdm(range(lo, hi + 1), desc="k-means k", leave=False):
            pipe = self._pipeline(k, self.random_state).fit(Xf)
            labels = pipe[-1].labels_
            # the same random_state and size draw the same customers for every k
            sil = (silhouette_score(pipe[0].transform(Xf), labels, sample_size=n_sil, random_state=self.random_state)
                   if len(np.unique(labels)) > 1 else np.nan)
            rows.append({"k": k, "inertia": float(pipe[-1].inertia_), "silhouette": float(sil)})
            models[k] = pipe
        self.scores_ = pd.DataFrame(rows)
        if self.k is not None:
            self.k_ = int(self.k)
            if self.k_ not in models:
                models[self.k_] = self._pipeline(self.k_, self.random_state).fit(Xf)
        else:
            self.k_ = int(self.scores_.loc[self.scores_["silhouette"].idxmax(), "k"])
        self.pipeline_ = models[self.k_]
        s = self.scores_.set_index("k")["silhouette"]
        self.silhouette_ = float(s.get(self.k_, np.nan))
        self.stability_ari_ = self._stability(Xf, rng)
        cz = self.pipeline_[-1].cluster_centers_
        cols = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(Xv.shape[1])]
        self.centroids_z_ = pd.DataFrame(cz, columns=cols).rename_axis(CLUSTER)
        self.centroids_ = pd.DataFrame(self.pipeline_[0].inverse_transform(cz), columns=cols).rename_axis(CLUSTER)
        self.names_ = name_clusters(self.centroids_z_, self.name_threshold)
        log.info("k-means: k=%d silhouette=%.3f stability ARI=%.3f", self.k_, self.silhouette_, self.stability_ari_)
        return self

    def _stability(self, Xf: np.ndarray, rng: np.random.Generator) -> float:
        """Return the mean pairwise ARI of the labels that bootstrap fits give the same customers."""
        if self.n_bootstrap < 2:
            return float("nan")
        labels = []
        for b in tqdm(range(self.n_bootstrap), desc="k-means bootstrap", leave=False):
            idx = rng.integers(0, len(Xf), len(Xf))
            pipe = self._pipeline(self.k_, self.random_state + 1 + b).fit(Xf[idx])
            labels.append(pipe.predict(Xf))
        return float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labels, 2)]))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the cluster of each row."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("RFMKMeans is not fitted: call fit(features) first")
        with threadpool_limits(limits=self.n_threads):
            return self.pipeline_.predict(np.asarray(X, dtype="float64"))

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the standardized features."""
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("RFMKMeans is not fitted: call fit(features) first")
        return self.pipeline_[0].transform(np.asarray(X, dtype="float64"))


def make_model(params: dict, random_state: int = 42) -> RFMKMeans:
    """Return an unfitted :class:`RFMKMeans` from the ``segmentation.kmeans`` params (other keys ignored)."""
    keys = set(RFMKMeans._get_param_names()) - {"random_state"}
    return RFMKMeans(**{k: v for k, v in params.items() if k in keys}, random_state=random_state)


def assign_clusters(table: pd.DataFrame, features: pd.DataFrame, model: RFMKMeans) -> pd.DataFrame:
    """Return ``table`` with ``cluster`` (-1 without purchases) and ``cluster_name`` (``no_purchase``)."""
    labels = pd.Series(model.predict(features), index=features.index)
    out = table.copy()
    out[CLUSTER] = labels.reindex(out[C.CUSTOMER_ID]).fillna(NO_CLUSTER).astype("int64").to_numpy()
    names = {**model.names_, NO_CLUSTER: NO_PURCHASE}
    out[CLUSTER_NAME] = out[CLUSTER].map(names).astype("str")
    return out


def cluster_profile(table: pd.DataFrame) -> pd.DataFrame:
    """Return per cluster: name, count, share, mean recency/frequency/monetary and the main RFM segment."""
    b = table[table[CLUSTER] != NO_CLUSTER]
    g = b.groupby(CLUSTER)
    out = pd.DataFrame({
        CLUSTER_NAME: g[CLUSTER_NAME].first(),
        "count": g.size(),
        "recency_mean": g[RECENCY].mean().astype("float64"),
        "frequency_mean": g[FREQUENCY].mean(),
        "monetary_mean": g[MONETARY].mean(),
    })
    out["share"] = out["count"] / out["count"].sum()
    ct = pd.crosstab(b[CLUSTER], b[SEGMENT], normalize="index")
    out["main_rfm_segment"] = ct.idxmax(axis=1)
    out["main_rfm_share"] = ct.max(axis=1)
    return out.reset_index()


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
    truth = truth_segments.set_index(C.CUSTOMER_ID)[label].astype("str")
    t = truth.reindex(table[C.CUSTOMER_ID]).to_numpy()
    buyers = (table[FREQUENCY] > 0).to_numpy() & pd.notna(t)
    no_buy = ~(table[FREQUENCY] > 0).to_numpy()
    browsers = t == "browser"
    return {
        "ari_vs_truth": adjusted_rand_score(t[buyers], table[CLUSTER].to_numpy()[buyers]),
        "rfm_ari_vs_truth": adjusted_rand_score(t[buyers], table[SEGMENT].to_numpy()[buyers]),
        "truth_customers_compared": int(buyers.sum()),
        "browsers_without_purchase": float((browsers & no_buy).sum() / max(int(browsers.sum()), 1)),
    }


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
            perplexity = float(min(30.0, max(5.0, (len(Zs) - 1) / 3.0)))
            xy = TSNE(n_components=2, perplexity=perplexity, init="pca", max_iter=max(250, int(max_iter)),
                      random_state=random_state, n_jobs=n_threads).fit_transform(Zs)
        else:
            raise ValueError(f"embedding method '{method}' is unknown; use 'pca' or 'tsne'")
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], CLUSTER: np.asarray(labels)[rows]})
