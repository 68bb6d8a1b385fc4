"""Notebook 05's experiment: fit, tune, re-rank, ablate and apply business rules to the hybrid, step by step.

The split is the run's one protocol (:mod:`workbench.evaluate.experiment`, the ``evaluation:`` block), the
same test customers and relevant pairs every other recommender is scored on. Each step of
:class:`HybridExperiment` returns a result object that the later steps and :meth:`HybridExperiment.metrics`
take as arguments:

1. ``fit_validation`` -> :class:`ValidationResult`: the validation folds carved out of TRAIN (never the test
   split, ``evaluation.validation.folds``), a hybrid fitted on each fold's training part, pooled candidates.
2. ``tune(validation)`` -> :class:`TuningResult`: weights searched on the validation candidates.
3. ``fit_reranker(validation, tuning)`` -> a fitted :class:`~workbench.recommend.rerank.LearnedReranker`.
4. ``evaluate(tuning, reranker)`` -> :class:`TestResult`: components refitted on the whole train part, test
   candidates built once, every variant (default, tuned, learned, each component alone, popular) scored.
5. ``ablation``, ``by_history``, ``apply_rules``, ``impact``: the analyses.
6. ``production(tuning, reranker)``: components fitted on all the data, final top-K for every customer with
   confidence and explanation (the ``recommendations`` artifact).

Every hybrid is made by :func:`~workbench.recommend.hybrid.build_hybrid`. Segments (cluster trending, the
segment rules) come from a ``segmenter`` called on the training purchases of each fit, so no test-period
purchase reaches them; the segments given for production are used by :meth:`HybridExperiment.production` only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

import numpy as np
import pandas as pd

from workbench.config import merge_block
from workbench.data import contract
from workbench.data.shop import Shop, transaction_lines
from workbench.evaluate import ablation as ablation_tables
from workbench.evaluate import experiment as evaluation_protocol
from workbench.evaluate import impact as business_impact
from workbench.evaluate.metrics import evaluate_ranking, intra_list_diversity, per_customer_metrics
from workbench.evaluate.significance import bootstrap_ci, paired_bootstrap, paired_sample_size
from workbench.recommend import rules as business_rules
from workbench.recommend import rule_strength, side_features
from workbench.recommend.rule_strength import RuleChoice, RuleStrength
from workbench.recommend.holdout import Holdout, run_holdout, to_interactions, validation_holdouts
from workbench.recommend import registry
from workbench.recommend.hybrid import (BUCKETS, DEFAULTS, POPULAR, CandidateSet, HybridRecommender, Switching,
                                        build_hybrid, component_model, component_specs, missing_components,
                                        tune_weights)
from workbench.recommend.context import no_prices_reason
from workbench.recommend.base import top_k
from workbench.recommend.rerank import LearnedReranker
from workbench.recommend.serving import FinalRecommender
from workbench.errors import StageSkipped
from workbench.stages import require, skip_record

log = logging.getLogger(__name__)

#: why a component that needs baskets of purchases is left out of a shop without any (a clickstream without
#: purchase events)
NO_BASKETS = ("the cross-sell recommender mines rules from baskets of purchases, and this shop has no purchase (no "
              "sale line, no purchase event); it is left out")

VARIANTS = ("default", "tuned", "learned")
#: candidates per customer (best first by the start variant) the rules' strengths are chosen on
CHOICE_DEPTH = 100
#: the artifact name prefix of the hybrid variants' test lists (``recs_hybrid_<variant>``)
HYBRID_PREFIX = "hybrid_"
#: columns of the recommendations artifact
REC_COLUMNS = (contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score", "confidence", "explanation", "reason", contract.NAME,
               contract.CATEGORY)


# ---- step results ---------------------------------------------------------------------------------
@dataclass
class Fold:
    """One validation fold: its hold-out (carved out of train), the hybrid fitted on it, its candidates."""

    holdout: Holdout
    hybrid: HybridRecommender
    candidates: CandidateSet
    segments: pd.DataFrame | None = None   # fitted on the fold's training part alone


@dataclass
class ValidationResult:
    """What :meth:`HybridExperiment.fit_validation` made: the folds and their pooled candidates."""

    folds: list[Fold]
    candidates: CandidateSet

    @property
    def names(self) -> list[str]:
        """Component names in blend order (``popular`` last)."""
        return list(self.candidates.names)


@dataclass
class TuningResult:
    """Default and tuned weights, the switching rule kept, and every search's trace."""

    default_weights: dict[str, float]
    weights: dict[str, float]
    switching: Switching
    trace: pd.DataFrame          # every search (with and without switching when ``auto``)
    chosen: pd.DataFrame         # the kept search's trace

    @property
    def validation_ndcg(self) -> dict[str, float]:
        """Validation NDCG of the default (start) and tuned weights on the kept search."""
        return {"default": float(self.chosen["ndcg"].iloc[0]), "tuned": float(self.chosen["ndcg"].iloc[-1])}


@dataclass
class TestResult:
    """The variants on the test split: the fitted hybrid, its candidates, the lists, the table and comparisons."""

    hybrid: HybridRecommender
    candidates: CandidateSet
    recs: dict[str, pd.DataFrame]      # default, tuned, learned, each component alone, popular
    table: pd.DataFrame                # ranking metrics at k, NDCG interval and kind per variant
    per_customer: pd.DataFrame         # NDCG per customer (rows) and variant (columns)
    best_component: str
    comparisons: pd.DataFrame          # each variant vs the best component and popular (paired bootstrap)
    segments: pd.DataFrame | None = None   # fitted on the training part alone


@dataclass
class AblationResult:
    """Leave-one-out / alone tables of the tuned blend and of the default weights."""

    tuned: pd.DataFrame
    default: pd.DataFrame


@dataclass
class RulesResult:
    """The final variant after the business rules on the test split: its lists and what the rules cost."""

    recs: pd.DataFrame
    metrics: dict
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)  # what each rule costs and buys (see apply_rules)


@dataclass
class ImpactResult:
    """Expected revenue per variant and the simulated A/B test of the final variant against popular."""

    revenue: pd.DataFrame
    ab_test: dict
    purchase_prob: float
    purchase_prob_source: str


# ---- the experiment -------------------------------------------------------------------------------
@dataclass
class HybridExperiment:
    """The hybrid's evaluation on one shop (see the module doc).

    ``params`` is the run's whole params dict (its ``hybrid:`` block, the ``evaluation:`` protocol and the
    stage blocks named by ``params_from``); ``segmenter(train_transactions) -> segments`` fits the segments
    of every evaluation fit (None: no segments; cluster trending and the segment rules fall back);
    ``segments`` (fitted on all the data, notebook 01's artifact) serve :meth:`production` only;
    ``recorder`` reads or writes the run's split artifacts.
    """

    shop: Shop
    params: dict = field(default_factory=dict)
    segmenter: Callable[[pd.DataFrame], pd.DataFrame | None] | None = None
    segments: pd.DataFrame | None = None
    recorder: object | None = None
    progress: bool = False

    def __post_init__(self):
        self.evaluation = evaluation_protocol.settings(self.params)
        self.cfg = merge_block(DEFAULTS, self.params.get("hybrid"), "hybrid")
        self.k = self.evaluation.k
        self.weight = (self.cfg.get("interactions") or {}).get("weight", "binary")
        mode = (self.cfg.get("switching") or {}).get("enabled", "auto")
        if mode not in (True, False, "auto"):
            raise ValueError(f"hybrid.switching.enabled must be true, false or auto, not {mode!r}")
        self.switching_mode = mode
        self.switching = Switching.from_params({**(self.cfg.get("switching") or {}), "enabled": mode is not False})
        self.default_weights = {n: float(w) for n, w in (self.cfg.get("weights") or {}).items()}
        self.missing = missing_components(self.cfg, _importable(self.cfg))
        self.unusable = {}  # component -> why the data cannot support it (left out like a missing one)
        self.skipped = {}   # part of the stage (reranker) -> why it could not be fitted (metrics: hybrid.<part>)
        self.choice: RuleChoice | None = None  # the start variant and rule strengths (choose_rules)
        lines = transaction_lines(self.shop)
        # what the data lacks, by the registry's needs of a model
        lacking = {"prices": no_prices_reason(self.shop.products, lines),
                   "baskets": None if len(lines) else NO_BASKETS}
        for name, entry in component_specs(self.cfg).items():
            model = component_model(entry)
            why = next((lacking[n] for n in registry.NEEDS
                        if model is not None and n in registry.get(model).needs and lacking.get(n)), None)
            if why:
                self.cfg["components"][name] = "none"
                self.unusable[name] = why
                log.warning("hybrid: component %s left out: %s", name, why)

    # ---- the split ----------------------------------------------------------------------------------
    @cached_property
    def holdout(self) -> Holdout:
        """The run's test split (the ``evaluation:`` protocol and its population) with the hybrid's interaction weights."""
        return run_holdout(self.shop, self.params, self.recorder, self.weight, stage="hybrid")

    def _bootstrap(self) -> tuple[int, float, int]:
        e = self.evaluation
        return e.n_boot, e.alpha, e.seed

    # ---- fitting ------------------------------------------------------------------------------------
    def fit_hybrid(self, h: Holdout, segments: pd.DataFrame | None = None) -> HybridRecommender:
        """Return the hybrid (default weights) fitted on ``h``'s training part, with segments fitted on it alone
        (``segments``: already fitted on it)."""
        tx = h.transactions
        if segments is None:
            segments = self.segmenter(tx) if self.segmenter is not None else None
        context = {"transactions": tx, "products": self.shop.products, "segments": segments, "history": tx}
        return build_hybrid(self.cfg, h.interactions, context, params=self.params, weights=self.default_weights)

    def fit_validation(self) -> ValidationResult:
        """Fit a hybrid on each validation fold's training part and return the folds with pooled candidates.

        The folds are the protocol's (``evaluation.validation``): for ``last_basket`` and ``chronological``
        successively earlier cut-offs (fold 2 holds out the last basket of fold 1's training part, ...), for
        ``stratified`` and ``random`` the same split of train under other seeds.
        """
        folds = []
        for vh in validation_holdouts(self.shop, self.holdout, self.weight):
            segments = self.segmenter(vh.transactions) if self.segmenter is not None else None
            hyb = self.fit_hybrid(vh, segments)
            cs = hyb.candidate_set(vh.customers, progress=self.progress).with_truth(vh.test)
            folds.append(Fold(vh, hyb, cs, segments))
        require(bool(folds), "hybrid",
                "the hybrid tunes its weights on validation customers carved out of the training part, and no "
                "training customer has an earlier basket with a new product to hold out; use more history or another "
                "evaluation.split")
        return ValidationResult(folds, CandidateSet.concat([f.candidates for f in folds]))

    def tune(self, validation: ValidationResult) -> TuningResult:
        """Search the weights on the validation candidates.

        With ``switching.enabled: auto`` the search runs with and without switching and keeps whichever
        scores higher on validation.
        """
        t = self.cfg["tuning"]
        start = {n: self.default_weights.get(n, 0.0) for n in validation.names}
        options = [self.switching] if self.switching_mode != "auto" else [
            self.switching, Switching(False, self.switching.from_, self.switching.to)]
        best, traces = None, []
        for sw in options:  # one or two searches
            w, trace = tune_weights(validation.candidates, start, self.k, int(t["n_random"]), int(t["rounds"]),
                                    tuple(t["factors"]), int(t["seed"]), sw, method=str(t.get("method", "bagged")),
                                    n_bags=int(t.get("n_bags", 200)))
            trace.insert(0, "switching", sw.enabled)
            traces.append(trace)
            if best is None or trace["ndcg"].iloc[-1] > best[1]["ndcg"].iloc[-1] + 1e-12:
                best = (w, trace, sw)
        return TuningResult(start, best[0], best[2], pd.concat(traces, ignore_index=True), best[1])

    def fit_reranker(self, validation: ValidationResult, tuning: TuningResult,
                     reranker: LearnedReranker | None = None) -> LearnedReranker:
        """Return the LGBMRanker trained on the validation candidates (every fold) over the tuned blend.

        Raises :class:`~workbench.errors.StageSkipped` (``hybrid.reranker``, also kept for :meth:`metrics`) when no
        validation customer has a relevant product among the candidates it re-orders."""
        reranker = LearnedReranker.from_params(self.cfg["reranker"]) if reranker is None else reranker
        folds = [(f.candidates, f.candidates.blend(tuning.weights, tuning.switching), f.hybrid, self._side(f.segments))
                 for f in validation.folds]
        try:
            return reranker.fit_folds(folds, self.shop.products)
        except StageSkipped as exc:
            self._require(False, exc.stage.split(".", 1)[-1], exc.reason)

    def _require(self, ok: bool, part: str, reason: str) -> None:
        """Raise :class:`StageSkipped` (``hybrid.<part>``) unless ``ok``, keeping the reason for :meth:`metrics`
        (which replaces the stage's block at the end of the notebook)."""
        if not ok:
            self.skipped[part] = reason
            raise StageSkipped(f"hybrid.{part}", reason)

    # ---- the test split -----------------------------------------------------------------------------
    def evaluate(self, tuning: TuningResult, reranker: LearnedReranker | None = None) -> TestResult:
        """Refit on the whole train part and score every variant and component alone on the test split."""
        h = self.holdout
        segments = self.segmenter(h.transactions) if self.segmenter is not None else None
        hyb = self.fit_hybrid(h, segments)
        cs = hyb.candidate_set(h.customers, progress=self.progress).with_truth(h.test)
        scores = {"default": cs.blend(tuning.default_weights, tuning.switching),
                  "tuned": cs.blend(tuning.weights, tuning.switching)}
        if reranker is not None:
            scores["learned"] = reranker.scores(cs, scores["tuned"], hyb, self.shop.products, self._side(segments))
        for n in cs.names:
            scores[n] = cs.blend({m: float(m == n) for m in cs.names})
        recs = {n: cs.recommendations(s, self.k) for n, s in scores.items()}
        truth = h.test
        rows = {n: evaluate_ranking(truth, r, k=self.k, n_items=cs.product_ids.size) for n, r in recs.items()}
        table = pd.DataFrame.from_dict(rows, orient="index")
        table.index.name = "model"
        n_boot, alpha, seed = self._bootstrap()
        per_customer = pd.DataFrame({n: per_customer_metrics(truth, r, self.k)["ndcg"].to_numpy()
                                     for n, r in recs.items()},
                                    index=pd.Index(np.sort(truth[contract.CUSTOMER_ID].unique()), name=contract.CUSTOMER_ID))
        ci = {n: bootstrap_ci(v, n_boot, alpha, seed) for n, v in per_customer.items()}
        table["ndcg_low"] = [ci[n][1] for n in table.index]
        table["ndcg_high"] = [ci[n][2] for n in table.index]
        table["kind"] = ["hybrid" if n in VARIANTS else ("baseline" if n == POPULAR else "component alone")
                         for n in table.index]
        col = f"ndcg@{self.k}"
        comps = [n for n in cs.names if n != POPULAR]
        best = max(comps, key=lambda n: (table.loc[n, col], n)) if comps else POPULAR
        return TestResult(hyb, cs, recs, table, per_customer, best, self._comparisons(per_customer, best), segments)

    def _side(self, segments: pd.DataFrame | None) -> pd.DataFrame:
        """The customer side table of the re-ranker: the customers' attributes and ``segments`` (fitted on the same
        training part)."""
        return side_features.customer_table(self.shop.customers, segments)

    def side_info_ablation(self, validation: ValidationResult, tuning: TuningResult, test: TestResult,
                           reranker: LearnedReranker) -> pd.DataFrame:
        """Return what the side information adds to the learned variant on the test split: NDCG@K of the re-ranker
        with and without the customer and product attributes (the other fitted on the same validation folds), the
        paired difference with its bootstrap interval, for all customers and per history bucket (cold: at most
        ``history.cold_max`` products)."""
        other = self.fit_reranker(validation, tuning, reranker.clone(side_info=not reranker.side_info))
        cs = test.candidates
        tuned = cs.blend(tuning.weights, tuning.switching)
        side = self._side(test.segments)
        s_other = other.scores(cs, tuned, test.hybrid, self.shop.products, side)
        s_this = reranker.scores(cs, tuned, test.hybrid, self.shop.products, side)
        with_, without = (s_this, s_other) if reranker.side_info else (s_other, s_this)
        a, b = cs.ndcg(with_, self.k), cs.ndcg(without, self.k)
        n_boot, alpha, seed = self._bootstrap()
        rows = []
        for bucket in ("all", *BUCKETS):
            m = np.ones(len(cs), bool) if bucket == "all" else (cs.buckets == bucket)
            if not m.any():
                continue
            d, lo, hi = paired_bootstrap(a[m], b[m], n_boot, alpha, seed)
            rows.append({"customers": bucket, "n": int(m.sum()), "with_side_info": float(a[m].mean()),
                         "without_side_info": float(b[m].mean()), "delta": d, "low": lo, "high": hi})
        return pd.DataFrame(rows).set_index("customers")

    def _comparisons(self, per_customer: pd.DataFrame, best: str) -> pd.DataFrame:
        """Paired bootstrap NDCG differences of each hybrid variant vs the best component and popular, with the
        customers a paired test would need (:func:`paired_sample_size`) next to ``n`` evaluated."""
        n_boot, alpha, seed = self._bootstrap()
        power = float(self.cfg["impact"]["power"])
        rows = []
        for v in [x for x in VARIANTS if x in per_customer]:
            for other in (best, POPULAR):
                d, lo, hi = paired_bootstrap(per_customer[v], per_customer[other], n_boot, alpha, seed)
                diff = per_customer[v].to_numpy() - per_customer[other].to_numpy()
                rows.append({"variant": v, "versus": other, "delta": d, "low": lo, "high": hi,
                             "excludes_zero": bool(lo > 0 or hi < 0), "n": int(len(diff)),
                             "n_needed": paired_sample_size(diff, alpha, power)})
        return pd.DataFrame(rows)

    # ---- ablation and history buckets ---------------------------------------------------------------
    def ablation(self, test: TestResult, tuning: TuningResult) -> AblationResult:
        """Return the leave-one-out / alone tables of the tuned and default blends on the test split."""
        n_boot, alpha, seed = self._bootstrap()
        cs = test.candidates
        fn = lambda w: cs.ndcg(cs.blend(w, tuning.switching), self.k)  # noqa: E731
        names = list(cs.names)
        comps = [n for n in names if n != POPULAR or tuning.weights.get(POPULAR, 0) > 0]
        comps_d = [n for n in names if n != POPULAR or tuning.default_weights.get(POPULAR, 0) > 0]
        return AblationResult(ablation_tables.ablation(fn, tuning.weights, comps, n_boot, alpha, seed),
                              ablation_tables.ablation(fn, tuning.default_weights, comps_d, n_boot, alpha, seed))

    def by_history(self, test: TestResult, tuning: TuningResult) -> pd.DataFrame:
        """Return NDCG@k per history bucket (cold, warm, hot): tuned with and without switching, each component."""
        cs = test.candidates
        cols = {"hybrid": cs.ndcg(cs.blend(tuning.weights, tuning.switching), self.k),
                "no_switching": cs.ndcg(cs.blend(tuning.weights), self.k)}
        for n in cs.names:
            cols[n] = cs.ndcg(cs.blend({m: float(m == n) for m in cs.names}), self.k)
        df = pd.DataFrame(cols)
        df["bucket"] = cs.buckets
        g = df.groupby("bucket", sort=False)
        out = g.mean()
        out.insert(0, "n", g.size())
        return out.reindex([b for b in BUCKETS if b in out.index])

    # ---- business rules -------------------------------------------------------------------------------
    def _product_arrays(self, product_ids: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
        p = self.shop.products.assign(**{contract.PRODUCT_ID: self.shop.products[contract.PRODUCT_ID].astype("str")})
        p = p.drop_duplicates(contract.PRODUCT_ID).set_index(contract.PRODUCT_ID).reindex(product_ids)
        cat = pd.factorize(p[contract.CATEGORY].astype("str").fillna("unknown"), sort=True)[0]
        pct = business_rules.price_percentile(self.shop.products).reindex(product_ids).fillna(0.5).to_numpy()
        onehot = np.eye(int(cat.max()) + 1, dtype=np.float32)[cat]
        return cat, pct, onehot, p[contract.NAME].astype("str").fillna("")

    def _price_sensitive(self, transactions: pd.DataFrame) -> pd.Index:
        return business_rules.price_sensitive_customers(transactions, self.shop.products,
                                                        float(self.cfg["rules"]["price_sensitive_max"]))

    def _rule_fits(self, hyb: HybridRecommender, cs: CandidateSet, sensitive: pd.Index,
                   segments: pd.DataFrame | None) -> tuple[np.ndarray, pd.Series]:
        """Return ``(fits, rule)``: 1 where a candidate fits its customer's segment rule (customers x candidates),
        and the rule per customer."""
        r = self.cfg["rules"]
        cat, pct, _, _ = self._product_arrays(cs.product_ids)
        rule = business_rules.customer_rules(cs.customer_ids, segments, sensitive, dict(r["segment_rules"]))
        rows = hyb.interactions_.customer_index(cs.customer_ids)
        held = hyb.interactions_.binary()
        fav = np.full(len(cs), -1)
        known = rows >= 0
        if known.any():
            fav[known] = business_rules.favourite_category(held[rows[known]], cat)
        return business_rules.rule_boosts(cs, rule, pct, cat, fav, 1.0), rule

    def _with_rules(self, cs: CandidateSet, base: np.ndarray, fits: np.ndarray, strength: RuleStrength,
                    arrays: tuple | None = None) -> np.ndarray:
        """Return ``base`` after the segment boost and the diversity rule of ``strength`` (``arrays``: the
        :meth:`_product_arrays` of ``cs``'s products when already made)."""
        cat, _, onehot, _ = arrays if arrays is not None else self._product_arrays(cs.product_ids)
        scores = base + strength.boost * fits if strength.boost else base
        if strength.diversity == "max_per_category":
            scores = business_rules.max_per_category(cs, scores, cat, int(strength.max_per_category))
        elif strength.diversity == "mmr":
            scores = business_rules.mmr(cs, scores, onehot, self.k, float(strength.mmr_lambda))
        elif strength.diversity not in (None, "none"):
            raise ValueError(f"hybrid.rules.diversity must be none, max_per_category or mmr, not {strength.diversity!r}")
        return scores

    def _rule_scores(self, hyb: HybridRecommender, cs: CandidateSet, base: np.ndarray, sensitive: pd.Index,
                     segments: pd.DataFrame | None) -> tuple[np.ndarray, pd.Series]:
        fits, rule = self._rule_fits(hyb, cs, sensitive, segments)
        return self._with_rules(cs, base, fits, self.strength()), rule

    def strength(self) -> RuleStrength:
        """The start variant and the rules' strengths the lists are made with: :meth:`choose_rules`'s choice, or
        the params' when every one is set by hand."""
        if self.choice is not None:
            return self.choice.strength
        r = self.cfg["rules"]
        final = self.cfg.get("final", "auto")
        div = r.get("diversity", "none") or "none"
        auto = [n for n, v in (("final", final), ("rules.boost", r["boost"]),
                               ("rules.max_per_category", r["max_per_category"] if div == "max_per_category" else 0),
                               ("rules.mmr_lambda", r["mmr_lambda"] if div == "mmr" else 1.0)) if rule_strength.is_auto(v)]
        if auto:
            raise ValueError(f"hybrid.{', hybrid.'.join(auto)} is auto (chosen on validation): call "
                             f"choose_rules(validation, tuning, reranker) before making lists, or set a value")
        return RuleStrength(str(final), str(div), int(r["max_per_category"]) if div == "max_per_category" else 0,
                            float(r["mmr_lambda"]) if div == "mmr" else 1.0, float(r["boost"]))

    def choose_rules(self, validation: ValidationResult, tuning: TuningResult,
                     reranker: LearnedReranker | None = None) -> RuleChoice:
        """Choose the start variant (``hybrid.final: auto``: the best on validation) and the rules' strengths
        (``auto``: the strongest within ``rules.max_ndcg_loss`` on validation, :mod:`~workbench.recommend.rule_strength`);
        keep and return the choice.

        The blends' validation NDCG is that of the pooled validation candidates (the tuned weights were searched
        on them); the learned variant's is cross-fitted (:meth:`LearnedReranker.cross_fit_scores`). On each fold,
        products out of stock at the end of its training part are dropped as on the test split, and segments and
        price sensitivity come from its training part.
        """
        r = self.cfg["rules"]
        final = self.cfg.get("final", "auto")
        folds = validation.folds
        bases = {"default": [f.candidates.blend(tuning.default_weights, tuning.switching) for f in folds],
                 "tuned": [f.candidates.blend(tuning.weights, tuning.switching) for f in folds]}
        if reranker is not None and final in ("auto", "learned"):
            bases["learned"] = reranker.cross_fit_scores(
                [(f.candidates, b, f.hybrid, self._side(f.segments)) for f, b in zip(folds, bases["tuned"])],
                self.shop.products)
        start = {v: [f.candidates.ndcg(b, self.k) for f, b in zip(folds, bs)] for v, bs in bases.items()}
        variants = {v: float(np.concatenate(x).mean()) for v, x in start.items()}
        if rule_strength.is_auto(final):
            variant = max(variants, key=lambda v: (variants[v], -VARIANTS.index(v)))
        elif final in variants:
            variant = final
        else:
            raise ValueError(f"hybrid.final must be auto, default, tuned or learned (learned needs the re-ranker), "
                             f"not {final!r}")
        rng = np.random.default_rng(self.evaluation.seed)
        n_all = sum(len(f.candidates) for f in folds)
        cap = max(int(r.get("choice_customers", 10000)), 1)
        inputs = []  # per fold: candidates, start NDCG, stock-filtered start scores, rule fits, has a rule
        for f, base, ndcg0 in zip(folds, bases[variant], start[variant]):
            keep = rng.random(len(f.candidates)) < cap / n_all if n_all > cap else np.ones(len(f.candidates), bool)
            cols = top_k(base[keep], CHOICE_DEPTH)[0]  # the rules re-order the head of the list: its top candidates
            cs = f.candidates.subset(keep).narrow(cols)
            b = np.take_along_axis(np.asarray(base[keep], dtype=np.float64), np.sort(cols, axis=1), axis=1)
            if r.get("stock_filter", True):
                as_of = pd.to_datetime(f.holdout.transactions[contract.TIMESTAMP]).max()
                gone = cs.product_ids.get_indexer(business_rules.unavailable_products(self.shop.prices, as_of))
                b[np.isin(cs.items, gone[gone >= 0]) & (cs.items >= 0)] = -np.inf
            fits, rule = self._rule_fits(f.hybrid, cs, self._price_sensitive(f.holdout.transactions), f.segments)
            inputs.append((cs, ndcg0[keep], b, fits, rule.reindex(cs.customer_ids).fillna("").to_numpy() != ""))
        arrays = self._product_arrays(validation.candidates.product_ids)
        cat = arrays[0]
        n_boot, alpha, seed = self._bootstrap()

        def evaluate(strength: RuleStrength) -> dict:
            loss, div, fit_n, fit_d = [], [], 0.0, 0.0
            for cs, ndcg0, b, fits, has_rule in inputs:
                scores = self._with_rules(cs, b, fits, strength, arrays)
                cols, val = cs.top(scores, self.k)
                loss.append(ndcg0 - _ndcg(cs, cols, val, self.k))
                items = np.take_along_axis(cs.items, cols, axis=1)
                listed = np.isfinite(val) & (items >= 0)
                div.append(rule_strength.list_diversity(cat[np.maximum(items, 0)], listed))
                sel = listed & has_rule[:, None]
                fit_n += float((np.take_along_axis(fits, cols, axis=1)[sel] > 0).sum())
                fit_d += float(sel.sum())
            d, lost = np.concatenate(div), np.concatenate(loss)
            return {"loss": float(lost.mean()), "loss_high": bootstrap_ci(lost, n_boot, alpha, seed)[2], "intra_list_diversity": float(np.nanmean(d)) if np.isfinite(d).any()
                    else float("nan"), "rule_share": fit_n / fit_d if fit_d else float("nan")}

        choice = rule_strength.choose_strengths(
            evaluate, variant, r.get("diversity", "none") or "none", self.k, r["max_per_category"], r["mmr_lambda"],
            r["boost"], float(r["max_ndcg_loss"]))
        choice.variants = variants
        choice.by_hand["variant"] = not rule_strength.is_auto(final)
        self.choice = choice
        log.info("hybrid: lists start from %s (validation NDCG %s); rules %s, validation loss %.4f",
                 variant, {v: round(x, 4) for v, x in variants.items()}, choice.strength.as_dict(),
                 choice.validation_loss)
        return choice

    def _final_base(self, hyb: HybridRecommender, cs: CandidateSet, tuning: TuningResult,
                    reranker: LearnedReranker | None, segments: pd.DataFrame | None = None) -> np.ndarray:
        final = self.strength().variant
        if final == "learned":
            if reranker is None:
                raise ValueError("hybrid.final is learned: pass the fitted re-ranker (fit_reranker)")
            return reranker.scores(cs, cs.blend(tuning.weights, tuning.switching), hyb, self.shop.products,
                                   self._side(segments))
        if final not in ("default", "tuned"):
            raise ValueError(f"hybrid.final must be default, tuned or learned, not {final!r}")
        return cs.blend(self.final_weights(tuning), tuning.switching)

    def final_weights(self, tuning: TuningResult) -> dict[str, float]:
        """Return the weights of the ``final`` variant (tuned, or default when final is default)."""
        return tuning.default_weights if self.strength().variant == "default" else tuning.weights

    def apply_rules(self, test: TestResult, tuning: TuningResult,
                    reranker: LearnedReranker | None = None) -> RulesResult:
        """Apply availability, segment boosts and diversity to the final variant on the test split.

        Stock, segments and price sensitivity are read at the end of the training part (segments from the
        ``segmenter`` on the training purchases), never from the test period.
        """
        h = self.holdout
        r = self.cfg["rules"]
        hyb = test.hybrid
        tx = h.transactions
        as_of = pd.to_datetime(tx[contract.TIMESTAMP]).max()
        gone = (business_rules.unavailable_products(self.shop.prices, as_of) if r.get("stock_filter", True)
                else pd.Index([]))
        before = self._final_base(hyb, test.candidates, tuning, reranker, test.segments)
        hyb.set_unavailable(gone)
        cs = hyb.candidate_set(h.customers, progress=self.progress).with_truth(h.test)
        hyb.set_unavailable([])
        segments = test.segments
        strength = self.strength()
        base = self._final_base(hyb, cs, tuning, reranker, segments)
        fits, rule = self._rule_fits(hyb, cs, self._price_sensitive(tx), segments)
        final = cs.recommendations(self._with_rules(cs, base, fits, strength), self.k)
        truth = h.test
        cat, _, onehot, _ = self._product_arrays(cs.product_ids)
        feats = pd.DataFrame(onehot, index=cs.product_ids)
        pre = test.candidates.recommendations(before, self.k)
        ndcg_final = per_customer_metrics(truth, final, self.k)["ndcg"].to_numpy()
        ndcg_pre = per_customer_metrics(truth, pre, self.k)["ndcg"].to_numpy()
        n_boot, alpha, seed = self._bootstrap()
        d, lo, hi = paired_bootstrap(ndcg_final, ndcg_pre, n_boot, alpha, seed)
        per_cat = (final.assign(_c=cat[cs.product_ids.get_indexer(final[contract.PRODUCT_ID])])
                   .groupby([contract.CUSTOMER_ID, "_c"]).size())
        budget = float(r["max_ndcg_loss"])
        metrics = {
            "variant": strength.variant,
            f"ndcg@{self.k}_before": float(ndcg_pre.mean()), f"ndcg@{self.k}": float(ndcg_final.mean()),
            "delta": d, "low": lo, "high": hi,
            "unavailable_products": int(len(gone)),
            "customers_with_rule": {str(k_): int(v) for k_, v in rule[rule != ""].value_counts().sort_index().items()},
            "diversity": strength.diversity,
            "max_per_category_seen": int(per_cat.max()) if len(per_cat) else 0,
            "intra_list_diversity_before": intra_list_diversity(pre, feats),
            "intra_list_diversity": intra_list_diversity(final, feats),
            "coverage_before": float(pre[contract.PRODUCT_ID].nunique() / cs.product_ids.size),
            "coverage": float(final[contract.PRODUCT_ID].nunique() / cs.product_ids.size),
            # within the accuracy budget on test: the loss is at most max_ndcg_loss, or cannot be told from zero
            "within_budget": bool(-d <= budget or hi >= 0),
            **(self.choice.as_metrics() if self.choice is not None else
               {"max_ndcg_loss": budget, "strength": strength.as_dict(),
                "chosen_on": {"variant": "hand", "boost": "hand", **({"max_per_category": "hand"} if strength.diversity ==
                             "max_per_category" else {"mmr_lambda": "hand"} if strength.diversity == "mmr" else {})}}),
        }
        costs = self._rule_costs(cs, base, fits, strength, pre, ndcg_pre, feats)
        metrics["costs"] = {row.pop("rule"): row for row in costs.to_dict("records")}
        return RulesResult(final, metrics, costs)

    def _rule_costs(self, cs: CandidateSet, base: np.ndarray, fits: np.ndarray, strength: RuleStrength,
                    pre: pd.DataFrame, ndcg_pre: np.ndarray, feats: pd.DataFrame) -> pd.DataFrame:
        """What each rule costs and buys on the test split against the start variant's lists (``pre``): NDCG@K,
        intra-list diversity, catalog coverage and expected revenue per customer, the differences with paired
        bootstrap intervals. Rows: the stock filter alone, with the segment boost, with the diversity rule, all."""
        truth = self.holdout.test
        n_boot, alpha, seed = self._bootstrap()
        none = replace(strength, diversity="none", boost=0.0)
        settings = {"stock_filter": none}
        if strength.boost:
            settings["segment_boost"] = replace(none, boost=strength.boost)
        if strength.diversity != "none":
            settings["diversity"] = replace(strength, boost=0.0)
        settings["all_rules"] = strength
        money = business_impact.no_money_reason(self.holdout.transactions) is None
        if money:
            values = business_impact.item_values(self.holdout.transactions)
            p1 = self._purchase_prob()[0]
            rev_pre = business_impact.expected_revenue(pre, truth, values, p1, self.k)["expected_revenue"].to_numpy()
        rows = []
        for name, st in settings.items():
            recs = cs.recommendations(self._with_rules(cs, base, fits, st), self.k)
            nd = per_customer_metrics(truth, recs, self.k)["ndcg"].to_numpy()
            d, lo, hi = paired_bootstrap(nd, ndcg_pre, n_boot, alpha, seed)
            row = {"rule": name, f"ndcg@{self.k}": float(nd.mean()), "ndcg_delta": d, "ndcg_low": lo, "ndcg_high": hi,
                   "intra_list_diversity": intra_list_diversity(recs, feats),
                   "coverage": float(recs[contract.PRODUCT_ID].nunique() / cs.product_ids.size)}
            if money:
                rev = business_impact.expected_revenue(recs, truth, values, p1, self.k)["expected_revenue"].to_numpy()
                rd, rlo, rhi = paired_bootstrap(rev, rev_pre, n_boot, alpha, seed)
                row.update({"revenue": float(rev.mean()), "revenue_delta": rd, "revenue_low": rlo, "revenue_high": rhi})
            rows.append(row)
        start = {"rule": "start", f"ndcg@{self.k}": float(ndcg_pre.mean()), "ndcg_delta": 0.0, "ndcg_low": 0.0,
                 "ndcg_high": 0.0, "intra_list_diversity": intra_list_diversity(pre, feats),
                 "coverage": float(pre[contract.PRODUCT_ID].nunique() / cs.product_ids.size)}
        if money:
            start.update({"revenue": float(rev_pre.mean()), "revenue_delta": 0.0, "revenue_low": 0.0, "revenue_high": 0.0})
        return pd.DataFrame([start, *rows])

    def recommendation_lists(self, test: TestResult, rules: RulesResult | None = None) -> dict[str, pd.DataFrame]:
        """Return the hybrid variants' test lists by artifact model name: ``hybrid_default``, ``hybrid_tuned``,
        ``hybrid_learned`` and ``hybrid_final`` (after the business rules), ``[customer_id, product_id, score,
        rank]`` each."""
        out = {f"{HYBRID_PREFIX}{v}": test.recs[v] for v in VARIANTS if v in test.recs}
        if rules is not None:
            out[f"{HYBRID_PREFIX}final"] = rules.recs
        return {n: r[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "score", "rank"]].reset_index(drop=True) for n, r in out.items()}

    # ---- business impact -----------------------------------------------------------------------------
    def impact(self, test: TestResult, rules: RulesResult) -> ImpactResult:
        """Return the expected revenue per variant and the A/B simulation of the final variant vs popular.

        Raises :class:`~workbench.errors.StageSkipped` (``hybrid.revenue``) when the training purchases have no
        price (:func:`~workbench.evaluate.impact.no_money_reason`) or fewer than two customers are tested (one
        per arm of the A/B simulation)."""
        h = self.holdout
        reason = business_impact.no_money_reason(h.transactions)
        require(reason is None, "hybrid.revenue", reason or "")
        n_test = int(h.test[contract.CUSTOMER_ID].nunique())
        self._require(n_test >= 2, "revenue",
                      f"the simulated A/B test splits the test customers into a control and a treatment arm and "
                      f"needs at least 2; this split has {n_test}; the expected revenue and the A/B simulation are "
                      f"not computed, the ranking metrics are")
        imp = self.cfg["impact"]
        p1, src = self._purchase_prob()
        values = business_impact.item_values(h.transactions)
        recs = {**test.recs, "final": rules.recs}
        rows = []
        for name in [POPULAR, test.best_component, *VARIANTS, "final"]:
            if name not in recs:
                continue
            er = business_impact.expected_revenue(recs[name], h.test, values, p1, self.k)
            rows.append({"model": name, "expected_purchases": er["expected_purchases"].mean(),
                         "expected_revenue": er["expected_revenue"].mean()})
        rev = pd.DataFrame(rows).drop_duplicates("model").set_index("model")
        rev["lift_vs_popular"] = rev["expected_revenue"] / rev.loc[POPULAR, "expected_revenue"] - 1 \
            if rev.loc[POPULAR, "expected_revenue"] > 0 else np.nan
        ab = business_impact.simulate_ab(recs[POPULAR], recs["final"], h.test, values, p1, self.k,
                                         alpha=float(imp["alpha"]), power=float(imp["power"]),
                                         n_boot=self.evaluation.n_boot, seed=int(imp["seed"]))
        ab["control_model"], ab["treatment_model"] = POPULAR, "final"
        return ImpactResult(rev, ab, p1, src)

    def _purchase_prob(self) -> tuple[float, str]:
        """The purchase model's probability at position 1 and where it comes from (parameter or the events)."""
        imp = self.cfg["impact"]
        if imp.get("purchase_prob") is not None:
            return float(imp["purchase_prob"]), "parameter"
        return business_impact.purchase_probability(self.shop.events, float(imp["fallback_purchase_prob"]))

    # ---- production lists ---------------------------------------------------------------------------
    def production(self, tuning: TuningResult, reranker: LearnedReranker | None = None,
                   customer_ids=None) -> pd.DataFrame:
        """Fit on all the data and return the final top-k per customer (``REC_COLUMNS`` + ``rule``).

        All customers of the shop by default, in chunks of ``chunk_customers`` so memory stays bounded. The
        segment rules use ``segments`` (fitted on all the data) here.
        """
        return self.final_recommender(tuning, reranker).recommend(customer_ids)

    def final_recommender(self, tuning: TuningResult, reranker: LearnedReranker | None = None) -> FinalRecommender:
        """Fit on all the data and return the production recommender (the run saves it as its ``hybrid`` model)."""
        tx = transaction_lines(self.shop)  # a shop without sales: its purchase events
        source = self.evaluation.source
        rows = evaluation_protocol.source_rows(self.shop, source)
        inter = to_interactions(rows, source, self.shop.products[contract.PRODUCT_ID], self.weight)
        context = {"transactions": tx, "products": self.shop.products, "segments": self.segments, "history": tx}
        hyb = build_hybrid(self.cfg, inter, context, params=self.params, weights=self.default_weights)
        if self.cfg["rules"].get("stock_filter", True):
            hyb.set_unavailable(business_rules.unavailable_products(self.shop.prices))
        held = hyb.interactions_.binary()
        sims = business_rules.similarity_matrices(held, self.shop.products, inter.product_ids,
                                                  self._basket_matrix(tx, inter))
        _, _, _, names = self._product_arrays(inter.product_ids)
        # the lists need the catalog and the segments, not the transactions nor the evaluation state
        catalog = Shop(customers=self.shop.customers, products=self.shop.products, transactions=tx.iloc[:0],
                       name=self.shop.name)
        serving = HybridExperiment(catalog, self.params, segments=self.segments)
        serving.choice = self.choice
        ids = pd.Index(pd.Series(self.shop.customers[contract.CUSTOMER_ID], dtype="str")).unique()
        return FinalRecommender(serving, hyb, tuning, reranker, sims, names, self._price_sensitive(tx), ids,
                                max(int(self.cfg.get("chunk_customers", 20000)), 1))

    def _production_chunk(self, hyb: HybridRecommender, ids: pd.Index, held, sims: dict, names: pd.Series,
                          sensitive: pd.Index, tuning: TuningResult,
                          reranker: LearnedReranker | None, k: int | None = None) -> pd.DataFrame:
        """The final top ``k`` (default the run's) of one chunk of customers (see :meth:`production`)."""
        cs = hyb.candidate_set(ids, progress=self.progress)
        rows = hyb.interactions_.customer_index(cs.customer_ids)
        base = self._final_base(hyb, cs, tuning, reranker, self.segments)
        W = business_rules.row_weights(cs, self.final_weights(tuning), tuning.switching)
        new = (rows < 0) | (cs.history == 0)  # no history: the cold-start list, the switching rule applied
        if new.any():  # (whether or not tuning kept switching for the cold bucket), not the re-ranker's
            rule_on = replace(tuning.switching, enabled=True)
            base[new] = cs.blend(self.final_weights(tuning), rule_on)[new]
            W[new] = business_rules.row_weights(cs, self.final_weights(tuning), rule_on)[new]
        scores, rule = self._rule_scores(hyb, cs, base, sensitive, self.segments)
        cols, val = cs.top(scores, self.k if k is None else int(k))
        ok = np.isfinite(val)
        conf = business_rules.confidence(cs, cols, W, int(self.cfg["rules"]["confidence_top"]))
        comp = business_rules.top_component(cs, cols, W)
        text = business_rules.explain(cs, cols, comp, held, rows, names, sims)
        if new.any():  # and says so
            cold = np.repeat(new, cols.shape[1]).reshape(cols.shape)
            comp_names = np.array(cs.names, dtype=object)[comp]
            text = np.where(cold, business_rules.cold_start_explanations(comp_names.ravel()).reshape(cols.shape), text)
        items = np.take_along_axis(cs.items, cols, axis=1)
        p = self.shop.products.assign(**{contract.PRODUCT_ID: self.shop.products[contract.PRODUCT_ID].astype("str")})
        cat = p.drop_duplicates(contract.PRODUCT_ID).set_index(contract.PRODUCT_ID)[contract.CATEGORY].astype("str")
        pid = cs.product_ids.to_numpy()[np.maximum(items, 0)]
        out = pd.DataFrame({
            contract.CUSTOMER_ID: np.repeat(cs.customer_ids.to_numpy(), cols.shape[1]),
            contract.PRODUCT_ID: pid.ravel(),
            "rank": np.tile(np.arange(1, cols.shape[1] + 1), len(cs)),
            "score": val.ravel(),
            "confidence": conf.ravel(),
            "explanation": text.ravel(),
            "reason": np.array(cs.names, dtype=object)[comp].ravel(),
        })
        out = out[ok.ravel() & (items.ravel() >= 0)].reset_index(drop=True)
        out[contract.NAME] = names.to_numpy()[cs.product_ids.get_indexer(out[contract.PRODUCT_ID])]
        out[contract.CATEGORY] = cat.reindex(out[contract.PRODUCT_ID]).to_numpy()
        out = out.astype({contract.CUSTOMER_ID: "str", contract.PRODUCT_ID: "str", "explanation": "str", "reason": "str",
                          contract.NAME: "str", contract.CATEGORY: "str"})
        out["rule"] = rule.reindex(out[contract.CUSTOMER_ID]).fillna("").to_numpy()
        return out

    @staticmethod
    def _basket_matrix(transactions: pd.DataFrame, inter):
        """Invoices x products 0/1 matrix aligned with ``inter``'s products (None without invoices)."""
        import scipy.sparse as sp

        sales = transactions[transactions[contract.QUANTITY] > 0]
        if contract.TRANSACTION_ID not in sales.columns or len(sales) == 0:
            return None
        inv = pd.factorize(sales[contract.TRANSACTION_ID].astype("str"))[0]
        col = inter.product_index(sales[contract.PRODUCT_ID].astype("str"))
        ok = col >= 0
        m = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (inv[ok], col[ok])),
                          shape=(int(inv.max()) + 1 if len(inv) else 0, inter.shape[1]))
        m.data[:] = 1.0
        return m

    # ---- metrics.json --------------------------------------------------------------------------------
    def metrics(self, validation: ValidationResult, tuning: TuningResult, test: TestResult,
                ablation: AblationResult | None = None, history: pd.DataFrame | None = None,
                rules: RulesResult | None = None, impact: ImpactResult | None = None,
                side_info: pd.DataFrame | None = None) -> dict:
        """Return the ``hybrid`` block of metrics.json from the steps' results (the analyses that ran)."""
        k = self.k
        col = f"ndcg@{k}"
        t = test.table
        names = list(test.candidates.names)
        comps = [n for n in names if n != POPULAR]
        cmp_rows = test.comparisons

        def cmp(variant, versus):
            r = cmp_rows[(cmp_rows["variant"] == variant) & (cmp_rows["versus"] == versus)].iloc[0]
            return {"delta": r["delta"], "low": r["low"], "high": r["high"], "n_needed": r["n_needed"]}

        best = test.best_component
        out = {
            "k": k, "split": self.evaluation.split, "normalise": self.cfg["normalise"],
            "switching_used": bool(tuning.switching.enabled),
            "n_customers": int(len(test.candidates)), "n_validation": int(len(validation.candidates)),
            "validation_folds": int(len(validation.folds)),
            "components_used": comps, "components_missing": list(self.missing),
            **({"components_skipped": {n: skip_record(r) for n, r in self.unusable.items()}} if self.unusable else {}),
            "weights": {"default": tuning.default_weights, "tuned": tuning.weights},
            col: {v: float(t.loc[v, col]) for v in VARIANTS if v in t.index},
            f"{col}_ci": {n: {"low": float(t.loc[n, "ndcg_low"]), "high": float(t.loc[n, "ndcg_high"])}
                          for n in t.index},
            "validation": {col: tuning.validation_ndcg},
            "components": {n: float(t.loc[n, col]) for n in comps},
            "popular": float(t.loc[POPULAR, col]),
            "best_component": best,
            "vs_best_component": {v: cmp(v, best) for v in VARIANTS if v in test.per_customer},
            "vs_popular": {v: cmp(v, POPULAR) for v in VARIANTS if v in test.per_customer},
            "metrics": {n: {c: float(t.loc[n, c]) for c in t.columns if c.endswith(f"@{k}") or c == "coverage"}
                        for n in t.index},
        }
        if ablation is not None:
            a = ablation.tuned
            out["ablation"] = ablation_tables.as_metrics(a)
            out["ablation_default"] = ablation_tables.as_metrics(ablation.default)
            out["alone"] = {c: {"delta": float(d), "low": float(lo), "high": float(hi)} for c, d, lo, hi in
                            zip(a["component"], a["alone_delta"], a["alone_low"], a["alone_high"])}
        if history is not None:
            out["by_history"] = {b: {c: (int(v) if c == "n" else float(v)) for c, v in row.items()}
                                 for b, row in history.iterrows()}
        if rules is not None:
            out["rules"] = rules.metrics
        if side_info is not None:
            out["side_info"] = {b: {c: (int(v) if c == "n" else float(v)) for c, v in row.items()}
                                for b, row in side_info.iterrows()}
        if impact is not None:
            rt = impact.revenue
            out["revenue"] = {"purchase_prob": impact.purchase_prob, "purchase_prob_source": impact.purchase_prob_source,
                              "per_customer": {m: float(v) for m, v in rt["expected_revenue"].items()},
                              "lift_vs_popular": {m: float(v) for m, v in rt["lift_vs_popular"].items()}}
            out["ab_test"] = impact.ab_test
        elif (reason := business_impact.no_money_reason(self.holdout.transactions)) is not None:
            out["revenue"] = skip_record(reason)
        out.update({part: skip_record(reason) for part, reason in self.skipped.items()})
        return out


def _ndcg(cs: CandidateSet, cols: np.ndarray, val: np.ndarray, k: int) -> np.ndarray:
    """Per-customer NDCG@k of the top candidates ``cols`` (values ``val``) as :meth:`CandidateSet.ndcg` scores them."""
    hit = np.take_along_axis(cs.rel, cols, axis=1) & np.isfinite(val)
    dcg = (hit / np.log2(np.arange(2, cols.shape[1] + 2))).sum(axis=1)
    idcg = np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))][np.minimum(cs.n_rel, k)]
    return np.divide(dcg, idcg, out=np.zeros(len(dcg)), where=idcg > 0)


def _importable(cfg: dict) -> set[str]:
    """Names of the components of ``cfg`` whose class imports (without building them)."""
    import importlib

    from workbench.recommend.hybrid import component_model, component_specs, is_off

    ok = set()
    for name, entry in component_specs(cfg).items():
        if is_off(entry):
            continue
        if component_model(entry) is not None:  # a registered model (built from the registry)
            ok.add(name)
            continue
        path = entry.get("class")
        module, _, attr = str(path).rpartition(".")
        try:
            if hasattr(importlib.import_module(module), attr):
                ok.add(name)
        except ImportError:
            pass
    return ok
