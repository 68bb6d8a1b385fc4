"""The hybrid recommender: a weighted blend of fitted component recommenders, normalised per customer.

Two stages, both vectorised over batches of customers:

1. **Candidates.** Every component (and the built-in ``popular`` pseudo-component: the share of customers
   who bought a product) scores the whole catalog for a batch of customers through the
   :class:`~workbench.recommend.base.Recommender` interface (``score_batch``). Scores are normalised per
   customer over the recommendable products (``rank``: the product's percentile rank among them, ties
   averaged; ``minmax``: (s - min) / (max - min)), with seen and unavailable products excluded. The
   candidates of a customer are the union of each component's top ``candidates`` products.
2. **Blend.** A candidate's score is the weighted sum of its normalised component scores; the top K
   of the blend is the recommendation. Weights are per component and default to the design brief's
   (collaborative 0.30, content 0.25, cross-sell 0.20, seasonal 0.15, price affinity 0.10).

:class:`CandidateSet` holds stage 1 for a set of customers (candidate product indices, every
component's normalised score and rank position on them), so the default, tuned, ablated and learned
variants are all evaluated on the same numbers without scoring the components again.

**Switching.** Customers with little history (``cold``: at most ``cold_max`` distinct products) get the
weight of the ``switch_from`` components (collaborative by default) moved to the ``switch_to``
components (popular by default). ``hot`` customers have at least ``hot_min`` distinct products.

**Tuning.** :func:`tune_weights` searches the weights on validation folds carved out of train (never
the test split): a seeded random search over the simplex, then coordinate ascent.

The hybrid takes fitted recommenders through the base interface only; :func:`build_hybrid` (the one
builder: components, fitting, hybrid) makes them from a params spec naming registered models
(:mod:`workbench.recommend.registry`) or class paths.
"""
from __future__ import annotations

import importlib
import inspect
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import rankdata

from workbench.data import contract
from workbench.errors import ConfigError
from workbench.progress import tqdm
from workbench.recommend import registry
from workbench.recommend.base import RANK, SCORE, Recommender, top_k
from workbench.recommend.interactions import Interactions
from workbench.threads import thread_map

log = logging.getLogger(__name__)

POPULAR = "popular"
COLD, WARM, HOT = "cold", "warm", "hot"
BUCKETS = (COLD, WARM, HOT)
NORMALISERS = ("rank", "minmax", "reciprocal")
#: the constant c of the reciprocal-rank normaliser (c + 1) / (c + position)
RECIPROCAL_C = 10.0

#: the design brief's weights, by component name
DEFAULT_WEIGHTS: dict[str, float] = {
    "collaborative": 0.30,
    "content": 0.25,
    "cross_sell": 0.20,
    "seasonal": 0.15,
    "price_affinity": 0.10,
}

#: the ``hybrid`` params block (the split, k, validation folds and bootstrap are the ``evaluation:`` block's)
DEFAULTS: dict = {
    # what the interaction matrix holds: binary, count or quantity (purchases); ratings stay ratings unless binary
    "interactions": {"weight": "binary"},
    # components: name -> {model: a registered model, params: {...}, params_from: "a.params.block"} (the
    # model's registered params_from unless given), or {class: "module.Class", ...} for a class outside the
    # registry ("none": left out); the block named by params_from gives constructor arguments its own params
    # override; a class that does not import is skipped with a warning when ``skip_missing``
    "components": {
        "collaborative": {"model": "ease"},
        "content": {"model": "content"},
        "cross_sell": {"model": "basket"},
        "seasonal": {"model": "seasonal"},
        "price_affinity": {"model": "price_affinity"},
        "cluster_trending": {"model": "cluster_trending"},
        # what sold in the last month: the temporal signal next to seasonal (weight 0 until tuned)
        "trending": {"model": "popular_recent"},
    },
    "skip_missing": True,       # a component whose class does not import is left out with a warning (false: an error)
    "weights": dict(DEFAULT_WEIGHTS),  # the default variant's weight per component (the tuned variant starts here)
    "normalise": "minmax",      # per-customer score normaliser before the blend: rank, minmax or reciprocal
    "candidates": 100,          # top products per component that enter the blend
    "history": {
        "cold_max": 2,          # customers with at most this many distinct products are cold (switching, slices)
        "hot_min": 10,          # customers with at least this many distinct products are hot
    },
    # cold customers: the "from" components' weight goes to the "to" components; enabled: true, false
    # or auto (tuned both ways on validation, the better one kept)
    "switching": {"enabled": "auto", "from": ["collaborative"], "to": ["content", "cluster_trending", POPULAR]},
    "tuning": {
        "method": "bagged",     # bagged (winners of bootstrap resamples averaged) or ascent (coordinate ascent)
        "n_random": 200,        # seeded Dirichlet weight vectors tried besides the start and each component alone
        "n_bags": 200,          # bagged: bootstrap resamples of the validation customers
        "rounds": 3,            # ascent: passes over the components
        "factors": [0.0, 0.5, 2.0, 4.0],  # ascent: what one weight is multiplied by at each step
        "seed": 0,              # the draws' seed
    },
    "reranker": {
        "depth": 50,            # the top blended candidates per customer the learned re-ranker re-orders
        "n_estimators": 100,    # LightGBM lambdarank: boosting rounds
        "learning_rate": 0.03,  # LightGBM: shrinkage per round
        "num_leaves": 7,        # LightGBM: leaves per tree
        "min_child_samples": 100,  # LightGBM: the fewest candidates in a leaf
        "seed": 0,              # LightGBM's seed
        # customer (age, gender, location, occupation, signup, segment, cluster, CLV) and product (category,
        # price tier) attributes as features beside the component scores
        "side_info": True,
    },
    # which variant the business rules and the artifact start from: default, tuned, learned, or auto (the one
    # best on validation; the learned variant's validation score is cross-fitted)
    "final": "auto",
    "chunk_customers": 20000,   # final lists are built for this many customers at a time
    "rules": {
        "stock_filter": True,   # products out of stock at the cut-off (prices table) are not recommended
        # RFM segment -> the boost its customers get: premium (top price tercile of a category), win_back (their
        # favourite category), value (bottom price tercile, for price-sensitive customers)
        "segment_rules": {"champions": "premium", "loyal_customers": "premium", "at_risk": "win_back",
                          "cant_lose": "win_back", "hibernating": "win_back", "about_to_sleep": "win_back",
                          "price_sensitive": "value"},
        # the rules' strengths: a number (set by hand: the report states what it costs) or auto (the strongest
        # whose NDCG@K loss against the start variant on validation is at most max_ndcg_loss)
        "max_ndcg_loss": 0.005,
        "choice_customers": 10000,    # validation customers (all folds) the strengths are chosen on, at most
        "boost": "auto",        # what a segment rule adds to the blended score of a candidate that fits it
        "price_sensitive_max": 0.3,   # mean within-category price percentile of what they bought
        "diversity": "max_per_category",  # none, max_per_category or mmr
        "max_per_category": "auto",  # diversity max_per_category: the most products of one category in a list
        "mmr_lambda": "auto",   # diversity mmr: relevance's weight against similarity to products already listed
        "confidence_top": 20,   # a listed product's confidence: weight share of components ranking it in this top
    },
    "impact": {
        "purchase_prob": None,  # chance that a recommended product a customer wanted is bought (None: measured)
        "fallback_purchase_prob": 0.3,  # ... when the events cannot measure it (no views, no purchase events)
        "alpha": 0.05,          # the simulated A/B test's significance level
        "power": 0.8,           # ... and the power its sample size is planned for
        "seed": 0,              # the simulation's seed
    },
}


# ---- components ----------------------------------------------------------------------------------
def _import_class(path: str):
    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"component class '{path}' must be a dotted path like workbench.recommend.cf.EASE")
    return getattr(importlib.import_module(module), name)


#: the keys of a component's spec
COMPONENT_KEYS = ("model", "class", "params", "params_from")


def _off(value) -> bool:
    return value in (None, "", "none")


def component_model(entry: dict) -> str | None:
    """Return the registered model a component spec names (None: it names a class, or is left out).

    A ``class`` key decides when present (a class path, or ``none``); otherwise ``model`` names the model."""
    if "class" in entry or _off(entry.get("model")):
        return None
    return str(entry["model"])


def is_off(entry: dict) -> bool:
    """Whether a component spec leaves the component out (``class: none``, or neither a class nor a model)."""
    return _off(entry.get("class")) if "class" in entry else _off(entry.get("model"))


def _model_component(name: str, model: str):
    spec = registry.get(model)
    if not spec.hybrid:
        raise ConfigError(f"hybrid component '{name}': model '{model}' cannot be a hybrid component; those that "
                          f"can: {[n for n, s in registry.MODELS.items() if s.hybrid]}")
    return spec


def build_components(spec: dict, skip_missing: bool = True) -> dict[str, Recommender]:
    """Return unfitted recommenders by name from ``{name: {"model": "registered name", "params": {...}}}`` or
    ``{name: {"class": "module.Class", "params": {...}}}``.

    With ``skip_missing`` a class that cannot be imported is left out with a warning (and listed in
    the returned dict's absence); otherwise the import error is raised.
    """
    out: dict[str, Recommender] = {}
    for name in spec:
        entry = spec[name] or {}
        if isinstance(entry, str):
            entry = {"class": entry}
        if is_off(entry):
            continue
        model = component_model(entry)
        if model is not None:
            out[name] = _model_component(name, model).build(entry.get("params"), strict=False)
            continue
        try:
            cls = _import_class(entry["class"])
        except (ImportError, AttributeError) as exc:
            if not skip_missing:
                raise ImportError(f"hybrid component '{name}': cannot import {entry['class']} ({exc}); fix the "
                                  f"class path in the hybrid.components params block") from exc
            log.warning("hybrid: component '%s' skipped: %s cannot be imported (%s)", name, entry["class"], exc)
            continue
        params = dict(entry.get("params") or {})
        obj = cls.from_params(params) if hasattr(cls, "from_params") else cls(**params)
        if not isinstance(obj, Recommender):
            raise TypeError(f"hybrid component '{name}' ({entry['class']}) is not a Recommender subclass")
        out[name] = obj
    return out


def component_specs(cfg: dict, params: dict | None = None) -> dict:
    """Return the hybrid's component specs with each ``params_from`` stage block merged under its own params.

    ``params_from`` names a params block (dots for nesting, e.g. ``context.seasonal``) whose keys give
    the component's constructor arguments unless the component's own ``params`` set them; without
    ``params`` (the whole params dict) every component takes its class's defaults plus its own ``params``.
    """
    from workbench.config import deep_merge

    out = {}
    for name, entry in (cfg.get("components") or {}).items():
        entry = {"class": entry} if isinstance(entry, str) else dict(entry or {})
        where = f"hybrid.components.{name}"
        unknown = sorted(set(entry) - set(COMPONENT_KEYS))
        if unknown:
            raise ConfigError(f"params {where}: unknown key(s) {unknown}; known: {sorted(COMPONENT_KEYS)}")
        base = {}
        model = component_model(entry)
        if model is not None:
            spec = _model_component(name, model)
            entry.setdefault("params_from", spec.params_from)
            known = set(inspect.signature(spec.cls.__init__).parameters) - {"self"}
            bad = sorted(set(entry.get("params") or {}) - known)  # its own params: constructor arguments only
            if bad:
                raise ConfigError(f"params {where}.params: unknown key(s) {bad}; known: {sorted(known)}")
        src = entry.get("params_from")
        if src and params:
            node = params
            for key in str(src).split("."):
                node = node.get(key) if isinstance(node, dict) else None
            base = dict(node) if isinstance(node, dict) else {}
        entry["params"] = deep_merge(base, entry.get("params") or {})
        out[name] = entry
    return out


def missing_components(cfg: dict, built) -> list[str]:
    """Return the component names of ``cfg`` that name a class or model but are not in ``built`` (could not be
    imported)."""
    specs = component_specs(cfg)
    return [n for n in specs if n not in built and not is_off(specs[n])]


def build_hybrid(cfg: dict, interactions: Interactions, context: dict, params: dict | None = None,
                 fitted=(), weights: dict[str, float] | None = None) -> "HybridRecommender":
    """Return the fitted hybrid of a ``hybrid`` params block: the one way notebooks, the evaluation and the
    bench make it.

    The components of ``cfg["components"]`` are built (``params_from`` blocks resolved against ``params``,
    the whole params dict) and fitted on ``interactions`` with ``context`` (transactions, products, segments,
    history, rules ...), except where ``fitted`` holds a model of the same class and settings already fitted
    on these very ``interactions``: that one is used as it is. The hybrid (``weights``, else the block's)
    is then fitted over them.
    """
    comps = build_components(component_specs(cfg, params), skip_missing=bool(cfg.get("skip_missing", True)))
    fitted = list(fitted)
    for name, comp in comps.items():
        same = [m for m in fitted if type(m) is type(comp) and m.get_params() == comp.get_params()
                and getattr(m, "interactions_", None) is interactions]
        if same:
            log.info("hybrid: component %s reuses a fitted %s", name, type(comp).__name__)
            comps[name] = same[0]
        else:
            log.info("hybrid: fitting component %s (%s)", name, type(comp).__name__)
            comps[name] = comp.fit(interactions, **context)
    hybrid = HybridRecommender.from_params(comps, cfg, weights=weights, fit_components=False)
    return hybrid.fit(interactions, **context)


# ---- normalisation ---------------------------------------------------------------------------------
def normalise_rows(scores: np.ndarray, excluded: np.ndarray | None = None, method: str = "rank",
                   copy: bool = True) -> np.ndarray:
    """Return ``scores`` normalised per row over the non-excluded entries, in [0, 1] (float32).

    ``rank``: percentile rank with ties averaged (best = 1); ``minmax``: (s - min) / (max - min), a
    constant row -> 1 (O(products) per row, no sort); ``reciprocal``: reciprocal-rank fusion's
    (c + 1) / (c + position), c = ``RECIPROCAL_C``, which keeps the head of each list apart where the
    percentile rank of a long catalog is nearly flat. Excluded and non-finite entries get 0. With
    ``copy=False``, ``minmax`` may work in place on float32 ``scores`` (a scratch array of the caller's).
    """
    if method not in NORMALISERS:
        raise ValueError(f"normalise must be one of {NORMALISERS}, not {method!r}")
    if method == "minmax":
        return _minmax_rows(scores, excluded, copy)
    s = np.asarray(scores, dtype=np.float64)
    bad = ~np.isfinite(s)
    if excluded is not None:
        bad |= excluded
    n_bad = bad.sum(axis=1, keepdims=True)
    n_ok = s.shape[1] - n_bad
    r = rankdata(np.where(bad, -np.inf, s), axis=1, method="average")  # excluded share the lowest ranks
    r_ok = r - n_bad  # 1 .. n_ok among the valid ones (ties averaged)
    if method == "rank":
        norm = np.where(n_ok == 1, 1.0, (r_ok - 1) / np.maximum(n_ok - 1, 1))
    else:
        norm = (RECIPROCAL_C + 1.0) / (RECIPROCAL_C + (n_ok - r_ok + 1))
    return np.where(bad, 0.0, np.clip(norm, 0.0, 1.0)).astype(np.float32)


def _minmax_rows(scores: np.ndarray, excluded: np.ndarray | None, copy: bool = True) -> np.ndarray:
    """Min-max normalisation per row in float32, in place on one working array (the hot path at scale):
    a copy of ``scores`` unless ``copy`` is false and they are float32 already."""
    s = np.array(scores, dtype=np.float32, copy=True if copy else None)
    bad = ~np.isfinite(s)
    if excluded is not None:
        bad |= excluded
    np.copyto(s, np.inf, where=bad)
    lo = s.min(axis=1, keepdims=True)
    np.copyto(s, -np.inf, where=bad)
    hi = s.max(axis=1, keepdims=True)
    span = hi - lo  # a row with nothing valid: -inf - inf = -inf, not > 0
    s -= np.where(np.isfinite(lo), lo, np.float32(0.0))
    np.divide(s, span, out=s, where=span > 0)
    s[(span <= 0).ravel() | ~np.isfinite(span).ravel()] = 1.0  # a constant row -> 1
    np.copyto(s, 0.0, where=bad)
    np.clip(s, 0.0, 1.0, out=s)
    return s


def positions(scores: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Return the 1-based position of each valid entry in its row's descending order (ties averaged; invalid: inf).

    float16 (half the memory of the scores): exact up to position 1024, which is all confidence and the
    re-ranker's log-position feature need.
    """
    r = rankdata(np.where(valid, -scores, np.inf), axis=-1, method="average")
    return np.where(valid, r, np.inf).astype(np.float16)


# ---- history buckets and switching -------------------------------------------------------------------
def history_buckets(n_history, cold_max: int = 2, hot_min: int = 10) -> np.ndarray:
    """Return ``cold`` / ``warm`` / ``hot`` per customer from their number of distinct products."""
    n = np.asarray(n_history)
    if hot_min <= cold_max:
        raise ValueError(f"history.hot_min ({hot_min}) must be larger than history.cold_max ({cold_max})")
    return np.where(n <= cold_max, COLD, np.where(n >= hot_min, HOT, WARM)).astype(object)


@dataclass
class Switching:
    """Cold customers: the weight of the ``from_`` components moves to the ``to`` components."""

    enabled: bool = True
    from_: tuple[str, ...] = ("collaborative",)
    to: tuple[str, ...] = (POPULAR,)

    @classmethod
    def from_params(cls, block: dict | None) -> "Switching":
        """The switching rule of a ``hybrid.switching`` params block."""
        b = block or {}
        return cls(bool(b.get("enabled", True)), tuple(b.get("from", ("collaborative",))),
                   tuple(b.get("to", (POPULAR,))))

    def row_weights(self, w: np.ndarray, names: list[str], buckets: np.ndarray) -> np.ndarray:
        """Return (customers x components) weights: ``w`` everywhere, switched on cold rows."""
        W = np.tile(np.asarray(w, dtype=np.float64), (len(buckets), 1))
        if not self.enabled:
            return W
        src = np.array([n in self.from_ for n in names])
        dst = np.array([n in self.to for n in names])
        if not src.any() or not dst.any():
            return W
        cold = np.asarray(buckets) == COLD
        moved = W[cold][:, src].sum(axis=1, keepdims=True)
        Wc = W[cold]
        Wc[:, src] = 0.0
        Wc[:, dst] += moved / dst.sum()
        W[cold] = Wc
        return W


# ---- the candidate set ---------------------------------------------------------------------------
@dataclass
class CandidateSet:
    """Stage 1 for a set of customers: candidate products and each component's normalised score on them.

    ``items`` (customers x m) are product column indices (-1 = padding), ``scores`` (customers x m x
    components) the normalised scores, ``positions`` the 1-based rank position of the candidate in each
    component's ordering of the candidates (the same as in the whole catalog for the component's own top
    ``candidates`` products), ``valid`` marks real candidates; ``history`` is each customer's number of
    distinct products in the fitted data and ``buckets`` its history bucket.
    """

    customer_ids: pd.Index
    product_ids: pd.Index
    names: list[str]
    items: np.ndarray
    scores: np.ndarray
    positions: np.ndarray
    valid: np.ndarray
    history: np.ndarray
    buckets: np.ndarray
    rel: np.ndarray | None = field(default=None, repr=False)
    n_rel: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def weight_vector(self, weights: dict[str, float]) -> np.ndarray:
        """Return the weights as a vector over ``names`` (missing names weigh 0)."""
        unknown = set(weights) - set(self.names)
        if unknown and any(weights[u] for u in unknown):
            log.debug("weights for components not in the blend ignored: %s", sorted(unknown))
        return np.array([float(weights.get(n, 0.0)) for n in self.names])

    def blend(self, weights: dict[str, float] | np.ndarray, switching: Switching | None = None) -> np.ndarray:
        """Return blended scores (customers x m), ``-inf`` on padding, with optional switching."""
        w = self.weight_vector(weights) if isinstance(weights, dict) else np.asarray(weights, dtype=np.float64)
        out = self.scores @ w.astype(np.float32)
        if switching is not None and switching.enabled:
            cold = np.flatnonzero(np.asarray(self.buckets) == COLD)
            if len(cold):  # cold rows share one switched weight vector
                wc = switching.row_weights(w, self.names, np.array([COLD]))[0]
                out[cold] = self.scores[cold] @ wc.astype(np.float32)
        return np.where(self.valid, out, -np.inf)

    def with_truth(self, truth: pd.DataFrame) -> "CandidateSet":
        """Return self with ``rel`` (is the candidate in ``truth``) and ``n_rel`` (distinct truth products)."""
        t = truth[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()
        r = self.customer_ids.get_indexer(t[contract.CUSTOMER_ID])
        self.n_rel = np.bincount(r[r >= 0], minlength=len(self)).astype(np.int64)
        c = self.product_ids.get_indexer(t[contract.PRODUCT_ID])
        ok = (r >= 0) & (c >= 0)
        T = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.int8), (r[ok], c[ok])),
                          shape=(len(self), len(self.product_ids)))
        rows = np.repeat(np.arange(len(self)), self.items.shape[1])
        got = np.asarray(T[rows, np.maximum(self.items, 0).ravel()]).ravel().reshape(self.items.shape)
        self.rel = (got > 0) & self.valid
        return self

    def top(self, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(candidate columns, values)`` of the ``k`` best scores per customer (ties: lower product index)."""
        return top_k(scores, k)  # candidates are stored by product index, so ties go to the lower index

    def ndcg(self, scores: np.ndarray, k: int = 10) -> np.ndarray:
        """Return per-customer NDCG@k of ``scores`` against ``rel`` (binary gains, IDCG over min(n_rel, k))."""
        if self.rel is None:
            raise ValueError("call with_truth(truth) first: the candidate set has no relevance labels")
        idx, val = self.top(scores, k)
        hit = np.take_along_axis(self.rel, idx, axis=1) & np.isfinite(val)
        disc = 1.0 / np.log2(np.arange(2, idx.shape[1] + 2))
        dcg = (hit * disc).sum(axis=1)
        ideal = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]
        idcg = ideal[np.minimum(self.n_rel, k)]
        return np.divide(dcg, idcg, out=np.zeros(len(dcg)), where=idcg > 0)

    def recommendations(self, scores: np.ndarray, k: int = 10) -> pd.DataFrame:
        """Return the top ``k`` as a DataFrame [customer_id, product_id, score, rank] (customers in order)."""
        idx, val = self.top(scores, k)
        kk = idx.shape[1]
        prod = np.take_along_axis(self.items, idx, axis=1)
        out = pd.DataFrame({
            contract.CUSTOMER_ID: np.repeat(self.customer_ids.to_numpy(), kk),
            contract.PRODUCT_ID: self.product_ids.to_numpy()[np.maximum(prod, 0).ravel()],
            SCORE: val.ravel().astype(np.float64),
            RANK: np.tile(np.arange(1, kk + 1), len(self)),
            "_col": idx.ravel(),
        })
        out = out[np.isfinite(out[SCORE].to_numpy()) & (prod.ravel() >= 0)].reset_index(drop=True)
        out[contract.CUSTOMER_ID] = out[contract.CUSTOMER_ID].astype("str")
        out[contract.PRODUCT_ID] = out[contract.PRODUCT_ID].astype("str")
        return out.drop(columns="_col")

    @classmethod
    def concat(cls, sets: list["CandidateSet"]) -> "CandidateSet":
        """Return one candidate set stacking ``sets`` (same products and components; rows may repeat customers).

        Rows are padded to the widest set; relevance labels are kept only when every set has them.
        """
        if not sets:
            raise ValueError("concat needs at least one candidate set")
        first = sets[0]
        for s in sets[1:]:
            if list(s.names) != list(first.names) or not s.product_ids.equals(first.product_ids):
                raise ValueError("candidate sets to concatenate must share components and products")
        if len(sets) == 1:
            return first
        width = max(s.items.shape[1] for s in sets)

        def stack(attr: str, fill):
            parts = []
            for s in sets:
                a = getattr(s, attr)
                extra = width - a.shape[1]
                if extra:
                    a = np.concatenate([a, np.full((a.shape[0], extra) + a.shape[2:], fill, dtype=a.dtype)], axis=1)
                parts.append(a)
            return np.concatenate(parts, axis=0)

        labelled = all(s.rel is not None for s in sets)
        return cls(pd.Index(np.concatenate([s.customer_ids.to_numpy() for s in sets])), first.product_ids,
                   list(first.names), stack("items", -1), stack("scores", 0.0), stack("positions", np.inf),
                   stack("valid", False), np.concatenate([s.history for s in sets]),
                   np.concatenate([s.buckets for s in sets]), stack("rel", False) if labelled else None,
                   np.concatenate([s.n_rel for s in sets]) if labelled else None)

    def narrow(self, cols: np.ndarray) -> "CandidateSet":
        """Return the candidate set holding, per customer, only the candidate columns ``cols`` (customers x m), kept
        in product order so ties still go to the lower product index."""
        c = np.sort(np.asarray(cols), axis=1)
        take = lambda a: None if a is None else np.take_along_axis(a, c, axis=1)  # noqa: E731
        return CandidateSet(self.customer_ids, self.product_ids, list(self.names), take(self.items),
                            np.take_along_axis(self.scores, c[:, :, None], axis=1),
                            np.take_along_axis(self.positions, c[:, :, None], axis=1), take(self.valid),
                            self.history, self.buckets, take(self.rel), self.n_rel)

    def subset(self, mask: np.ndarray) -> "CandidateSet":
        """Return the candidate set of the customers where ``mask`` is true."""
        m = np.asarray(mask, dtype=bool)
        return CandidateSet(self.customer_ids[m], self.product_ids, list(self.names), self.items[m], self.scores[m],
                            self.positions[m], self.valid[m], self.history[m], self.buckets[m],
                            None if self.rel is None else self.rel[m], None if self.n_rel is None else self.n_rel[m])


def component_scores(comp: Recommender, rows: np.ndarray) -> np.ndarray:
    """Return ``comp``'s scores (len(rows) x products) for matrix rows, in the component's own batch size."""
    b = max(int(getattr(comp, "batch_size", 2048)), 1)
    if len(rows) <= b:
        return comp.score_batch(rows)
    return np.vstack([comp.score_batch(rows[s:s + b]) for s in range(0, len(rows), b)])


# ---- the hybrid recommender ----------------------------------------------------------------------
class HybridRecommender(Recommender):
    """A weighted blend of component recommenders' per-customer normalised scores (see the module doc).

    ``components`` maps names to recommenders (fitted by :meth:`fit` on the same interactions and
    context unless ``fit_components`` is false); ``weights`` maps names to weights (the built-in
    ``popular`` component included; missing names weigh 0). Products the customer already has are never
    candidates (whatever ``recommend``'s ``exclude_seen`` says), nor are products set unavailable.
    """

    name = "hybrid"
    batch_size = 1024

    def __init__(self, components: dict[str, Recommender], weights: dict[str, float] | None = None,
                 normalise: str = "minmax", candidates: int = 100, cold_max: int = 2, hot_min: int = 10,
                 switching: Switching | dict | None = None, fit_components: bool = True):
        if POPULAR in components:
            raise ValueError(f"'{POPULAR}' is the hybrid's built-in component: give yours another name")
        if normalise not in NORMALISERS:
            raise ValueError(f"normalise must be one of {NORMALISERS}, not {normalise!r}")
        self.components = dict(components)
        self.weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self.normalise = normalise
        self.candidates = int(candidates)
        self.cold_max = int(cold_max)
        self.hot_min = int(hot_min)
        self.switching = switching if isinstance(switching, Switching) else Switching.from_params(switching)
        self.fit_components = fit_components

    @classmethod
    def from_params(cls, components: dict[str, Recommender], params: dict, weights: dict[str, float] | None = None,
                    fit_components: bool = True) -> "HybridRecommender":
        """A hybrid over ``components`` configured by a ``hybrid`` params block (``weights`` replace its weights)."""
        hist = params.get("history") or {}
        return cls(components, params.get("weights") if weights is None else weights,
                   params.get("normalise", "minmax"), int(params.get("candidates", 100)),
                   int(hist.get("cold_max", 2)), int(hist.get("hot_min", 10)),
                   Switching.from_params(params.get("switching")), fit_components)

    @property
    def names(self) -> list[str]:
        """Component names in blend order (``popular`` last)."""
        return [*self.components, POPULAR]

    def _fit(self, interactions: Interactions, **context) -> None:
        if self.fit_components:
            for name, comp in self.components.items():
                log.info("hybrid: fitting component %s (%s)", name, type(comp).__name__)
                comp.fit(interactions, **context)
        for name, comp in self.components.items():
            comp._check_fitted()
            if comp.interactions_.shape[1] != interactions.shape[1] or \
                    not comp.interactions_.product_ids.equals(interactions.product_ids):
                raise ValueError(f"component '{name}' was fitted on another product universe: fit every "
                                 f"component on the hybrid's interactions")
        self.history_ = np.diff(interactions.matrix.tocsr().indptr).astype(np.int64)
        self.unavailable_ = np.zeros(interactions.shape[1], dtype=bool)

    def set_unavailable(self, product_ids) -> "HybridRecommender":
        """Exclude these products from every list (e.g. out of stock) and return self."""
        self._check_fitted()
        idx = self.interactions_.product_index(pd.Index(pd.Series(product_ids, dtype="str")))
        self.unavailable_ = np.zeros(self.interactions_.shape[1], dtype=bool)
        self.unavailable_[idx[idx >= 0]] = True
        return self

    def _candidate_block(self, rows: np.ndarray, exclude_seen: bool = True, with_positions: bool = True):
        """Candidates, normalised scores and positions for matrix rows (-1 = unknown customer)."""
        P = self.interactions_.shape[1]
        n = len(rows)
        excl = self._excluded(rows, exclude_seen)
        c = min(self.candidates, P)

        def normalised_top(name: str) -> tuple[np.ndarray, np.ndarray]:
            """One component's normalised scores and its top c products (one thread per component)."""
            raw = (np.tile(self.popularity_, (n, 1)) if name == POPULAR
                   else component_scores(self.components[name], rows))
            s = normalise_rows(raw, excl, self.normalise)
            key = np.where(excl, -1.0, s)
            # the c largest sit at the end after partitioning at P - c (no negated copy: twice as fast)
            top = np.argpartition(key, P - c, axis=1)[:, P - c:] if c < P else np.tile(np.arange(P), (n, 1))
            return s, top

        norms, tops = zip(*thread_map(normalised_top, self.names))  # names always hold the popular component
        cand = np.sort(np.hstack(tops), axis=1)
        dup = np.zeros(cand.shape, dtype=bool)
        dup[:, 1:] = cand[:, 1:] == cand[:, :-1]
        valid = ~dup & ~np.take_along_axis(excl, cand, axis=1)
        # push invalid entries to the end and trim to the widest row
        order = np.argsort(~valid, axis=1, kind="stable")
        cand = np.take_along_axis(cand, order, axis=1)
        valid = np.take_along_axis(valid, order, axis=1)
        width = max(int(valid.sum(axis=1).max()) if n else 0, 1)
        cand, valid = cand[:, :width], valid[:, :width]
        cand = np.where(valid, cand, -1)
        safe = np.maximum(cand, 0)
        scores = np.stack([np.take_along_axis(s, safe, axis=1) for s in norms], axis=2)
        scores[~valid] = 0.0
        # positions among the candidates: exact for each component's own top ``candidates``, which are all in
        pos = (np.stack(thread_map(lambda j: positions(scores[:, :, j], valid), range(scores.shape[2])), axis=2)
               if with_positions else None)
        return cand, scores, pos, valid

    def candidate_set(self, customer_ids, exclude_seen: bool = True, progress: bool = False) -> CandidateSet:
        """Return the :class:`CandidateSet` of these customers (unknown customers: popularity-based lists)."""
        self._check_fitted()
        ids = pd.Index(pd.Series(customer_ids, dtype="str")).unique()
        rows = self.interactions_.customer_index(ids)
        parts = []
        for s in tqdm(range(0, len(ids), self.batch_size), desc="hybrid candidates", disable=not progress,
                      leave=False):
            parts.append(self._candidate_block(rows[s:s + self.batch_size], exclude_seen))
        width = max([p[0].shape[1] for p in parts], default=1)

        def pad(a, fill):
            extra = width - a.shape[1]
            if extra == 0:
                return a
            shape = (a.shape[0], extra) + a.shape[2:]
            return np.concatenate([a, np.full(shape, fill, dtype=a.dtype)], axis=1)

        J = len(self.names)
        if parts:
            items = np.vstack([pad(p[0], -1) for p in parts])
            scores = np.vstack([pad(p[1], 0.0) for p in parts])
            pos = np.vstack([pad(p[2], np.inf) for p in parts])
            valid = np.vstack([pad(p[3], False) for p in parts])
        else:
            items, valid = np.zeros((0, 1), dtype=np.int64), np.zeros((0, 1), dtype=bool)
            scores, pos = np.zeros((0, 1, J), dtype=np.float32), np.zeros((0, 1, J), dtype=np.float16)
        history = np.where(rows >= 0, self.history_[np.maximum(rows, 0)], 0)
        return CandidateSet(ids, self.interactions_.product_ids, self.names, items, scores, pos, valid,
                            history, history_buckets(history, self.cold_max, self.hot_min))

    def _score_rows(self, rows: np.ndarray) -> np.ndarray:
        """The blend over the whole catalog for matrix rows, -inf outside the candidates.

        The same numbers as :meth:`candidate_set` + :meth:`CandidateSet.blend`, without building the
        candidate lists: a dense (rows x products) candidate mask and one weighted sum per component. When
        ``candidates`` covers the catalog every recommendable product is a candidate, so a component is
        scored only for the rows where it carries weight (e.g. popular only for switched cold customers).
        """
        P = self.interactions_.shape[1]
        n = len(rows)
        excl = self._excluded(rows, exclude_seen=True)
        hist = np.where(rows >= 0, self.history_[np.maximum(rows, 0)], 0)
        W = self.switching.row_weights(np.array([float(self.weights.get(nm, 0.0)) for nm in self.names]),
                                       self.names, history_buckets(hist, self.cold_max, self.hot_min))
        W = W.astype(np.float32)
        c = min(self.candidates, P)
        restrict = c < P
        cand = np.zeros((n, P), dtype=bool) if restrict else None
        blended = np.zeros((n, P), dtype=np.float32)
        for j, name in enumerate(self.names):
            w = W[:, j]
            use = np.flatnonzero(w != 0) if not restrict else np.arange(n)
            if len(use) == 0:
                continue  # no weight anywhere in this block and no say in the candidates
            sub = rows[use]
            raw = (np.tile(self.popularity_, (len(sub), 1)) if name == POPULAR
                   else component_scores(self.components[name], sub))
            s = normalise_rows(raw, excl[use], self.normalise, copy=False)  # raw is this loop's scratch
            if restrict:  # this component's top c join the candidates (as in _candidate_block)
                top = np.argpartition(np.where(excl, np.float32(-1.0), s), P - c, axis=1)[:, P - c:]
                np.put_along_axis(cand, top, True, axis=1)
            s *= w[use, None]
            if len(use) == n:
                blended += s
            else:
                blended[use] += s
        valid = ~excl if cand is None else cand & ~excl
        return np.where(valid, blended, -np.inf)

    def _excluded(self, rows: np.ndarray, exclude_seen: bool = True) -> np.ndarray:
        """(rows x products) mask of the products that are never candidates: unavailable, and seen."""
        n = len(rows)
        excl = np.tile(self.unavailable_, (n, 1))
        known = rows >= 0
        if exclude_seen and known.any():
            seen = self._seen[rows[known]].tocoo()
            excl[np.flatnonzero(known)[seen.row], seen.col] = True
        return excl

    def score_batch(self, rows: np.ndarray) -> np.ndarray:
        """Blended scores (len(rows) x products), -inf outside the candidates; -1 rows (unknown customers)
        blend the components' cold-start scores, as :meth:`candidate_set` does."""
        self._check_fitted()
        return self._score_rows(np.asarray(rows))


# ---- weight tuning ---------------------------------------------------------------------------------
def _normalised(w: np.ndarray) -> np.ndarray:
    s = w.sum()
    return w / s if s > 0 else w


def tune_weights(cs: CandidateSet, start: dict[str, float], k: int = 10, n_random: int = 300, rounds: int = 3,
                 factors=(0.0, 0.5, 2.0, 4.0), seed: int = 0, switching: Switching | None = None,
                 tune: list[str] | None = None, method: str = "bagged",
                 n_bags: int = 200) -> tuple[dict[str, float], pd.DataFrame]:
    """Return ``(weights, trace)``: weights that maximise mean NDCG@k on ``cs`` (which needs ``with_truth``).

    Candidate weight vectors are ``start``, each ``tune`` component alone and ``n_random`` seeded
    Dirichlet(1) draws over the ``tune`` components (all by default). ``method``:

    - ``bagged`` (default): the best candidate is found on each of ``n_bags`` bootstrap resamples of the
      customers and the winners are averaged, which damps the noise of a small validation set;
    - ``ascent``: the best candidate on all customers, then coordinate ascent multiplying one weight at
      a time by each of ``factors`` while the mean improves (``rounds`` passes).

    Weights sum to 1. ``trace`` has one row per step: ``step``, validation ``ndcg`` and the weights.
    """
    if method not in ("bagged", "ascent"):
        raise ValueError(f"tuning method must be bagged or ascent, not {method!r}")
    names = cs.names
    free = np.array([n in (tune or names) for n in names])
    rng = np.random.default_rng(seed)
    trace = []
    if cs.rel is None:
        raise ValueError("call with_truth(truth) first: the candidate set has no relevance labels")
    # a customer with no relevant candidate scores 0 under any weights: only the others are blended and ranked
    scored = cs.rel.any(axis=1)
    sub = cs.subset(scored)

    def per_customer(w: np.ndarray) -> np.ndarray:
        out = np.zeros(len(cs))
        out[scored] = sub.ndcg(sub.blend(w, switching), k)
        return out

    w0 = _normalised(cs.weight_vector(start))
    cands = [w0]
    for j in np.flatnonzero(free):
        e = np.zeros(len(names))
        e[j] = 1.0
        cands.append(e)
    if free.any() and n_random > 0:
        d = rng.dirichlet(np.ones(int(free.sum())), size=int(n_random))
        draws = np.zeros((len(d), len(names)))
        draws[:, free] = d
        cands.extend(draws)
    cands = np.array(cands)
    M = np.vstack(thread_map(per_customer, cands))  # candidates x customers
    means = M.mean(axis=1)
    trace.append({"step": "start", "ndcg": float(means[0]), **dict(zip(names, w0))})
    i_best = int(np.argmax(means))
    trace.append({"step": "random", "ndcg": float(means[i_best]), **dict(zip(names, cands[i_best]))})
    if method == "bagged":
        n = M.shape[1]
        wins = np.zeros(len(cands))
        for s in range(0, int(n_bags), 50):  # bootstrap resamples in blocks: (block x customers) indices
            b = min(50, int(n_bags) - s)
            idx = rng.integers(0, n, size=(b, n))
            counts = np.zeros((b, n))
            np.add.at(counts, (np.repeat(np.arange(b), n), idx.ravel()), 1.0)
            bag_means = counts @ M.T  # b x candidates (sums; argmax is the same as for means)
            np.add.at(wins, bag_means.argmax(axis=1), 1.0)
        best_w = _normalised(wins @ cands)
        best = float(per_customer(best_w).mean())
        trace.append({"step": "bagged", "ndcg": best, **dict(zip(names, best_w))})
        return {n_: float(x) for n_, x in zip(names, best_w)}, pd.DataFrame(trace)
    best_w, best = cands[i_best], float(means[i_best])
    for rnd in range(int(rounds)):
        improved = False
        for j in np.flatnonzero(free):
            for f in factors:
                w = best_w.copy()
                w[j] = w[j] * f if w[j] > 0 else (f * 0.1 if f > 0 else 0.0)
                w = _normalised(w)
                if w.sum() == 0:
                    continue
                v = float(per_customer(w).mean())
                if v > best + 1e-12:
                    best_w, best, improved = w, v, True
        trace.append({"step": f"ascent_{rnd + 1}", "ndcg": best, **dict(zip(names, best_w))})
        if not improved:
            break
    return {n_: float(x) for n_, x in zip(names, best_w)}, pd.DataFrame(trace)
