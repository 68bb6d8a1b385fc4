"""Collaborative filtering: item-kNN and EASE (implicit, closed form) and surprise rating models.

- :class:`ItemKNN`: cosine item-item similarity with shrinkage, the ``k_neighbors`` most similar items
  kept per item, scores = interactions @ similarity (all scipy.sparse).
- :class:`EASE`: Steck's "Embarrassingly Shallow Autoencoder" (WWW 2019): B = I - P / diag(P) with
  P = (X'X + lam I)^-1 and diag(B) = 0; scores = X @ B.
- :class:`SurpriseRecommender`: a fitted ``surprise`` model (SVD, SVDpp, BaselineOnly) used for ranking,
  scoring every product at once from its learnt arrays, e.g. ``mu + bu[:, None] + bi[None, :] + P @ Q.T``
  (not ``predict`` in a loop over user-item pairs).
- :func:`surprise_cv` / :func:`surprise_grid_search`: k-fold RMSE/MAE of surprise models (their own
  ``cross_validate`` / ``GridSearchCV``), for comparison with Surprise's published table.

ALS and BPR (the ``implicit`` package) live in :mod:`workbench.recommend.implicit_models`.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from workbench.data import contract as C
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


def _matrix(interactions: Interactions, binary: bool) -> sp.csr_matrix:
    """The fitted matrix as float32 CSR: 1/0 when ``binary`` else the stored strengths."""
    m = interactions.binary() if binary else interactions.matrix.astype(np.float32)
    return sp.csr_matrix(m)


def cosine_similarity_shrunk(X: sp.csr_matrix, shrink: float = 10.0, k_neighbors: int | None = 100,
                             block: int = 512) -> sp.csr_matrix:
    """Return the item x item cosine similarity ``x_i.x_j / (|x_i| |x_j| + shrink)`` (zero diagonal).

    With ``k_neighbors`` only the largest ``k_neighbors`` entries of each column are kept (column j =
    the neighbours that vote for item j). Computed in column blocks to bound memory.
    """
    X = sp.csc_matrix(X, dtype=np.float64)
    n = X.shape[1]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    XT = X.T.tocsr()
    rows, cols, vals = [], [], []
    for s in range(0, n, block):
        e = min(s + block, n)
        co = np.asarray((XT @ X[:, s:e]).todense())  # n x (e - s)
        sim = co / (norms[:, None] * norms[None, s:e] + shrink + 1e-12)
        sim[np.arange(s, e), np.arange(e - s)] = 0.0
        if k_neighbors is not None and k_neighbors < n:
            kk = max(int(k_neighbors), 1)
            idx = np.argpartition(-sim, kk - 1, axis=0)[:kk]
            v = np.take_along_axis(sim, idx, axis=0)
            c = np.broadcast_to(np.arange(s, e), idx.shape)
        else:
            idx = np.broadcast_to(np.arange(n)[:, None], sim.shape)
            v, c = sim, np.broadcast_to(np.arange(s, e), sim.shape)
        keep = v > 0
        rows.append(idx[keep])
        cols.append(c[keep])
        vals.append(v[keep])
    S = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return S.astype(np.float32)


class ItemKNN(Recommender):
    """Item-based kNN: score(u, j) = sum of cosine similarities (with shrinkage) between j and u's items."""

    name = "item_knn"
    #: largest dense copy of the similarity kept for scoring (400 MB = 10,000 items)
    max_dense_bytes = 400_000_000

    def __init__(self, k_neighbors: int = 100, shrink: float = 10.0, binary: bool = True):
        self.k_neighbors = k_neighbors
        self.shrink = shrink
        self.binary = binary

    def _fit(self, interactions: Interactions, **context) -> None:
        self.X_ = _matrix(interactions, self.binary)
        self.similarity_ = cosine_similarity_shrunk(self.X_, self.shrink, self.k_neighbors)
        # scores are dense per batch anyway: sparse @ dense is several times faster than sparse @ sparse
        # then todense, for a similarity that fits (items^2 x 4 bytes <= max_dense_bytes)
        n = self.similarity_.shape[0]
        self._dense_sim = self.similarity_.toarray() if n * n * 4 <= self.max_dense_bytes else None

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._dense_sim is not None:
            return np.asarray(self.X_[rows] @ self._dense_sim)  # float32, as the model computes
        return (self.X_[rows] @ self.similarity_).toarray()


def ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """Return EASE's item x item weights B for a Gram matrix X'X and L2 penalty ``lam`` (zero diagonal)."""
    if lam <= 0:
        raise ValueError(f"EASE needs lam > 0 (the L2 penalty), not {lam}")
    G = np.array(gram, dtype=np.float64, copy=True)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))[None, :]
    np.fill_diagonal(B, 0.0)
    return B


class EASE(Recommender):
    """EASE (Steck 2019): a closed-form item x item linear autoencoder; ``lam`` is its L2 penalty."""

    name = "ease"

    def __init__(self, lam: float = 500.0, binary: bool = True):
        self.lam = lam
        self.binary = binary

    def _fit(self, interactions: Interactions, **context) -> None:
        self.X_ = _matrix(interactions, self.binary)
        gram = np.asarray((self.X_.T @ self.X_).todense(), dtype=np.float64)
        self.B_ = ease_weights(gram, float(self.lam)).astype(np.float32)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.X_[rows] @ self.B_)  # float32, as the model computes


# ---- surprise ------------------------------------------------------------------------------------
#: surprise algorithms this module knows by name; the first three can rank (vectorised scorer)
SURPRISE_RANKERS = ("SVD", "SVDpp", "BaselineOnly")
SURPRISE_ALGOS = SURPRISE_RANKERS + ("KNNBaseline", "NMF", "KNNBasic", "KNNWithMeans", "SlopeOne", "CoClustering",
                                     "NormalPredictor")
#: surprise algorithms with a random initialisation (``random_state`` param)
_SEEDED = ("SVD", "SVDpp", "NMF", "CoClustering")


def surprise_class(name: str):
    """Return the surprise algorithm class called ``name`` (e.g. ``SVD``)."""
    import surprise

    if name not in SURPRISE_ALGOS or not hasattr(surprise, name):
        raise ValueError(f"unknown surprise algorithm {name!r}; choose one of {SURPRISE_ALGOS}")
    return getattr(surprise, name)


def _quiet(name: str, params: dict | None) -> dict:
    """Surprise params with verbose output off where the algorithm takes it."""
    p = dict(params or {})
    if name in ("BaselineOnly", "KNNBaseline", "KNNBasic"):
        p.setdefault("verbose", False)
    return p


def surprise_dataset(ratings: pd.DataFrame, col_user: str = C.CUSTOMER_ID, col_item: str = C.PRODUCT_ID,
                     col_rating: str = C.RATING, rating_scale: tuple[float, float] | None = None):
    """Return a ``surprise.Dataset`` of the (user, item, rating) rows, in their given order."""
    from surprise import Dataset, Reader

    df = ratings[[col_user, col_item, col_rating]]
    if rating_scale is None:
        rating_scale = (float(df[col_rating].min()), float(df[col_rating].max()))
    return Dataset.load_from_df(df, Reader(rating_scale=rating_scale))


class SurpriseRecommender(Recommender):
    """A surprise rating model (``SVD``, ``SVDpp`` or ``BaselineOnly``) ranking all products per customer.

    Fit on an :class:`Interactions` whose values are ratings (``Interactions.from_ratings``). Scores
    are the model's rating estimates for every product, computed from its arrays in one matrix
    expression per batch of customers (unclipped; products without ratings get the baseline).
    """

    def __init__(self, algo: str = "SVD", params: dict | None = None, random_state: int = 0):
        if algo not in SURPRISE_RANKERS:
            raise ValueError(f"SurpriseRecommender ranks with {SURPRISE_RANKERS}, not {algo!r}; use surprise_cv for "
                             f"the rating metrics of other surprise algorithms")
        self.algo = algo
        self.params = dict(params or {})
        self.random_state = random_state
        self.name = algo.lower()

    def _fit(self, interactions: Interactions, **context) -> None:
        from surprise import Dataset, Reader

        coo = interactions.matrix.tocoo()
        if coo.nnz == 0:
            raise ValueError("SurpriseRecommender needs ratings in the interaction matrix; it is empty")
        df = pd.DataFrame({"u": coo.row, "i": coo.col, "r": coo.data.astype(np.float64)})
        scale = (float(df["r"].min()), float(df["r"].max()))
        trainset = Dataset.load_from_df(df, Reader(rating_scale=scale)).build_full_trainset()
        params = _quiet(self.algo, self.params)
        if self.algo != "BaselineOnly":
            params.setdefault("random_state", self.random_state)
        model = surprise_class(self.algo)(**params)
        model.fit(trainset)
        n_u, n_i = interactions.shape
        # surprise's inner ids -> our matrix rows / columns (raw ids were the row / column numbers)
        u_map = pd.Series(trainset._raw2inner_id_users)  # raw (row) -> inner
        i_map = pd.Series(trainset._raw2inner_id_items)
        u_of = np.empty(len(u_map), dtype=np.int64)
        u_of[u_map.to_numpy()] = u_map.index.to_numpy(dtype=np.int64)
        i_of = np.empty(len(i_map), dtype=np.int64)
        i_of[i_map.to_numpy()] = i_map.index.to_numpy(dtype=np.int64)
        biased = getattr(model, "biased", True)
        self.mu_ = float(trainset.global_mean) if biased else 0.0
        self.bu_ = np.zeros(n_u)
        self.bi_ = np.zeros(n_i)
        if biased:
            self.bu_[u_of] = np.asarray(model.bu)
            self.bi_[i_of] = np.asarray(model.bi)
        self.P_ = self.Q_ = self.Y_ = None
        if hasattr(model, "pu"):
            f = np.asarray(model.pu).shape[1]
            self.P_ = np.zeros((n_u, f))
            self.Q_ = np.zeros((n_i, f))
            self.P_[u_of] = np.asarray(model.pu)
            self.Q_[i_of] = np.asarray(model.qi)
            if self.algo == "SVDpp":
                self.Y_ = np.zeros((n_i, f))
                self.Y_[i_of] = np.asarray(model.yj)
                self.N_ = interactions.binary().astype(np.float64).tocsr()
        self.model_ = model

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        est = self.mu_ + self.bu_[rows][:, None] + self.bi_[None, :]
        if self.P_ is not None:
            user = self.P_[rows]
            if self.Y_ is not None:
                N = self.N_[rows]
                cnt = np.asarray(N.sum(axis=1)).ravel()
                user = user + np.asarray(N @ self.Y_) / np.sqrt(np.maximum(cnt, 1.0))[:, None]
            est = est + user @ self.Q_.T
        return est


def surprise_cv(ratings: pd.DataFrame, models: dict[str, dict], folds: int = 5, seed: int = 0,
                rating_scale: tuple[float, float] | None = None, col_user: str = C.CUSTOMER_ID,
                col_item: str = C.PRODUCT_ID, col_rating: str = C.RATING, progress: bool = False) -> pd.DataFrame:
    """Return [model, rmse, mae, rmse_std, mae_std, fit_seconds] from ``folds``-fold CV of each surprise model.

    ``models`` maps a surprise algorithm name to its constructor params (``{}`` = Surprise defaults, with
    ``random_state=seed`` for the randomly initialised ones so reruns give the same numbers).
    Folds come from ``surprise.model_selection.KFold(folds, random_state=seed)`` over the rows in
    their given order, the protocol of Surprise's published benchmark table.
    """
    from surprise.model_selection import KFold, cross_validate

    data = surprise_dataset(ratings, col_user, col_item, col_rating, rating_scale)
    rows = []
    for name, params in tqdm(list(models.items()), desc="surprise CV", leave=False, disable=not progress):
        params = _quiet(name, params)
        if name in _SEEDED:
            params.setdefault("random_state", seed)  # Surprise's default (None) would not repeat
        algo = surprise_class(name)(**params)
        res = cross_validate(algo, data, measures=["RMSE", "MAE"], cv=KFold(n_splits=folds, random_state=seed),
                             n_jobs=1, verbose=False)
        rows.append({"model": name, "rmse": float(np.mean(res["test_rmse"])), "mae": float(np.mean(res["test_mae"])),
                     "rmse_std": float(np.std(res["test_rmse"])), "mae_std": float(np.std(res["test_mae"])),
                     "fit_seconds": float(np.sum(res["fit_time"]))})
        log.info("surprise %s: RMSE %.4f, MAE %.4f (%d-fold)", name, rows[-1]["rmse"], rows[-1]["mae"], folds)
    return pd.DataFrame(rows, columns=["model", "rmse", "mae", "rmse_std", "mae_std", "fit_seconds"])


def surprise_grid_search(ratings: pd.DataFrame, algo: str, grid: dict[str, list], folds: int = 5, seed: int = 0,
                         rating_scale: tuple[float, float] | None = None, col_user: str = C.CUSTOMER_ID,
                         col_item: str = C.PRODUCT_ID, col_rating: str = C.RATING) -> dict:
    """Return ``{"params", "rmse", "mae", "table"}``: the best (by RMSE) of surprise ``GridSearchCV`` over ``grid``.

    ``table`` has one row per grid point: its params as columns, then mean CV ``rmse`` and ``mae``.
    """
    from surprise.model_selection import GridSearchCV, KFold

    data = surprise_dataset(ratings, col_user, col_item, col_rating, rating_scale)
    grid = {k: list(v) for k, v in grid.items()}
    if algo in _SEEDED:
        grid.setdefault("random_state", [seed])
    gs = GridSearchCV(surprise_class(algo), grid, measures=["rmse", "mae"], cv=KFold(n_splits=folds, random_state=seed),
                      n_jobs=1)
    gs.fit(data)
    best = gs.best_index["rmse"]
    table = pd.DataFrame(gs.cv_results["params"]).assign(rmse=gs.cv_results["mean_test_rmse"],
                                                        mae=gs.cv_results["mean_test_mae"])
    return {"params": gs.cv_results["params"][best], "rmse": float(gs.cv_results["mean_test_rmse"][best]),
            "mae": float(gs.cv_results["mean_test_mae"][best]), "table": table}
