"""Benchmark: milliseconds per ``recommend_for_session`` call for visitors never seen in training.

Fits the session-kNN (and the other session recommenders) on every session of a params file's clickstream (the
clickstream params by default: the default shop's 5,500 customers and 500 products, with its browsing visits),
then asks for the list of ``--calls`` visitors made from held-out sessions (their first clicks, under a new
visitor id) and prints the median, 95th percentile and maximum time per call, wall clock and the thread's CPU
time (on a shared machine the wall clock's tail is other processes' turn on the processor). Not a test: run it by hand,
e.g. ``python scripts/bench_session_recs.py --calls 2000``; ``--calls 0`` only fits (for ``farm-bench --vs``).
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from workbench.config import load_params
from workbench.data import contract
from workbench.data.load import load_shop
from workbench.evaluate import next_item
from workbench.recommend.session_knn import make_session_models


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="clickstream")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--model", default="sknn")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    shop, _ = load_shop(params)
    cfg = next_item.next_item_settings(params)
    seqs = next_item.session_sequences(shop.events, cfg.gap_minutes)
    train, test = next_item.split_sessions(seqs, cfg)
    model = make_session_models(cfg)[args.model].fit(seqs)
    rng = np.random.default_rng(0)
    groups = [g for _, g in test.groupby(contract.SESSION_ID, sort=False)]
    times, cpu = [], []
    for i in range(args.calls):
        g = groups[int(rng.integers(len(groups)))]
        visitor = g.head(int(rng.integers(1, len(g) + 1))).assign(**{contract.CUSTOMER_ID: f"new-{i}"})
        t0, c0 = time.perf_counter(), time.thread_time()
        out = model.recommend_for_session(visitor, k=cfg.k)
        times.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        assert len(out) == cfg.k
    ms, cpu_ms = np.array(times) * 1e3, np.array(cpu) * 1e3
    result = {"params": args.params, "model": args.model, "sessions": int(seqs[contract.SESSION_ID].nunique()),
              "items": len(model.items_), "calls": args.calls}
    if args.calls:
        result.update({"median_ms": float(np.median(ms)), "p95_ms": float(np.quantile(ms, 0.95)),
                       "max_ms": float(ms.max()), "cpu_median_ms": float(np.median(cpu_ms)),
                       "cpu_p95_ms": float(np.quantile(cpu_ms, 0.95)), "cpu_max_ms": float(cpu_ms.max())})
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
