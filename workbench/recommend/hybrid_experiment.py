"""Notebook 05's experiment: fit, tune, re-rank, ablate and apply business rules to the hybrid, step by step.

:class:`HybridExperiment` keeps the state between steps so the notebook stays a list of calls:

1. ``fit_validation``: a validation split carved out of TRAIN with the same protocol (never the test
   split), or several (``validation.folds``, pooled); the components are fitted on what is left and the
   validation candidates are built.
2. ``tune``: weights searched on the validation candidates (:func:`~workbench.recommend.hybrid.tune_weights`).
3. ``fit_reranker``: the LGBMRanker trained on the same validation candidates.
4. ``fit_test``: components refitted on the whole train split, test candidates built once; every
   variant (default, tuned, learned, each component alone, popular) is evaluated on them.
5. ``ablation``, ``by_history``, ``apply_rules``, ``impact``: the analyses of the issue.
6. ``production``: components fitted on all the data, final top-K for every customer with confidence
   and explanation (the ``recommendations`` artifact).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from workbench.config import deep_merge
from workbench.data import contract as C
from workbench.data.shop import Shop
from workbench.evaluate import ablation as A
from workbench.evaluate import impact as I
from workbench.evaluate.metrics import evaluate_ranking, intra_list_diversity, per_customer_metrics
from workbench.evaluate.significance import bootstrap_ci, paired_bootstrap
from workbench.recommend import rules as R
from workbench.recommend.hybrid import (BUCKETS, DEFAULTS, POPULAR, CandidateSet, HybridRecommender, Split,
                                        Switching, build_components, make_split, tune_weights)
from workbench.recommend.interactions import Interactions
from workbench.recommend.rerank import LearnedReranker

log = logging.getLogger(__name__)

VARIANTS = ("default", "tuned", "learned")
#: columns of the recommendations artifact
REC_COLUMNS = (C.CUSTOMER_ID, C.PRODUCT_ID, "rank", "score", "confidence", "explanation", "reason", C.NAME,
               C.CATEGORY)


def component_specs(cfg: dict, params: dict | None = None) -> dict:
    """Return the hybrid's component specs with each ``params_from`` stage block merged under its own params.

    ``params_from`` names a params block (dots for nesting, e.g. ``context.seasonal``) whose keys give
    the component's constructor arguments unless the component's own ``params`` set them.
    """
    out = {}
    for name, entry in (cfg.get("components") or {}).items():
        entry = {"class": entry} if isinstance(entry, str) else dict(entry or {})
        base = {}
        src = entry.get("params_from")
        if src and params:
            node = params
            for key in str(src).split("."):
                node = node.get(key) if isinstance(node, dict) else None
            base = dict(node) if isinstance(node, dict) else {}
        entry["params"] = deep_merge(base, entry.get("params") or {})
        out[name] = entry
    return out


def _ranking_rows(truth: pd.DataFrame, recs: dict[str, pd.DataFrame], k: int, n_items: int) -> pd.DataFrame:
    rows = {n: evaluate_ranking(truth, r, k=k, n_items=n_items) for n, r in recs.items()}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "model"
    return out


def paired_sample_size(diff, alpha: float = 0.05, power: float = 0.8) -> float:
    """Return the customers a paired comparison needs to detect mean(``diff``) with this power (two-sided alpha).

    ``diff`` are per-customer differences (e.g. NDCG of the hybrid minus NDCG of a component):
    n = ((z_{1-alpha/2} + z_power) * sd / mean)^2, rounded up; ``inf`` when the mean is 0.
    """
    from scipy.stats import norm

    d = np.asarray(diff, dtype=np.float64)
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0
    if mean == 0.0:
        return float("inf")
    return float(np.ceil(((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * sd / mean) ** 2))


@dataclass
class HybridExperiment:
    """The hybrid's evaluation on one shop (see the module doc); ``cfg`` is the ``hybrid`` params block."""

    shop: Shop
    cfg: dict
    params: dict | None = None
    segments: pd.DataFrame | None = None
    seed: int = 42
    progress: bool = False
    missing: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.cfg = deep_merge(DEFAULTS, self.cfg or {})
        self.k = int(self.cfg["k"])
        sw = dict(self.cfg.get("switching") or {})
        self.switching_mode = sw.get("enabled", "auto")
        if self.switching_mode not in (True, False, "auto"):
            raise ValueError(f"hybrid.switching.enabled must be true, false or auto, not {self.switching_mode!r}")
        self.switching = Switching.from_params({**sw, "enabled": self.switching_mode is not False})
        self.specs = component_specs(self.cfg, self.params)
        self.default_weights = {n: float(w) for n, w in (self.cfg.get("weights") or {}).items()}

    # ---- fitting ------------------------------------------------------------------------------------
    def _components(self) -> dict:
        comps = build_components(self.specs, skip_missing=bool(self.cfg.get("skip_missing", True)))
        self.missing = [n for n in self.specs if n not in comps and (self.specs[n].get("class") or "none") != "none"]
        return comps

    def _context(self, transactions: pd.DataFrame) -> dict:
        return {"transactions": transactions, "products": self.shop.products, "segments": self.segments,
                "history": transactions}

    def fit_hybrid(self, interactions: Interactions, transactions: pd.DataFrame) -> HybridRecommender:
        """Return a hybrid over freshly built components fitted on ``interactions`` (context from ``transactions``)."""
        hyb = HybridRecommender.from_params(self._components(), self.cfg)
        hyb.weights = dict(self.default_weights)
        return hyb.fit(interactions, **self._context(transactions))

    def _limited(self, sp: Split, seed: int) -> Split:
        """``sp`` with its truth kept for a seeded sample of ``max_customers`` customers (all when unset)."""
        n = self.cfg.get("max_customers")
        if n and len(sp.customers) > int(n):
            keep = np.random.default_rng(seed).choice(sp.customers.to_numpy(), int(n), replace=False)
            sp.truth = sp.truth[sp.truth[C.CUSTOMER_ID].isin(keep)].reset_index(drop=True)
        return sp

    def split(self) -> Split:
        """Return (and keep) the test split of the shop under the ``split`` protocol."""
        if not hasattr(self, "test_split"):
            self.test_split = self._limited(make_split(self.shop.transactions, self.shop.products, self.cfg,
                                                       self.shop.ratings, seed=self.seed), self.seed)
        return self.test_split

    def fit_validation(self) -> CandidateSet:
        """Fit the components on train minus a validation split and return the validation candidates.

        With ``validation.folds`` > 1 there are several validation splits, all carved out of train: for
        ``last_basket`` and ``chronological`` successively earlier cut-offs (fold 2 holds out the last
        basket of fold 1's training part, ...), for ``stratified`` the same split of train under other
        seeds. Their candidate sets are pooled (one row per fold and customer) for tuning and the re-ranker.
        ``val_split`` / ``val_hybrid`` are the first fold's; ``val_folds`` keeps ``(split, hybrid, candidates)``.
        """
        sp = self.split()
        v = dict(self.cfg.get("validation") or {})
        n_folds = int(v.get("folds", 1))
        if n_folds < 1:
            raise ValueError(f"hybrid.validation.folds must be at least 1, not {n_folds}")
        vcfg = self.cfg if v.get("ratio") is None else {**self.cfg, "split_ratio": float(v["ratio"])}
        nested = self.cfg["split"] != "stratified"
        train_tx, train_r = sp.train_tx, sp.train_ratings
        self.val_folds = []
        for f in range(n_folds):
            seed = self.seed + 1 + f
            vs = self._limited(make_split(train_tx, self.shop.products, vcfg, train_r, seed=seed), seed)
            if len(vs.customers) == 0:
                log.warning("hybrid: validation fold %d has no customers; %d fold(s) used", f + 1, f)
                break
            hyb = self.fit_hybrid(vs.interactions, vs.train_tx)
            cs = hyb.candidate_set(vs.customers, progress=self.progress).with_truth(vs.truth)
            self.val_folds.append((vs, hyb, cs))
            if nested:
                train_tx, train_r = vs.train_tx, vs.train_ratings
        self.val_split, self.val_hybrid, _ = self.val_folds[0]
        self.val_cs = CandidateSet.concat([cs for _, _, cs in self.val_folds])
        self.names = self.val_cs.names
        self.default_weights = {n: self.default_weights.get(n, 0.0) for n in self.names}
        return self.val_cs

    def tune(self) -> pd.DataFrame:
        """Search the weights on the validation candidates; return the search trace (``tuned_weights`` kept).

        With ``switching.enabled: auto`` the search runs with and without switching and keeps whichever
        scores higher on validation (``switching_used`` says which).
        """
        t = self.cfg["tuning"]
        options = [self.switching] if self.switching_mode != "auto" else [
            self.switching, Switching(False, self.switching.from_, self.switching.to)]
        best = None
        for sw in options:  # one or two searches
            w, trace = tune_weights(self.val_cs, self.default_weights, self.k, int(t["n_random"]), int(t["rounds"]),
                                    tuple(t["factors"]), int(t["seed"]), sw, method=str(t.get("method", "bagged")),
                                    n_bags=int(t.get("n_bags", 200)))
            trace.insert(0, "switching", sw.enabled)
            if best is None or trace["ndcg"].iloc[-1] > best[1]["ndcg"].iloc[-1] + 1e-12:
                best = (w, trace, sw)
            self.tuning_traces = [*getattr(self, "tuning_traces", []), trace]
        self.tuned_weights, self.tuning_trace, self.switching = best
        return pd.concat(self.tuning_traces, ignore_index=True)

    def fit_reranker(self) -> LearnedReranker:
        """Train the LGBMRanker on the validation candidates (every fold) over the tuned blend; return it."""
        self.reranker = LearnedReranker.from_params(self.cfg["reranker"])
        folds = [(cs, cs.blend(self.tuned_weights, self.switching), hyb) for _, hyb, cs in self.val_folds]
        self.reranker.fit_folds(folds, self.shop.products)
        return self.reranker

    def fit_test(self) -> CandidateSet:
        """Refit the components on the whole train split and return the test candidates (with truth)."""
        sp = self.split()
        self.hybrid = self.fit_hybrid(sp.interactions, sp.train_tx)
        self.cs = self.hybrid.candidate_set(sp.customers, progress=self.progress).with_truth(sp.truth)
        return self.cs

    # ---- variants -----------------------------------------------------------------------------------
    def variant_scores(self) -> dict[str, np.ndarray]:
        """Return blended test scores per variant: default, tuned, learned, each component alone (``popular`` too)."""
        cs = self.cs
        out = {"default": cs.blend(self.default_weights, self.switching),
               "tuned": cs.blend(self.tuned_weights, self.switching)}
        if hasattr(self, "reranker"):
            out["learned"] = self.reranker.scores(cs, out["tuned"], self.hybrid, self.shop.products)
        for n in self.names:
            out[n] = cs.blend({m: float(m == n) for m in self.names})
        return out

    def evaluate(self) -> pd.DataFrame:
        """Return the variant table: ranking metrics at k plus NDCG bootstrap interval per variant and component."""
        scores = self.variant_scores()
        self.recs = {n: self.cs.recommendations(s, self.k) for n, s in scores.items()}
        truth = self.split().truth
        table = _ranking_rows(truth, self.recs, self.k, self.cs.product_ids.size)
        b = self.cfg["bootstrap"]
        self.per_customer = pd.DataFrame({n: per_customer_metrics(truth, r, self.k)["ndcg"].to_numpy()
                                          for n, r in self.recs.items()},
                                         index=pd.Index(np.sort(truth[C.CUSTOMER_ID].unique()), name=C.CUSTOMER_ID))
        ci = {n: bootstrap_ci(v, int(b["n_boot"]), float(b["alpha"]), int(b["seed"]))
              for n, v in self.per_customer.items()}
        table["ndcg_low"] = [ci[n][1] for n in table.index]
        table["ndcg_high"] = [ci[n][2] for n in table.index]
        table["kind"] = ["hybrid" if n in VARIANTS else ("baseline" if n == POPULAR else "component alone")
                         for n in table.index]
        self.table = table
        return table

    def best_component(self) -> str:
        """Return the component (``popular`` excluded) with the highest NDCG alone on the test split."""
        comps = [n for n in self.names if n != POPULAR]
        col = f"ndcg@{self.k}"
        return max(comps, key=lambda n: (self.table.loc[n, col], n)) if comps else POPULAR

    def comparisons(self) -> pd.DataFrame:
        """Return paired bootstrap NDCG differences of each hybrid variant vs the best component and popular.

        ``n_needed``: the customers a paired test would need to detect the observed difference with
        ``impact.power`` at ``bootstrap.alpha`` (:func:`paired_sample_size`), next to ``n`` evaluated.
        """
        b = self.cfg["bootstrap"]
        rows = []
        best = self.best_component()
        for v in [x for x in VARIANTS if x in self.per_customer]:
            for other in (best, POPULAR):
                d, lo, hi = paired_bootstrap(self.per_customer[v], self.per_customer[other], int(b["n_boot"]),
                                             float(b["alpha"]), int(b["seed"]))
                diff = self.per_customer[v].to_numpy() - self.per_customer[other].to_numpy()
                rows.append({"variant": v, "versus": other, "delta": d, "low": lo, "high": hi,
                             "excludes_zero": bool(lo > 0 or hi < 0), "n": int(len(diff)),
                             "n_needed": paired_sample_size(diff, float(b["alpha"]),
                                                            float(self.cfg["impact"]["power"]))})
        return pd.DataFrame(rows)

    # ---- ablation and history buckets ---------------------------------------------------------------
    def ablation(self) -> pd.DataFrame:
        """Return the leave-one-out / alone table of the tuned blend on the test split (paired bootstrap)."""
        b = self.cfg["bootstrap"]
        fn = lambda w: self.cs.ndcg(self.cs.blend(w, self.switching), self.k)  # noqa: E731
        comps = [n for n in self.names if n != POPULAR or self.tuned_weights.get(POPULAR, 0) > 0]
        self.ablation_table = A.ablation(fn, self.tuned_weights, comps, int(b["n_boot"]), float(b["alpha"]),
                                         int(b["seed"]))
        comps_d = [n for n in self.names if n != POPULAR or self.default_weights.get(POPULAR, 0) > 0]
        self.ablation_default = A.ablation(fn, self.default_weights, comps_d, int(b["n_boot"]), float(b["alpha"]),
                                           int(b["seed"]))
        return self.ablation_table

    def by_history(self) -> pd.DataFrame:
        """Return NDCG@k per history bucket (cold, warm, hot): tuned with and without switching, popular, components."""
        cs = self.cs
        cols = {"hybrid": cs.ndcg(cs.blend(self.tuned_weights, self.switching), self.k),
                "no_switching": cs.ndcg(cs.blend(self.tuned_weights), self.k)}
        for n in self.names:
            cols[n] = cs.ndcg(cs.blend({m: float(m == n) for m in self.names}), self.k)
        df = pd.DataFrame(cols)
        df["bucket"] = cs.buckets
        g = df.groupby("bucket", sort=False)
        out = g.mean()
        out.insert(0, "n", g.size())
        self.history_table = out.reindex([b for b in BUCKETS if b in out.index])
        return self.history_table

    # ---- business rules -------------------------------------------------------------------------------
    def _product_arrays(self, product_ids: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.Series]:
        p = self.shop.products.assign(**{C.PRODUCT_ID: self.shop.products[C.PRODUCT_ID].astype("str")})
        p = p.drop_duplicates(C.PRODUCT_ID).set_index(C.PRODUCT_ID).reindex(product_ids)
        cat = pd.factorize(p[C.CATEGORY].astype("str").fillna("unknown"), sort=True)[0]
        pct = R.price_percentile(self.shop.products).reindex(product_ids).fillna(0.5).to_numpy()
        onehot = np.eye(int(cat.max()) + 1, dtype=np.float32)[cat]
        return cat, pct, onehot, p[C.NAME].astype("str").fillna("")

    def _price_sensitive(self, transactions: pd.DataFrame) -> pd.Index:
        return R.price_sensitive_customers(transactions, self.shop.products,
                                           float(self.cfg["rules"]["price_sensitive_max"]))

    def _rule_scores(self, hyb: HybridRecommender, cs: CandidateSet, base: np.ndarray,
                     sensitive: pd.Index) -> tuple[np.ndarray, pd.Series]:
        r = self.cfg["rules"]
        cat, pct, onehot, _ = self._product_arrays(cs.product_ids)
        rule = R.customer_rules(cs.customer_ids, self.segments, sensitive, dict(r["segment_rules"]))
        rows = hyb.interactions_.customer_index(cs.customer_ids)
        held = hyb.interactions_.binary()
        fav = np.full(len(cs), -1)
        known = rows >= 0
        if known.any():
            fav[known] = R.favourite_category(held[rows[known]], cat)
        scores = base + R.rule_boosts(cs, rule, pct, cat, fav, float(r["boost"]))
        div = r.get("diversity", "none")
        if div == "max_per_category":
            scores = R.max_per_category(cs, scores, cat, int(r["max_per_category"]))
        elif div == "mmr":
            scores = R.mmr(cs, scores, onehot, self.k, float(r["mmr_lambda"]))
        elif div not in (None, "none"):
            raise ValueError(f"hybrid.rules.diversity must be none, max_per_category or mmr, not {div!r}")
        return scores, rule

    def _final_base(self, hyb: HybridRecommender, cs: CandidateSet) -> np.ndarray:
        final = self.cfg.get("final", "tuned")
        if final == "learned":
            return self.reranker.scores(cs, cs.blend(self.tuned_weights, self.switching), hyb, self.shop.products)
        if final not in ("default", "tuned"):
            raise ValueError(f"hybrid.final must be default, tuned or learned, not {final!r}")
        return cs.blend(self.final_weights(), self.switching)

    def final_weights(self) -> dict[str, float]:
        """Return the weights of the ``final`` variant (tuned, or default when final is default)."""
        return self.default_weights if self.cfg.get("final", "tuned") == "default" else self.tuned_weights

    def apply_rules(self) -> dict:
        """Apply availability, segment boosts and diversity to the final variant on the test split; return metrics."""
        sp = self.split()
        r = self.cfg["rules"]
        as_of = pd.to_datetime(sp.train_tx[C.TIMESTAMP]).max()
        gone = R.unavailable_products(self.shop.prices, as_of) if r.get("stock_filter", True) else pd.Index([])
        before = self._final_base(self.hybrid, self.cs)
        self.hybrid.set_unavailable(gone)
        cs = self.hybrid.candidate_set(sp.customers, progress=self.progress).with_truth(sp.truth)
        self.hybrid.set_unavailable([])
        scores, rule = self._rule_scores(self.hybrid, cs, self._final_base(self.hybrid, cs),
                                         self._price_sensitive(sp.train_tx))
        self.final_cs, self.final_scores = cs, scores
        self.recs["final"] = cs.recommendations(scores, self.k)
        truth = sp.truth
        cat, _, onehot, _ = self._product_arrays(cs.product_ids)
        feats = pd.DataFrame(onehot, index=cs.product_ids)
        pre = self.cs.recommendations(before, self.k)
        ndcg_final = per_customer_metrics(truth, self.recs["final"], self.k)["ndcg"].to_numpy()
        ndcg_pre = per_customer_metrics(truth, pre, self.k)["ndcg"].to_numpy()
        b = self.cfg["bootstrap"]
        d, lo, hi = paired_bootstrap(ndcg_final, ndcg_pre, int(b["n_boot"]), float(b["alpha"]), int(b["seed"]))
        per_cat = (self.recs["final"].assign(_c=cat[cs.product_ids.get_indexer(self.recs["final"][C.PRODUCT_ID])])
                   .groupby([C.CUSTOMER_ID, "_c"]).size())
        self.rules_metrics = {
            "variant": self.cfg.get("final", "tuned"),
            f"ndcg@{self.k}_before": float(ndcg_pre.mean()), f"ndcg@{self.k}": float(ndcg_final.mean()),
            "delta": d, "low": lo, "high": hi,
            "unavailable_products": int(len(gone)),
            "customers_with_rule": {str(k_): int(v) for k_, v in rule[rule != ""].value_counts().sort_index().items()},
            "diversity": r.get("diversity", "none"),
            "max_per_category_seen": int(per_cat.max()) if len(per_cat) else 0,
            "intra_list_diversity_before": intra_list_diversity(pre, feats),
            "intra_list_diversity": intra_list_diversity(self.recs["final"], feats),
            "coverage_before": float(pre[C.PRODUCT_ID].nunique() / cs.product_ids.size),
            "coverage": float(self.recs["final"][C.PRODUCT_ID].nunique() / cs.product_ids.size),
        }
        return self.rules_metrics

    # ---- business impact -----------------------------------------------------------------------------
    def impact(self) -> tuple[pd.DataFrame, dict]:
        """Return (expected revenue per variant table, A/B simulation of final vs popular)."""
        sp = self.split()
        imp = self.cfg["impact"]
        if imp.get("purchase_prob") is not None:
            p1, src = float(imp["purchase_prob"]), "parameter"
        else:
            p1, src = I.purchase_probability(self.shop.events, float(imp["fallback_purchase_prob"]))
        self.purchase_prob, self.purchase_prob_source = p1, src
        values = I.item_values(sp.train_tx)
        rows = []
        for name in [POPULAR, self.best_component(), *VARIANTS, "final"]:
            if name not in self.recs:
                continue
            er = I.expected_revenue(self.recs[name], sp.truth, values, p1, self.k)
            rows.append({"model": name, "expected_purchases": er["expected_purchases"].mean(),
                         "expected_revenue": er["expected_revenue"].mean()})
        rev = pd.DataFrame(rows).drop_duplicates("model").set_index("model")
        rev["lift_vs_popular"] = rev["expected_revenue"] / rev.loc[POPULAR, "expected_revenue"] - 1 \
            if rev.loc[POPULAR, "expected_revenue"] > 0 else np.nan
        self.revenue_table = rev
        self.ab = I.simulate_ab(self.recs[POPULAR], self.recs["final"], sp.truth, values, p1, self.k,
                                alpha=float(imp["alpha"]), power=float(imp["power"]),
                                n_boot=int(self.cfg["bootstrap"]["n_boot"]), seed=int(imp["seed"]))
        self.ab["control_model"], self.ab["treatment_model"] = POPULAR, "final"
        return rev, self.ab

    # ---- production lists ---------------------------------------------------------------------------
    def production(self, customer_ids=None) -> pd.DataFrame:
        """Fit on all the data and return the final top-k per customer (``REC_COLUMNS`` + ``rule``).

        All customers of the shop by default, in chunks of ``chunk_customers`` so memory stays bounded.
        """
        tx = self.shop.transactions
        inter_cfg = self.cfg.get("interactions") or {}
        if inter_cfg.get("source", "transactions") == "ratings":
            inter = Interactions.from_ratings(self.shop.ratings, products=self.shop.products[C.PRODUCT_ID])
            if inter_cfg.get("weight", "binary") == "binary":
                inter.matrix = inter.binary()
        else:
            inter = Interactions.from_transactions(tx, weight=inter_cfg.get("weight", "binary"),
                                                   products=self.shop.products[C.PRODUCT_ID])
        hyb = self.fit_hybrid(inter, tx)
        if self.cfg["rules"].get("stock_filter", True):
            hyb.set_unavailable(R.unavailable_products(self.shop.prices))
        ids = self.shop.customers[C.CUSTOMER_ID] if customer_ids is None else customer_ids
        ids = pd.Index(pd.Series(ids, dtype="str")).unique()
        held = hyb.interactions_.binary()
        sims = R.similarity_matrices(held, self.shop.products, inter.product_ids, self._basket_matrix(tx, inter))
        _, _, _, names = self._product_arrays(inter.product_ids)
        sensitive = self._price_sensitive(tx)
        chunk = max(int(self.cfg.get("chunk_customers", 20000)), 1)
        parts = [self._production_chunk(hyb, ids[s:s + chunk], held, sims, names, sensitive)
                 for s in range(0, len(ids), chunk)]  # chunks of thousands of customers
        self.production_hybrid = hyb
        return pd.concat(parts, ignore_index=True)

    def _production_chunk(self, hyb: HybridRecommender, ids: pd.Index, held, sims: dict, names: pd.Series,
                          sensitive: pd.Index) -> pd.DataFrame:
        """The final lists of one chunk of customers (see :meth:`production`)."""
        cs = hyb.candidate_set(ids, progress=self.progress)
        scores, rule = self._rule_scores(hyb, cs, self._final_base(hyb, cs), sensitive)
        cols, val = cs.top(scores, self.k)
        ok = np.isfinite(val)
        W = R.row_weights(cs, self.final_weights(), self.switching)
        conf = R.confidence(cs, cols, W, int(self.cfg["rules"]["confidence_top"]))
        comp = R.top_component(cs, cols, W)
        rows = hyb.interactions_.customer_index(cs.customer_ids)
        text = R.explain(cs, cols, comp, held, rows, names, sims)
        cold = np.repeat(rows < 0, cols.shape[1]).reshape(cols.shape)
        text = np.where(cold, R.EXPLANATIONS[POPULAR], text)
        items = np.take_along_axis(cs.items, cols, axis=1)
        p = self.shop.products.assign(**{C.PRODUCT_ID: self.shop.products[C.PRODUCT_ID].astype("str")})
        cat = p.drop_duplicates(C.PRODUCT_ID).set_index(C.PRODUCT_ID)[C.CATEGORY].astype("str")
        pid = cs.product_ids.to_numpy()[np.maximum(items, 0)]
        out = pd.DataFrame({
            C.CUSTOMER_ID: np.repeat(cs.customer_ids.to_numpy(), cols.shape[1]),
            C.PRODUCT_ID: pid.ravel(),
            "rank": np.tile(np.arange(1, cols.shape[1] + 1), len(cs)),
            "score": val.ravel(),
            "confidence": conf.ravel(),
            "explanation": text.ravel(),
            "reason": np.array(cs.names, dtype=object)[comp].ravel(),
        })
        out = out[ok.ravel() & (items.ravel() >= 0)].reset_index(drop=True)
        out[C.NAME] = names.to_numpy()[cs.product_ids.get_indexer(out[C.PRODUCT_ID])]
        out[C.CATEGORY] = cat.reindex(out[C.PRODUCT_ID]).to_numpy()
        out = out.astype({C.CUSTOMER_ID: "str", C.PRODUCT_ID: "str", "explanation": "str", "reason": "str",
                          C.NAME: "str", C.CATEGORY: "str"})
        out["rule"] = rule.reindex(out[C.CUSTOMER_ID]).fillna("").to_numpy()
        return out

    @staticmethod
    def _basket_matrix(transactions: pd.DataFrame, inter: Interactions):
        """Invoices x products 0/1 matrix aligned with ``inter``'s products (None without invoices)."""
        import scipy.sparse as sp

        sales = transactions[transactions[C.QUANTITY] > 0]
        if C.TRANSACTION_ID not in sales.columns or len(sales) == 0:
            return None
        inv = pd.factorize(sales[C.TRANSACTION_ID].astype("str"))[0]
        col = inter.product_index(sales[C.PRODUCT_ID].astype("str"))
        ok = col >= 0
        m = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (inv[ok], col[ok])),
                          shape=(int(inv.max()) + 1 if len(inv) else 0, inter.shape[1]))
        m.data[:] = 1.0
        return m

    # ---- metrics.json --------------------------------------------------------------------------------
    def metrics(self) -> dict:
        """Return the ``hybrid`` block of metrics.json (the names fixed by the issue plus supporting detail)."""
        k = self.k
        col = f"ndcg@{k}"
        t = self.table
        comps = [n for n in self.names if n != POPULAR]
        comp_rows = self.comparisons()

        def cmp(variant, versus):
            r = comp_rows[(comp_rows["variant"] == variant) & (comp_rows["versus"] == versus)].iloc[0]
            return {"delta": r["delta"], "low": r["low"], "high": r["high"], "n_needed": r["n_needed"]}

        best = self.best_component()
        out = {
            "k": k, "split": self.cfg["split"], "normalise": self.cfg["normalise"],
            "switching_used": bool(self.switching.enabled),
            "n_customers": int(len(self.cs)), "n_validation": int(len(self.val_cs)),
            "validation_folds": int(len(self.val_folds)),
            "components_used": comps, "components_missing": list(self.missing),
            "weights": {"default": self.default_weights, "tuned": self.tuned_weights},
            col: {v: float(t.loc[v, col]) for v in VARIANTS if v in t.index},
            f"{col}_ci": {n: {"low": float(t.loc[n, "ndcg_low"]), "high": float(t.loc[n, "ndcg_high"])}
                          for n in t.index},
            "validation": {col: {"default": float(self.tuning_trace["ndcg"].iloc[0]),
                                 "tuned": float(self.tuning_trace["ndcg"].iloc[-1])}},
            "components": {n: float(t.loc[n, col]) for n in comps},
            "popular": float(t.loc[POPULAR, col]),
            "best_component": best,
            "vs_best_component": {v: cmp(v, best) for v in VARIANTS if v in self.per_customer},
            "vs_popular": {v: cmp(v, POPULAR) for v in VARIANTS if v in self.per_customer},
            "metrics": {n: {c: float(t.loc[n, c]) for c in t.columns if c.endswith(f"@{k}") or c == "coverage"}
                        for n in t.index},
        }
        if hasattr(self, "ablation_table"):
            out["ablation"] = A.as_metrics(self.ablation_table)
            out["ablation_default"] = A.as_metrics(self.ablation_default)
            out["alone"] = {c: {"delta": float(d), "low": float(lo), "high": float(hi)} for c, d, lo, hi in
                            zip(self.ablation_table["component"], self.ablation_table["alone_delta"],
                                self.ablation_table["alone_low"], self.ablation_table["alone_high"])}
        if hasattr(self, "history_table"):
            out["by_history"] = {b: {c: (int(v) if c == "n" else float(v)) for c, v in row.items()}
                                 for b, row in self.history_table.iterrows()}
        if hasattr(self, "rules_metrics"):
            out["rules"] = self.rules_metrics
        if hasattr(self, "revenue_table"):
            rt = self.revenue_table
            out["revenue"] = {"purchase_prob": self.purchase_prob, "purchase_prob_source": self.purchase_prob_source,
                              "per_customer": {m: float(v) for m, v in rt["expected_revenue"].items()},
                              "lift_vs_popular": {m: float(v) for m, v in rt["lift_vs_popular"].items()}}
            out["ab_test"] = self.ab
        return out
