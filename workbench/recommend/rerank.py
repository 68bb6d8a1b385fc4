"""The learned hybrid: a LightGBM ``LGBMRanker`` (lambdarank) re-ranking the blend's top candidates.

Stage 1 is a blend of the components (:class:`~workbench.recommend.hybrid.CandidateSet`); the ranker
re-orders each customer's top ``depth`` blended candidates using the components' normalised scores and
rank positions plus customer and product features (popularity, log price, the customer's share of
purchases in the product's category, history length). It is trained on a validation split carved out
of train (several validation folds pooled when configured), one query group per customer and fold,
relevance = the product is in the customer's held-out basket.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import scipy.sparse as sp

from workbench.data import contract
from workbench.recommend import side_features
from workbench.recommend.base import constructor_kwargs, top_k
from workbench.recommend.hybrid import CandidateSet, HybridRecommender
from workbench.errors import StageSkipped
from workbench.stages import require

log = logging.getLogger(__name__)


def product_table(hybrid: HybridRecommender, products: pd.DataFrame) -> pd.DataFrame:
    """Return per product of the hybrid's universe: ``category`` code, ``log_price``, ``log_popularity``."""
    pid = hybrid.interactions_.product_ids
    p = products.assign(**{contract.PRODUCT_ID: products[contract.PRODUCT_ID].astype("str")}).drop_duplicates(contract.PRODUCT_ID)
    p = p.set_index(contract.PRODUCT_ID).reindex(pid)
    cat = pd.Series(p[contract.CATEGORY].astype("str").fillna("unknown").to_numpy())
    price = pd.to_numeric(p[contract.PRICE], errors="coerce").to_numpy(dtype=np.float64)
    counts = np.asarray(hybrid.interactions_.binary().sum(axis=0)).ravel()
    return pd.DataFrame({
        "category": pd.factorize(cat, sort=True)[0],
        "log_price": np.log(np.where(np.isfinite(price) & (price > 0), price, np.nanmedian(price))),
        "log_popularity": np.log1p(counts),
    }, index=pid)


def category_share(hybrid: HybridRecommender, customer_ids: pd.Index, category: np.ndarray) -> np.ndarray:
    """Return (customers x categories): the share of each customer's distinct products in each category."""
    rows = hybrid.interactions_.customer_index(customer_ids)
    n_cat = int(category.max()) + 1 if len(category) else 1
    onehot = sp.csr_matrix((np.ones(len(category), dtype=np.float32), (np.arange(len(category)), category)),
                           shape=(len(category), n_cat))
    held = hybrid.interactions_.binary()
    counts = np.zeros((len(rows), n_cat), dtype=np.float32)
    known = rows >= 0
    if known.any():
        counts[known] = (held[rows[known]] @ onehot).toarray()
    tot = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, tot, out=np.zeros_like(counts), where=tot > 0)


class LearnedReranker:
    """LGBMRanker (lambdarank) over the top ``depth`` candidates of a base blend (scikit-learn style)."""

    def __init__(self, depth: int = 50, n_estimators: int = 100, learning_rate: float = 0.03,
                 num_leaves: int = 7, min_child_samples: int = 100, seed: int = 0, side_info: bool = True):
        self.depth = int(depth)
        self.n_estimators = int(n_estimators)
        self.learning_rate = float(learning_rate)
        self.num_leaves = int(num_leaves)
        self.min_child_samples = int(min_child_samples)
        self.seed = int(seed)
        self.side_info = bool(side_info)

    @classmethod
    def from_params(cls, params: dict) -> "LearnedReranker":
        """A re-ranker from a ``hybrid.reranker`` params block (unknown keys ignored)."""
        return cls(**constructor_kwargs(cls, params))

    def feature_names(self, cs: CandidateSet) -> list[str]:
        """Return the feature column names for a candidate set's components (and the side information)."""
        side = self.encoder_.feature_names if self.side_info and hasattr(self, "encoder_") else []
        return ([f"score_{n}" for n in cs.names] + [f"logpos_{n}" for n in cs.names]
                + ["base_score", "base_rank", "log_popularity", "log_price", "category_share", "log_history"] + side)

    def features(self, cs: CandidateSet, base: np.ndarray, hybrid: HybridRecommender,
                 products: pd.DataFrame, customers: pd.DataFrame | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Return ``(X, cols, ok)``: features of each customer's top-``depth`` base candidates.

        ``cols`` (customers x depth) are candidate columns of ``cs`` in base order, ``ok`` marks real
        candidates, ``X`` has one row per (customer, slot), customers in order (ok and not ok rows).
        ``customers``: the customer side table (:func:`~workbench.recommend.side_features.customer_table`) when
        ``side_info`` is on.
        """
        cols, val = top_k(base, self.depth)
        ok = np.isfinite(val)
        n, d = cols.shape
        items = np.take_along_axis(cs.items, cols, axis=1)
        safe = np.maximum(items, 0)
        sc = np.take_along_axis(cs.scores, cols[:, :, None], axis=1)  # n x d x J
        pos = np.take_along_axis(cs.positions, cols[:, :, None], axis=1).astype(np.float32)
        logpos = np.log1p(np.minimum(np.where(np.isfinite(pos), pos, 1e6), 1e6))
        pt = product_table(hybrid, products)
        share = category_share(hybrid, cs.customer_ids, pt["category"].to_numpy())
        cat = pt["category"].to_numpy()[safe]
        feats = [
            sc.reshape(n * d, -1), logpos.reshape(n * d, -1),
            np.where(ok, val, 0.0).reshape(-1, 1),
            np.tile(np.arange(1, d + 1), n).reshape(-1, 1),
            pt["log_popularity"].to_numpy()[safe].reshape(-1, 1),
            pt["log_price"].to_numpy()[safe].reshape(-1, 1),
            np.take_along_axis(share, cat, axis=1).reshape(-1, 1),
            np.repeat(np.log1p(cs.history), d).reshape(-1, 1),
        ]
        if self.side_info and hasattr(self, "encoder_"):
            C, Pr = self.encoder_.transform(_customer_rows(customers, cs.customer_ids),
                                            side_features.product_table(products, hybrid.interactions_.product_ids))
            feats += [np.repeat(C, d, axis=0), Pr[safe.ravel()]]
        return np.hstack(feats).astype(np.float32), cols, ok

    def fit(self, cs: CandidateSet, base: np.ndarray, hybrid: HybridRecommender,
            products: pd.DataFrame) -> "LearnedReranker":
        """Train on a candidate set with truth (``cs.with_truth``): one lambdarank query per customer."""
        return self.fit_folds([(cs, base, hybrid)], products)

    def fit_folds(self, folds: list[tuple[CandidateSet, np.ndarray, HybridRecommender]],
                  products: pd.DataFrame) -> "LearnedReranker":
        """Train on several validation folds pooled: ``(candidate set with truth, base blend, its hybrid)`` each.

        Each fold's features come from its own hybrid (popularity and category shares of the data it was
        fitted on); every (fold, customer) is one lambdarank query.
        """
        from lightgbm import LGBMRanker

        folds = [tuple(f) + (None,) * (4 - len(f)) for f in folds]
        if self.side_info:
            cust = pd.concat([_customer_rows(c, cs.customer_ids) for cs, _, _, c in folds])
            self.encoder_ = side_features.SideEncoder().fit(
                cust, side_features.product_table(products, folds[0][2].interactions_.product_ids))
        Xs, ys, groups = [], [], []
        for cs, base, hybrid, customers in folds:
            if cs.rel is None:
                raise ValueError("the training candidate set needs relevance labels: call cs.with_truth(validation)")
            X, cols, ok = self.features(cs, base, hybrid, products, customers)
            y = np.take_along_axis(cs.rel, cols, axis=1) & ok
            keep_q = y.any(axis=1) & (ok.sum(axis=1) > 1)  # queries without a positive carry no gradient
            row_keep = np.repeat(keep_q, cols.shape[1]) & ok.ravel()
            Xs.append(X[row_keep])
            ys.append(y.ravel()[row_keep].astype(int))
            groups.append(ok[keep_q].sum(axis=1))
            self.feature_names_ = self.feature_names(cs)
        group = np.concatenate(groups) if groups else np.zeros(0, dtype=int)
        n_customers = sum(len(f[0]) for f in folds)
        require(len(group) > 0, "hybrid.reranker",
                f"the learned re-ranker learns from validation customers with a relevant product among their top "
                f"{self.depth} candidates beside another candidate, and none of the {n_customers} has one (params "
                f"hybrid.reranker.depth, hybrid.candidates); the learned variant is left out, the other hybrids stand")
        self.model_ = LGBMRanker(objective="lambdarank", n_estimators=self.n_estimators,
                                 learning_rate=self.learning_rate, num_leaves=self.num_leaves,
                                 min_child_samples=self.min_child_samples, random_state=self.seed, n_jobs=1,
                                 deterministic=True, force_row_wise=True, verbose=-1)
        cat = self.encoder_.categorical if self.side_info else []
        self.model_.fit(pd.DataFrame(np.vstack(Xs), columns=self.feature_names_), np.concatenate(ys), group=group,
                        categorical_feature=cat or "auto")
        self.n_queries_ = int(len(group))
        log.info("reranker: %d queries over %d folds, %d rows, %d features", self.n_queries_, len(folds),
                 int(group.sum()), len(self.feature_names_))
        return self

    def cross_fit_scores(self, folds: list[tuple], products: pd.DataFrame, n_splits: int = 2) -> list[np.ndarray]:
        """Return, per fold, scores of a re-ranker with these settings that never saw the customer scored.

        The customers (the same id in every fold) are split at random (``seed``) into ``n_splits`` parts; a
        re-ranker fitted on the other parts scores each part, so the validation NDCG of the learned variant is
        out of sample like the blends'. Parts without a usable query keep the base blend's order."""
        folds = [tuple(f) + (None,) * (4 - len(f)) for f in folds]
        ids = pd.Index(np.unique(np.concatenate([f[0].customer_ids.to_numpy(dtype=str) for f in folds])))
        part = pd.Series(np.random.default_rng(self.seed).permutation(len(ids)) % int(n_splits), index=ids)
        out = [np.array(f[1], dtype=np.float64, copy=True) for f in folds]
        for p in range(int(n_splits)):
            train = [part.reindex(f[0].customer_ids).to_numpy() != p for f in folds]
            learner = self.clone()
            parts = [(cs.subset(m), base[m], hyb, cust) for (cs, base, hyb, cust), m in zip(folds, train) if m.any()]
            try:
                require(bool(parts), "hybrid.reranker", "no customer to learn from in this part")
                learner.fit_folds(parts, products)
            except StageSkipped:
                continue  # this part keeps the base blend's order
            for i, ((cs, base, hyb, cust), m) in enumerate(zip(folds, train)):
                if (~m).any():
                    out[i][~m] = learner.scores(cs.subset(~m), base[~m], hyb, products, cust)
        return out

    def clone(self, **changes) -> "LearnedReranker":
        """An unfitted re-ranker with the same settings (``changes`` replace some)."""
        return type(self)(**{**dict(depth=self.depth, n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                    num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                    seed=self.seed, side_info=self.side_info), **changes})

    def scores(self, cs: CandidateSet, base: np.ndarray, hybrid: HybridRecommender,
               products: pd.DataFrame, customers: pd.DataFrame | None = None) -> np.ndarray:
        """Return ranker scores (customers x candidates of ``cs``): -inf outside each top-``depth``."""
        if not hasattr(self, "model_"):
            raise RuntimeError("LearnedReranker is not fitted: call fit(...) on a validation candidate set first")
        X, cols, ok = self.features(cs, base, hybrid, products, customers)
        pred = self.model_.predict(pd.DataFrame(X, columns=self.feature_names_)).reshape(cols.shape)
        out = np.full(base.shape, -np.inf)
        r, c = np.nonzero(ok)
        out[r, cols[r, c]] = pred[r, c]
        return out

    def importance(self) -> pd.Series:
        """Return the ranker's gain importance per feature, largest first."""
        imp = self.model_.booster_.feature_importance(importance_type="gain")
        return pd.Series(imp, index=self.feature_names_, name="gain").sort_values(ascending=False, kind="stable")


def _customer_rows(customers: pd.DataFrame | None, customer_ids: pd.Index) -> pd.DataFrame:
    """The side table's rows for ``customer_ids`` in order (a customer it lacks: missing values)."""
    if customers is None:
        return pd.DataFrame(index=customer_ids)
    return customers.reindex(customer_ids)
