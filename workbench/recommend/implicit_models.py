"""Matrix-factorisation recommenders from the ``implicit`` package (CPU): ALS and BPR.

Both fit on the customer x product CSR matrix (rows = customers, as ``implicit`` >= 0.5 expects) and
score a batch of customers as ``user_factors[rows] @ item_factors.T``. They run single-threaded with a
fixed ``random_state`` so results repeat exactly (multi-threaded BPR is Hogwild, not reproducible).
"""
from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from workbench.recommend.base import Recommender
from workbench.recommend.interactions import Interactions

log = logging.getLogger(__name__)


def _factors(x) -> np.ndarray:
    """A factor matrix as a float64 numpy array (GPU matrices are copied to the host)."""
    return np.asarray(x.to_numpy() if hasattr(x, "to_numpy") else x, dtype=np.float64)


class _ImplicitMF(Recommender):
    """Shared fit/score of the ``implicit`` factor models."""

    def _make(self):
        raise NotImplementedError

    def _fit(self, interactions: Interactions, **context) -> None:
        X = interactions.binary() if self.binary else interactions.matrix.astype(np.float32)
        X = sp.csr_matrix(X, dtype=np.float32)
        import implicit.als  # noqa: F401  (loaded before limiting, so the limit covers its BLAS too)
        import implicit.bpr  # noqa: F401

        with threadpool_limits(1, "blas"):  # implicit asks for single-threaded BLAS (and checks on creation)
            model = self._make()
            model.fit(X, show_progress=False)
        self.user_factors_ = _factors(model.user_factors)
        self.item_factors_ = _factors(model.item_factors)

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors_[rows] @ self.item_factors_.T


class ALS(_ImplicitMF):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via ``implicit.als``.

    A purchase has preference 1 and confidence ``alpha * value`` (``implicit``'s convention; Hu et al. and MLlib
    write ``1 + alpha * value``); every other cell has preference 0 and confidence 1. ``regularization`` is one
    fixed penalty per customer and per product factor.
    """

    name = "als"

    def __init__(self, factors: int = 32, regularization: float = 1.0, alpha: float = 1.0, iterations: int = 15,
                 binary: bool = True, random_state: int = 42):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.binary = binary
        self.random_state = random_state

    def _make(self):
        from implicit.als import AlternatingLeastSquares

        return AlternatingLeastSquares(factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                                       iterations=self.iterations, random_state=self.random_state, num_threads=1)


class BPR(_ImplicitMF):
    """Bayesian Personalised Ranking (Rendle et al. 2009) via ``implicit.bpr``."""

    name = "bpr"

    def __init__(self, factors: int = 64, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 50, binary: bool = True, random_state: int = 42):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.binary = binary
        self.random_state = random_state

    def _make(self):
        from implicit.bpr import BayesianPersonalizedRanking

        return BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                           regularization=self.regularization, iterations=self.iterations,
                                           random_state=self.random_state, num_threads=1)
