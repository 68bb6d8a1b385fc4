"""Notebook 07's numbers that need artifacts, not just metrics.json: P@K/R@K curves, the best model's lift
over popularity with a paired bootstrap interval, hits and revenue over time, and segment value.

Everything is computed from what earlier notebooks saved (``artifacts/recs_<model>.parquet``,
``artifacts/split_test.parquet``, ``artifacts/customer_segments.parquet``) with the evaluation module's
metrics (:mod:`workbench.evaluate.metrics`, :mod:`workbench.evaluate.significance`); no model is refit.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract as C
from workbench.evaluate.metrics import per_customer_metrics, ranking_curve
from workbench.evaluate.significance import paired_bootstrap
from workbench.report.record import ARTIFACTS_DIR

log = logging.getLogger(__name__)

RECS_PREFIX = "recs_"
SPLIT_TEST = "split_test"
SEGMENTS_ARTIFACT = "customer_segments"
#: K values of the precision/recall curves (capped at the longest list a model saved)
CURVE_KS = (1, 2, 3, 5, 10, 15, 20)
SEGMENT_COL, MONETARY_COL = "segment", "monetary"
MODEL, PERIOD, HITS = "model", "period", "hits"


def load_recs(run_dir: str | Path) -> dict[str, pd.DataFrame]:
    """``{model: recommendations}`` from every ``artifacts/recs_<model>.parquet`` of the run, by model name."""
    adir = Path(run_dir) / ARTIFACTS_DIR
    out = {}
    for p in sorted(adir.glob(f"{RECS_PREFIX}*.parquet")):
        out[p.stem[len(RECS_PREFIX):]] = pd.read_parquet(p)
    return out


def relevant(test: pd.DataFrame) -> pd.DataFrame:
    """The held-out (customer, product) pairs that count as relevant, one row per pair (returns excluded).

    ``split_test`` is saved by notebook 02 under its protocol (seen pairs already dropped when the protocol
    says so), and notebooks 03-05 score their lists on the same rows and customers, so re-scoring every
    ``recs_<model>`` against it reproduces the recorded numbers on one common test set.
    """
    cols = [C.CUSTOMER_ID, C.PRODUCT_ID]
    missing = [c for c in cols if c not in test.columns]
    if missing:
        raise KeyError(f"split_test lacks {missing}: it must hold customer_id and product_id (see issue 4)")
    if C.QUANTITY in test.columns:
        test = test[test[C.QUANTITY] > 0]
    return test[cols].astype("str").drop_duplicates().reset_index(drop=True)


def _max_rank(recs: pd.DataFrame) -> int:
    if "rank" in recs.columns and len(recs):
        return int(recs["rank"].max())
    return int(recs.groupby(C.CUSTOMER_ID).size().max()) if len(recs) else 0


def curves(recs: dict[str, pd.DataFrame], test: pd.DataFrame, ks: tuple[int, ...] = CURVE_KS) -> pd.DataFrame:
    """One row per (model, K): precision, recall, map, ndcg, hit, mrr at K, for K up to each model's list length
    (relevant pairs from :func:`relevant`)."""
    truth = relevant(test)
    frames = []
    for model in sorted(recs):
        r = recs[model]
        top = _max_rank(r)
        kk = [k for k in ks if k <= top]
        if not kk:
            continue
        df = ranking_curve(truth, r, kk)
        df.insert(0, MODEL, model)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=[MODEL, "k", "precision", "recall", "map", "ndcg", "hit", "mrr"])
    return pd.concat(frames, ignore_index=True)


def best_recomputed(curves_df: pd.DataFrame, k: int = 10) -> tuple[str, float] | None:
    """``(model, ndcg@k)`` of the best model as re-scored by :func:`curves` (ties: first by name)."""
    at = curves_df[curves_df["k"] == k] if len(curves_df) else curves_df
    if not len(at):
        return None
    at = at.sort_values(["ndcg", MODEL], ascending=[False, True])
    return str(at[MODEL].iloc[0]), float(at["ndcg"].iloc[0])


def lift_over_baseline(model_recs: pd.DataFrame, base_recs: pd.DataFrame, test: pd.DataFrame, k: int = 10,
                       metric: str = "ndcg", n_boot: int = 1000, seed: int = 42) -> dict:
    """Paired bootstrap over test customers of ``metric``@k, model minus baseline:
    ``{metric, estimate, low, high, model_value, baseline_value, relative, n_customers}``."""
    truth = relevant(test)
    a = per_customer_metrics(truth, model_recs, k).set_index(C.CUSTOMER_ID)[metric]
    b = per_customer_metrics(truth, base_recs, k).set_index(C.CUSTOMER_ID)[metric].reindex(a.index)
    delta, low, high = paired_bootstrap(a.to_numpy(), b.to_numpy(), n_boot=n_boot, seed=seed)
    base = float(b.mean())
    return {"metric": f"{metric}@{k}", "estimate": delta, "low": low, "high": high,
            "model_value": float(a.mean()), "baseline_value": base,
            "relative": delta / base if base > 0 else None, "n_customers": int(len(a))}


def _line_value(test: pd.DataFrame, products: pd.DataFrame | None) -> pd.Series | None:
    """Revenue of each test row when it can be known (quantity x unit price, else the list price), else None."""
    if C.UNIT_PRICE in test.columns:
        qty = test[C.QUANTITY] if C.QUANTITY in test.columns else 1
        return (test[C.UNIT_PRICE] * qty).astype(float)
    if products is not None and C.PRICE in products.columns:
        price = products.drop_duplicates(C.PRODUCT_ID).set_index(C.PRODUCT_ID)[C.PRICE]
        qty = test[C.QUANTITY] if C.QUANTITY in test.columns else 1
        return (test[C.PRODUCT_ID].map(price) * qty).astype(float)
    return None


def hits_over_time(recs: dict[str, pd.DataFrame], test: pd.DataFrame, products: pd.DataFrame | None = None,
                   k: int = 10, freq: str = "W") -> pd.DataFrame:
    """Per period of the test split: held-out purchases (and their revenue) each model's top-k list contained.

    Rows ``[period, model, hits, revenue]``; model ``"all test purchases"`` is the total, for scale. Empty when
    the test split has no timestamp.
    """
    cols = [PERIOD, MODEL, HITS, C.REVENUE]
    if C.TIMESTAMP not in test.columns or not len(test):
        return pd.DataFrame(columns=cols)
    t = test.copy()
    if C.QUANTITY in t.columns:
        t = t[t[C.QUANTITY] > 0]
    value = _line_value(t, products)
    t[C.REVENUE] = value if value is not None else np.nan
    t[PERIOD] = pd.to_datetime(t[C.TIMESTAMP]).dt.to_period(freq).dt.start_time
    frames = [t.groupby(PERIOD, sort=True).agg(hits=(C.PRODUCT_ID, "size"), revenue=(C.REVENUE, "sum"))
              .reset_index().assign(model="all test purchases")]
    for model in sorted(recs):
        r = recs[model]
        if "rank" in r.columns:
            r = r[r["rank"] <= k]
        hit = t.merge(r[[C.CUSTOMER_ID, C.PRODUCT_ID]].drop_duplicates(), on=[C.CUSTOMER_ID, C.PRODUCT_ID])
        g = hit.groupby(PERIOD, sort=True).agg(hits=(C.PRODUCT_ID, "size"), revenue=(C.REVENUE, "sum"))
        g = g.reindex(frames[0][PERIOD].to_numpy(), fill_value=0).rename_axis(PERIOD).reset_index()
        frames.append(g.assign(model=model))
    out = pd.concat(frames, ignore_index=True)[cols]
    if value is None:
        out[C.REVENUE] = np.nan
    return out


def item_support(transactions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` products in most baskets: ``[product_id, baskets, support]``, support = share of invoices with
    a purchase (quantity > 0) of the product; ties by product id."""
    sales = transactions
    if C.QUANTITY in sales.columns:
        sales = sales[sales[C.QUANTITY] > 0]
    pairs = sales[[C.TRANSACTION_ID, C.PRODUCT_ID]].astype("str").drop_duplicates()
    n_baskets = pairs[C.TRANSACTION_ID].nunique()
    counts = pairs[C.PRODUCT_ID].value_counts().rename("baskets").rename_axis(C.PRODUCT_ID).reset_index()
    counts = counts.sort_values(["baskets", C.PRODUCT_ID], ascending=[False, True]).head(n).reset_index(drop=True)
    counts["support"] = counts["baskets"] / n_baskets if n_baskets else np.nan
    return counts


def segment_value(segments: pd.DataFrame, segment_col: str = SEGMENT_COL,
                  monetary_col: str = MONETARY_COL) -> pd.DataFrame:
    """Per segment: customers, customer_share, revenue (sum of net monetary value), revenue_share; by revenue."""
    if segment_col not in segments.columns or monetary_col not in segments.columns:
        raise KeyError(f"the segments table needs '{segment_col}' and '{monetary_col}' columns "
                       f"(has {list(segments.columns)}): run notebook 01 first")
    g = segments.groupby(segment_col, observed=True, sort=True)
    out = pd.DataFrame({"customers": g.size(), "revenue": g[monetary_col].sum().astype(float)})
    out["customer_share"] = out["customers"] / out["customers"].sum()
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total else np.nan
    out.index = out.index.astype(str)
    out.index.name = segment_col
    return out.reset_index().sort_values(["revenue", segment_col], ascending=[False, True]).reset_index(drop=True)


#: notebook 07's settings (params block ``evaluation:``)
DEFAULTS = {
    "k": 10,                    # list length the summary and the impact figure use
    "curve_ks": list(CURVE_KS),  # K values of the precision/recall curves
    "n_boot": 1000,             # bootstrap resamples for the lift interval
    "freq": "W",                # period of the impact-over-time figure (pandas offset alias)
    "baseline": None,           # baseline model for the lift (None = the most-popular recommender)
    "top_items": 10,            # products listed with their basket support (evaluation.item_support)
}


@dataclass
class RunEvaluation:
    """What notebook 07 derives from a run's artifacts; :meth:`to_metrics` is its ``evaluation`` block."""

    stages_run: list[str]
    best: tuple[str, float] | None = None
    baseline: str | None = None
    lift: dict | None = None
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    hits: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def to_metrics(self) -> dict:
        """The ``evaluation`` block of metrics.json (deterministic: no durations, sorted keys)."""
        out: dict = {"stages_run": self.stages_run}
        if self.best is not None:
            out["best_model"], out["best_ndcg@10"] = self.best
        if self.baseline is not None:
            out["baseline_model"] = self.baseline
        if self.lift is not None:
            out["lift_over_popular"] = self.lift
        if len(self.segments):
            out["segment_value"] = {r[SEGMENT_COL]: {"customers": r["customers"], "customer_share": r["customer_share"],
                                                     "revenue_share": r["revenue_share"]}
                                    for r in self.segments.to_dict(orient="records")}
        if len(self.items):
            out["item_support"] = dict(zip(self.items[C.PRODUCT_ID], self.items["support"]))
        if len(self.truth):
            out["truth_recovery"] = dict(zip(self.truth["check"], self.truth["value"]))
        return out


def evaluate_run(run_dir: str | Path, metrics: dict, cfg: dict | None = None, seed: int = 42) -> RunEvaluation:
    """Everything notebook 07 needs from a run folder, each part only when its inputs exist (see ``notes``)."""
    from workbench.report import summary as S

    cfg = {**DEFAULTS, **(cfg or {})}
    run_dir = Path(run_dir)
    adir = run_dir / ARTIFACTS_DIR
    ev = RunEvaluation(stages_run=[s for s in S.STAGES if S.ran(metrics, s)], best=S.best_model(metrics),
                       truth=S.truth_recovery(metrics))
    seg_path = adir / f"{SEGMENTS_ARTIFACT}.parquet"
    if seg_path.exists():
        ev.segments = segment_value(pd.read_parquet(seg_path))
    else:
        ev.notes.append("no customer_segments artifact: segment value not shown (notebook 01 not run)")
    tx_path = adir / "data" / f"{C.TRANSACTIONS}.parquet"
    if tx_path.exists():
        ev.items = item_support(pd.read_parquet(tx_path, columns=[C.TRANSACTION_ID, C.PRODUCT_ID, C.QUANTITY]),
                                int(cfg["top_items"]))
    recs = load_recs(run_dir)
    test_path = adir / f"{SPLIT_TEST}.parquet"
    if not recs or not test_path.exists():
        ev.notes.append("no recs_<model> / split_test artifacts: curves, lift and impact not shown "
                        "(notebook 02 not run)")
        return ev
    test = pd.read_parquet(test_path)
    ev.curves = curves(recs, test, tuple(cfg["curve_ks"]))
    products = adir / "data" / f"{C.PRODUCTS}.parquet"
    ev.hits = hits_over_time(recs, test, pd.read_parquet(products) if products.exists() else None,
                             k=int(cfg["k"]), freq=cfg["freq"])
    ev.baseline = cfg["baseline"] or S.popular_model(metrics)
    ev.best = best_recomputed(ev.curves, int(cfg["k"])) or ev.best
    if ev.best is not None and ev.baseline in recs and ev.best[0] in recs and ev.best[0] != ev.baseline:
        ev.lift = {"model": ev.best[0], "baseline": ev.baseline,
                   **lift_over_baseline(recs[ev.best[0]], recs[ev.baseline], test, k=int(cfg["k"]),
                                        n_boot=int(cfg["n_boot"]), seed=seed)}
    else:
        ev.notes.append("lift over popularity not computed: the best model or the popularity baseline has no "
                        "recs_<model> artifact (or they are the same model)")
    return ev


def recorded_vs_recomputed(curves_df: pd.DataFrame, metrics: dict, k: int = 10) -> pd.DataFrame:
    """Per model: NDCG@k and precision@k as recorded in metrics.json beside the values recomputed here from the
    saved lists (a check that the artifacts reproduce the reported numbers)."""
    rows = []
    at = curves_df[curves_df["k"] == k].set_index(MODEL) if len(curves_df) else pd.DataFrame()
    for model in sorted(at.index):
        rec = (metrics.get("recommenders") or {}).get(model) or {}
        rows.append({MODEL: model, f"ndcg@{k} recorded": rec.get(f"ndcg@{k}"),
                     f"ndcg@{k} recomputed": at.loc[model, "ndcg"],
                     f"precision@{k} recorded": rec.get(f"precision@{k}"),
                     f"precision@{k} recomputed": at.loc[model, "precision"]})
    return pd.DataFrame(rows)
