"""How well each selection rule recovers planted segments, on synthetic shops of chosen seeds and sizes.

This is how the default rule and features were chosen (on seeds and sizes that no check uses), and how to
check them again after the generator changes::

    from workbench.segment.planted import rule_comparison, summary
    runs = rule_comparison(seeds=[101, 102, 103], sizes=[2000, 5000])
    summary(runs)

Each shop goes through the notebook's path (generate, validate, RFM, features, one selector fit with
``random_state`` = the seed, as ``workbench run -p seed=<seed>`` does); every rule is then applied to the same
criteria table, so the rules are compared on identical fits. The ARI is :func:`clusters.truth_agreement`'s:
planted label against cluster over the customers with a purchase (the clustered ones).
"""
from __future__ import annotations

import logging

import pandas as pd
from tqdm.auto import tqdm

from workbench.data.synthetic import generate_shop
from workbench.data.validate import validate_shop
from workbench.segment import clusters, rfm
from workbench.segment.selection import RULES

log = logging.getLogger(__name__)


def rule_comparison(seeds: list[int], sizes: list[int], params: dict | None = None,
                    rules: list[str] | None = None, shop: dict | None = None) -> pd.DataFrame:
    """Return one row per (seed, customers, rule): the chosen model and k and its ARI vs the planted segments.

    ``params`` overrides the ``segmentation.clusters`` defaults; ``shop`` the generator's settings (seed and
    size aside). Rows with rule ``best_in_hindsight`` give the best candidate's ARI, the ceiling of any rule.
    """
    cfg = {**clusters.DEFAULTS, **(params or {})}
    rows = []
    for seed in seeds:
        for n in tqdm(sizes, desc=f"seed {seed}", leave=False):
            raw = generate_shop({**(shop or {}), "n_customers": int(n), "seed": int(seed), "events": False})
            valid, _ = validate_shop(raw)
            table = rfm.build_rfm(valid.transactions, valid.customers)
            X = clusters.cluster_features(table, cfg["extra_features"], valid.transactions, valid.products)
            model = clusters.make_model(cfg, int(seed)).fit(X)
            ari = clusters.candidate_agreement(model, X, raw.truth["segments"]).set_index(["model", "k"])["ari_vs_truth"]
            for rule in rules or list(RULES):
                pos, _ = model.choose(rule)
                m, k = model.criteria_.loc[pos, ["model", "k"]]
                rows.append({"seed": seed, "customers": n, "rule": rule, "model": m, "k": int(k),
                             "ari_vs_truth": float(ari[(m, k)])})
            (m, k), best = ari.idxmax(), float(ari.max())
            rows.append({"seed": seed, "customers": n, "rule": "best_in_hindsight", "model": m, "k": int(k),
                         "ari_vs_truth": best})
    return pd.DataFrame(rows)


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Return per rule: the lowest and mean ARI over the shops and the (model, k) it chose on each."""
    g = runs.assign(choice=runs["model"] + " " + runs["k"].astype("str")).groupby("rule", sort=False)
    return pd.DataFrame({"ari_min": g["ari_vs_truth"].min(), "ari_mean": g["ari_vs_truth"].mean(),
                         "choices": g["choice"].agg(lambda s: ", ".join(s))}).sort_values("ari_min", ascending=False)
