"""The benchmark summary: our numbers beside the published ones, from the runs' ``metrics.json``.

``outputs/benchmarks/summary.md`` and ``summary.json`` hold one row per published anchor
(:mod:`workbench.report.published`) with our number beside it and a pass/miss mark computed from the run's
``metrics.json`` with the row's stated tolerance. Running the data sets is :mod:`workbench.benchmarks`
(``make benchmarks``); this module only reads and renders.

:func:`build_summary` is a pure function of the metrics dicts, so it is tested without running anything.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from workbench.report import published
from workbench.report.summary import best_model, get

log = logging.getLogger(__name__)

#: the real-data params files ``make benchmarks`` runs, in order (a missing file is skipped and said so)
BENCHMARK_PARAMS = ("movielens100k", "online_retail", "cdnow", "groceries", "retail_price")
SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"

PASS, MISS, NOT_RUN, NOT_RECORDED = "pass", "miss", "not run", "not recorded"


@dataclass(frozen=True)
class Check:
    """One published anchor: which run, how to read our number, the published value and the rule.

    ``kind`` is ``"beat"`` (ours >= published - tol), ``"below"`` (ours <= published + tol) or ``"match"``
    (|ours - published| <= tol).
    """

    run: str
    label: str
    published: float
    read: Callable[[dict], tuple[Any, str | None]]
    kind: str = "match"
    tol: float = 0.0
    source: str = ""

    def tolerance_text(self) -> str:
        """The rule in words, e.g. ``>= published`` or ``± 0.001``."""
        if self.kind == "beat":
            return ">= published" if self.tol == 0 else f">= published - {self.tol:g}"
        if self.kind == "below":
            return "<= published" if self.tol == 0 else f"<= published + {self.tol:g}"
        return "exact" if self.tol == 0 else f"± {self.tol:g}"


def _path(path: str) -> Callable[[dict], tuple[Any, str | None]]:
    return lambda m: (get(m, path), None)


def _first(*paths: str) -> Callable[[dict], tuple[Any, str | None]]:
    def read(m: dict) -> tuple[Any, str | None]:
        for p in paths:
            v = get(m, p)
            if v is not None:
                return v, None
        return None, None
    return read


def _best(metric: str) -> Callable[[dict], tuple[Any, str | None]]:
    """Our best ranking model by NDCG@10 (one model for every metric, so the row is consistent)."""
    def read(m: dict) -> tuple[Any, str | None]:
        best = best_model(m, "ndcg@10")
        if best is None:
            return None, None
        return get(m, f"recommenders.{best[0]}", {}).get(metric), best[0]
    return read


#: the segment label of customers without a purchase (not RFM-scored, so not among the cleaned customers)
NO_PURCHASE = "no_purchase"


def _segments_total(m: dict) -> tuple[Any, str | None]:
    segs = get(m, "segmentation.segments")
    if not isinstance(segs, dict) or not segs:
        return None, None
    return int(sum(v for k, v in segs.items() if isinstance(v, (int, float)) and k != NO_PURCHASE)), None


def _rule_lift(rule: Any) -> float | None:
    if isinstance(rule, dict):
        v = rule.get("lift")
    elif isinstance(rule, (list, tuple)):  # [antecedents, consequents, support, confidence, lift, ...]
        nums = [x for x in rule if isinstance(x, (int, float)) and not isinstance(x, bool)]
        v = nums[2] if len(nums) >= 3 else None
    else:
        v = None
    try:
        return float(v) if v is not None else None
    except (TypeError, ValueError):
        return None


def _top_lift(m: dict) -> tuple[Any, str | None]:
    v = _first("basket.top_lift", "basket.max_lift")(m)[0]
    if v is not None:
        return v, None
    lifts = [x for x in (_rule_lift(r) for r in get(m, "basket.top_rules") or []) if x is not None]
    return (max(lifts), None) if lifts else (None, None)


def checks() -> list[Check]:
    """Every published anchor as a :class:`Check`, in the order of the summary table."""
    out: list[Check] = []
    names = {"ndcg@10": "nDCG@10", "precision@10": "P@10", "map@10": "MAP@10"}
    for model, vals in published.ML100K_RANKING.items():
        for metric, value in vals.items():
            out.append(Check("movielens100k", f"best model {names[metric]} vs {model}", value, _best(metric),
                             "beat", 0.0, published.ML100K_RANKING_SOURCE))
    for model, vals in published.ML100K_RATING.items():
        for metric, value in vals.items():
            out.append(Check("movielens100k", f"{model} {metric.upper()} (5-fold CV)", value,
                             _path(f"rating.{model}.{metric}"), "match", 0.01, published.ML100K_RATING_SOURCE))
    g = published.GROCERIES
    out += [
        Check("groceries", "rules, one-item consequents (s=0.001, c=0.5)", g["n_rules"], _path("basket.n_rules"),
              "match", 0, published.GROCERIES_SOURCE),
        Check("groceries", "support of whole milk", g["whole_milk_support"],
              _first("basket.whole_milk_support", "basket.item_support.whole milk",
                     "evaluation.item_support.whole milk"),
              "match", 0.0005, published.GROCERIES_SOURCE),
        Check("groceries", "top rule lift", g["top_lift"], _top_lift, "match", 0.001, published.GROCERIES_SOURCE),
    ]
    for p, value in published.CDNOW_BGNBD.items():
        out.append(Check("cdnow", f"BG/NBD {p}", value, _path(f"segmentation.clv.{p}"), "match", 0.001,
                         published.CDNOW_SOURCE))
    out.append(Check("online_retail", "customers with purchases (RFM-scored)", published.ONLINE_RETAIL_CUSTOMERS,
                     _segments_total, "match", 0, published.ONLINE_RETAIL_SOURCE))
    for seg, n in published.ONLINE_RETAIL_SEGMENTS.items():
        out.append(Check("online_retail", f"segment {seg}", n, _path(f"segmentation.segments.{seg}"), "match", 0,
                         published.ONLINE_RETAIL_SOURCE))
    return out


def _judge(check: Check, ours: Any) -> str:
    try:
        x = float(ours)
    except (TypeError, ValueError):
        return NOT_RECORDED
    if not math.isfinite(x):
        return NOT_RECORDED
    if check.kind == "beat":
        ok = x >= check.published - check.tol
    elif check.kind == "below":
        ok = x <= check.published + check.tol
    else:
        ok = abs(x - check.published) <= check.tol + 1e-12
    return PASS if ok else MISS


def evaluate_check(check: Check, metrics: dict | None) -> dict:
    """One summary row: the check, the published value, ours (and the model it came from), the mark."""
    row = {"run": check.run, "check": check.label, "published": check.published, "ours": None, "model": None,
           "tolerance": check.tolerance_text(), "result": NOT_RUN, "source": check.source}
    if metrics is None:
        return row
    ours, model = check.read(metrics)
    row.update(ours=ours, model=model, result=_judge(check, ours))
    return row


def build_summary(metrics_by_run: dict[str, dict | None], status: dict[str, str] | None = None) -> dict:
    """The benchmark summary (rows, counts per mark, run statuses) from each run's metrics (None = not run)."""
    rows = [evaluate_check(c, metrics_by_run.get(c.run)) for c in checks()]
    counts = {k: sum(r["result"] == k for r in rows) for k in (PASS, MISS, NOT_RUN, NOT_RECORDED)}
    runs = {}
    for name in sorted(set(metrics_by_run) | set(status or {}) | {c.run for c in checks()}):
        runs[name] = (status or {}).get(name) or ("metrics found" if metrics_by_run.get(name) is not None
                                                  else "no metrics.json")
    return {"rows": rows, "counts": counts, "runs": runs}


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x.is_integer() and abs(x) >= 100:
            return f"{x:,.0f}"
        return f"{x:,.4f}".rstrip("0").rstrip(".")
    return str(x)


def summary_markdown(summary: dict) -> str:
    """The summary as a Markdown document: the table of anchors, then what each run did."""
    c = summary["counts"]
    lines = ["# Benchmarks: our numbers beside the published ones", "",
             f"{c[PASS]} pass, {c[MISS]} miss, {c[NOT_RUN]} not run, {c[NOT_RECORDED]} not recorded "
             f"(marks computed from each run's metrics.json with the tolerance shown).", "",
             "| data set | check | published | ours | model | tolerance | result |",
             "|---|---|---:|---:|---|---|---|"]
    for r in summary["rows"]:
        mark = f"**{r['result']}**" if r["result"] == MISS else r["result"]
        lines.append(f"| {r['run']} | {r['check']} | {_fmt(r['published'])} | {_fmt(r['ours'])} | "
                     f"{r['model'] or ''} | {r['tolerance']} | {mark} |")
    lines += ["", "## Runs", ""]
    lines += [f"- `{name}`: {st}" for name, st in summary["runs"].items()]
    lines += ["", "## Sources", ""]
    lines += [f"- {s}" for s in sorted({r["source"] for r in summary["rows"]})]
    return "\n".join(lines) + "\n"


def load_metrics(outputs_dir: Path, names: tuple[str, ...] | list[str] = BENCHMARK_PARAMS) -> dict[str, dict | None]:
    """``{run name: metrics dict or None}`` read from ``outputs_dir/<name>/metrics.json``."""
    out: dict[str, dict | None] = {}
    for name in names:
        p = Path(outputs_dir) / name / "metrics.json"
        out[name] = json.loads(p.read_text()) if p.exists() else None
    return out


def write_summary(summary: dict, out_dir: Path) -> Path:
    """Write ``summary.md`` and ``summary.json`` into ``out_dir``; return the Markdown path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / SUMMARY_JSON).write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
    md = out_dir / SUMMARY_MD
    md.write_text(summary_markdown(summary))
    return md
