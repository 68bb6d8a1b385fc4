"""The artifact catalog: every file a run folder holds, its columns and what it means.

One :class:`Artifact` per file (or family of files: ``<model>``, ``<table>``, ``<name>`` and ``*`` stand for a
name) a default run writes, with its folder, the notebook or stage that writes it, its columns and their dtypes
(as ``pandas.read_parquet`` / ``read_csv`` give them back) where it is a table, and one line on what it means;
:data:`METRICS_KEYS` gives the top-level keys of ``metrics.json``. The documentation site's artifact page is made
from it, and a test checks a real default run against it: every file it wrote is catalogued and every catalogued
table has exactly those columns.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import pandas as pd

#: the columns of a ranking model's lists and of a purchase line of the evaluation split
_REC_LIST = {"customer_id": "str", "product_id": "str", "rank": "int64", "score": "float64"}
_PURCHASE_LINE = {"customer_id": "str", "product_id": "str", "timestamp": "datetime64[us]", "quantity": "int64",
                  "unit_price": "float64"}


@dataclass(frozen=True)
class Artifact:
    """One file (or family of files) of a run folder.

    ``path`` is relative to the run folder; ``<...>`` stands for one name (no ``/``) and ``*`` for any part of
    one. ``columns`` maps each column to its dtype as read back with pandas; None for a file that is no table, or
    a table whose columns depend on the shop (``note`` says how). ``when`` says when it is written, if not on
    every run whose notebook runs."""

    path: str
    writer: str
    meaning: str
    columns: Mapping[str, str] | None = None
    note: str = ""
    when: str = ""
    metrics_key: str = ""

    @property
    def folder(self) -> str:
        """The folder under the run folder (``""`` for the run folder itself)."""
        return self.path.rsplit("/", 1)[0] if "/" in self.path else ""

    @property
    def format(self) -> str:
        """The file's format, from its name: parquet, csv, json, ipynb, png, html, pkl, yaml, txt."""
        return self.path.rsplit(".", 1)[-1]

    def pattern(self) -> re.Pattern:
        """A regular expression matching the paths (relative, ``/``-separated) this entry stands for."""
        parts = re.split(r"(<[^>]+>|\*)", self.path)
        regex = "".join("[^/]+" if p.startswith("<") else "[^/]*" if p == "*" else re.escape(p) for p in parts)
        return re.compile(f"^{regex}$")

    def literal_length(self) -> int:
        """How much of the path is fixed text (the more, the more specific the entry)."""
        return len(re.sub(r"<[^>]+>|\*", "", self.path))


def _a(path, writer, meaning, columns=None, **kw) -> Artifact:
    return Artifact(path, writer, meaning, dict(columns) if columns is not None else None, **kw)


CATALOG: tuple[Artifact, ...] = (
    # ---- the run folder ----
    _a("<nn>_*.ipynb", "runner", "the executed notebooks, outputs and figures included"),
    _a("metrics.json", "every notebook", "the machine-readable result: one key per stage (METRICS_KEYS); "
       "byte-identical for the same params and seed"),
    _a("timings.json", "runner", "durations per notebook, per section of each notebook (`sections`) and per model "
       "fit; kept out of metrics.json so that stays reproducible"),
    _a("manifest.json", "runner", "params, data fingerprint, package versions, git commit, machine, start, end "
       "and duration per notebook"),
    _a("params.yaml", "runner", "the params the run used, overrides applied"),
    _a("data_fingerprint.txt", "00_data_eda", "a hash of the validated data: equal data, equal fingerprint"),
    _a("tracking.json", "runner (tracking)", "the MLflow experiment and run ids this run was recorded as, one "
       "nested run per notebook", when="tracking.enabled"),
    _a("figures/<nn>_*.png", "every notebook", "every figure, named by its notebook's number"),
    _a("report/index.html", "report", "the stakeholder report (opens from disk, no server)"),
    _a("report/<nn>_*.html", "report", "each executed notebook as a page of the report"),
    _a("quarantine/<table>.csv", "00_data_eda (validation)", "rows that failed validation, with the reason per "
       "row (suspected bots: `bot:<rule>`)", note="the table's own columns plus `reason`",
       when="some rows of that table were quarantined"),
    # ---- validated data and planted truth ----
    _a("artifacts/data/customers.parquet", "00_data_eda", "the validated customers",
       {"customer_id": "str", "signup_date": "datetime64[us]", "age": "int64", "gender": "category",
        "location": "category"}, note="the data contract's columns; a shop of your own keeps its extra columns"),
    _a("artifacts/data/products.parquet", "00_data_eda", "the validated product catalog",
       {"product_id": "str", "name": "str", "category": "category", "price": "float64", "description": "str",
        "brand": "category"}, note="the data contract's columns; a shop of your own keeps its extra columns"),
    _a("artifacts/data/transactions.parquet", "00_data_eda", "the validated invoice lines (negative quantity = "
       "return)", {"transaction_id": "str", **_PURCHASE_LINE},
       note="empty on a shop without money"),
    _a("artifacts/data/events.parquet", "00_data_eda", "the validated events (view, addtocart, transaction)",
       {"timestamp": "datetime64[us]", "customer_id": "str", "product_id": "str", "event": "category"},
       when="the shop has events"),
    _a("artifacts/data/prices.parquet", "00_data_eda", "the validated price history (shelf and competitor "
       "price, stock)", {"product_id": "str", "date": "datetime64[us]", "price": "float64",
                         "competitor_price": "float64", "stock": "int64"}, when="the shop has a prices table"),
    _a("artifacts/data/ratings.parquet", "00_data_eda", "the validated ratings",
       {"customer_id": "str", "product_id": "str", "rating": "float64", "timestamp": "datetime64[us]"},
       when="the shop has ratings"),
    _a("artifacts/validation_report.csv", "00_data_eda", "rows read, accepted and quarantined per table and reason",
       {"table": "str", "rows_read": "int64", "rows_accepted": "int64", "rows_quarantined": "int64",
        "reason": "str", "rows": "int64"}),
    _a("artifacts/bots.parquet", "00_data_eda", "the visitors validation quarantined as suspected bots, with the "
       "rule that fired and their events", {"customer_id": "str", "rule": "str", "events": "int64"},
       when="the shop has events"),
    _a("artifacts/truth/segments.parquet", "00_data_eda", "planted truth: each customer's segment and price tier",
       {"customer_id": "str", "segment": "category", "tier_preference": "category"}, when="synthetic shops"),
    _a("artifacts/truth/bundles.parquet", "00_data_eda", "planted truth: the co-purchase bundles",
       {"product_a": "str", "product_b": "str", "probability": "float64"}, when="synthetic shops"),
    _a("artifacts/truth/elasticities.parquet", "00_data_eda", "planted truth: each category's price elasticity",
       {"category": "str", "elasticity": "float64"}, when="synthetic shops"),
    _a("artifacts/truth/product_elasticity.parquet", "00_data_eda", "planted truth: each product's elasticity, "
       "list price, unit cost, popularity, tier and style",
       {"product_id": "str", "category": "category", "category_elasticity": "float64", "elasticity": "float64",
        "list_price": "float64", "unit_cost": "float64", "popularity": "float64", "tier": "category",
        "choice_group": "category", "style": "category"}, when="synthetic shops"),
    _a("artifacts/truth/demand.parquet", "00_data_eda", "planted truth: the exact expected demand per product and "
       "week, and its parts", {"product_id": "str", "date": "datetime64[us]", "price": "float64",
                               "competitor_price": "float64", "expected_units": "float64",
                               "first_pick_units": "float64", "favourite_units": "float64",
                               "bundle_units": "float64", "share": "float64", "elasticity": "float64",
                               "in_stock": "bool"}, when="synthetic shops"),
    _a("artifacts/truth/taste.parquet", "00_data_eda", "planted truth: every customer's category affinity (one "
       "column per category, summing to 1), `style_*` and `tier_*`", note="`customer_id`, then one float64 "
       "column per category, style and price tier of the shop", when="synthetic shops"),
    _a("artifacts/truth/favourites.parquet", "00_data_eda", "planted truth: every customer's favourite products",
       {"customer_id": "str", "product_id": "str", "rank": "int64", "weight": "float64"}, when="synthetic shops"),
    _a("artifacts/truth/params.parquet", "00_data_eda", "planted truth: the generator's numeric settings",
       {"name": "str", "value": "float64"}, when="synthetic shops"),
    _a("artifacts/truth/session_neighbours.parquet", "00_data_eda", "planted truth: each product's session "
       "neighbours (the browsing walk)", note="see `workbench/data/synthetic_clickstream.py`",
       when="`data.synthetic.browsing_sessions` > 0"),
    _a("artifacts/truth/bots.parquet", "00_data_eda", "planted truth: the planted bots",
       note="see `workbench/data/synthetic_clickstream.py`", when="`data.synthetic.n_bots` > 0"),
    # ---- segmentation ----
    _a("artifacts/customer_segments.parquet", "01_rfm_segmentation", "one row per customer with a purchase: RFM, "
       "scores, segment, cluster, outlier flags and lifetime value",
       {"customer_id": "str", "recency": "Int64", "frequency": "int64", "monetary": "float64", "r_score": "Int64",
        "f_score": "Int64", "m_score": "Int64", "rfm_score": "str", "segment": "str", "cluster": "int64",
        "cluster_name": "str", "expected_purchases": "float64", "clv": "float64",
        "first_purchase": "datetime64[us]", "last_purchase": "datetime64[us]", "recency_outlier": "bool",
        "frequency_outlier": "bool", "monetary_outlier": "bool", "cluster_probability": "float64",
        "p_alive": "float64", "expected_spend": "float64"},
       note="`cluster_probability` for a mixture only; the CLV columns when `segmentation.clv` ran",
       metrics_key="segmentation"),
    # ---- evaluation split ----
    _a("artifacts/split_train.parquet", "first notebook that needs the split (02-05)", "the training rows of the "
       "`evaluation:` split", {"transaction_id": "str", **_PURCHASE_LINE}, note="the columns of the "
       "`evaluation.source` table"),
    _a("artifacts/split_test.parquet", "first notebook that needs the split (02-05)", "exactly the relevant "
       "customer-product pairs the metrics use, one row each", _PURCHASE_LINE,
       note="the columns of the `evaluation.source` table"),
    _a("artifacts/split.json", "first notebook that needs the split (02-05)", "the split's settings, data "
       "fingerprint and population (customers evaluated, of how many, how drawn)"),
    # ---- recommenders ----
    _a("artifacts/recs_<model>.parquet", "02 (each of `recommenders.models`), 03, 04",
       "a ranking model's top-K list for every test customer; `<model>` is its registry name",
       _REC_LIST, metrics_key="recommenders"),
    _a("artifacts/recs_hybrid_<variant>.parquet", "05_hybrid_ablation", "the hybrid's lists: `default`, `tuned`, "
       "`learned` (LightGBM re-ranker) and `final` (after the business rules)",
       {"customer_id": "str", "product_id": "str", "score": "float64", "rank": "int64"}, metrics_key="hybrid"),
    _a("artifacts/recommenders_per_customer.parquet", "02_collaborative_filtering", "each model's metrics per "
       "test customer (the paired comparisons' input)",
       {"model": "str", "customer_id": "str", "precision": "float64", "recall": "float64", "ap": "float64",
        "ndcg": "float64", "hit": "float64", "rr": "float64"}),
    _a("artifacts/item_similarity.parquet", "03_content_based", "each product's most similar products by "
       "content (text, category, brand, price band)",
       {"product_id": "str", "similar_product_id": "str", "similarity": "float64", "rank": "int64"},
       metrics_key="content"),
    _a("artifacts/rules.parquet", "04_market_basket", "the association rules mined from the baskets",
       {"antecedents": "object", "consequents": "object", "antecedent support": "float64",
        "consequent support": "float64", "support": "float64", "confidence": "float64", "lift": "float64",
        "leverage": "float64", "conviction": "float64"}, note="antecedents and consequents are arrays of "
       "product ids", metrics_key="basket"),
    _a("artifacts/hybrid_ablation.parquet", "05_hybrid_ablation", "each component's weight and what the hybrid "
       "loses without it (paired interval, p-value) and scores with it alone",
       {"component": "str", "weight": "float64", "full": "float64", "without": "float64", "delta": "float64",
        "low": "float64", "high": "float64", "p_value": "float64", "alone": "float64", "alone_delta": "float64",
        "alone_low": "float64", "alone_high": "float64"}, metrics_key="hybrid"),
    _a("artifacts/recommendations.parquet", "05_hybrid_ablation", "the final recommendations for every customer "
       "(what `export` and `load_model(run, 'hybrid').recommend` serve)",
       {"customer_id": "str", "product_id": "str", "rank": "int64", "score": "float64", "confidence": "float64",
        "explanation": "str", "reason": "str", "name": "str", "category": "str", "rule": "str"},
       note="`reason`: the component contributing most; `rule`: the business rule applied, or empty"),
    # ---- pricing ----
    _a("artifacts/pricing_suggestions.parquet", "06_dynamic_pricing", "one suggested price per product for the "
       "next period, with the expected effect, the binding limit (`evidence_limit`: stopped at the edge of the prices the "
       "product was observed at), status, reason and trust",
       {"product_id": "str", "period": "datetime64[us]", "category": "str", "competitor_price": "float64",
        "current_price": "float64", "suggested_price": "float64", "change": "float64",
        "expected_units": "float64", "expected_revenue": "float64", "expected_margin": "float64",
        "current_units": "float64", "current_revenue": "float64", "unit_cost": "float64", "binding": "str",
        "evidence_limit": "bool", "elasticity": "float64", "status": "str", "reason": "str", "trust": "str"}, metrics_key="pricing"),
    _a("artifacts/pricing_elasticity_category.parquet", "06_dynamic_pricing", "each category's elasticity by "
       "every estimator (naive, fixed effects, pooled, DML, model) and the one used",
       {"category": "str", "naive": "float64", "fe": "float64", "fe_se": "float64", "fe_pooled": "float64",
        "competitor": "float64", "n_rows": "int64", "dml": "float64", "dml_se": "float64", "model": "float64",
        "used": "float64"}, metrics_key="pricing"),
    _a("artifacts/pricing_elasticity_product.parquet", "06_dynamic_pricing", "each product's elasticity (its "
       "category's plus a shrunk deviation)", {"product_id": "str", "category": "str", "elasticity": "float64",
                                               "deviation": "float64", "deviation_se": "float64"}),
    _a("artifacts/pricing_trust.parquet", "06_dynamic_pricing", "per category: whether the data identifies the "
       "elasticity, the estimate used, its trust and the suggestions made, held or flagged",
       {"category": "str", "raw": "float64", "se": "float64", "used": "float64", "status": "str", "trust": "str",
        "note": "str", "n_products": "int64", "n_changing": "int64", "share_changing": "float64",
        "median_changes": "float64", "identified": "bool", "promo_share": "float64",
        "price_promo_corr": "float64", "price_season_corr": "float64", "n_suggested": "int64",
        "n_held": "int64", "n_flagged": "int64", "n_on_evidence": "int64", "share_on_evidence": "float64",
        "share_on_bound": "float64", "share_on_limit": "float64", "flag": "str"},
       metrics_key="pricing"),
    _a("artifacts/pricing_backtest.parquet", "06_dynamic_pricing", "the test periods replayed: current, "
       "suggested and oracle (planted demand) price, units and revenue per product and period",
       {"product_id": "str", "period": "datetime64[us]", "current_price": "float64", "current_units": "float64",
        "current_revenue": "float64", "suggested_price": "float64", "suggested_units": "float64",
        "suggested_revenue": "float64", "oracle_price": "float64", "oracle_units": "float64",
        "oracle_revenue": "float64", "category": "str"}, when="synthetic shops", metrics_key="pricing"),
    # ---- clickstream ----
    _a("artifacts/sessions.parquet", "08_clickstream", "one row per session: visitor, start, end, length "
       "(seconds), pages and events by type",
       {"session_id": "int64", "customer_id": "str", "start": "datetime64[ns]", "end": "datetime64[ns]",
        "length": "float64", "events": "int64", "view": "int64", "addtocart": "int64", "transaction": "int64"},
       when="the shop has events", metrics_key="clickstream"),
    _a("artifacts/funnel_products.parquet", "08_clickstream", "view -> cart -> purchase conversion per product "
       "with 95% Wilson intervals",
       {"product_id": "str", "view": "int64", "addtocart": "int64", "transaction": "int64",
        "view_to_cart": "float64", "view_to_cart_low": "float64", "view_to_cart_high": "float64",
        "cart_to_purchase": "float64", "cart_to_purchase_low": "float64", "cart_to_purchase_high": "float64",
        "view_to_purchase": "float64", "view_to_purchase_low": "float64", "view_to_purchase_high": "float64"},
       when="the shop has events", metrics_key="clickstream"),
    _a("artifacts/product_interest.parquet", "08_clickstream", "each product's interest: events weighted by type "
       "(view 1, add-to-cart 3, purchase 5)",
       {"product_id": "str", "category": "str", "visitors": "int64", "view": "int64", "addtocart": "int64",
        "transaction": "int64", "interest": "float64", "interest_share": "float64"},
       when="the shop has events", metrics_key="clickstream"),
    # ---- saved models ----
    _a("artifacts/models/<name>/model.pkl", "01 (clustering, clv), 05 (hybrid, reranker), 06 (demand, pricing)",
       "a final fitted model; `workbench.load_model(run_dir, name)` reloads it with its library versions checked"),
    _a("artifacts/models/<name>/model.json", "01, 05, 06", "the saved model's class and library versions"),
)

#: the top-level keys of ``metrics.json`` and what each holds (a stage that cannot work on the data records
#: ``{"skipped": "<reason>"}`` under its key)
METRICS_KEYS: dict[str, str] = {
    "data": "rows read, accepted and quarantined per table and reason, the data fingerprint, EDA summary (00)",
    "segmentation": "RFM segments, outliers, the cluster model selection (`selection`), clusters, CLV and the "
                    "agreement with the planted segments (01)",
    "recommenders": "one entry per ranking model: its ranking metrics with intervals, taste recovery, timings "
                    "(02, 03, 04)",
    "rating": "rating prediction (surprise cross-validation, grid searches) when the shop has ratings (02)",
    "content": "the content features, similar items and the cold-start experiment (03)",
    "basket": "baskets, itemsets, rules, the top rules and the planted bundles recovered (04)",
    "hybrid": "the hybrid's variants, weights, ablation, per-history metrics, business rules, A/B simulation and "
              "revenue (05)",
    "pricing": "demand model errors against baselines, elasticities, identification, suggestions, backtest and "
               "A/B simulation (06)",
    "evaluation": "the leaderboard of every model on one split, the best model, the verdict, the population, "
                  "truth recovery and segment value (07)",
    "clickstream": "sessions, bots, funnel, interest and the session-based recommenders (08)",
}


def find(relpath: str) -> Artifact | None:
    """The catalog entry a run-folder path (relative, ``/``-separated) belongs to: the most specific match."""
    matches = [a for a in CATALOG if a.pattern().match(relpath)]
    return max(matches, key=Artifact.literal_length) if matches else None


def uncatalogued(run_dir: str | Path) -> list[str]:
    """The files under ``run_dir`` that no catalog entry describes."""
    root = Path(run_dir)
    return sorted(rel for rel in (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
                  if find(rel) is None)


def read_columns(path: str | Path) -> dict[str, str]:
    """``{column: dtype}`` of a Parquet or CSV artifact as pandas reads it back."""
    path = Path(path)
    frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def catalog_table() -> pd.DataFrame:
    """The catalog as a table: ``path, folder, format, writer, when, meaning, columns`` (``name: dtype`` list)."""
    return pd.DataFrame([{"path": a.path, "folder": a.folder or ".", "format": a.format, "writer": a.writer,
                          "when": a.when, "meaning": a.meaning,
                          "columns": ", ".join(f"{c}: {t}" for c, t in a.columns.items()) if a.columns else a.note}
                         for a in CATALOG])
