"""Plain-words executive summary and result tables built from a run's ``metrics.json``.

Every function here is a pure function of the metrics dict (as written by :mod:`workbench.report.record`),
so the notebook 07 summary and the HTML landing page say the same thing, and both can be tested without
running a model. A stage whose key is missing is reported as "not run", never guessed.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from workbench.evaluate.leaderboard import SHIPPED_MODEL
from workbench.segment.clv import NO_DROPOUT
from workbench.stages import SKIPPED, skipped_stages

#: metrics.json stage key -> (notebooks that write it, what a reader calls it)
STAGES: dict[str, tuple[str, str]] = {
    "data": ("00", "data and EDA"),
    "segmentation": ("01", "customer segmentation and CLV"),
    "recommenders": ("02-04", "recommenders (ranking)"),
    "rating": ("02", "rating models"),
    "basket": ("04", "market basket"),
    "hybrid": ("05", "hybrid recommender and ablation"),
    "pricing": ("06", "dynamic pricing"),
}

#: ranking metrics every recommender row carries at the run's K, in display order (see :func:`ranking_metrics`)
RANKING_METRIC_NAMES = ("ndcg", "precision", "recall", "map")
#: names the most-popular baseline goes by, most specific first
POPULAR_NAMES = ("popular", "most_popular", "popularity", "pop")
#: how the report names the clustering model that notebook 01 selected
CLUSTER_MODEL_NAMES = {"kmeans": "K-means", "gmm_full": "A Gaussian mixture (full covariance)",
                       "gmm_diag": "A Gaussian mixture (diagonal covariance)"}


def ranking_metrics(k: int) -> tuple[str, ...]:
    """The ranking metric keys at ``k`` every model row carries (``ndcg@k`` ... ``map@k``) and ``coverage``."""
    return (*(f"{m}@{k}" for m in RANKING_METRIC_NAMES), "coverage")


def metric_k(metrics: dict) -> int:
    """The K of this run's ranking metrics: the evaluation block's, else the one the recorded rows carry (10)."""
    k = (metrics.get("evaluation") or {}).get("k")
    if isinstance(k, int):
        return k
    for block in ((metrics.get("recommenders") or {}).values()):
        for key in (block or {}) if isinstance(block, dict) else ():
            if key.startswith("ndcg@") and key[5:].isdigit():
                return int(key[5:])
    h = (metrics.get("hybrid") or {}).get("k")
    return int(h) if isinstance(h, int) else 10


def get(metrics: dict, path: str, default: Any = None) -> Any:
    """The value at a dotted ``path`` (``"segmentation.clv.r"``) of nested dicts, else ``default``."""
    cur: Any = metrics
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return default
        cur = cur[key]
    return cur


def _num(x: Any) -> float | None:
    """``x`` as a finite float, else ``None``."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt(x: Any, digits: int = 3) -> str:
    """A number for prose: ``digits`` decimals for floats, thousands separators for ints, ``n/a`` for none."""
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    f = _num(x)
    if f is None:
        return "n/a" if x is None or isinstance(x, float) else str(x)
    return f"{f:,.{digits}f}"


def ran(metrics: dict, stage: str) -> bool:
    """Whether ``stage`` recorded results in this run's metrics (a stage that skipped itself did not)."""
    return isinstance(metrics.get(stage), dict) and bool(metrics[stage]) and SKIPPED not in metrics[stage]


def skipped_sentences(metrics: dict) -> list[str]:
    """One sentence per stage (or part of a stage) that skipped itself, with its reason; first in the summary."""
    out = []
    order = {s: i for i, s in enumerate(STAGES)}
    for path, reason in sorted(skipped_stages(metrics), key=lambda pr: (order.get(pr[0].split(".")[0], 99), pr[0])):
        top, _, part = path.partition(".")
        what = STAGES[top][1] if top in STAGES else top
        label = f"{what[0].upper() + what[1:]}" + (f", {part.replace('.', ' ')}" if part else "")
        nb = f" (notebook {STAGES[top][0]})" if top in STAGES else ""
        out.append(f"**Skipped: {label}**{nb}: {reason.rstrip('.')}. The run went on without it.")
    return out


def stage_status(metrics: dict) -> pd.DataFrame:
    """One row per stage: notebook, what it is, and whether this run recorded it (``ran`` yes/no)."""
    skipped = dict(skipped_stages(metrics))
    rows = [{"stage": s, "notebook": nb, "what": what,
             "ran": "yes" if ran(metrics, s) else (f"skipped: {skipped[s]}" if s in skipped else "no")}
            for s, (nb, what) in STAGES.items()]
    return pd.DataFrame(rows)


# ---- recommenders -------------------------------------------------------------------------------
def leaderboard_table(metrics: dict) -> pd.DataFrame:
    """The leaderboard of ``metrics.evaluation`` (notebook 07: every model on the one split, hybrid variants
    included) as rows indexed by model: family, metrics at K, and the paired-bootstrap difference to popular
    with its interval (``vs popular``, ``low``, ``high``), best first. Empty when notebook 07 has not run."""
    k = metric_k(metrics)
    cols = ["family", *ranking_metrics(k), "vs popular", "low", "high"]
    rows = []
    for r in get(metrics, "evaluation.leaderboard") or []:
        vs = r.get("vs_popular") or {}
        rows.append({"model": r.get("model"), "family": r.get("family"),
                     **{c: _num(r.get(c)) for c in ranking_metrics(k)},
                     "vs popular": _num(vs.get("delta")), "low": _num(vs.get("low")), "high": _num(vs.get("high"))})
    if not rows:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="model"))
    return pd.DataFrame(rows).set_index("model")[cols]


def model_table(metrics: dict) -> pd.DataFrame:
    """The ranking models as rows (index ``model``), best NDCG@K first: the leaderboard when notebook 07 made one
    (every model, the hybrid variants included), else the rows notebooks 02-04 recorded in ``recommenders``."""
    k = metric_k(metrics)
    cols = list(ranking_metrics(k))
    board = leaderboard_table(metrics)
    if len(board):
        return board[cols]
    recs = metrics.get("recommenders") or {}
    rows = {m: {c: _num(v.get(c)) for c in cols} for m, v in recs.items()
            if isinstance(v, dict) and SKIPPED not in v}
    if not rows:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="model"))
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "model"
    df = df.reset_index().sort_values([cols[0], "model"], ascending=[False, True], na_position="last")
    return df.set_index("model")


def rating_table(metrics: dict) -> pd.DataFrame:
    """The rating models of ``metrics.rating`` (rmse, mae), best RMSE first."""
    rating = metrics.get("rating") or {}
    rows = {m: {"rmse": _num(v.get("rmse")), "mae": _num(v.get("mae"))} for m, v in rating.items()
            if isinstance(v, dict)}
    if not rows:
        return pd.DataFrame(columns=["rmse", "mae"], index=pd.Index([], name="model"))
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "model"
    return df.reset_index().sort_values(["rmse", "model"], na_position="last").set_index("model")


def popular_model(metrics: dict) -> str | None:
    """Name of the most-popular baseline among the recorded recommenders, if any."""
    names = list((metrics.get("recommenders") or {}).keys())
    for want in POPULAR_NAMES:
        if want in names:
            return want
    pops = sorted(n for n in names if "pop" in n.lower() and "recent" not in n.lower())
    return pops[0] if pops else None


def best_model(metrics: dict, metric: str | None = None) -> tuple[str, float] | None:
    """``(model, value)`` of the best recorded recommender on ``metric`` (default NDCG at the run's K), or ``None``."""
    metric = metric or f"ndcg@{metric_k(metrics)}"
    table = model_table(metrics)
    if metric not in table or table[metric].notna().sum() == 0:
        return None
    s = table[metric].dropna()
    best = s[s == s.max()].index.min()
    return str(best), float(s[best])


def hybrid_table(metrics: dict) -> pd.DataFrame:
    """NDCG@K of the hybrid variants, each component alone and popularity, as notebook 05 recorded them."""
    h = metrics.get("hybrid") or {}
    col = f"ndcg@{h.get('k') or metric_k(metrics)}"
    rows = []
    for variant, v in (h.get(col) or {}).items():
        rows.append({"model": f"hybrid ({variant})", "kind": "hybrid", col: _num(v)})
    for comp, v in (h.get("components") or {}).items():
        rows.append({"model": comp, "kind": "component alone", col: _num(v if not isinstance(v, dict)
                                                                          else v.get(col))})
    if _num(h.get("popular")) is not None:
        rows.append({"model": "popular", "kind": "baseline", col: _num(h.get("popular"))})
    df = pd.DataFrame(rows, columns=["model", "kind", col])
    return df.sort_values([col, "model"], ascending=[False, True], na_position="last").reset_index(drop=True)


def rules_table(metrics: dict) -> pd.DataFrame:
    """What each business rule costs and buys against the variant the shipped lists start from (``hybrid.rules.costs``:
    NDCG@K, intra-list diversity, coverage, expected revenue per customer, differences with paired intervals)."""
    costs = get(metrics, "hybrid.rules.costs") or {}
    rows = [{"rule": rule, **{c: _num(x) for c, x in v.items()}} for rule, v in costs.items() if isinstance(v, dict)]
    return pd.DataFrame(rows)


def _rules_sentence(metrics: dict) -> str | None:
    r = get(metrics, "hybrid.rules") or {}
    d, lo, hi, budget = (_num(r.get(x)) for x in ("delta", "low", "high", "max_ndcg_loss"))
    if d is None or lo is None or hi is None or budget is None:
        return None
    hand = [k for k, v in (r.get("chosen_on") or {}).items() if v == "hand"]
    how = (f"set by hand ({', '.join(hand)}): they cost" if hand else "chosen on validation, within a loss of "
           f"{fmt(budget)}: they cost")
    return (f"The shipped lists start from the *{r.get('variant')}* hybrid; the business rules' strengths are {how} "
            f"{-d:.4f} NDCG (95% interval {-hi:.4f} to {-lo:.4f}) for intra-list diversity "
            f"{fmt(_num(r.get('intra_list_diversity_before')))} -> {fmt(_num(r.get('intra_list_diversity')))}.")


def ablation_table(metrics: dict) -> pd.DataFrame:
    """The hybrid's ablation rows (component, delta, low, high, excludes_zero)."""
    abl = get(metrics, "hybrid.ablation") or {}
    rows = []
    for comp, v in abl.items():
        if not isinstance(v, dict):
            continue
        d, lo, hi = _num(v.get("delta")), _num(v.get("low")), _num(v.get("high"))
        excl = None if lo is None or hi is None else bool(lo > 0 or hi < 0)
        rows.append({"component": comp, "delta": d, "low": lo, "high": hi, "excludes_zero": excl})
    return pd.DataFrame(rows, columns=["component", "delta", "low", "high", "excludes_zero"])


# ---- truth recovery -----------------------------------------------------------------------------
def truth_recovery(metrics: dict) -> pd.DataFrame:
    """On synthetic data: how well each stage recovered the planted truth (empty on real data)."""
    if get(metrics, "data.source") not in (None, "synthetic"):
        return pd.DataFrame(columns=["check", "value", "goal", "stage"])
    rows = []
    ari = _num(get(metrics, "segmentation.ari_vs_truth"))
    if ari is not None:
        rows.append({"check": "segments: ARI vs planted segments", "value": ari, "goal": "1 = perfect, 0 = chance",
                     "stage": "segmentation"})
    rec, planted = get(metrics, "basket.bundles_recovered"), get(metrics, "basket.bundles_planted")
    if rec is not None:
        rows.append({"check": "bundles: planted pairs among the top-20 rules", "value": rec,
                     "goal": f"of {fmt(planted)} planted", "stage": "basket"})
    mae = _num(get(metrics, "pricing.elasticity_mae"))
    if mae is not None:
        rows.append({"check": "pricing: elasticity MAE vs planted", "value": mae, "goal": "<= 0.15",
                     "stage": "pricing"})
    regret = _num(get(metrics, "pricing.revenue_regret_pct"))
    if regret is not None:
        rows.append({"check": "pricing: revenue regret vs oracle price (%)", "value": regret, "goal": "<= 3",
                     "stage": "pricing"})
    return pd.DataFrame(rows, columns=["check", "value", "goal", "stage"], dtype=object)  # ints stay ints


# ---- the executive summary ----------------------------------------------------------------------
def _interval(d: dict | None) -> tuple[float | None, float | None, float | None]:
    d = d or {}
    est = d.get("estimate", d.get("delta", d.get("lift")))
    return _num(est), _num(d.get("low")), _num(d.get("high"))


def not_run(stage: str) -> str:
    """A sentence saying that ``stage`` was not run in this run (which notebook, which metrics key)."""
    nb, what = STAGES[stage]
    return (f"**{what[0].upper() + what[1:]}** was not run in this run (notebook {nb}; "
            f"no `{stage}` key in metrics.json).")


def quarantine_words(data: dict) -> str:
    """The quarantined transaction lines with their reasons, most frequent first, and the other tables' counts:
    ``"140,347 of 541,909 transaction lines were quarantined (missing_value:customer_id 135,080, ...)"``."""
    if data.get("rows_read") is None:
        return ""
    reasons = {k: v for k, v in (data.get("quarantine_reasons") or {}).items() if _num(v)}
    why = ", ".join(f"{k} {fmt(v)}" for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    text = (f"{fmt(data.get('rows_quarantined'))} of {fmt(data.get('rows_read'))} transaction lines were quarantined"
            + (f" ({why})" if why else ""))
    others = [f"{fmt(t.get('rows_quarantined'))} of {fmt(t.get('rows_read'))} {name}"
              for name, t in sorted((data.get("tables") or {}).items())
              if name != "transactions" and isinstance(t, dict) and _num(t.get("rows_quarantined"))]
    return text + (f"; also {', '.join(others)}" if others else "")


def _data_sentence(metrics: dict) -> str:
    d = metrics["data"]
    q = quarantine_words(d)
    return (f"**Data**: {d.get('source', 'unknown')} data with {fmt(d.get('customers'))} customers, "
            f"{fmt(d.get('products'))} products and {fmt(d.get('transactions'))} transaction lines"
            + (f" ({q})" if q else "") + ".")


def clv_words(clv: dict) -> list[str]:
    """The BG/NBD parameters in words: purchase rate, drop-out chance, and what a degenerate fit means."""
    r, alpha, a, b = (_num(clv.get(p)) for p in ("r", "alpha", "a", "b"))
    if None in (r, alpha, a, b):
        return []
    unit = {1: "day", 7: "week", 30: "month", 365: "year"}.get(int(_num(clv.get("time_unit_days")) or 7), "time unit")
    out = [f"The BG/NBD purchase model fitted r={fmt(r, 4)}, α={fmt(alpha, 4)}, a={fmt(a, 4)}, b={fmt(b, 4)}."]
    dropout = a / (a + b) if a + b > 0 else None
    rate = f"an active customer buys about {r / alpha:.3g} times a {unit} on average (r/α)" if alpha > 0 else ""
    if clv.get("no_dropout") or (dropout is not None and dropout < NO_DROPOUT):
        out.append(f"In words: {rate + '; ' if rate else ''}a/(a+b) = {dropout:.2g}, so no churn was learnt: the model "
                   f"believes almost no customer ever stops buying, so treat the lifetime values as upper bounds "
                   f"(a short history or few lapsed customers cannot show churn).")
    elif dropout is not None:
        out.append(f"In words: {rate + '; ' if rate else ''}after each purchase a customer stops buying for good with "
                   f"probability {dropout:.2g} (a/(a+b)).")
    if clv.get("gamma_gamma") is False:
        out.append("Spend per purchase is each customer's mean spend (too few repeat buyers for the Gamma-Gamma "
                   "spend model).")
    return out


def _segmentation_sentences(metrics: dict) -> list[str]:
    s = metrics["segmentation"]
    out = []
    segs = {k: v for k, v in (s.get("segments") or {}).items() if _num(v) is not None}
    if segs:
        total = sum(float(v) for v in segs.values())
        top = max(sorted(segs), key=lambda k: segs[k])
        out.append(f"**Segments**: {len(segs)} RFM segments over {fmt(int(total))} customers; the largest is "
                   f"*{top}* ({fmt(int(segs[top]))}, {segs[top] / total:.0%}).")
    value = get(metrics, "evaluation.segment_value") or {}
    shares = {k: _num(v.get("revenue_share")) for k, v in value.items() if isinstance(v, dict)}
    shares = {k: v for k, v in shares.items() if v is not None}
    if shares:
        top = max(sorted(shares), key=lambda k: shares[k])
        cshare = _num(value[top].get("customer_share"))
        who = f" from {cshare:.0%} of customers" if cshare is not None else ""
        out.append(f"The *{top}* segment brings {shares[top]:.0%} of net revenue{who}.")
    if s.get("k") is not None:
        chosen = (s.get("selection") or {}).get("chosen") or {}
        model = CLUSTER_MODEL_NAMES.get(s.get("model") or chosen.get("model"), "The clustering")
        rule = f" by the {chosen['rule']} rule" if chosen.get("rule") else ""
        out.append(f"{model} chose k={s['k']}{rule} (silhouette {fmt(s.get('silhouette'), 2)}, "
                   f"bootstrap stability ARI {fmt(s.get('stability_ari'), 2)}).")
    out += clv_words(s.get("clv") or {})
    return out or ["**Segments**: the segmentation stage recorded no segment counts."]


def _recommender_sentences(metrics: dict) -> list[str]:
    k = metric_k(metrics)
    best = best_model(metrics)
    out = [] if best is not None else [f"**Recommenders**: no ranking model recorded an NDCG@{k}."]
    out += _ranking_sentences(metrics, *best) if best is not None else []
    rt = rating_table(metrics)
    if len(rt):
        out.append(f"Best rating model: *{rt.index[0]}* (RMSE {fmt(rt['rmse'].iloc[0])}, "
                   f"MAE {fmt(rt['mae'].iloc[0])}).")
    return out


def _ranking_sentences(metrics: dict, name: str, ndcg: float) -> list[str]:
    k = metric_k(metrics)
    table = model_table(metrics)
    pk = table.loc[name, f"precision@{k}"]
    which = "on the leaderboard" if len(leaderboard_table(metrics)) else "recorded"
    out = [f"**Recommenders**: the best of the {len(table)} ranking models {which} is *{name}* with NDCG@{k} "
           f"{fmt(ndcg)} (precision@{k} {fmt(pk)})."]
    shipped = _num(table.loc[SHIPPED_MODEL, f"ndcg@{k}"]) if SHIPPED_MODEL in table.index else None
    if shipped is not None and SHIPPED_MODEL != name:
        rank = list(table.index).index(SHIPPED_MODEL) + 1
        out.append(f"The lists the run ships, *{SHIPPED_MODEL}* (the hybrid after its business rules), score NDCG@{k} "
                   f"{fmt(shipped)}: {ndcg - shipped:.3f} below *{name}*, rank {rank} of {len(table)}.")
    if shipped is not None and (rules := _rules_sentence(metrics)):
        out.append(rules)
    pop = popular_model(metrics)
    if pop and pop != name and pop in table.index and _num(table.loc[pop, f"ndcg@{k}"]):
        base = float(table.loc[pop, f"ndcg@{k}"])
        out.append(f"The most-popular baseline scores {fmt(base)} ({ndcg / base - 1:+.0%} for *{name}*).")
    lift = get(metrics, "evaluation.lift_over_popular")
    est, lo, hi = _interval(lift)
    if est is not None and lo is not None and hi is not None:
        verdict = ("the interval excludes zero, so the gain is real on this data" if lo > 0 or hi < 0
                   else "the interval includes zero, so the gain is not established")
        n = lift.get("n_customers")
        who = population_words(metrics)
        on = f" ({who})" if who else (f" ({fmt(n)} customers)" if n is not None else "")
        vals = (f"*{lift.get('model')}* reaches {fmt(lift.get('model_value'))} against "
                f"{fmt(lift.get('baseline_value'))} for *{lift.get('baseline')}*: "
                if lift.get("model") and _num(lift.get("model_value")) is not None else "")
        out.append(f"Re-scored from the saved lists on the test split{on}, {vals}NDCG@{k} difference {est:+.3f} "
                   f"(95% paired-bootstrap interval {lo:+.3f} to {hi:+.3f}); {verdict}.")
    return out


def population_words(metrics: dict) -> str | None:
    """Who every leaderboard row is scored on, in words (``evaluation.population``): "all 1,234 test customers"
    or "20,000 of 49,304 test customers (how they were drawn)"; None before notebook 07 ran."""
    p = get(metrics, "evaluation.population")
    if not isinstance(p, dict) or p.get("customers") is None:
        return None
    n, of = int(p["customers"]), int(p.get("of") or p["customers"])
    if n == of:
        return f"all {n:,} test customers"
    return f"{n:,} of {of:,} test customers ({p.get('drawn')})"


def _comparison_words(c: dict) -> str:
    lo, hi = _num(c.get("low")), _num(c.get("high"))
    if lo is not None and lo > 0:
        return "beats"
    if hi is not None and hi < 0:
        return "trails"
    return "cannot be told apart from"


def verdict_paragraph(metrics: dict) -> str:
    """One paragraph: does the best hybrid variant beat the best single model and popularity on the one split?
    With the NDCG@K differences, their 95% paired-bootstrap intervals and the customers a test would need."""
    v = get(metrics, "evaluation.verdict")
    if not isinstance(v, dict):
        if not len(leaderboard_table(metrics)):
            return "No leaderboard in this run: no recommender notebook saved its lists on the split."
        return ("No hybrid variant is on the leaderboard (notebook 05 did not run), so the hybrid's standing "
                "against the single models is unknown.")
    k = v.get("k") or metric_k(metrics)
    board = leaderboard_table(metrics)
    hyb = v["best_hybrid"]
    top = board.index[0] if len(board) else hyb
    rank = list(board.index).index(hyb) + 1 if hyb in board.index else None
    who = population_words(metrics) or f"{fmt(v.get('test_customers'))} test customers"
    parts = [f"On {who}, the best hybrid variant *{hyb}* "
             f"(NDCG@{k} {fmt(board.loc[hyb, f'ndcg@{k}']) if hyb in board.index else 'n/a'}) is "
             + ("at the top of the leaderboard." if top == hyb else f"number {rank}; *{top}* leads.")]
    for key, who in (("vs_best_single", "the best single model"), ("vs_popular", "popularity")):
        c = v.get(key)
        if not isinstance(c, dict):
            continue
        need = _num(c.get("n_needed"))
        need_txt = (f"; a paired test would need about {fmt(int(need))} customers to detect a difference this size "
                    f"with 80% power" if need is not None else
                    "; the difference is zero, so no number of customers would detect it")
        parts.append(f"It {_comparison_words(c)} {who} (*{c.get('model')}*): NDCG@{k} {_num(c['delta']):+.4f}, "
                     f"95% interval {_num(c['low']):+.4f} to {_num(c['high']):+.4f}{need_txt}.")
    return " ".join(parts)


def _basket_sentences(metrics: dict) -> list[str]:
    b = metrics["basket"]
    out = [f"**Market basket**: {fmt(b.get('n_rules'))} association rules from {fmt(b.get('n_itemsets'))} "
           f"frequent itemsets."]
    if _num(b.get("min_support_requested")) is not None:
        out.append(f"The adaptive minimum support {_num(b['min_support_requested']):.3g} would have built "
                   f"{fmt(b.get('itemsets_at_requested'))} itemsets, more than the memory budget basket.max_itemsets "
                   f"({fmt(b.get('max_itemsets'))}), so the rules were mined at {_num(b.get('min_support')):.3g}.")
    if b.get("bundles_recovered") is not None:
        out.append(f"{fmt(b['bundles_recovered'])} of {fmt(b.get('bundles_planted'))} planted bundles are among "
                   f"the top rules by lift.")
    return out


def _hybrid_sentences(metrics: dict) -> list[str]:
    h = metrics["hybrid"]
    k = h.get("k") or metric_k(metrics)
    nd = h.get(f"ndcg@{k}") or {}
    parts = [f"{k} {fmt(v)}" for k, v in nd.items() if _num(v) is not None]
    out = []
    if parts:
        pop = f"; popularity {fmt(h['popular'])}" if _num(h.get("popular")) is not None else ""
        out.append(f"**Hybrid**: NDCG@{k} " + ", ".join(parts) + f"{pop} (notebook 05, on the run's one split).")
    for variant in ("tuned", "learned"):
        est, lo, hi = _interval(get(h, f"vs_best_component.{variant}"))
        if est is not None and lo is not None and hi is not None:
            word = "beats" if lo > 0 else ("trails" if hi < 0 else "cannot be told apart from")
            out.append(f"The {variant} hybrid {word} its best single component (*{h.get('best_component', '?')}*): "
                       f"NDCG@{k} {est:+.3f} (95% interval {lo:+.3f} to {hi:+.3f}).")
    abl = ablation_table(metrics)
    if len(abl):
        earn = abl[abl["low"] > 0]
        hurt = abl[abl["high"] < 0]
        idle = abl[abl["excludes_zero"] == False]  # noqa: E712 (None = unknown)
        if len(earn):
            out.append(f"Ablation (NDCG@{k} of the full blend minus the blend without the component, 95% interval): "
                       + ", ".join(f"*{r.component}* {r.delta:+.3f} ({r.low:+.3f} to {r.high:+.3f})"
                                   for r in earn.itertuples()) + " earn their weight.")
        if len(hurt):
            out.append("Leaving out " + ", ".join(f"*{c}*" for c in hurt["component"])
                       + f" would raise NDCG@{k}: they cost more than they add on this data.")
        if len(idle):
            out.append("For " + ", ".join(f"*{c}*" for c in idle["component"])
                       + " the interval includes zero: this data cannot tell whether they help.")
    ab = h.get("ab_test")
    if isinstance(ab, dict) and ab:
        est, lo, hi = _interval(ab)
        if est is not None:
            ci = f" (95% interval {_pct(lo)} to {_pct(hi)})" if lo is not None and hi is not None else ""
            power = (f"; power {fmt(ab['power'], 2)}" if _num(ab.get("power")) is not None else "")
            need = (f", {fmt(int(ab['n_needed']))} customers per arm would detect it with 80% power"
                    if _num(ab.get("n_needed")) is not None else "")
            out.append(f"Simulated A/B test of the hybrid against its baseline: revenue per customer "
                       f"{_pct(est)}{ci}{power}{need}. {purchase_assumption(h)}")
    return out or [f"**Hybrid**: the hybrid stage recorded no NDCG@{k}."]


#: where the A/B simulation's purchase probability comes from (``hybrid.revenue.purchase_prob_source``), in words
PURCHASE_PROB_SOURCES = {
    "events": "measured on this shop as the share of viewed products that were bought",
    "parameter": ("assumed, not measured: a parameter (hybrid.impact.purchase_prob, else "
                  "hybrid.impact.fallback_purchase_prob when the shop has no view events to measure it)"),
}


def purchase_assumption(hybrid: dict) -> str:
    """The purchase model the hybrid's simulated A/B test assumes, with the probability and its source."""
    p = _num(get(hybrid, "ab_test.purchase_prob"))
    if p is None:
        p = _num(get(hybrid, "revenue.purchase_prob"))
    if p is None:
        return ""
    src = get(hybrid, "revenue.purchase_prob_source")
    where = PURCHASE_PROB_SOURCES.get(src, f"source: {src}" if src else "source not recorded")
    return (f"It is a simulation, not an experiment: it assumes a customer buys a product from their list only if "
            f"they bought it in the held-out period, with probability {fmt(p, 3)} at the top position ({where}), "
            f"less further down; the power and the customers needed depend on that probability.")


def _pct(x: Any, digits: int = 1) -> str:
    """A fraction as a signed percentage (``0.031`` -> ``+3.1%``), ``n/a`` for none."""
    f = _num(x)
    return "n/a" if f is None else f"{f:+.{digits}%}"


def _pricing_sentences(metrics: dict) -> list[str]:
    p = metrics["pricing"]
    out = []
    if _num(p.get("demand_mape")) is not None:
        base = (f" against {_num(p['baseline_mape']):.1%} for the best naive baseline"
                f"{' (' + str(p['baseline']) + ')' if p.get('baseline') else ''}"
                if _num(p.get("baseline_mape")) is not None else "")
        out.append(f"**Pricing**: the demand model's forecast error (WAPE) is {_num(p['demand_mape']):.1%}{base}.")
    if _num(p.get("elasticity_mae")) is not None:
        out.append(f"Estimated elasticities are off the planted ones by {fmt(p['elasticity_mae'])} on average (MAE).")
    if _num(p.get("revenue_regret_pct")) is not None:
        out.append(f"Suggested prices leave {fmt(p['revenue_regret_pct'], 2)}% of the oracle's revenue on the table.")
    est, lo, hi = _interval(p.get("ab_uplift"))
    if est is not None:
        ci = f" (95% interval {_pct(lo)} to {_pct(hi)})" if lo is not None and hi is not None else ""
        out.append(f"Simulated pricing A/B test: revenue uplift {_pct(est)}{ci} (units drawn from the synthetic "
                   f"shop's true demand curves, so it checks the suggestions against the planted truth).")
    out.extend(_identification_sentences(p.get("identification")))
    guard = p.get("guardrails")
    if isinstance(guard, dict) and guard:
        binding = _num(get(p, "suggestions.share_binding"))
        bind = f"; a guardrail binds for {binding:.0%} of products" if binding is not None else ""
        out.append("Guardrails: " + ", ".join(f"{k} {fmt(v, 2) if _num(v) is not None else v}"
                                              for k, v in sorted(guard.items())) + f"{bind}.")
    out.append("Prices are set per product and period, never per customer.")
    return out


def _identification_sentences(ident: Any) -> list[str]:
    """What the pricing identification found: volume tiers and their schedule, the trust per category, red flags."""
    if not isinstance(ident, dict):
        return []
    out = []
    tiers = ident.get("tiers") or {}
    if tiers.get("found"):
        steps = [f"{int(t['quantity_from'])}+ units {_pct(-t['discount'], 0)}" for t in tiers.get("schedule") or []
                 if _num(t.get("discount")) and _num(t.get("quantity_from")) is not None]
        out.append("The sales lines show volume tiers (the unit price falls with the line's quantity)"
                   + (f": {', '.join(steps)}" if steps else "")
                   + f"; the elasticities use the {str(ident.get('price_rule', '')).replace('_', ' ')} price.")
    cats = ident.get("categories") or {}
    by_trust: dict[str, list[str]] = {}
    for name, c in sorted(cats.items()):
        by_trust.setdefault(str(c.get("trust")), []).append(name)
    if cats:
        out.append("Trust in the elasticities: " + "; ".join(f"{level} for {', '.join(by_trust[level])}"
                                                            for level in ("high", "medium", "low", "none")
                                                            if level in by_trust) + ".")
    refused = ident.get("refused_categories") or []
    if refused:
        out.append(f"No elasticity and no price suggestion for {', '.join(refused)}: the data do not identify "
                   f"how their demand answers the own price (reasons in notebook 06).")
    share, n = _num(ident.get("share_suggestions_on_bound")), _num(ident.get("n_suggestions"))
    if share is not None and n:
        out.append(f"{share:.0%} of the {int(n)} products priced (moved or held; not refused, not flagged) "
                   f"sit on the max_change guardrail.")
        ev, limit, moved = (_num(ident.get(k)) for k in ("share_suggestions_on_evidence", "share_suggestions_on_limit",
                                                          "share_moved_on_limit"))
        if ev is not None and limit is not None:
            out.append(f"{ev:.0%} were stopped by the range of prices the product was observed at (a demand model "
                       f"cannot say what a price it never saw does): {int(ident.get('n_moved_to_evidence') or 0)} "
                       f"moved to its edge, {int(ident.get('n_kept_by_evidence') or 0)} kept their price. On either "
                       f"limit: {limit:.0%} of the products priced"
                       + (f" and {moved:.0%} of the prices that move" if moved is not None else "")
                       + "; there the elasticity gives the direction and the limit the size of the step.")
    for flag in ident.get("red_flags") or []:
        out.append(f"Red flag: {flag}.")
    return out


def executive_summary(metrics: dict) -> list[str]:
    """Plain-words sentences (Markdown) summarising the run, one block per stage, "not run" where absent."""
    out: list[str] = skipped_sentences(metrics)  # what could not be done comes first
    whole = {p for p, _ in skipped_stages(metrics) if "." not in p}

    def block(stage: str, sentences, done: bool) -> None:
        if stage not in whole:
            out.append(sentences() if done else not_run(stage))

    block("data", lambda: _data_sentence(metrics), ran(metrics, "data"))
    block("segmentation", lambda: " ".join(_segmentation_sentences(metrics)), ran(metrics, "segmentation"))
    if "recommenders" not in whole or ran(metrics, "rating"):
        out.append(" ".join(_recommender_sentences(metrics)) if ran(metrics, "recommenders") or ran(metrics, "rating")
                   else not_run("recommenders"))
    block("basket", lambda: " ".join(_basket_sentences(metrics)), ran(metrics, "basket"))
    block("hybrid", lambda: " ".join(_hybrid_sentences(metrics)), ran(metrics, "hybrid"))
    block("pricing", lambda: " ".join(_pricing_sentences(metrics)), ran(metrics, "pricing"))
    tr = truth_recovery(metrics)
    if len(tr):
        out.append("**Truth recovery** (synthetic shop): " + "; ".join(
            f"{r.check} {fmt(r.value)}" for r in tr.itertuples()) + ".")
    return out


def summary_markdown(metrics: dict) -> str:
    """The executive summary as one Markdown bullet list."""
    return "\n".join(f"- {s}" for s in executive_summary(metrics))
