"""Model selection for customer clusters: every candidate model and k scored, one documented rule chooses.

Candidates are k-means and Gaussian mixtures (``gmm_full``, ``gmm_diag``; any scikit-learn covariance type
as ``gmm_<type>``) over every k of ``k_range``, each a ``StandardScaler`` + estimator pipeline fitted on at
most ``fit_sample`` customers. Every candidate gets the same criteria:

===================== ============ ==================================================================
criterion             better       computed on
===================== ============ ==================================================================
``silhouette``        higher       the criteria sample (``criteria_sample`` customers of the fit sample)
``calinski_harabasz`` higher       the fit sample (linear cost)
``davies_bouldin``    lower        the fit sample
``bic``, ``aic``      lower        the fit sample, mixtures only (scikit-learn's ``bic`` / ``aic``)
``icl``               lower        the fit sample, mixtures only: BIC + 2 x the classification entropy
                                   (Biernacki, Celeux & Govaert 2000)
``gap``, ``gap_se``   see ``gap``  the criteria sample against ``gap_references`` uniform data sets in the
                                   box of its principal components (Tibshirani, Walther & Hastie 2001)
``stability_ari``     higher       mean adjusted Rand index between refits on ``n_bootstrap`` bootstrap
                                   resamples of the criteria sample, all labelling the criteria sample
===================== ============ ==================================================================

A rule (:data:`RULES`) chooses the model and k from that table and says why. The default, ``icl``, was
chosen on synthetic shops of seeds and sizes that no check uses (see docs/methods/clusters.md and notebook 01):
clustering features are skewed and partly discrete (every one-off buyer has exactly the same
frequency), so the BIC keeps adding components that carve density bumps out of one group, and the
silhouette prefers two clusters; the ICL charges each component for the customers it cannot claim
clearly, so it counts groups. ``reg_covar`` (added to the diagonal of each standardised covariance)
keeps a component from collapsing onto one value of a discrete feature.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score,
                             silhouette_score)
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from workbench.errors import ConfigError, NotFittedError
from workbench.progress import tqdm
from workbench.stages import require

log = logging.getLogger(__name__)

#: the metrics key a clustering that cannot run (too few buyers) records its skip under
CLUSTERING_STAGE = "segmentation.clustering"

KMEANS, GMM_PREFIX = "kmeans", "gmm_"
MODELS = (KMEANS, "gmm_full", "gmm_diag")
COVARIANCE_TYPES = ("full", "diag", "tied", "spherical")
#: rows assigned at a time (the mixtures' per-component log densities of a chunk stay small)
CHUNK = 100_000
CRITERIA = ("silhouette", "calinski_harabasz", "davies_bouldin", "bic", "aic", "icl", "gap", "gap_se",
            "stability_ari", "within_ss")


@dataclass(frozen=True)
class Rule:
    """A selection rule: the criterion, its direction, the models it can choose and what it means."""

    criterion: str
    better: str            # "min" or "max"
    mixtures_only: bool
    meaning: str


#: the selection rules (the ``rule`` param); ``gap`` is Tibshirani's one-standard-error rule per model
RULES: dict[str, Rule] = {
    "icl": Rule("icl", "min", True,
                "ICL = BIC + 2 x classification entropy: unlike the BIC it charges a component for the customers "
                "it shares with another, so it counts groups rather than bumps of the density"),
    "bic": Rule("bic", "min", True, "the Bayesian information criterion of the mixture's likelihood"),
    "aic": Rule("aic", "min", True, "the Akaike information criterion of the mixture's likelihood"),
    "silhouette": Rule("silhouette", "max", False, "how much closer customers are to their own cluster than to the next"),
    "calinski_harabasz": Rule("calinski_harabasz", "max", False, "between- over within-cluster dispersion"),
    "davies_bouldin": Rule("davies_bouldin", "min", False, "mean similarity of each cluster to its closest other"),
    "gap": Rule("gap", "max", False,
                "per model the smallest k whose gap is within one standard error of the next k's (Tibshirani's "
                "rule), then the model whose gap there is largest"),
}


def _sample(n: int, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Return sorted row positions of a sample of ``size`` of ``n`` rows (all rows when small)."""
    if size is None or size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _within_ss(Z: np.ndarray, labels: np.ndarray) -> float:
    """Return the pooled within-cluster sum of squares of ``Z`` under ``labels``."""
    total = 0.0
    for c in np.unique(labels):  # one pass per cluster (k of them)
        part = Z[labels == c]
        total += float(((part - part.mean(axis=0)) ** 2).sum())
    return total


def _entropy(proba: np.ndarray) -> float:
    """Return the classification entropy -sum tau log tau of membership probabilities."""
    p = np.clip(proba, 1e-300, 1.0)
    return float(-(proba * np.log(p)).sum())


def _reference_sets(Z: np.ndarray, n_sets: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Return ``n_sets`` uniform data sets in the box of ``Z``'s principal components (Tibshirani's method b)."""
    mean = Z.mean(axis=0)
    _, _, vt = np.linalg.svd(Z - mean, full_matrices=False)
    rot = (Z - mean) @ vt.T
    lo, hi = rot.min(axis=0), rot.max(axis=0)
    return [rng.uniform(lo, hi, size=rot.shape) @ vt + mean for _ in range(n_sets)]


def _gap_choice(rows: pd.DataFrame) -> int | None:
    """Return the row label Tibshirani's rule picks within one model's rows (sorted by k), or None."""
    rows = rows.dropna(subset=["gap"]).sort_values("k")
    if rows.empty:
        return None
    gap, se = rows["gap"].to_numpy(), rows["gap_se"].to_numpy()
    for i in range(len(rows) - 1):
        if gap[i] >= gap[i + 1] - se[i + 1]:
            return rows.index[i]
    return rows["gap"].idxmax()


class ClusterSelector(BaseEstimator, ClusterMixin):
    """Score k-means and Gaussian mixtures over ``k_range`` and keep the one a rule chooses.

    After ``fit``: ``criteria_`` (one row per model and k, the columns of :data:`CRITERIA`), ``chosen_``
    (``{"model", "k", "rule", "reason"}``), ``estimators_`` (every candidate's fitted estimator by (model, k)),
    ``model_`` and ``k_``, ``is_mixture_``, ``pipeline_``
    (StandardScaler + the chosen estimator), ``centroids_z_`` / ``centroids_`` (cluster means, standardised /
    feature units), ``silhouette_`` and ``stability_ari_`` of the chosen candidate. Clusters are numbered
    by size on the fit sample, largest first.

    ``evidence=False`` makes the same choice at a fraction of the cost: only the candidates the rule can choose
    are fitted (no k-means for a mixtures-only rule, only the fixed model or k) and only the criteria the rule
    reads are computed (the others are NaN in ``criteria_``). Every candidate is fitted with the same seed and
    samples either way, so the chosen model, its fit and its labels are identical; notebook 01 keeps the
    evidence, the evaluation's refits on training parts do not need it.
    """

    def __init__(self, models=MODELS, k_range=(2, 10), rule: str = "icl", model: str | None = None,
                 k: int | None = None, min_stability: float | None = None, n_init: int = 3,
                 reg_covar: float = 0.01, fit_sample: int | None = 20_000, criteria_sample: int = 2_000,
                 n_bootstrap: int = 5, gap_references: int = 5, n_threads: int | None = 1,
                 evidence: bool = True, random_state: int = 42):
        self.models = models
        self.k_range = k_range
        self.rule = rule
        self.model = model
        self.k = k
        self.min_stability = min_stability
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.fit_sample = fit_sample
        self.criteria_sample = criteria_sample
        self.n_bootstrap = n_bootstrap
        self.gap_references = gap_references
        self.n_threads = n_threads
        self.evidence = evidence
        self.random_state = random_state

    # ---- candidates ----------------------------------------------------------------------------------

    def _check(self) -> tuple[list[str], list[int]]:
        models = [str(m) for m in self.models]
        bad = [m for m in models if m != KMEANS and not (m.startswith(GMM_PREFIX)
                                                          and m[len(GMM_PREFIX):] in COVARIANCE_TYPES)]
        if bad or not models:
            raise ConfigError(f"unknown clustering model(s) {bad or models}; choose from '{KMEANS}' and "
                              f"{[GMM_PREFIX + c for c in COVARIANCE_TYPES]}")
        lo, hi = int(self.k_range[0]), int(self.k_range[1])
        if lo < 2 or hi < lo:
            raise ConfigError(f"k_range must be [low, high] with 2 <= low <= high, got {list(self.k_range)}")
        if self.rule not in RULES:
            raise ConfigError(f"unknown selection rule '{self.rule}'; choose from {list(RULES)}")
        if self.model is not None and self.model not in models:
            raise ConfigError(f"model '{self.model}' is not among the candidate models {models}")
        ks = list(range(lo, hi + 1))
        if self.k is not None and int(self.k) not in ks:
            ks = sorted({*ks, int(self.k)})
        return models, ks

    def _estimator(self, model: str, k: int, seed: int, n_init: int):
        if model == KMEANS:
            return KMeans(n_clusters=k, n_init=n_init, random_state=seed)
        return GaussianMixture(n_components=k, covariance_type=model[len(GMM_PREFIX):], n_init=n_init,
                               reg_covar=self.reg_covar, max_iter=200, random_state=seed)

    # ---- fit -----------------------------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y=None) -> "ClusterSelector":
        """Score every candidate, apply the rule, keep the chosen pipeline and its centroids; return self."""
        models, ks = self._check()
        with threadpool_limits(limits=self.n_threads), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return self._fit(X, models, ks)

    def _fit(self, X: pd.DataFrame, models: list[str], ks: list[int]) -> "ClusterSelector":
        rng = np.random.default_rng(self.random_state)
        Xv = np.asarray(X, dtype="float64")
        require(len(Xv) > max(ks), CLUSTERING_STAGE,
                f"clustering with k up to {max(ks)} (params segmentation.clusters.k_range) needs more than {max(ks)} "
                f"customers with a purchase; this shop has {len(Xv)}, so the RFM segments stand alone")
        Xf = Xv[_sample(len(Xv), self.fit_sample, rng)]
        scaler = StandardScaler().fit(Xf)
        Zf = scaler.transform(Xf)
        Zc = Zf[_sample(len(Zf), self.criteria_sample, rng)]
        refs = _reference_sets(Zc, int(self.gap_references), rng) if self.gap_references else []
        boots = [rng.integers(0, len(Zc), len(Zc)) for _ in range(int(self.n_bootstrap))]
        rows, fitted = [], {}
        needed = None if self.evidence else self._needed_criteria()
        for model in models:
            if not (self.evidence or self._can_choose(model)):
                continue
            for k in tqdm(ks if self.evidence or self.k is None else [int(self.k)], desc=f"{model} k"):
                est = self._estimator(model, k, self.random_state, self.n_init).fit(Zf)
                fitted[(model, k)] = est
                rows.append({"model": model, "k": k,
                             **self._criteria(model, k, est, Zf, Zc, refs, boots, needed)})
        self.criteria_ = pd.DataFrame(rows, columns=["model", "k", *CRITERIA])
        self.estimators_ = fitted
        pos, reason = self._choose_from(self.criteria_)
        chosen = self.criteria_.loc[pos]
        self.model_, self.k_ = str(chosen["model"]), int(chosen["k"])
        self.chosen_ = {"model": self.model_, "k": self.k_, "rule": self._rule_name(), "reason": reason}
        self.is_mixture_ = self.model_ != KMEANS
        self.silhouette_ = float(chosen["silhouette"])
        self.stability_ari_ = float(chosen["stability_ari"])
        est = fitted[(self.model_, self.k_)]
        # number clusters by size on the fit sample, largest first (ties by the estimator's label)
        counts = np.bincount(est.predict(Zf), minlength=self.k_)
        self.order_ = np.argsort(-counts, kind="stable")            # new label -> estimator label
        self.relabel_ = np.argsort(self.order_)                     # estimator label -> new label
        self.pipeline_ = Pipeline([("scale", scaler), ("cluster", est)])
        centres = est.cluster_centers_ if self.model_ == KMEANS else est.means_
        cols = list(X.columns) if isinstance(X, pd.DataFrame) else [f"x{i}" for i in range(Xv.shape[1])]
        cz = centres[self.order_]
        self.centroids_z_ = pd.DataFrame(cz, columns=cols).rename_axis("cluster")
        self.centroids_ = pd.DataFrame(scaler.inverse_transform(cz), columns=cols).rename_axis("cluster")
        log.info("clusters: %s k=%d by %s (%s)", self.model_, self.k_, self.chosen_["rule"], reason)
        return self

    def _can_choose(self, model: str) -> bool:
        """Whether the rule (with a fixed model) could choose a candidate of ``model``."""
        if self.model is not None:
            return model == self.model
        return not (RULES[self.rule].mixtures_only and model == KMEANS)

    def _needed_criteria(self) -> set[str]:
        """The criteria the choice reads: the rule's (BIC and AIC come with the ICL) and stability when filtered."""
        out = {RULES[self.rule].criterion, "within_ss"}
        if self.rule in ("icl", "bic", "aic"):
            out |= {"bic", "aic", "icl"}
        if self.rule == "gap":
            out |= {"gap", "gap_se"}
        if self.min_stability is not None:
            out.add("stability_ari")
        return out

    def _criteria(self, model: str, k: int, est, Zf: np.ndarray, Zc: np.ndarray, refs: list[np.ndarray],
                  boots: list[np.ndarray], needed: set[str] | None = None) -> dict:
        def want(*names) -> bool:
            return needed is None or bool(needed & set(names))

        labels = est.predict(Zf)
        out = dict.fromkeys(CRITERIA, np.nan)
        out["within_ss"] = _within_ss(Zf, labels)
        if model != KMEANS and want("bic", "aic", "icl"):
            out["bic"], out["aic"] = float(est.bic(Zf)), float(est.aic(Zf))
            out["icl"] = out["bic"] + 2.0 * _entropy(est.predict_proba(Zf))
        if len(np.unique(labels)) > 1 and want("calinski_harabasz", "davies_bouldin"):
            out["calinski_harabasz"] = float(calinski_harabasz_score(Zf, labels))
            out["davies_bouldin"] = float(davies_bouldin_score(Zf, labels))
        lc = est.predict(Zc)
        if 1 < len(np.unique(lc)) < len(Zc) and want("silhouette"):
            out["silhouette"] = float(silhouette_score(Zc, lc))
        if refs and want("gap", "gap_se"):
            w = _within_ss(Zc, lc)
            w_ref = np.log([_within_ss(R, self._estimator(model, k, self.random_state, 1).fit(R).predict(R))
                            for R in refs])
            out["gap"] = float(w_ref.mean() - np.log(w))
            out["gap_se"] = float(w_ref.std() * np.sqrt(1.0 + 1.0 / len(refs)))
        if len(boots) >= 2 and want("stability_ari"):
            labs = [self._estimator(model, k, self.random_state + 1 + b, 1).fit(Zc[idx]).predict(Zc)
                    for b, idx in enumerate(boots)]
            out["stability_ari"] = float(np.mean([adjusted_rand_score(a, b) for a, b in combinations(labs, 2)]))
        return out

    # ---- the rule ----------------------------------------------------------------------------------------

    def _rule_name(self) -> str:
        if self.model is not None and self.k is not None:
            return "fixed"
        return self.rule

    def choose(self, rule: str | None = None) -> tuple[int, str]:
        """Return the ``criteria_`` row that ``rule`` (default: the ``rule`` param) picks and the reason, in words.

        The fitted choice does not change: this answers "what would another rule have chosen?".
        """
        self._fitted()
        judge = self if rule is None else type(self)(**{**self.get_params(), "rule": rule})
        if judge.rule not in RULES:
            raise ConfigError(f"unknown selection rule '{judge.rule}'; choose from {list(RULES)}")
        return judge._choose_from(self.criteria_)

    def _choose_from(self, crit: pd.DataFrame) -> tuple[int, str]:
        if self.model is not None and self.k is not None:
            pos = crit.index[(crit["model"] == self.model) & (crit["k"] == int(self.k))][0]
            return pos, f"{self.model} with k={int(self.k)} fixed by the params"
        rule = RULES[self.rule]
        pool = crit
        notes = []
        if rule.mixtures_only:
            pool = pool[pool["model"] != KMEANS]
            if pool.empty:
                raise ConfigError(f"rule '{self.rule}' chooses among Gaussian mixtures but the candidates are "
                                  f"{list(self.models)}; add gmm_full or gmm_diag, or choose another rule")
        if self.model is not None:
            pool = pool[pool["model"] == self.model]
            notes.append(f"model fixed to {self.model}")
        if self.k is not None:
            pool = pool[pool["k"] == int(self.k)]
            notes.append(f"k fixed to {int(self.k)}")
        if self.min_stability is not None:
            stable = pool[pool["stability_ari"] >= float(self.min_stability)]
            if stable.empty:
                notes.append(f"no candidate reaches stability {self.min_stability}, so all were kept")
            else:
                notes.append(f"{len(pool) - len(stable)} candidate(s) below stability {self.min_stability} left out")
                pool = stable
        pool = pool.dropna(subset=[rule.criterion])
        if pool.empty:
            raise ValueError(f"rule '{self.rule}': no candidate has a {rule.criterion} (too few distinct customers?)")
        if self.rule == "gap":
            picks = [p for p in (_gap_choice(g) for _, g in pool.groupby("model", sort=False)) if p is not None]
            pos = crit.loc[picks, "gap"].idxmax()
        else:
            pos = pool[rule.criterion].idxmin() if rule.better == "min" else pool[rule.criterion].idxmax()
        return pos, self._reason(crit, pos, pool, rule, notes)

    def _reason(self, crit: pd.DataFrame, pos: int, pool: pd.DataFrame, rule: Rule, notes: list[str]) -> str:
        row = crit.loc[pos]
        word = "lowest" if rule.better == "min" else "highest"
        text = f"{row['model']} with k={int(row['k'])}"
        if self.rule == "gap":
            text += f": gap {row['gap']:.3f} (se {row['gap_se']:.3f}) by Tibshirani's rule"
        else:
            others = pool.drop(index=pos)
            runner = (others[rule.criterion].idxmin() if rule.better == "min" else others[rule.criterion].idxmax()) \
                if not others.empty else None
            text += f" has the {word} {rule.criterion} ({row[rule.criterion]:,.3f}"
            if runner is not None:
                r = crit.loc[runner]
                text += f"; next {r['model']} with k={int(r['k'])} at {r[rule.criterion]:,.3f}"
            text += f") of {len(pool)} candidates"
        text += f"; {rule.meaning}"
        if np.isfinite(row["stability_ari"]):
            text += f". Bootstrap stability {row['stability_ari']:.2f}"
        if notes:
            text += " (" + "; ".join(notes) + ")"
        return text + "."

    # ---- use -----------------------------------------------------------------------------------------------

    def _fitted(self) -> None:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("ClusterSelector is not fitted: call fit(features) first")

    def _in_chunks(self, X: pd.DataFrame, method: str) -> np.ndarray:
        """Return ``pipeline_.<method>`` of the rows of ``X``, :data:`CHUNK` rows at a time (bounded memory)."""
        Xv = np.asarray(X, dtype="float64")
        with threadpool_limits(limits=self.n_threads):
            parts = [getattr(self.pipeline_, method)(Xv[i:i + CHUNK]) for i in range(0, len(Xv), CHUNK)]
        return np.concatenate(parts) if parts else getattr(self.pipeline_, method)(Xv)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Return the cluster of each row (0 = the largest cluster on the fit sample)."""
        self._fitted()
        return self.relabel_[self._in_chunks(X, "predict")]

    def predict_candidate(self, X: pd.DataFrame, model: str, k: int) -> np.ndarray:
        """Return the labels that candidate (model, k) gives each row (its own numbering)."""
        self._fitted()
        with threadpool_limits(limits=self.n_threads):
            return self.estimators_[(model, int(k))].predict(self.transform(X))

    def cluster_probability(self, X: pd.DataFrame) -> np.ndarray | None:
        """Return each row's membership probability of its cluster (mixtures), or None (k-means is hard)."""
        self._fitted()
        if not self.is_mixture_:
            return None
        return self._in_chunks(X, "predict_proba").max(axis=1)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """Return the standardised features."""
        self._fitted()
        return self.pipeline_[0].transform(np.asarray(X, dtype="float64"))

    def selection(self) -> dict:
        """Return the ``segmentation.selection`` block: every candidate's criteria and the choice."""
        self._fitted()
        crit = self.criteria_.astype({"k": "int64"})
        records = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                   for r in crit.to_dict(orient="records")]
        return {"criteria": records, "chosen": {k: self.chosen_[k] for k in ("model", "k", "rule")},
                "reason": self.chosen_["reason"]}

