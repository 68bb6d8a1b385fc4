"""Notebook 07's numbers that need artifacts, not just metrics.json: the leaderboard of every ranking model
(the hybrid variants included) with intervals and its verdict, P@K/R@K curves, hits and revenue over time,
and segment value.

Everything is computed from what earlier notebooks saved (``artifacts/recs_<model>.parquet``,
``artifacts/split_test.parquet``, ``artifacts/customer_segments.parquet``) with the evaluation module
(:mod:`workbench.evaluate.leaderboard`, :mod:`workbench.evaluate.metrics`,
:mod:`workbench.evaluate.significance`) under the run's one protocol (the ``evaluation:`` params block,
:mod:`workbench.evaluate.experiment`); no model is refit.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.data import contract
from workbench.evaluate import experiment
from workbench.evaluate import slices as error_analysis
from workbench.evaluate.leaderboard import SHIPPED_MODEL, Leaderboard, leaderboard
from workbench.evaluate.metrics import ranking_curve
from workbench.evaluate.significance import paired_sample_size
from workbench.recommend import registry
from workbench.recommend.hybrid import COLD, HOT, WARM, DEFAULTS as HYBRID_DEFAULTS, history_buckets
from workbench.report.record import ARTIFACTS_DIR

log = logging.getLogger(__name__)

RECS_PREFIX = "recs_"
SPLIT_TEST = experiment.SPLIT_TEST
SEGMENTS_ARTIFACT = "customer_segments"
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

    ``split_test`` holds the relevant pairs of the run's one split (seen pairs already dropped when the
    protocol says so), and notebooks 02-05 score their lists on it, so re-scoring every ``recs_<model>``
    against it reproduces the recorded numbers on one common test set.
    """
    cols = [contract.CUSTOMER_ID, contract.PRODUCT_ID]
    missing = [c for c in cols if c not in test.columns]
    if missing:
        raise KeyError(f"split_test lacks {missing}: it must hold customer_id and product_id")
    if contract.QUANTITY in test.columns:
        test = test[test[contract.QUANTITY] > 0]
    return test[cols].astype("str").drop_duplicates().reset_index(drop=True)


def _max_rank(recs: pd.DataFrame) -> int:
    if "rank" in recs.columns and len(recs):
        return int(recs["rank"].max())
    return int(recs.groupby(contract.CUSTOMER_ID).size().max()) if len(recs) else 0


def curves(recs: dict[str, pd.DataFrame], test: pd.DataFrame,
           ks: tuple[int, ...] = tuple(experiment.DEFAULTS["curve_ks"])) -> pd.DataFrame:
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


def _line_value(test: pd.DataFrame, products: pd.DataFrame | None) -> pd.Series | None:
    """Revenue of each test row when it can be known (quantity x unit price, else the list price), else None."""
    if contract.UNIT_PRICE in test.columns:
        qty = test[contract.QUANTITY] if contract.QUANTITY in test.columns else 1
        return (test[contract.UNIT_PRICE] * qty).astype(float)
    if products is not None and contract.PRICE in products.columns:
        price = products.drop_duplicates(contract.PRODUCT_ID).set_index(contract.PRODUCT_ID)[contract.PRICE]
        qty = test[contract.QUANTITY] if contract.QUANTITY in test.columns else 1
        return (test[contract.PRODUCT_ID].map(price) * qty).astype(float)
    return None


def hits_over_time(recs: dict[str, pd.DataFrame], test: pd.DataFrame, products: pd.DataFrame | None = None,
                   k: int = 10, freq: str = "W") -> pd.DataFrame:
    """Per period of the test split: held-out purchases (and their revenue) each model's top-k list contained.

    Rows ``[period, model, hits, revenue]``; model ``"all test purchases"`` is the total, for scale. Empty when
    the test split has no timestamp.
    """
    cols = [PERIOD, MODEL, HITS, contract.REVENUE]
    if contract.TIMESTAMP not in test.columns or not len(test):
        return pd.DataFrame(columns=cols)
    t = test.copy()
    if contract.QUANTITY in t.columns:
        t = t[t[contract.QUANTITY] > 0]
    value = _line_value(t, products)
    t[contract.REVENUE] = value if value is not None else np.nan
    t[PERIOD] = pd.to_datetime(t[contract.TIMESTAMP]).dt.to_period(freq).dt.start_time
    frames = [t.groupby(PERIOD, sort=True).agg(hits=(contract.PRODUCT_ID, "size"), revenue=(contract.REVENUE, "sum"))
              .reset_index().assign(model="all test purchases")]
    for model in sorted(recs):
        r = recs[model]
        if "rank" in r.columns:
            r = r[r["rank"] <= k]
        hit = t.merge(r[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].drop_duplicates(), on=[contract.CUSTOMER_ID, contract.PRODUCT_ID])
        g = hit.groupby(PERIOD, sort=True).agg(hits=(contract.PRODUCT_ID, "size"), revenue=(contract.REVENUE, "sum"))
        g = g.reindex(frames[0][PERIOD].to_numpy(), fill_value=0).rename_axis(PERIOD).reset_index()
        frames.append(g.assign(model=model))
    out = pd.concat(frames, ignore_index=True)[cols]
    if value is None:
        out[contract.REVENUE] = np.nan
    return out


def item_support(transactions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` products in most baskets: ``[product_id, baskets, support]``, support = share of invoices with
    a purchase (quantity > 0) of the product; ties by product id."""
    sales = transactions
    if contract.QUANTITY in sales.columns:
        sales = sales[sales[contract.QUANTITY] > 0]
    pairs = sales[[contract.TRANSACTION_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()
    n_baskets = pairs[contract.TRANSACTION_ID].nunique()
    counts = pairs[contract.PRODUCT_ID].value_counts().rename("baskets").rename_axis(contract.PRODUCT_ID).reset_index()
    counts = counts.sort_values(["baskets", contract.PRODUCT_ID], ascending=[False, True]).head(n).reset_index(drop=True)
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


@dataclass
class ErrorAnalysis:
    """Notebook 07's error analysis: the slice table, the shipped lists against the best model per slice, the
    lists' overlap and beyond-accuracy measures (:mod:`workbench.evaluate.slices`)."""

    k: int
    slices: pd.DataFrame
    skipped: dict
    shipped_vs_best: pd.DataFrame
    shipped: str | None
    best: str | None
    overlap: pd.DataFrame
    beyond: pd.DataFrame
    settings: error_analysis.SliceSettings
    customers: int

    def to_metrics(self) -> dict:
        """The ``evaluation.slices``, ``evaluation.overlap`` and ``evaluation.beyond_accuracy`` keys."""
        dims: dict = {}
        for r in self.slices.to_dict(orient="records"):
            entry = dims.setdefault(r["dimension"], {}).setdefault(r["slice"], {"customers": r["customers"],
                                                                                "models": {}})
            entry["models"][r["model"]] = {c: float(r[c]) for c in ("ndcg", "ndcg_low", "ndcg_high", "recall",
                                                                    "recall_low", "recall_high")}
        slices = {"k": self.k, "settings": asdict(self.settings), "skipped": dict(self.skipped), "dimensions": dims,
                  "shipped_vs_best": {"shipped": self.shipped, "best": self.best,
                                      "rows": [{**r, "customers": int(r["customers"]), "loses": bool(r["loses"])}
                                               for r in self.shipped_vs_best.to_dict(orient="records")]}}
        overlap = {"k": self.k, "customers": self.customers,
                   "jaccard": {a: {b: float(v) for b, v in row.items()}
                               for a, row in self.overlap.to_dict(orient="index").items()}}
        beyond = {m: {c: float(v) for c, v in row.items()} for m, row in self.beyond.to_dict(orient="index").items()}
        return {"slices": slices, "overlap": overlap, "beyond_accuracy": beyond}


def slice_inputs(adir: Path, test: pd.DataFrame, products: pd.DataFrame | None, params: dict | None,
                 settings: error_analysis.SliceSettings) -> error_analysis.SliceInputs:
    """The slices' labels from the run's artifacts: RFM segment and cluster (notebook 01's table), history bucket
    and new vs returning (distinct products bought in ``split_train``, the hybrid's ``history`` thresholds),
    the held-out product's category and popularity band (training sales); a dimension the run lacks is
    skipped with the reason."""
    truth = relevant(test)
    customers = pd.Index(np.sort(truth[contract.CUSTOMER_ID].unique()))
    skipped: dict = {}
    labels = pd.DataFrame(index=customers)
    seg_path = adir / f"{SEGMENTS_ARTIFACT}.parquet"
    seg = pd.read_parquet(seg_path) if seg_path.exists() else None
    for dim, cols in (("segment", (SEGMENT_COL,)), ("cluster", ("cluster_name", "cluster"))):
        col = next((c for c in cols if seg is not None and c in seg.columns), None)
        if col is None:
            skipped[dim] = ("no customer_segments artifact (notebook 01 did not run)" if seg is None else
                            f"the segmentation table has no {' or '.join(cols)} column (clustering did not run)")
            continue
        s = seg.drop_duplicates(contract.CUSTOMER_ID).set_index(seg[contract.CUSTOMER_ID].drop_duplicates().astype("str"))
        lab = s[col]
        if "cluster" in s.columns and dim == "cluster":  # customers left out of clustering have a negative cluster
            lab = lab.where(pd.to_numeric(s["cluster"], errors="coerce").fillna(-1) >= 0)
        lab = lab.reindex(customers)
        if lab.isna().all():
            skipped[dim] = f"no test customer has a {col} label"
            continue
        labels[dim] = lab.astype("object")
    train_path = adir / f"{experiment.SPLIT_TRAIN}.parquet"
    sales = pd.read_parquet(train_path) if train_path.exists() else None
    if sales is not None and contract.QUANTITY in sales.columns:
        sales = sales[sales[contract.QUANTITY] > 0]
    if sales is None:
        for dim in ("history", "customer_type", "popularity"):
            skipped[dim] = "no split_train artifact"
    else:
        bought = sales[[contract.CUSTOMER_ID, contract.PRODUCT_ID]].astype("str").drop_duplicates()
        n_hist = bought[contract.CUSTOMER_ID].value_counts().reindex(customers, fill_value=0).to_numpy()
        hist = {**HYBRID_DEFAULTS["history"], **(((params or {}).get("hybrid") or {}).get("history") or {})}
        labels["history"] = pd.Categorical(history_buckets(n_hist, int(hist["cold_max"]), int(hist["hot_min"])),
                                           categories=[COLD, WARM, HOT])
        labels["customer_type"] = np.where(n_hist > 0, error_analysis.RETURNING, error_analysis.NEW)
    catalog = pd.Index(products[contract.PRODUCT_ID].astype("str").unique()) if products is not None else \
        pd.Index(truth[contract.PRODUCT_ID].unique())
    product_labels = pd.DataFrame(index=catalog)
    if products is None or contract.CATEGORY not in products.columns or products[contract.CATEGORY].isna().all():
        skipped["category"] = "the shop's products have no category"
    else:
        cat = products.drop_duplicates(contract.PRODUCT_ID)
        product_labels["category"] = pd.Series(cat[contract.CATEGORY].to_numpy(),
                                               index=cat[contract.PRODUCT_ID].astype("str")).reindex(catalog)
    if sales is not None:
        product_labels["popularity"] = error_analysis.popularity_bands(sales, catalog, settings)
    return error_analysis.SliceInputs(truth, labels, product_labels, skipped)


def error_analysis_of(recs: dict[str, pd.DataFrame], board: Leaderboard, adir: Path, test: pd.DataFrame,
                      products: pd.DataFrame | None, params: dict | None, s: experiment.EvaluationSettings,
                      settings: error_analysis.SliceSettings = error_analysis.SliceSettings()) -> ErrorAnalysis:
    """The :class:`ErrorAnalysis` of the leaderboard's models on the run's test split."""
    inputs = slice_inputs(adir, test, products, params, settings)
    shipped = SHIPPED_MODEL if SHIPPED_MODEL in recs else None
    best = next((m for m in board.rows["model"] if m != shipped), None)
    lists = error_analysis.Lists.of(recs, board.per_customer.index, s.k, inputs.product_labels.index)
    table = error_analysis.slice_metrics(lists, inputs, s.n_boot, s.alpha, s.seed,
                                         pairs=((shipped, best),) if shipped and best else ())
    versus = error_analysis.shipped_vs_best(table, shipped or "", best or "", settings)
    train_path = adir / f"{experiment.SPLIT_TRAIN}.parquet"
    train = pd.read_parquet(train_path, columns=[contract.CUSTOMER_ID, contract.PRODUCT_ID]) if train_path.exists() \
        else test[[contract.CUSTOMER_ID, contract.PRODUCT_ID]]
    features = None
    if products is not None and contract.CATEGORY in products.columns:
        one = products.drop_duplicates(contract.PRODUCT_ID)
        features = pd.get_dummies(pd.Series(one[contract.CATEGORY].astype("str").to_numpy(),
                                            index=one[contract.PRODUCT_ID].astype("str").to_numpy()), dtype=float)
    n_items = products[contract.PRODUCT_ID].nunique() if products is not None else int(test[contract.PRODUCT_ID].nunique())
    single = table[~table["model"].str.contains(" - ", regex=False)].reset_index(drop=True)
    return ErrorAnalysis(s.k, single, inputs.skipped, versus, shipped, best, error_analysis.overlap_matrix(lists),
                         error_analysis.beyond_accuracy(lists, train, n_items, features), settings,
                         int(len(lists.customers)))


@dataclass
class RunEvaluation:
    """What notebook 07 derives from a run's artifacts; :meth:`to_metrics` is its ``evaluation`` block."""

    stages_run: list[str]
    k: int = 10
    board: Leaderboard | None = None
    verdict: dict | None = None
    curves: pd.DataFrame = field(default_factory=pd.DataFrame)
    hits: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    items: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    errors: ErrorAnalysis | None = None

    @property
    def best(self) -> tuple[str, float] | None:
        """``(model, ndcg@k)`` at the top of the leaderboard."""
        if self.board is None or not len(self.board.rows):
            return None
        return self.board.best_model, float(self.board.rows[f"ndcg@{self.k}"].iloc[0])

    @property
    def baseline(self) -> str | None:
        """The model every leaderboard row is compared with (most popular)."""
        return None if self.board is None else self.board.baseline

    @property
    def lift(self) -> dict | None:
        """The best model against the baseline: ``{model, baseline, metric, estimate, low, high, model_value,
        baseline_value, relative, n_customers}`` (None when the best model is the baseline or there is none)."""
        b = self.board
        if b is None or self.best is None or b.baseline is None or self.best[0] == b.baseline:
            return None
        row = b.rows.set_index("model")
        col = f"ndcg@{self.k}"
        model, base = self.best[0], b.baseline
        base_value = float(row.loc[base, col])
        delta = float(row.loc[model, "vs_delta"])
        return {"model": model, "baseline": base, "metric": col, "estimate": delta,
                "low": float(row.loc[model, "vs_low"]), "high": float(row.loc[model, "vs_high"]),
                "model_value": float(row.loc[model, col]), "baseline_value": base_value,
                "relative": delta / base_value if base_value > 0 else None, "n_customers": b.test_customers}

    def to_metrics(self) -> dict:
        """The ``evaluation`` block of metrics.json (deterministic: no durations, sorted keys)."""
        out: dict = {"stages_run": self.stages_run}
        if self.board is not None:
            out.update(self.board.to_metrics())
            if self.best is not None:
                out[f"best_ndcg@{self.k}"] = self.best[1]
        if self.lift is not None:
            out["lift_over_popular"] = self.lift
        if self.verdict is not None:
            out["verdict"] = self.verdict
        if len(self.segments):
            out["segment_value"] = {r[SEGMENT_COL]: {"customers": r["customers"], "customer_share": r["customer_share"],
                                                     "revenue_share": r["revenue_share"]}
                                    for r in self.segments.to_dict(orient="records")}
        if len(self.items):
            out["item_support"] = dict(zip(self.items[contract.PRODUCT_ID], self.items["support"]))
        if len(self.truth):
            out["truth_recovery"] = dict(zip(self.truth["check"], self.truth["value"]))
        if self.errors is not None:
            out.update(self.errors.to_metrics())
        return out


def verdict_numbers(board: Leaderboard, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
                    power: float = 0.8) -> dict | None:
    """The numbers of the verdict: the best hybrid variant against the best single (non-hybrid) model and against
    the most-popular baseline, each a paired bootstrap of NDCG@K with the customers a paired test would need to
    detect the observed difference with ``power`` (None without a hybrid row)."""
    hybrid = board.best(families=("hybrid",), exclude=())
    single = board.best(families=[f for f in board.rows["family"].unique() if f != "hybrid"], exclude=())
    if hybrid is None:
        return None
    out = {"best_hybrid": hybrid, "best_single": single, "k": board.k, "test_customers": board.test_customers}
    if board.population is not None:
        out["population"] = board.population.to_dict()
    for key, other in (("vs_best_single", single), ("vs_popular", board.baseline)):
        if other is None or other not in board.per_customer:
            continue
        cmp = board.compare(hybrid, other, n_boot, alpha, seed)
        diff = board.per_customer[hybrid].to_numpy() - board.per_customer[other].to_numpy()
        out[key] = {"model": other, **cmp, "n_needed": paired_sample_size(diff, alpha, power)}
    return out


def evaluate_run(run_dir: str | Path, metrics: dict, params: dict | None = None) -> RunEvaluation:
    """Everything notebook 07 needs from a run folder under the run's protocol (``params``' ``evaluation:``
    block), each part only when its inputs exist (see ``notes``)."""
    from workbench.report import summary

    s = experiment.settings(params or {})
    run_dir = Path(run_dir)
    adir = run_dir / ARTIFACTS_DIR
    ev = RunEvaluation(stages_run=[st for st in summary.STAGES if summary.ran(metrics, st)], k=s.k,
                       truth=summary.truth_recovery(metrics))
    seg_path = adir / f"{SEGMENTS_ARTIFACT}.parquet"
    if seg_path.exists():
        ev.segments = segment_value(pd.read_parquet(seg_path))
    else:
        ev.notes.append("no customer_segments artifact: segment value not shown (notebook 01 not run)")
    tx_path = adir / "data" / f"{contract.TRANSACTIONS}.parquet"
    if tx_path.exists():
        ev.items = item_support(pd.read_parquet(tx_path, columns=[contract.TRANSACTION_ID, contract.PRODUCT_ID, contract.QUANTITY]),
                                s.top_items)
    recs = load_recs(run_dir)
    test_path = adir / f"{SPLIT_TEST}.parquet"
    if not recs or not test_path.exists():
        ev.notes.append("no recs_<model> / split_test artifacts: leaderboard, curves and impact not shown "
                        "(no recommender notebook ran)")
        return ev
    test = pd.read_parquet(test_path)
    products_path = adir / "data" / f"{contract.PRODUCTS}.parquet"
    products = pd.read_parquet(products_path) if products_path.exists() else None
    n_items = (products[contract.PRODUCT_ID].nunique() if products is not None
               else int(summary.get(metrics, "data.products") or 0))
    ev.board = leaderboard(recs, relevant(test), s.k, max(n_items, 1), families=registry.families(),
                           baseline=s.baseline or summary.popular_model({"recommenders": recs}),
                           n_boot=s.n_boot, alpha=s.alpha, seed=s.seed,
                           population=experiment.read_population(adir))
    ev.verdict = verdict_numbers(ev.board, s.n_boot, s.alpha, s.seed)
    ev.curves = curves(recs, test, s.curve_ks)
    ev.hits = hits_over_time(recs, test, products, k=s.k, freq=s.freq)
    ev.errors = error_analysis_of(recs, ev.board, adir, test, products, params, s)
    if ev.lift is None:
        ev.notes.append("lift over popularity not computed: the best model is the popularity baseline, or the run "
                        "saved no most-popular list")
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
