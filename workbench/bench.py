"""``make bench``: the whole analytic batch through the package API at several sizes, timed per stage.

The batch is what a nightly job on a real shop would run, in this order (``STAGES``): generate the
synthetic shop, validate it, RFM + segments, k-means with k selection, CLV, item-kNN/EASE top-10 for
every customer, FP-growth rules, hybrid scoring for every customer, the demand model and price
suggestions. Stages call the public API of their sub-package with settings meant for scale (a sample
for k-means and the silhouette, batched top-K); a stage that fails is reported as ``error`` with its
message while the others still run.

Every (size, repetition) runs in a fresh Python subprocess (``python -m workbench.bench --worker``), so
the peak RSS of a size is that size's alone. Per stage the worker records wall seconds
(``time.perf_counter``) and the peak RSS during the stage (Linux: the kernel's high-water mark, reset
before each stage through ``/proc/self/clear_refs``; elsewhere the running process peak). The same
invocation times the tools a user would pick instead (:mod:`workbench.bench_peers`: idiomatic pandas and
DuckDB for RFM, mlxtend ``fpgrowth`` for baskets, ``implicit`` ALS for CF) on one shop of
:data:`PEER_SIZE` customers and reports ``peer / package`` ratios with a "same result" column; ratios stay
comparable between machines when the absolute seconds do not (the machine may be shared).

``engine="spark"`` (``make bench ENGINE=spark``) also runs the batch's Spark counterparts
(:mod:`workbench.spark`, local mode on every core) at each size in fresh processes: the same shop written
to Parquet, then validation, RFM, k-means, ALS top-10 for everyone and FP-growth rules, in the same stage
table beside pandas (stages without a Spark counterpart say so). Their peak RSS adds the JVM's.

Outputs: ``<out>/bench.json`` (``{"sizes": {"100000": {"total_s": {"median","min","max"}, "peak_rss_mb",
"stages": {stage: {"median","min","max"}}, ...}}, "ratios": {name: value}, "machine": {...}}``) and
``<out>/bench.md`` (the table). Timings never go into tests or ``metrics.json``.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.errors import WorkbenchError
from workbench.evaluate.experiment import DEFAULTS as EVALUATION_DEFAULTS

log = logging.getLogger(__name__)

#: the batch's settings; a stage reads its own block. Meant for scale, not for the notebooks' small shops.
DEFAULTS: dict = {
    "seed": 42,
    "n_products": 500,      # the generator's default catalog: 1M customers give ~10M lines
    "n_weeks": 104,
    "events": False,        # no stage of the batch reads events (see _stage_generate)
    "top_k": EVALUATION_DEFAULTS["k"],  # the list length of the evaluation protocol (evaluation.k)
    # the notebooks' model selection (k-means and Gaussian mixtures over k = 2..10, the same rule) with cheaper
    # settings: every candidate fitted once on a 5K sample (not three times on 20K), silhouette, gap and
    # bootstrap stability on 2K of them; then every customer is assigned
    "kmeans": {"fit_sample": 5_000, "criteria_sample": 2_000, "n_init": 1, "n_bootstrap": 3, "gap_references": 2},
    # BG/NBD + Gamma-Gamma (6 parameters) fitted on 50K customers, every customer valued
    "clv": {"time_unit_days": 7, "horizon": 52, "fit_sample": 50_000},
    # a fixed share of baskets: the adaptive default (5 baskets) mines 74,904 itemsets at 100K customers and
    # more as the shop grows, where a share keeps the same ~600 itemsets at every size
    "basket": {"min_support": 0.0005, "min_confidence": 0.1, "min_lift": 1.0, "max_len": 3},
    # registered models (workbench.recommend.registry) and their constructor params by name
    "cf": {"models": ["item_knn", "ease"], "params": {}},
    # per-customer min-max normalisation: O(products) per row, where percentile ranks sort every row of
    # every component; "rank" stays the notebooks' default. Candidates = the whole 500-product catalog: the
    # union of the components' top 100 already holds 235 products per customer on average (198 at least),
    # and the top 10 of 20,000 sampled customers at 100K were identical with 100 and with 500 candidates
    # (measured on that shop), at half the cost
    "hybrid": {"normalise": "minmax", "candidates": 500},
    # workbench.pricing.pipeline.DEFAULTS, without the double-ML elasticities (a research comparison: the
    # suggestions use the fixed-effects estimate)
    "pricing": {"elasticity": {"dml": False}},
    # the Spark engine (ENGINE=spark): every core of the machine, a driver big enough for 10M lines
    "spark": {"master": "local[*]", "conf": {"spark.driver.memory": "6g", "spark.sql.shuffle.partitions": "8"}},
}

#: customers of the shop the peers run on (mlxtend's fpgrowth and implicit ALS take minutes at 1M)
PEER_SIZE = 100_000
ENGINES = ("pandas", "spark")
#: the issue's targets: size -> (max wall seconds, max peak RSS MB)
TARGETS: dict[int, tuple[float, float | None]] = {100_000: (15.0, None), 1_000_000: (120.0, 6144.0)}

OK, ERROR = "ok", "error"
#: a stage the Spark engine has no counterpart of (clv, hybrid, pricing)
NOT_ON_ENGINE = "not on this engine"
BENCH_JSON, BENCH_MD = "bench.json", "bench.md"


# ---- memory ---------------------------------------------------------------------------------------

class PeakRSS:
    """Peak resident memory of this process, resettable per stage where the kernel allows it (Linux)."""

    def __init__(self) -> None:
        self.resettable = self._try_reset()

    @staticmethod
    def _try_reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # 5 = reset the peak RSS (VmHWM) to the current RSS
            return PeakRSS._hwm_mb() is not None
        except OSError:
            return False

    @staticmethod
    def _hwm_mb() -> float | None:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def reset(self) -> None:
        """Start a new measuring window (a no-op where the peak cannot be reset)."""
        if self.resettable:
            self._try_reset()

    def peak_mb(self) -> float:
        """Return the peak RSS in MB since the last reset (or since the process started)."""
        if self.resettable:
            hwm = self._hwm_mb()
            if hwm is not None:
                return hwm
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


# ---- the stages -------------------------------------------------------------------------------------
# A stage takes the run's state dict (it reads what earlier stages left and adds its own results) and the
# settings; it returns a few counts that show the work was done (lines, rules, recommendations ...).

#: modules the stages use, imported by the first stage so import time is not charged to whichever stage came first
MODULES = ("workbench.data.synthetic", "workbench.data.validate", "workbench.segment.rfm",
           "workbench.segment.clusters", "workbench.segment.clv", "workbench.recommend.interactions",
           "workbench.recommend.cf", "workbench.recommend.basket", "workbench.recommend.itemsets",
           "workbench.recommend.registry", "workbench.recommend.hybrid",
           "workbench.pricing.pipeline",
           "lifetimes", "mlxtend.frequent_patterns", "sklearn.cluster", "lightgbm")


def _stage_imports(st: dict, cfg: dict) -> dict:
    import importlib

    for name in MODULES:
        importlib.import_module(name)
    return {"modules": len(MODULES)}


def _stage_generate(st: dict, cfg: dict) -> dict:
    # Events are part of the shop but no stage below reads them (the recommenders learn from purchases),
    # so by default they are not generated: 1M customers would add ~44M event rows that nothing uses.
    from workbench.data.synthetic import generate_shop
    shop = generate_shop({"n_customers": st["n_customers"], "n_products": cfg["n_products"],
                          "n_weeks": cfg["n_weeks"], "seed": cfg["seed"], "events": cfg["events"]})
    shop.truth = None  # the planted truth is for tests and notebooks, not part of a production batch
    st["raw"] = shop
    return {"lines": len(shop.transactions), "events": 0 if shop.events is None else len(shop.events)}


def _stage_validate(st: dict, cfg: dict) -> dict:
    from workbench.data.validate import validate_shop
    shop, report = validate_shop(st.pop("raw"))
    st["shop"] = shop
    return {"quarantined": int(report.rows_quarantined)}


def _stage_rfm(st: dict, cfg: dict) -> dict:
    from workbench.segment.rfm import build_rfm
    shop = st["shop"]
    st["rfm"] = build_rfm(shop.transactions, shop.customers)
    return {"customers_scored": int(st["rfm"]["r_score"].notna().sum())}


def _stage_kmeans(st: dict, cfg: dict) -> dict:
    from workbench.config import merge_block
    from workbench.segment.clusters import DEFAULTS, assign_clusters, cluster_features, make_model, name_clusters
    feats = cluster_features(st["rfm"])
    model = make_model(merge_block(DEFAULTS, cfg["kmeans"], "bench.kmeans"), cfg["seed"]).fit(feats)
    st["rfm"] = assign_clusters(st["rfm"], feats, model, name_clusters(model.centroids_z_, DEFAULTS["name_threshold"]))
    return {"k": int(model.k_), "candidates": len(model.criteria_)}


def _stage_clv(st: dict, cfg: dict) -> dict:
    from workbench.segment.clv import CLVModel, calibration_summary
    shop, c = st["shop"], cfg["clv"]
    end = st["rfm"].attrs["analysis_date"] - pd.Timedelta(days=1)
    t0 = time.process_time()
    summary = calibration_summary(shop.transactions, end, time_unit_days=c["time_unit_days"])
    t1 = time.process_time()
    # BG/NBD + Gamma-Gamma have 6 parameters: a fixed-size sample pins them down, then every customer is valued
    rows = np.random.default_rng(cfg["seed"]).permutation(len(summary))[: int(c["fit_sample"])]
    model = CLVModel().fit(summary.iloc[np.sort(rows)])
    t2 = time.process_time()
    st["clv"] = model.predict(summary, c["horizon"])
    return {"customers_valued": len(st["clv"]), "fitted_on": len(rows), "cpu_ms_summary": round(1000 * (t1 - t0)),
            "cpu_ms_fit": round(1000 * (t2 - t1)), "cpu_ms_predict": round(1000 * (time.process_time() - t2))}


def _stage_cf(st: dict, cfg: dict) -> dict:
    from workbench.recommend import registry
    from workbench.recommend.interactions import Interactions

    shop = st["shop"]
    # binary purchases: what item-kNN and EASE fit on (binary=True) and what the hybrid's components take,
    # so the hybrid stage reuses this matrix and its id mapping of the transactions
    inter = Interactions.from_transactions(shop.transactions, weight="binary",
                                           customers=shop.customers[contract.CUSTOMER_ID],
                                           products=shop.products[contract.PRODUCT_ID])
    recs, fitted = {}, {}
    for name in cfg["cf"]["models"]:  # top-K for every customer; those without purchases get popularity
        model = registry.build(name, cfg["cf"]["params"].get(name)).fit(inter)
        recs[name] = model.recommend(inter.customer_ids, k=cfg["top_k"])
        fitted[name] = model
    st["interactions"], st["cf_models"], st["recs"] = inter, fitted, recs
    return {f"recs_{n}": len(r) for n, r in recs.items()}


def _stage_basket(st: dict, cfg: dict) -> dict:
    # frequent_itemsets counts itemsets of up to 3 items by sparse products (mlxtend's fpgrowth builds its
    # tree in a Python loop over baskets: minutes at 3.5M invoices); the rules are mlxtend's
    from workbench.recommend.basket import mine_rules
    _, st["rules"], info = mine_rules(st["shop"].transactions, **cfg["basket"])
    return {"baskets": int(info["n_baskets"]), "itemsets": int(info["n_itemsets"]), "rules": int(info["n_rules"])}


def _stage_hybrid(st: dict, cfg: dict) -> dict:
    # the hybrid module's default blend, made by its one builder: every component class it lists with that
    # class's default settings (a params file's params_from blocks are a notebook matter), fitted on binary
    # purchases; a component the cf stage already fitted on the same matrix (same class and settings: EASE)
    # is reused, and the cross-sell component takes the basket stage's rules instead of mining again
    from workbench.config import merge_block
    from workbench.recommend.hybrid import DEFAULTS, build_hybrid
    from workbench.recommend.interactions import Interactions
    shop = st["shop"]
    inter = st.get("interactions")  # the cf stage's binary purchases
    if inter is None:
        inter = Interactions.from_transactions(shop.transactions, weight="binary",
                                               customers=shop.customers[contract.CUSTOMER_ID],
                                               products=shop.products[contract.PRODUCT_ID])
    context = dict(transactions=shop.transactions, products=shop.products, segments=st.get("rfm"),
                   history=shop.transactions, rules=st.get("rules"))
    fitted = list((st.get("cf_models") or {}).values())
    hybrid = build_hybrid(merge_block(DEFAULTS, cfg["hybrid"], "bench.hybrid"), inter, context, fitted=fitted)
    reused = sum(any(c is m for m in fitted) for c in hybrid.components.values())
    st.setdefault("recs", {})["hybrid"] = hybrid.recommend(inter.customer_ids, k=cfg["top_k"])
    return {"components": len(hybrid.components), "reused": reused, "recs_hybrid": len(st["recs"]["hybrid"])}


def _stage_pricing(st: dict, cfg: dict) -> dict:
    from workbench.pricing.pipeline import fit_pricing, suggest
    from workbench.pricing.table import interest_scores
    # the final recommendations (the hybrid's lists) tell the demand model which products customers are steered to
    final = {"hybrid": st["recs"]["hybrid"]} if "hybrid" in (st.get("recs") or {}) else {}
    interest = interest_scores(final) if final else None
    fit = fit_pricing(st["shop"], cfg["pricing"], interest=interest, seed=cfg["seed"])
    st["suggestions"] = suggest(fit)
    return {"demand_rows": len(fit.table), "suggestions": len(st["suggestions"])}


#: the batch, in order
STAGES: list[tuple[str, Callable[[dict, dict], dict]]] = [
    ("imports", _stage_imports),
    ("generate", _stage_generate),
    ("validate", _stage_validate),
    ("rfm", _stage_rfm),
    ("kmeans", _stage_kmeans),
    ("clv", _stage_clv),
    ("cf", _stage_cf),
    ("basket", _stage_basket),
    ("hybrid", _stage_hybrid),
    ("pricing", _stage_pricing),
]
STAGE_NAMES = [name for name, _ in STAGES]


# ---- the Spark engine's stages (workbench.spark); same table rows as the pandas batch where they exist ----

class _JVM:
    """Peak RSS and CPU seconds of the Spark driver's JVM (a child process: the Python figures do not see it;
    in local mode the executors are threads of that JVM)."""

    @staticmethod
    def _pid(st: dict):
        proc = getattr(st["spark"].sparkContext._gateway, "proc", None)
        return getattr(proc, "pid", None)

    @staticmethod
    def peak_mb(st: dict) -> float | None:
        try:
            with open(f"/proc/{_JVM._pid(st)}/status") as fh:
                return next(int(ln.split()[1]) / 1024.0 for ln in fh if ln.startswith("VmHWM:"))
        except (OSError, StopIteration, ValueError):
            return None

    @staticmethod
    def cpu_s(st: dict) -> float | None:
        """User + system seconds of the JVM so far (``/proc/<pid>/stat`` fields 14 and 15)."""
        try:
            with open(f"/proc/{_JVM._pid(st)}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None


def _spark_session(st: dict, cfg: dict) -> dict:
    from workbench.spark.session import spark_session

    st["spark"] = spark_session(cfg["spark"]["master"], app_name="workbench-bench", conf=cfg["spark"]["conf"])
    return {"cores": int(st["spark"].sparkContext.defaultParallelism)}


def _spark_input(st: dict, cfg: dict) -> dict:
    # the Spark engine reads files: the generated shop written once as Parquet (what a data lake holds)
    folder = Path(tempfile.mkdtemp(prefix="wb-bench-spark-"))
    st["input"] = folder
    shop = st.pop("raw")
    for name, df in shop.tables().items():
        df.to_parquet(folder / f"{name}.parquet", index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    return {"tables": len(shop.tables())}


def _spark_validate(st: dict, cfg: dict) -> dict:
    from workbench.spark.tables import read_tables
    from workbench.spark.validate import validate_tables

    res = validate_tables(read_tables(st["spark"], str(st["input"]), "parquet"))
    st["tables"] = {n: df.persist() for n, df in res.accepted.items()}
    return {"quarantined": int(res.report.rows_quarantined),
            "lines": int(st["tables"][contract.TRANSACTIONS].count()), "jvm_peak_mb": _JVM.peak_mb(st)}


def _spark_rfm(st: dict, cfg: dict) -> dict:
    from workbench.spark.rfm import build_rfm

    t = st["tables"]
    st["rfm"] = build_rfm(t[contract.TRANSACTIONS], t[contract.CUSTOMERS])[0].persist()
    return {"customers_scored": int(st["rfm"].where("r_score IS NOT NULL").count()), "jvm_peak_mb": _JVM.peak_mb(st)}


def _spark_kmeans(st: dict, cfg: dict) -> dict:
    # MLlib k-means over the notebooks' k_range, k by silhouette, on the pandas stage's sample size and starts
    from workbench.config import merge_block
    from workbench.segment.clusters import DEFAULTS
    from workbench.spark.models import kmeans_segments

    km = merge_block(DEFAULTS, cfg["kmeans"], "bench.kmeans")
    out, res = kmeans_segments(st["rfm"], k_range=km["k_range"], seed=cfg["seed"], fit_sample=km["fit_sample"],
                               n_init=km["n_init"])
    return {"k": res.k, "assigned": int(out.where("cluster >= 0").count()), "jvm_peak_mb": _JVM.peak_mb(st)}


def _spark_cf(st: dict, cfg: dict) -> dict:
    # MLlib implicit ALS at the protocol's settings, top-K for every customer who bought (no bought product)
    from workbench.recommend import registry
    from workbench.spark.models import SparkALS

    params = {k: v for k, v in registry.build("als").get_params().items()
              if k in ("factors", "regularization", "alpha", "iterations")}
    sales = st["tables"][contract.TRANSACTIONS].where(f"{contract.QUANTITY} > 0")
    recs = SparkALS(**params, random_state=cfg["seed"]).fit(sales).recommend(k=cfg["top_k"])
    return {"recs_als": int(recs.count()), "jvm_peak_mb": _JVM.peak_mb(st)}


def _spark_basket(st: dict, cfg: dict) -> dict:
    from workbench.spark.models import fpgrowth_rules

    b = cfg["basket"]
    rules, info = fpgrowth_rules(st["tables"][contract.TRANSACTIONS], min_support=b["min_support"],
                                 min_confidence=b["min_confidence"], max_len=b["max_len"], min_lift=b["min_lift"])
    return {"baskets": info["n_baskets"], "itemsets": info["n_itemsets"], "rules": int(rules.count()),
            "jvm_peak_mb": _JVM.peak_mb(st)}


class NoCounterpart(Exception):
    """The stage runs on the pandas engine only."""


def _no_spark_counterpart(st: dict, cfg: dict) -> dict:
    raise NoCounterpart("no Spark counterpart in workbench.spark (runs on the pandas engine only)")


#: the Spark batch, in the pandas batch's order; ``session`` and ``input`` are costs only Spark pays
SPARK_STAGES: list[tuple[str, Callable[[dict, dict], dict]]] = [
    ("session", _spark_session),
    ("generate", _stage_generate),
    ("input", _spark_input),
    ("validate", _spark_validate),
    ("rfm", _spark_rfm),
    ("kmeans", _spark_kmeans),
    ("clv", _no_spark_counterpart),
    ("cf", _spark_cf),
    ("basket", _spark_basket),
    ("hybrid", _no_spark_counterpart),
    ("pricing", _no_spark_counterpart),
]
SPARK_STAGE_NAMES = [name for name, _ in SPARK_STAGES]


def engine_stages(engine: str) -> list[tuple[str, Callable[[dict, dict], dict]]]:
    """The stage list of ``engine`` (``pandas`` or ``spark``)."""
    if engine not in ENGINES:
        raise WorkbenchError(f"bench engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    return STAGES if engine == "pandas" else SPARK_STAGES


def settings(overrides: dict | None = None) -> dict:
    """Return the batch settings: :data:`DEFAULTS` with ``overrides`` merged in (one level deep)."""
    cfg = json.loads(json.dumps(DEFAULTS))
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    return cfg


def run_batch(n_customers: int, cfg: dict | None = None, engine: str = "pandas") -> dict:
    """Run every stage once in this process; return per stage status, seconds, peak RSS MB and counts.

    Returns ``{"n_customers", "total_s", "peak_rss_mb", "stages": {name: {"status", "seconds",
    "peak_rss_mb", "counts", "message"}}}``; a stage that raised has status ``error`` with the exception's
    message (the stages after it still run).
    """
    cfg = settings(cfg)
    stage_list = engine_stages(engine)
    rss = PeakRSS()
    st: dict = {"n_customers": int(n_customers)}
    stages: dict[str, dict] = {}
    peak = rss.peak_mb()
    t_all = time.perf_counter()
    busy = 0.0
    for name, fn in stage_list:
        gc.collect()
        rss.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        rec: dict = {"status": OK, "seconds": None, "cpu_s": None, "peak_rss_mb": None, "counts": {}, "message": ""}
        jvm, jvm_cpu0 = None, _JVM.cpu_s(st) if st.get("spark") is not None else None
        jvm_cpu = jvm_cpu0
        try:
            rec["counts"] = fn(st, cfg) or {}
            jvm = rec["counts"].pop("jvm_peak_mb", None)  # the Spark driver's JVM counts towards the peak
            if st.get("spark") is not None:
                jvm_cpu = _JVM.cpu_s(st)
        except NoCounterpart as exc:
            rec.update(status=NOT_ON_ENGINE, message=str(exc))
        except Exception as exc:  # a broken stage is reported, the others still run
            rec.update(status=ERROR, message=f"{type(exc).__name__}: {exc}")
            log.error("bench: stage %s failed at %d customers:\n%s", name, n_customers, traceback.format_exc())
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        if rec["status"] == OK:
            busy += dt
            rec["seconds"], rec["cpu_s"] = dt, cpu + ((jvm_cpu or 0.0) - (jvm_cpu0 or 0.0))
            rec["peak_rss_mb"] = rss.peak_mb() + (jvm or 0.0)
            peak = max(peak, rec["peak_rss_mb"])
        stages[name] = rec
        log.info("bench %d: %-9s %-7s %7.2f s (cpu %7.2f s) %8.0f MB %s", n_customers, name, rec["status"], dt,
                 cpu, rec["peak_rss_mb"] or 0.0, rec["message"])
    if st.get("spark") is not None:
        st["spark"].stop()
    if st.get("input") is not None:
        import shutil

        shutil.rmtree(st["input"], ignore_errors=True)
    return {"n_customers": int(n_customers), "engine": engine, "total_s": busy,
            "wall_s": time.perf_counter() - t_all, "peak_rss_mb": max(peak, rss.peak_mb()), "stages": stages}


# ---- aggregation and rendering ---------------------------------------------------------------------------

def spread(values: list[float]) -> dict:
    """Return ``{"median", "min", "max"}`` of ``values`` (None for each when there are none)."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals)}


def aggregate_size(runs: list[dict], stage_names: list[str] | None = None) -> dict:
    """Return one size's entry of bench.json from its repetitions (each a :func:`run_batch` result)."""
    stages, stage_cpu, stage_rss, status, counts, messages = {}, {}, {}, {}, {}, {}
    for name in stage_names or STAGE_NAMES:
        recs = [r["stages"][name] for r in runs if name in r["stages"]]
        ok = [s for s in recs if s["status"] == OK]
        status[name] = OK if recs and len(ok) == len(recs) else (
            NOT_ON_ENGINE if recs and all(s["status"] == NOT_ON_ENGINE for s in recs) else ERROR)
        if ok:
            stages[name] = spread([s["seconds"] for s in ok])
            stage_cpu[name] = spread([s["cpu_s"] for s in ok])
            stage_rss[name] = max(s["peak_rss_mb"] for s in ok)
            counts[name] = ok[0]["counts"]
        msgs = sorted({s["message"] for s in recs if s["message"]})
        if msgs:
            messages[name] = "; ".join(msgs)
    return {
        "total_s": spread([r["total_s"] for r in runs]),
        "total_cpu_s": spread([sum(s["cpu_s"] or 0.0 for s in r["stages"].values()) for r in runs]),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "stages": stages,
        "stage_cpu_s": stage_cpu,
        "stage_peak_rss_mb": stage_rss,
        "status": status,
        "counts": counts,
        "messages": messages,
        "repeats": len(runs),
    }


def ratios(peers: dict) -> dict:
    """Return ``{"<name>_peer_over_package": median peer seconds / median package seconds}`` per pair."""
    out = {}
    for name, rec in sorted(peers.get("references", {}).items()):
        fast, slow = rec["fast_s"]["median"], rec["naive_s"]["median"]
        if fast and slow:
            out[f"{name}_peer_over_package"] = slow / fast
    return out


def targets_met(sizes: dict) -> dict:
    """Return per size with a target: its limits, the measured median total and peak RSS, and ``met``."""
    out = {}
    for n, (max_s, max_mb) in TARGETS.items():
        entry = sizes.get(str(n))
        if entry is None:
            continue
        total = entry["total_s"]["median"]
        complete = all(s == OK for s in entry["status"].values())
        met = (complete and total is not None and total <= max_s
               and (max_mb is None or entry["peak_rss_mb"] <= max_mb))
        out[str(n)] = {"max_total_s": max_s, "max_peak_rss_mb": max_mb, "total_s": total,
                       "peak_rss_mb": entry["peak_rss_mb"], "complete": complete, "met": bool(met)}
    return out


def machine_info() -> dict:
    """Return what the numbers depend on: CPU, cores, memory, load, Python and library versions, commit."""
    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu_count": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None)
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, StopIteration, ValueError):
        pass
    try:
        info["load_avg_1_5_15"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    import scipy
    import sklearn

    info["versions"] = {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__,
                        "scikit-learn": sklearn.__version__}
    try:
        info["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                        cwd=Path(__file__).resolve().parent, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["commit"] = None
    return info


def _fmt_s(s: dict | None) -> str:
    if not s or s.get("median") is None:
        return "–"
    if s["max"] - s["min"] < 0.005:
        return f"{s['median']:.2f}"
    return f"{s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f})"


def render_markdown(result: dict) -> str:
    """Return bench.md: per-stage median (min–max) seconds and peak RSS per size, ratios, targets, machine."""
    sizes = result["sizes"]
    names = list(sizes)
    head = "| stage | " + " | ".join(f"{int(n):,} customers" for n in names) + " |"
    lines = ["# Analytic batch benchmark", "",
             "Wall seconds per stage, median (min–max) over repetitions, each repetition a fresh process; "
             "peak RSS in MB (per stage: the peak during that stage). CPU seconds (user + system of the process, "
             "all threads) are less sensitive than wall seconds to other work on a shared machine.", "",
             head, "|" + "---|" * (len(names) + 1)]
    for stage in STAGE_NAMES:
        cells = []
        for n in names:
            e = sizes[n]
            if e["status"].get(stage) == OK:
                cells.append(f"{_fmt_s(e['stages'][stage])} s · {e['stage_peak_rss_mb'][stage]:,.0f} MB")
            else:
                cells.append(e["status"].get(stage, ERROR))
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append("| **total** | " + " | ".join(f"**{_fmt_s(sizes[n]['total_s'])} s**" for n in names) + " |")
    lines.append("| CPU seconds of this process | " + " | ".join(
        f"{_fmt_s(sizes[n].get('total_cpu_s'))} s" for n in names) + " |")
    lines.append("| **peak RSS** | " + " | ".join(f"**{sizes[n]['peak_rss_mb']:,.0f} MB**" for n in names) + " |")
    lines.append("| repetitions | " + " | ".join(str(sizes[n]["repeats"]) for n in names) + " |")
    counts = []
    for n in names:
        c = sizes[n]["counts"]
        bits = [f"{k}={v:,}" for stage in STAGE_NAMES for k, v in c.get(stage, {}).items()]
        counts.append(f"- {int(n):,} customers: " + ", ".join(bits))
    lines += ["", "Work done (first repetition):", "", *counts]
    msgs = [f"- {int(n):,} / {stage}: {m}" for n in names for stage, m in sizes[n]["messages"].items()]
    if msgs:
        lines += ["", "Stages that failed:", "", *msgs]
    spark = (result.get("spark") or {}).get("sizes") or {}
    if spark:
        both = [n for n in names if n in spark] + [n for n in spark if n not in names]
        lines += ["", "## Spark beside pandas", "",
                  f"The same shops through `workbench.spark` ({result['spark'].get('master', 'local[*]')}, fresh process "
                  "per repetition): wall seconds per stage, median (min–max), and peak RSS of Python + the "
                  "driver's JVM. `session` and `input` (the shop written to Parquet) are costs only Spark pays; "
                  "Spark's `cf` is MLlib implicit ALS top-10 for every buyer, pandas' item-kNN + EASE top-10 for "
                  "every customer.", "",
                  "| stage | " + " | ".join(f"{int(n):,} {eng}" for n in both for eng in ("pandas", "spark")) + " |",
                  "|" + "---|" * (2 * len(both) + 1)]
        order = list(dict.fromkeys([*SPARK_STAGE_NAMES[:1], *STAGE_NAMES[:2], "input", *STAGE_NAMES[2:]]))
        order = [st for st in order if st in SPARK_STAGE_NAMES or st in STAGE_NAMES]

        def cell(e: dict | None, stage: str) -> str:
            if e is None:
                return "–"
            if e["status"].get(stage) == OK:
                return f"{_fmt_s(e['stages'][stage])} s · {e['stage_peak_rss_mb'][stage]:,.0f} MB"
            return e["status"].get(stage, "–")

        for stage in order:
            row = [cell(sizes.get(n), stage) if stage in STAGE_NAMES else "–" for n in both]
            srow = [cell(spark.get(n), stage) for n in both]
            lines.append(f"| {stage} | " + " | ".join(x for pair in zip(row, srow) for x in pair) + " |")
        tot = [(_fmt_s(sizes[n]["total_s"]) if n in sizes else "–", _fmt_s(spark[n]["total_s"]) if n in spark else "–")
               for n in both]
        lines.append("| **total** | " + " | ".join(f"**{a} s**" for pair in tot for a in pair) + " |")
        cpu = [(_fmt_s(sizes[n].get("total_cpu_s")) if n in sizes else "–", _fmt_s(spark[n].get("total_cpu_s")))
               for n in both]
        lines.append("| CPU seconds (Python + JVM) | " + " | ".join(f"{a} s" for pair in cpu for a in pair) + " |")
        rss = [(f"{sizes[n]['peak_rss_mb']:,.0f}" if n in sizes else "–", f"{spark[n]['peak_rss_mb']:,.0f}") for n in both]
        lines.append("| **peak RSS** | " + " | ".join(f"**{a} MB**" for pair in rss for a in pair) + " |")
        scounts = [f"- {int(n):,} customers (spark): " + ", ".join(
            f"{k}={v:,}" for stage in SPARK_STAGE_NAMES for k, v in spark[n]["counts"].get(stage, {}).items()
            if isinstance(v, (int, float))) for n in spark]
        lines += ["", "Spark work done (first repetition):", "", *scounts]
    peers = result.get("peers") or {}
    if peers.get("references"):
        lines += ["", f"## Against the tools a user would pick instead ({peers['n_customers']:,} customers, same "
                      f"process, {peers['repeats']} repetitions)", "",
                  "| stage: package vs peer | package | peer | peer / package | same result |", "|---|---|---|---|---|"]
        for name, rec in peers["references"].items():
            ratio = result["ratios"].get(f"{name}_peer_over_package")
            same = {True: "yes", False: "NO", None: "–"}[rec["same_result"]]
            note = f" ({rec['note']})" if rec.get("note") else ""
            lines.append(f"| {name}: {rec['fast']} vs {rec['naive']} | {_fmt_s(rec['fast_s'])} s | "
                         f"{_fmt_s(rec['naive_s'])} s | {'–' if ratio is None else f'{ratio:,.1f}×'} | {same}{note} |")
    if result.get("failed"):
        lines += ["", "## Failed runs", "", *[f"- {k}: {v}" for k, v in result["failed"].items()]]
    if result.get("targets"):
        lines += ["", "## Targets", "", "| customers | limit | measured | met |", "|---|---|---|---|"]
        for n, t in result["targets"].items():
            limit = f"≤ {t['max_total_s']:.0f} s" + (f", ≤ {t['max_peak_rss_mb']:,.0f} MB" if t["max_peak_rss_mb"]
                                                      else "")
            meas = f"{t['total_s']:.1f} s, {t['peak_rss_mb']:,.0f} MB" + ("" if t["complete"] else " (stages failed)")
            lines.append(f"| {int(n):,} | {limit} | {meas} | {'yes' if t['met'] else 'no'} |")
    m = result["machine"]
    lines += ["", "## Machine", "",
              f"{m.get('cpu')}, {m.get('cpu_count')} cores, {m.get('mem_total_gb')} GB RAM; load average at start "
              f"{m.get('load_avg_1_5_15')} (a shared machine inflates absolute seconds, not the ratios); "
              f"Python {m.get('python')}, " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
              + f"; commit {m.get('commit')}.", ""]
    return "\n".join(lines)


# ---- subprocesses ------------------------------------------------------------------------------------------

def _subprocess_json(args: list[str], label: str) -> dict:
    """Run ``python -m workbench.bench <args> --json FILE`` in a fresh process; return the JSON it wrote."""
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        path = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "workbench.bench", *args, "--json", str(path)]
        proc = subprocess.run(cmd, cwd=os.getcwd(), env={**os.environ, "TQDM_DISABLE": "1"})
        if proc.returncode != 0 or not path.is_file():
            why = (f"killed by signal {-proc.returncode}" + (" (out of memory?)" if proc.returncode == -9 else "")
                   if proc.returncode < 0 else f"exit code {proc.returncode}")
            raise WorkbenchError(f"bench worker for {label} failed ({why}); run "
                                 f"`python {' '.join(cmd[1:-2])} --json out.json` to see the error")
        return json.loads(path.read_text())


def main(sizes: list[int] | None = None, repeats: int = 3, out: str | os.PathLike | None = None,
         overrides: dict | None = None, peer_size: int | None = PEER_SIZE, engine: str = "pandas") -> dict:
    """Run the batch at each size (``repeats`` fresh processes each; with ``engine="spark"`` the Spark stages
    too) and the peers (on a shop of ``peer_size`` customers; None skips them); return the bench.json dict
    after writing ``bench.json`` and ``bench.md`` to ``out`` (default outputs/bench)."""
    from workbench.config import project_root

    sizes = [int(n) for n in (sizes or [10_000, 100_000, 1_000_000])]
    if repeats < 1 or any(n < 10 for n in sizes):
        raise WorkbenchError("bench needs repeats >= 1 and sizes >= 10 customers, e.g. --sizes 10000,100000")
    out_dir = Path(out) if out else project_root() / "outputs" / "bench"
    engine_stages(engine)  # a wrong engine fails before any work
    cfg = settings(overrides)
    machine = machine_info()
    result: dict = {"sizes": {}, "ratios": {}, "machine": machine, "settings": cfg}
    failed: dict[str, str] = {}  # a worker that dies (e.g. out of memory) is recorded; the other sizes still run
    for n in sizes:
        runs = []
        for r in range(repeats):
            log.info("bench: %d customers, repetition %d of %d", n, r + 1, repeats)
            try:
                runs.append(_subprocess_json(["--worker", "--size", str(n), "--settings", json.dumps(cfg)],
                                             f"{n} customers"))
            except WorkbenchError as exc:
                log.error("bench: %s", exc)
                failed[f"{n} customers, repetition {r + 1}"] = str(exc)
                break  # the next repetitions would fail the same way
        if runs:
            result["sizes"][str(n)] = aggregate_size(runs)
    if engine == "spark":
        result["spark"] = {"master": cfg["spark"]["master"], "sizes": {}}
        for n in sizes:
            runs = []
            for r in range(repeats):
                log.info("bench (spark): %d customers, repetition %d of %d", n, r + 1, repeats)
                try:
                    runs.append(_subprocess_json(["--worker", "--engine", "spark", "--size", str(n), "--settings",
                                                  json.dumps(cfg)], f"{n} customers on Spark"))
                except WorkbenchError as exc:
                    log.error("bench: %s", exc)
                    failed[f"spark {n} customers, repetition {r + 1}"] = str(exc)
                    break
            if runs:
                result["spark"]["sizes"][str(n)] = aggregate_size(runs, SPARK_STAGE_NAMES)
    if peer_size:
        log.info("bench: peers at %d customers", peer_size)
        try:
            result["peers"] = _subprocess_json(["--peers", "--size", str(int(peer_size)), "--repeats",
                                                str(repeats), "--settings", json.dumps(cfg)], "the peers")
            result["ratios"] = ratios(result["peers"])
        except WorkbenchError as exc:
            log.error("bench: %s", exc)
            failed["peers"] = str(exc)
    if failed:
        result["failed"] = failed
    result["targets"] = targets_met(result["sizes"])
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / BENCH_JSON).write_text(json.dumps(result, indent=2, sort_keys=False) + "\n")
    md = render_markdown(result)
    (out_dir / BENCH_MD).write_text(md)
    log.info("bench written to %s\n%s", out_dir, md)
    errors = [f"{n}/{s}" for n, e in result["sizes"].items() for s, v in e["status"].items() if v == ERROR]
    errors += [f"spark {n}/{s}" for n, e in (result.get("spark") or {}).get("sizes", {}).items()
               for s, v in e["status"].items() if v == ERROR]
    if errors or failed:
        raise WorkbenchError(f"bench failures: {', '.join(errors + list(failed))}; the log above has the "
                             f"tracebacks (tables written to {out_dir})")
    return result


def _worker(argv: list[str] | None = None) -> int:
    """Entry point of the subprocesses: ``--worker`` runs the batch once (``--engine``), ``--peers`` the peers."""
    p = argparse.ArgumentParser(prog="python -m workbench.bench")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--worker", action="store_true", help="run the batch once at --size")
    mode.add_argument("--peers", action="store_true", help="run the peers at --size")
    p.add_argument("--engine", default="pandas", choices=list(ENGINES))
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--settings", default="{}", help="JSON overrides of DEFAULTS")
    p.add_argument("--json", required=True, help="file to write the result to")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("workbench.data", "workbench.segment", "workbench.recommend", "workbench.pricing"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    cfg = settings(json.loads(args.settings))
    if args.worker:
        res = run_batch(args.size, cfg, args.engine)
    else:
        from workbench.bench_peers import run_peers

        res = run_peers(args.size, args.repeats, cfg)
    Path(args.json).write_text(json.dumps(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker())
