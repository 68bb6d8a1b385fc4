"""Collaborative filtering: item-kNN and EASE (implicit, closed form) and surprise rating models.

- :class:`ItemKNN`: cosine item-item similarity with shrinkage, the ``k_neighbors`` most similar items
  kept per item, scores = interactions @ similarity (all scipy.sparse).
- :class:`EASE`: Steck's "Embarrassingly Shallow Autoencoder" (WWW 2019): B = I - P / diag(P) with
  P = (X'X + lam I)^-1 and diag(B) = 0; scores = X @ B. With at most half as many customers as products,
  from one eigendecomposition of X'X (:class:`GramEigen`) shared by every ``lam`` of a grid; above
  ``max_items`` the weights cover the most interacted-with products only.
- :class:`SurpriseRecommender`: a fitted ``surprise`` model (SVD, SVDpp, BaselineOnly) used for ranking,
  scoring every product at once from its learnt arrays, e.g. ``mu + bu[:, None] + bi[None, :] + P @ Q.T``
  (not ``predict`` in a loop over user-item pairs).
- :func:`surprise_cv` / :func:`surprise_grid_search`: k-fold RMSE/MAE of surprise models (their own
  ``cross_validate`` / ``GridSearchCV``), for comparison with Surprise's published table.

ALS and BPR (the ``implicit`` package) live in :mod:`workbench.recommend.implicit_models`.
"""
from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.cache import cached
from workbench.data import contract
from workbench.progress import tqdm
from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


def _matrix(interactions: Interactions, binary: bool) -> sp.csr_matrix:
    """The fitted matrix as float32 CSR: 1/0 when ``binary`` else the stored strengths."""
    m = interactions.binary() if binary else interactions.matrix.astype(np.float32)
    return sp.csr_matrix(m)


#: largest dense products x products co-occurrence item-kNN keeps (400 MB: 10,000 products of 0/1 data)
DENSE_COOCCURRENCE_BYTES = 400_000_000
_COOCCURRENCE_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()


def dense_cooccurrence(X: sp.spmatrix) -> np.ndarray | None:
    """X'X as a dense array when it fits ``DENSE_COOCCURRENCE_BYTES``, else ``None``.

    float32 when X is 0/1 (exact counts), float64 otherwise. The last matrix's result is remembered (by
    content): a grid over shrink and neighbours fits one matrix many times and computes it once.
    """
    X = sp.csr_matrix(X)
    m, n = X.shape
    exact32 = m < 2 ** 24 and bool(np.all(X.data == 1.0))
    dtype = np.float32 if exact32 else np.float64
    if n * n * np.dtype(dtype).itemsize > DENSE_COOCCURRENCE_BYTES:
        return None
    key = _content_key(X)
    if key not in _COOCCURRENCE_CACHE:
        _COOCCURRENCE_CACHE.clear()
        _COOCCURRENCE_CACHE[key] = (X.T @ X).toarray().astype(dtype)
    return _COOCCURRENCE_CACHE[key]


def cosine_similarity_shrunk(X: sp.csr_matrix, shrink: float = 10.0, k_neighbors: int | None = 100,
                             block: int = 512) -> sp.csr_matrix:
    """Return the item x item cosine similarity ``x_i.x_j / (|x_i| |x_j| + shrink)`` (zero diagonal).

    With ``k_neighbors`` only the largest ``k_neighbors`` entries of each column are kept (column j =
    the neighbours that vote for item j). Computed in column blocks to bound memory.
    """
    X = sp.csc_matrix(X, dtype=np.float64)
    n = X.shape[1]
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    full = dense_cooccurrence(X)
    XT = X.T.tocsr() if full is None else None
    rows, cols, vals = [], [], []
    for s in range(0, n, block):
        e = min(s + block, n)
        # block rows: items s..e-1 against every item (the matrix is symmetric), contiguous along the items
        co = full[s:e].astype(np.float64) if full is not None else np.asarray((XT[s:e] @ X).todense())
        sim = co / (norms[s:e, None] * norms[None, :] + shrink + 1e-12)
        sim[np.arange(e - s), np.arange(s, e)] = 0.0
        if k_neighbors is not None and k_neighbors < n:
            kk = max(int(k_neighbors), 1)
            idx = np.argpartition(-sim, kk - 1, axis=1)[:, :kk]
            v = np.take_along_axis(sim, idx, axis=1)
        else:
            idx = np.broadcast_to(np.arange(n)[None, :], sim.shape)
            v = sim
        c = np.broadcast_to(np.arange(s, e)[:, None], idx.shape)
        keep = v > 0
        rows.append(idx[keep])
        cols.append(c[keep])
        vals.append(v[keep])
    S = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return S.astype(np.float32)


_BOUNDS_SAID: set[tuple] = set()


def most_interacted(X: sp.csr_matrix, max_items: int, model: str, why: str) -> np.ndarray | None:
    """Column indices (sorted) of the ``max_items`` most interacted-with products when the catalog is larger,
    else ``None``; logs the bound and ``why`` it exists."""
    n = X.shape[1]
    if n <= max_items:
        return None
    counts = np.asarray((X != 0).sum(axis=0)).ravel()
    said = (model, n, max_items) in _BOUNDS_SAID  # a grid fits the same shape many times: say it once
    _BOUNDS_SAID.add((model, n, max_items))
    (log.debug if said else log.warning)("%s: %d products exceed max_items=%d (%s): it covers the %d most interacted-with products; the "
                "other %d score 0", model, n, max_items, why, max_items, n - max_items)
    return np.sort(np.argsort(-counts, kind="stable")[:max_items])


def _on_columns(scores: np.ndarray, items: np.ndarray | None, n: int) -> np.ndarray:
    """Scores of the bounded columns ``items`` spread over all ``n`` products (0 elsewhere)."""
    if items is None:
        return scores
    out = np.zeros((scores.shape[0], n), dtype=scores.dtype)
    out[:, items] = scores
    return out


class ItemKNN(Recommender):
    """Item-based kNN: score(u, j) = sum of cosine similarities (with shrinkage) between j and u's items.

    The similarity costs the square of the catalog (time and memory): above ``max_items`` products it
    covers the ``max_items`` most interacted-with ones, and the log says so.
    """

    name = "item_knn"
    #: largest dense copy of the similarity kept for scoring (400 MB = 10,000 items)
    max_dense_bytes = 400_000_000
    #: largest catalog of the item x item similarity (5,000 products: 25 million pairs, a few seconds)
    max_items = 5_000

    def __init__(self, k_neighbors: int = 100, shrink: float = 10.0, binary: bool = True,
                 max_items: int | None = None):
        self.k_neighbors = k_neighbors
        self.shrink = shrink
        self.binary = binary
        if max_items is not None:
            self.max_items = int(max_items)

    def _fit(self, interactions: Interactions, **context) -> None:
        self.X_ = _matrix(interactions, self.binary)
        self.items_ = most_interacted(self.X_, self.max_items, self.name,
                                      "the item x item similarity grows with the square of the catalog")
        X = self.X_ if self.items_ is None else self.X_[:, self.items_]
        sim = cosine_similarity_shrunk(X, self.shrink, self.k_neighbors)
        # scores are dense per batch anyway: sparse @ dense is several times faster than sparse @ sparse
        # then todense, for a similarity that fits (items^2 x 4 bytes <= max_dense_bytes)
        n = sim.shape[0]
        self._dense_sim = sim.toarray() if n * n * 4 <= self.max_dense_bytes else None
        if self.items_ is not None:  # the similarity over the whole catalog (no pairs outside the bound)
            coo = sim.tocoo()
            sim = sp.csr_matrix((coo.data, (self.items_[coo.row], self.items_[coo.col])), shape=(self.X_.shape[1],) * 2)
        self.similarity_ = sim

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        if self._dense_sim is None:
            return (self.X_[rows] @ self.similarity_).toarray()
        X = self.X_[rows] if self.items_ is None else self.X_[rows][:, self.items_]
        return _on_columns(np.asarray(X @ self._dense_sim), self.items_, self.X_.shape[1])  # float32


def ease_weights(gram: np.ndarray, lam: float) -> np.ndarray:
    """Return EASE's item x item weights B for a Gram matrix X'X and L2 penalty ``lam`` (zero diagonal)."""
    _check_lam(lam)
    G = np.array(gram, dtype=np.float64, copy=True)
    G[np.diag_indices_from(G)] += lam
    P = np.linalg.inv(G)
    B = P / (-np.diag(P))[None, :]
    np.fill_diagonal(B, 0.0)
    return B


def ease_weights_of(X: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE's weights (float32, as the model scores) for the interaction matrix ``X`` and penalty ``lam``."""
    gram = np.asarray((X.T @ X).todense(), dtype=np.float64)
    return ease_weights(gram, lam).astype(np.float32)


def _check_lam(lam: float) -> None:
    if lam <= 0:
        raise ValueError(f"EASE needs lam > 0 (the L2 penalty), not {lam}")


@dataclass(frozen=True)
class GramEigen:
    """The eigendecomposition of a Gram matrix G = X'X on its range: G = V diag(w) V' (V: items x r,
    orthonormal columns, w > 0); the rest of the item space has eigenvalue 0.

    With it, every L2 penalty is cheap: (G + lam I)^-1 = V diag(1/(w + lam)) V' + (I - V V') / lam, so
    P's diagonal costs O(items x r) and a batch of score rows O(batch x items x r), with no items x items
    matrix at all.
    """

    vectors: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, X: sp.spmatrix) -> "GramEigen":
        """The decomposition of X'X through the smaller X X' (customers x customers): if X X' = U diag(w) U',
        then X'X = V diag(w) V' with V = X' U / sqrt(w). Eigenvalues below ``w.max() * 1e-10`` count as 0."""
        X = sp.csr_matrix(X, dtype=np.float64)
        w, U = np.linalg.eigh((X @ X.T).toarray())
        keep = w > max(float(w.max(initial=0.0)), 1.0) * 1e-10
        w, U = w[keep], U[:, keep]
        V = np.asarray(X.T @ U) / np.sqrt(w)[None, :]
        return cls(vectors=V, values=w)

    def _coef(self, lam: float) -> np.ndarray:
        return 1.0 / (self.values + lam) - 1.0 / lam

    def p_diagonal(self, lam: float) -> np.ndarray:
        """diag((G + lam I)^-1)."""
        _check_lam(lam)
        return 1.0 / lam + (self.vectors ** 2) @ self._coef(lam)

    def ease_scores(self, rows: sp.spmatrix, lam: float) -> np.ndarray:
        """``rows @ B`` for EASE's B = I - P diag(1/diag(P)), P = (G + lam I)^-1 (B's diagonal is 0)."""
        rows = sp.csr_matrix(rows, dtype=np.float64)
        dense = rows.toarray()
        RP = ((rows @ self.vectors) * self._coef(lam)[None, :]) @ self.vectors.T
        RP += dense / lam
        return dense - RP / self.p_diagonal(lam)[None, :]


#: decompositions kept, by matrix content (a grid over lam fits one matrix several times)
_EIGEN_CACHE: OrderedDict[tuple, GramEigen] = OrderedDict()
_EIGEN_CACHE_SIZE = 2


def _content_key(X: sp.csr_matrix) -> tuple:
    h = hashlib.blake2b(digest_size=16)
    for a in (X.indptr, X.indices, X.data):
        h.update(np.ascontiguousarray(a).tobytes())
    return X.shape, h.hexdigest()


def gram_eigen(X: sp.csr_matrix) -> GramEigen:
    """:meth:`GramEigen.of` remembered for the last two matrices (by content): a grid of penalties on one
    matrix decomposes it once."""
    X = sp.csr_matrix(X)
    key = _content_key(X)
    if key in _EIGEN_CACHE:
        _EIGEN_CACHE.move_to_end(key)
        return _EIGEN_CACHE[key]
    _EIGEN_CACHE[key] = eig = GramEigen.of(X)
    while len(_EIGEN_CACHE) > _EIGEN_CACHE_SIZE:
        _EIGEN_CACHE.popitem(last=False)
    return eig


class EASE(Recommender):
    """EASE (Steck 2019): a closed-form item x item linear autoencoder; ``lam`` is its L2 penalty.

    With at most half as many customers as products the Gram matrix X'X has rank at most the number of
    customers, and EASE works from its eigendecomposition (:class:`GramEigen`, computed once per matrix and
    shared by every ``lam`` of a grid): no products x products inverse and no products x products weights.
    (An eigendecomposition costs about 9 inverses of its size here, so below that ratio one inverse per
    ``lam`` is cheaper.) Otherwise B comes from the inverse. Either way the cost is cubic in
    min(customers, products): above ``max_items`` the weights cover only the ``max_items`` most
    interacted-with products (the others get no weights: score 0), and the log says so.
    """

    name = "ease"
    #: largest min(customers, products) decomposed or inverted (a 10,000 x 10,000 inverse takes ~45 s here)
    max_items = 10_000

    def __init__(self, lam: float = 500.0, binary: bool = True, max_items: int | None = None):
        self.lam = lam
        self.binary = binary
        if max_items is not None:
            self.max_items = int(max_items)

    def _fit(self, interactions: Interactions, **context) -> None:
        _check_lam(float(self.lam))
        self.X_ = _matrix(interactions, self.binary)
        n_rows, n_items = self.X_.shape
        self.B_ = self.eigen_ = self.items_ = None
        X = self.X_
        if min(n_rows, n_items) > self.max_items:
            self.items_ = most_interacted(X, self.max_items, self.name,
                                          f"its cost is cubic in min(customers, products), here {min(X.shape):,}")
            X = X[:, self.items_]
        if 2 * X.shape[0] <= X.shape[1]:
            self.eigen_ = gram_eigen(X)
            log.debug("EASE: %d customers < %d products: the Gram matrix has rank %d, lam=%g uses its "
                      "eigendecomposition", *X.shape, len(self.eigen_.values), self.lam)
            return
        self.B_ = cached(ease_weights_of)(X, float(self.lam))

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        X = self.X_[rows] if self.items_ is None else self.X_[rows][:, self.items_]
        if self.eigen_ is not None:
            scores = self.eigen_.ease_scores(X, float(self.lam)).astype(np.float32)
        else:
            scores = np.asarray(X @ self.B_)  # float32, as the model computes
        return _on_columns(scores, self.items_, self.X_.shape[1])


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


def surprise_dataset(ratings: pd.DataFrame, col_user: str = contract.CUSTOMER_ID, col_item: str = contract.PRODUCT_ID,
                     col_rating: str = contract.RATING, rating_scale: tuple[float, float] | None = None):
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

    @classmethod
    def from_params(cls, params: dict | None, strict: bool = False) -> "SurpriseRecommender":
        """An instance from a flat params block: ``algo`` and ``random_state``, every other key a parameter of
        the surprise algorithm (which checks them itself when it is fitted)."""
        rest = dict(params or {})
        algo = rest.pop("algo", "SVD")
        random_state = rest.pop("random_state", 0)
        return cls(algo, rest, random_state=random_state)

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


#: largest similarity matrix (users or products a side) a surprise KNN model may build: its memory and time grow
#: with the square (8,000 a side: 0.5 GB)
MAX_KNN_SIDE = 8_000


def knn_bound_reason(name: str, params: dict, ratings: pd.DataFrame, col_user: str = contract.CUSTOMER_ID,
                     col_item: str = contract.PRODUCT_ID, max_side: int = MAX_KNN_SIDE) -> str | None:
    """Why the surprise KNN model ``name`` is not run on ``ratings`` (its similarity matrix would exceed
    ``max_side`` x ``max_side``), or ``None`` when it fits or is not a KNN model."""
    if not name.startswith("KNN"):
        return None
    user_based = (params.get("sim_options") or {}).get("user_based", True)
    side, what = (ratings[col_user].nunique(), "customers") if user_based else (ratings[col_item].nunique(), "products")
    if side <= max_side:
        return None
    return (f"{name} skipped: its {'user' if user_based else 'item'}-based similarity over {side:,} {what} is "
            f"{side:,} x {side:,} (memory and time grow with the square; the bound is {max_side:,} a side)")


def _cross_validate(make_algo, data, folds: int, seed: int, bar) -> dict[str, list[float]]:
    """surprise's own k-fold loop (``KFold`` + ``fit_and_score``), one progress step per fold."""
    from surprise.model_selection import KFold
    from surprise.model_selection.validation import fit_and_score

    out = {"rmse": [], "mae": [], "fit_time": []}
    for trainset, testset in KFold(n_splits=folds, random_state=seed).split(data):
        measures, _, fit_time, _ = fit_and_score(make_algo(), trainset, testset, ["rmse", "mae"])
        out["rmse"].append(measures["rmse"])
        out["mae"].append(measures["mae"])
        out["fit_time"].append(fit_time)
        bar.update()
    return out


def surprise_cv(ratings: pd.DataFrame, models: dict[str, dict], folds: int = 5, seed: int = 0,
                rating_scale: tuple[float, float] | None = None, col_user: str = contract.CUSTOMER_ID,
                col_item: str = contract.PRODUCT_ID, col_rating: str = contract.RATING, progress: bool = True,
                max_knn_side: int = MAX_KNN_SIDE) -> pd.DataFrame:
    """Return [model, rmse, mae, rmse_std, mae_std, fit_seconds] from ``folds``-fold CV of each surprise model.

    ``models`` maps a surprise algorithm name to its constructor params (``{}`` = Surprise defaults, with
    ``random_state=seed`` for the randomly initialised ones so reruns give the same numbers).
    Folds come from ``surprise.model_selection.KFold(folds, random_state=seed)`` over the rows in
    their given order, the protocol of Surprise's published benchmark table (the loop of its
    ``cross_validate``, one progress step per fold). A KNN model whose similarity matrix would exceed
    ``max_knn_side`` a side is skipped, and the log says why.
    """
    data = surprise_dataset(ratings, col_user, col_item, col_rating, rating_scale)
    runnable = {}
    for name, params in models.items():
        reason = knn_bound_reason(name, params, ratings, col_user, col_item, max_knn_side)
        if reason:
            log.warning(reason)
        else:
            runnable[name] = params
    rows = []
    with tqdm(total=len(runnable) * folds, desc="surprise CV", unit="fit", disable=not progress) as bar:
        for name, params in runnable.items():
            bar.set_postfix_str(name, refresh=False)
            params = _quiet(name, params)
            if name in _SEEDED:
                params.setdefault("random_state", seed)  # Surprise's default (None) would not repeat
            res = _cross_validate(lambda: surprise_class(name)(**params), data, folds, seed, bar)
            rows.append({"model": name, "rmse": float(np.mean(res["rmse"])), "mae": float(np.mean(res["mae"])),
                         "rmse_std": float(np.std(res["rmse"])), "mae_std": float(np.std(res["mae"])),
                         "fit_seconds": float(np.sum(res["fit_time"]))})
            log.info("surprise %s: RMSE %.4f, MAE %.4f (%d-fold)", name, rows[-1]["rmse"], rows[-1]["mae"], folds)
    return pd.DataFrame(rows, columns=["model", "rmse", "mae", "rmse_std", "mae_std", "fit_seconds"])


def surprise_grid_search(ratings: pd.DataFrame, algo: str, grid: dict[str, list], folds: int = 5, seed: int = 0,
                         rating_scale: tuple[float, float] | None = None, col_user: str = contract.CUSTOMER_ID,
                         col_item: str = contract.PRODUCT_ID, col_rating: str = contract.RATING, progress: bool = True) -> dict:
    """Return ``{"params", "rmse", "mae", "table"}``: the best (by RMSE) of a k-fold grid search over ``grid``.

    ``table`` has one row per grid point: its params as columns, then mean CV ``rmse`` and ``mae``. The
    search is surprise ``GridSearchCV``'s (every combination on the same ``KFold(folds, random_state=seed)``
    folds, a fresh model per fold, the lowest mean RMSE wins, ties to the first), one progress step per fit.
    """
    from surprise.model_selection import GridSearchCV

    data = surprise_dataset(ratings, col_user, col_item, col_rating, rating_scale)
    grid = {k: list(v) for k, v in grid.items()}
    if algo in _SEEDED:
        grid.setdefault("random_state", [seed])
    points = GridSearchCV(surprise_class(algo), grid, measures=["rmse"]).param_combinations
    rmse, mae = [], []
    with tqdm(total=len(points) * folds, desc=f"grid search {algo}", unit="fit", disable=not progress) as bar:
        for point in points:
            bar.set_postfix_str(str(point), refresh=False)
            res = _cross_validate(lambda: surprise_class(algo)(**point), data, folds, seed, bar)
            rmse.append(float(np.mean(res["rmse"])))
            mae.append(float(np.mean(res["mae"])))
    best = int(np.argmin(rmse))
    table = pd.DataFrame(points).assign(rmse=rmse, mae=mae)
    return {"params": points[best], "rmse": rmse[best], "mae": mae[best], "table": table}
