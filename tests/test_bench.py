"""The bench harness: pure helpers on hand-made runs, the peers against the package, and a 10K smoke.

No timing assertions: the smoke proves ``make bench`` runs and writes the contract's files and JSON shape.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench import bench, bench_peers
from workbench.errors import WorkbenchError

ROOT = Path(__file__).resolve().parent.parent


def _run(seconds: dict, status: dict | None = None, peak: float = 100.0) -> dict:
    status = status or {}
    stages = {}
    for name in bench.STAGE_NAMES:
        st = status.get(name, bench.OK)
        s = seconds.get(name, 1.0) if st == bench.OK else None
        stages[name] = {"status": st, "seconds": s, "cpu_s": s, "peak_rss_mb": peak if s else None,
                        "counts": {"n": 1} if s else {}, "message": "" if st == bench.OK else "not there"}
    total = sum(v["seconds"] or 0.0 for v in stages.values())
    return {"n_customers": 10, "total_s": total, "wall_s": total, "peak_rss_mb": peak, "stages": stages}


def test_spread_is_median_min_max():
    assert bench.spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert bench.spread([1.0, 4.0]) == {"median": 2.5, "min": 1.0, "max": 4.0}
    assert bench.spread([]) == {"median": None, "min": None, "max": None}


def test_aggregate_size_has_the_contract_shape():
    runs = [_run({"rfm": 2.0}, peak=100.0), _run({"rfm": 4.0}, peak=300.0), _run({"rfm": 3.0}, peak=200.0)]
    e = bench.aggregate_size(runs)
    n_stages = len(bench.STAGE_NAMES)
    assert e["total_s"] == {"median": n_stages - 1 + 3.0, "min": n_stages - 1 + 2.0, "max": n_stages - 1 + 4.0}
    assert e["peak_rss_mb"] == 300.0
    assert e["stages"]["rfm"] == {"median": 3.0, "min": 2.0, "max": 4.0}
    assert set(e["stages"]) == set(bench.STAGE_NAMES)
    assert e["repeats"] == 3


def test_failed_stage_is_reported_not_timed():
    runs = [_run({}, status={"hybrid": bench.ERROR})]
    e = bench.aggregate_size(runs)
    assert "hybrid" not in e["stages"] and e["status"]["hybrid"] == bench.ERROR
    assert e["messages"]["hybrid"] == "not there"
    md = bench.render_markdown({"sizes": {"10": e}, "ratios": {}, "machine": {}, "targets": {}})
    assert "| hybrid | error |" in md


def test_targets_need_every_stage_and_both_limits():
    ok = bench.aggregate_size([_run({}, peak=1000.0)])
    slow = bench.aggregate_size([_run({"basket": 500.0}, peak=1000.0)])
    fat = bench.aggregate_size([_run({}, peak=7000.0)])
    partial = bench.aggregate_size([_run({}, status={"cf": bench.ERROR})])
    t = bench.targets_met({"1000000": ok})
    assert t["1000000"]["met"] and t["1000000"]["max_total_s"] == 120.0
    assert not bench.targets_met({"1000000": slow})["1000000"]["met"]
    assert not bench.targets_met({"1000000": fat})["1000000"]["met"]
    assert not bench.targets_met({"1000000": partial})["1000000"]["met"]
    assert bench.targets_met({"10000": ok}) == {}  # no target at that size


def test_ratios_are_peer_over_package():
    peers = {"references": {"rfm_pandas": {"fast_s": {"median": 0.5}, "naive_s": {"median": 10.0}},
                            "basket": {"fast_s": {"median": 2.0}, "naive_s": {"median": 3.0}}}}
    assert bench.ratios(peers) == {"basket_peer_over_package": 1.5, "rfm_pandas_peer_over_package": 20.0}


def test_peak_rss_sees_a_big_allocation():
    # in a fresh interpreter: a long test session's heap may already hold freed, resident memory that a new
    # array reuses without raising the peak
    probe = (
        "import numpy as np\n"
        "from workbench import bench\n"
        "rss = bench.PeakRSS()\n"
        "rss.reset()\n"
        "before = rss.peak_mb()\n"
        "a = np.ones(40_000_000 // 8)  # 40 MB, touched\n"
        "print(rss.peak_mb() - before)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert float(out.stdout.strip()) > 30


@pytest.mark.parametrize("peer", ["pandas_rfm", "duckdb_rfm"])
def test_rfm_peers_give_the_package_table(small_shop, peer):
    from workbench.data.validate import validate_shop
    from workbench.segment.rfm import build_rfm, default_analysis_date

    shop, _ = validate_shop(small_shop)
    tx = shop.transactions
    fast = build_rfm(tx, shop.customers)
    other = getattr(bench_peers, peer)(tx, default_analysis_date(tx))
    assert bench_peers.same_rfm(fast, other)
    # a changed monetary value or segment is noticed
    broken = other.copy()
    broken.loc[broken.index[0], "monetary"] += 1.0
    assert not bench_peers.same_rfm(fast, broken)
    broken = other.copy()
    first_buyer = broken.index[broken["frequency"] > 0][0]
    broken.loc[first_buyer, "segment"] = "champions" if broken.loc[first_buyer, "segment"] != "champions" else "at_risk"
    assert not bench_peers.same_rfm(fast, broken)


def test_mlxtend_peer_gives_the_package_rules(small_shop):
    from workbench.recommend.basket import mine_rules

    tx = small_shop.transactions
    _, fast, info = mine_rules(tx, min_support=0.005, max_len=3, min_confidence=0.1, min_lift=1.0)
    peer = bench_peers.mlxtend_rules(tx, info["min_support"], 3, 0.1, 1.0)
    assert len(fast) == len(peer) > 0
    assert bench_peers.same_rules(fast, peer)
    assert not bench_peers.same_rules(fast.iloc[1:], peer)


def test_implicit_peer_lists_ten_unbought_products_per_customer(small_shop):
    from workbench.recommend.interactions import Interactions

    inter = Interactions.from_transactions(small_shop.transactions[small_shop.transactions["quantity"] > 0],
                                           weight="binary")
    recs = bench_peers.implicit_als(inter, k=10, factors=8, iterations=3)
    assert recs.groupby("customer_id").size().eq(10).all() and len(recs) == 10 * inter.shape[0]
    bought = set(zip(*[inter.to_frame()[c].astype(str) for c in ("customer_id", "product_id")]))
    assert not bought & set(zip(recs["customer_id"].astype(str), recs["product_id"].astype(str)))


def test_bad_arguments_say_what_to_do(tmp_path):
    with pytest.raises(WorkbenchError, match="repeats >= 1"):
        bench.main(sizes=[10_000], repeats=0, out=tmp_path)


def test_smoke_10k_writes_bench_md_and_json(tmp_path):
    res = bench.main(sizes=[10_000], repeats=1, out=tmp_path, peer_size=1_000)
    data = json.loads((tmp_path / bench.BENCH_JSON).read_text())
    assert data == json.loads(json.dumps(res))
    assert set(data) >= {"sizes", "ratios", "machine"}
    e = data["sizes"]["10000"]
    assert set(e["total_s"]) == {"median", "min", "max"} and e["total_s"]["median"] > 0
    assert e["peak_rss_mb"] > 50
    assert bench.ERROR not in e["status"].values()
    for stage in ("generate", "validate", "rfm", "kmeans", "clv", "cf", "basket", "pricing"):
        assert e["status"][stage] == bench.OK, e["messages"].get(stage)
        assert set(e["stages"][stage]) == {"median", "min", "max"}
    assert e["counts"]["generate"]["lines"] > 50_000
    assert e["counts"]["cf"]["recs_ease"] == 10 * 10_000
    assert set(data["ratios"]) == {"rfm_pandas_peer_over_package", "rfm_duckdb_peer_over_package",
                                   "basket_peer_over_package", "cf_peer_over_package"}
    assert all(v > 0 for v in data["ratios"].values())
    for name in ("rfm_pandas", "rfm_duckdb", "basket"):
        assert data["peers"]["references"][name]["same_result"], name
    assert set(data["peers"]["references"]["cf"]["ndcg"]) == {"item_knn", "ease", "implicit_als"}
    md = (tmp_path / bench.BENCH_MD).read_text()
    for stage in bench.STAGE_NAMES:
        assert f"| {stage} |" in md
    assert "10,000 customers" in md and "peer / package" in md


def test_a_dying_worker_is_recorded_and_the_rest_still_written(tmp_path, monkeypatch):
    calls = []

    def fake(args, label):
        calls.append(args)
        if args[args.index("--size") + 1] == "20":
            raise WorkbenchError("bench worker for 20 customers failed (killed by signal 9 (out of memory?))")
        return _run({})

    monkeypatch.setattr(bench, "_subprocess_json", fake)
    with pytest.raises(WorkbenchError, match="20 customers, repetition 1"):
        bench.main(sizes=[10, 20], repeats=2, out=tmp_path, peer_size=None)
    data = json.loads((tmp_path / bench.BENCH_JSON).read_text())
    assert list(data["sizes"]) == ["10"] and data["sizes"]["10"]["repeats"] == 2
    assert "out of memory" in data["failed"]["20 customers, repetition 1"]
    assert len(calls) == 3  # the second repetition at 20 is not tried
    assert "## Failed runs" in (tmp_path / bench.BENCH_MD).read_text()
