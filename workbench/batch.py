"""``python -m workbench batch``: the batch stages without notebooks, on the pandas engine or on Spark.

Stages, in order (:data:`STAGE_NAMES`): ``data`` (read and validate), ``rfm`` (RFM, scores, segments),
``kmeans`` (clusters of the buyers from the ``segmentation.clusters`` block; the pandas engine's model
selection, k-means only on Spark; writes ``customer_segments``), ``als`` (implicit ALS on the training part
of the run's ``evaluation:`` split, ``last_basket`` or ``chronological``; top-K for the test customers and
their ranking metrics; writes ``recs_als``, ``split_train``, ``split_test``) and ``rules`` (frequent itemsets
and association rules; writes ``rules``). Each engine's stages read the same params blocks
(``segmentation:``, ``evaluation:``, ``recommenders:``, ``basket:``) with the same defaults, and write the
run folder the notebooks write: ``artifacts/`` (Parquet), ``metrics.json`` (block ``batch``, deterministic), ``timings.json`` (seconds per stage).

The pandas engine calls the package's own stage functions (:func:`workbench.segment.rfm.build_rfm`,
:class:`workbench.segment.clusters.RFMKMeans`, :func:`workbench.recommend.holdout.protocol_holdout`,
:class:`workbench.recommend.implicit_models.ALS`, :func:`workbench.recommend.basket.mine_rules`); the Spark
engine their counterparts in :mod:`workbench.spark.batch`.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import pandas as pd

from workbench.config import load_params, stage
from workbench.data import contract
from workbench.errors import ConfigError
from workbench.report.record import RunRecorder

if TYPE_CHECKING:
    from workbench.evaluate.experiment import EvaluationSettings

log = logging.getLogger(__name__)

ENGINES = ("pandas", "spark")
STAGE_NAMES = ("data", "rfm", "kmeans", "als", "rules")
#: the metrics.json block the batch writes
METRICS_BLOCK = "batch"
#: the model whose recommendations the batch writes (``recs_als``)
MODEL = "als"
#: the evaluation splits both engines make (``evaluation.split``)
SPLITS = ("last_basket", "chronological")


@dataclass(frozen=True)
class BatchSettings:
    """What the stages read from a params file: its blocks merged over each stage's defaults."""

    params: dict
    seed: int
    segmentation: dict
    clusters: dict
    evaluation: EvaluationSettings
    als: dict
    basket: dict

    @property
    def k(self) -> int:
        """The length of the recommendation lists (``evaluation.k``)."""
        return int(self.evaluation.k)

    @property
    def rules(self) -> dict:
        """The mining settings of :func:`workbench.recommend.basket.mine_rules` (``basket:`` block)."""
        b = self.basket
        return {key: b[key] for key in ("min_support", "min_baskets", "min_confidence", "max_len", "min_lift")}


def batch_settings(params: str | Path | dict, overrides=None) -> BatchSettings:
    """Return the :class:`BatchSettings` of a params file (a path, a name in ``params/`` or a dict)."""
    from workbench.evaluate import experiment
    from workbench.recommend import basket, protocol
    from workbench.segment import DEFAULTS as SEGMENTATION
    from workbench.segment import clusters

    cfg = load_params(params, overrides)
    ev = experiment.settings(cfg)
    if ev.source != "purchases":
        raise ConfigError(f"the batch learns from purchases; evaluation.source is {ev.source!r}")
    if ev.split not in SPLITS:
        raise ConfigError(f"the batch splits {' or '.join(SPLITS)} (both engines); evaluation.split is {ev.split!r}")
    # the ALS the notebooks fit: the recommenders: block over the class defaults, the run's seed
    als = protocol.make_model(MODEL, protocol.settings(cfg.get("recommenders"), ev.source)).get_params()
    als = {key: als[key] for key in ("factors", "regularization", "alpha", "iterations")}
    segmentation = stage(cfg, "segmentation", SEGMENTATION)
    return BatchSettings(params=cfg, seed=int(cfg.get("seed", 42)), segmentation=segmentation,
                         clusters=clusters.settings(cfg.get("segmentation") or {}), evaluation=ev,
                         als={**als, "random_state": int(cfg.get("seed", 42))},
                         basket=stage(cfg, "basket", basket.DEFAULTS))


@dataclass
class BatchRun:
    """One batch run: its settings, its run folder's recorder, what the stages left for the next ones."""

    settings: BatchSettings
    rec: RunRecorder
    state: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


# ---- the pandas engine: the package's stage functions ---------------------------------------------------

def _pandas_data(run: BatchRun) -> dict:
    from workbench.context import Context

    ctx = Context(params=run.settings.params, run_dir=run.rec.run_dir, rec=run.rec)
    shop, report = ctx.load_data()  # data artifacts, quarantine files, validation report, metrics "data"
    run.state["shop"] = shop
    return {name: {"rows_read": t.rows_read, "rows_accepted": t.rows_accepted, "rows_quarantined": t.rows_quarantined}
            for name, t in report.tables.items()}


def _pandas_rfm(run: BatchRun) -> dict:
    from workbench.segment import rfm as segment_rfm

    s, shop = run.settings.segmentation, run.state["shop"]
    table = segment_rfm.build_rfm(shop.transactions, shop.customers, s.get("analysis_date"), s.get("segment_map"),
                        s.get("iqr_k", 1.5))
    run.state["rfm"] = table
    return {"analysis_date": str(table.attrs["analysis_date"].date()), "customers": len(table),
            "buyers": int((table[segment_rfm.FREQUENCY] > 0).sum()), "segments": segment_rfm.segment_counts(table, s.get("segment_map"))}


def _pandas_kmeans(run: BatchRun) -> dict:
    from workbench.segment import clusters as segment_clusters
    from workbench.segment.table import ARTIFACT, customer_segments

    table, cfg = run.state["rfm"], run.settings.clusters
    feats = segment_clusters.cluster_features(table)  # log-RFM (the batch's features on both engines: no extras)
    model = segment_clusters.make_model(cfg, random_state=run.settings.seed).fit(feats)
    out = segment_clusters.assign_clusters(table, feats, model, segment_clusters.name_clusters(model.centroids_z_, cfg["name_threshold"]))
    run.rec.save_artifact(customer_segments(out), ARTIFACT)
    return {"model": model.model_, "k": int(model.k_), "clusters": cluster_sizes(out)}


def _pandas_als(run: BatchRun) -> dict:
    from workbench.evaluate.metrics import evaluate_ranking
    from workbench.recommend.holdout import run_holdout
    from workbench.recommend import registry

    st = run.settings
    hold = run_holdout(run.state["shop"], st.params, recorder=run.rec)  # writes split_train / split_test
    model = registry.build(MODEL, st.als).fit(hold.interactions)
    recs = model.recommend(hold.customers, k=st.k)[[contract.CUSTOMER_ID, contract.PRODUCT_ID, "rank", "score"]]
    run.rec.save_artifact(recs, f"recs_{MODEL}")
    scores = evaluate_ranking(hold.test, recs, k=st.k, n_items=hold.interactions.shape[1])
    return {"split": st.evaluation.split, "train_rows": len(hold.train), "test_pairs": len(hold.test),
            "customers": len(hold.customers), "metrics": scores}


def _pandas_rules(run: BatchRun) -> dict:
    from workbench.recommend.basket import mine_rules

    _, rules, info = mine_rules(run.state["shop"].transactions, **run.settings.rules,
                                max_itemsets=run.settings.basket["max_itemsets"])
    run.rec.save_artifact(rules, "rules")
    return {"baskets": int(info["n_baskets"]), "min_support": float(info["min_support"]),
            "itemsets": int(info["n_itemsets"]), "rules": int(info["n_rules"])}


PANDAS_STAGES: dict[str, Callable[[BatchRun], dict]] = {
    "data": _pandas_data, "rfm": _pandas_rfm, "kmeans": _pandas_kmeans, "als": _pandas_als, "rules": _pandas_rules,
}


def cluster_sizes(table: pd.DataFrame) -> dict:
    """``{cluster: customers}`` of the buyers (sizes, largest first; the labels differ between engines)."""
    from workbench.segment.clusters import CLUSTER, NO_CLUSTER

    counts = table.loc[table[CLUSTER] != NO_CLUSTER, CLUSTER].value_counts()
    return sorted((int(v) for v in counts.to_numpy()), reverse=True)


# ---- running ------------------------------------------------------------------------------------------------

def engine_stages(engine: str, master: str | None = None) -> tuple[dict, Callable[[], None]]:
    """Return (``{stage: function}``, a function that releases the engine) for ``engine``."""
    if engine == "pandas":
        return PANDAS_STAGES, lambda: None
    if engine == "spark":
        from workbench.spark import batch as spark_batch

        return spark_batch.stages(master)
    raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def run_batch(params: str | Path | dict, engine: str = "pandas", out: str | Path | None = None,
              master: str | None = None, overrides=None, only: list[str] | None = None) -> Path:
    """Run the batch stages (``only``: a subset, in order) on ``engine``; write the run folder ``out``; return it."""
    from workbench.config import project_root

    settings = batch_settings(params, overrides)
    unknown = sorted(set(only or ()) - set(STAGE_NAMES))
    if unknown:
        raise ConfigError(f"unknown batch stage(s) {unknown}; the stages are {', '.join(STAGE_NAMES)}")
    out_dir = Path(out) if out else project_root() / "outputs" / f"batch-{settings.params['name']}-{engine}"
    run = BatchRun(settings, RunRecorder(out_dir))
    stages, release = engine_stages(engine, master)
    try:
        for name in STAGE_NAMES:
            if only and name not in only:
                continue
            t0 = time.perf_counter()
            run.metrics[name] = stages[name](run)
            secs = time.perf_counter() - t0
            run.rec.log_timing(METRICS_BLOCK, name, secs)
            log.info("batch (%s): %s done in %.1f s", engine, name, secs)
    finally:
        release()
    run.rec.log_metrics(METRICS_BLOCK, {"engine": engine, "stages": run.metrics}, replace=True)
    return out_dir
