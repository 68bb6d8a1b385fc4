"""Bootstrap intervals and paired tests."""
import numpy as np
import pandas as pd
import pytest

from workbench.evaluate import significance


def test_bootstrap_ci_covers_mean_and_shrinks():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, 400)
    m, lo, hi = significance.bootstrap_ci(x, n_boot=2000, seed=0)
    assert m == pytest.approx(x.mean())
    assert lo < m < hi
    se = x.std(ddof=1) / np.sqrt(len(x))
    assert hi - lo == pytest.approx(2 * 1.96 * se, rel=0.15)  # close to the normal-theory width
    assert significance.bootstrap_ci(x, seed=0) == significance.bootstrap_ci(x, seed=0)  # deterministic


def test_paired_bootstrap_detects_shift():
    rng = np.random.default_rng(1)
    a = rng.random(500)
    b = a - 0.05 + rng.normal(0, 0.01, 500)
    d, lo, hi = significance.paired_bootstrap(a, b, seed=0)
    assert d == pytest.approx(0.05, abs=0.005)
    assert lo > 0
    d0, lo0, hi0 = significance.paired_bootstrap(a, a + rng.normal(0, 0.01, 500), seed=0)
    assert lo0 < 0 < hi0
    assert significance.paired_permutation_pvalue(a, b) < 0.01
    with pytest.raises(ValueError):
        significance.paired_bootstrap(a, b[:10])


def test_metric_cis_and_ztest():
    pc = pd.DataFrame({"customer_id": list("abcd"), "precision": [0.1, 0.2, 0.3, 0.4], "recall": [1, 0, 1, 0.0],
                       "ap": [0.0] * 4, "ndcg": [0.5] * 4, "hit": [1, 0, 1, 1.0], "rr": [1, 0, 0.5, 1.0]})
    t = significance.metric_cis(pc, k=10, n_boot=200)
    assert list(t["metric"]) == ["precision@10", "recall@10", "map@10", "ndcg@10", "hit@10", "mrr@10"]
    assert t.loc[t["metric"] == "ndcg@10", ["mean", "low", "high"]].to_numpy().ravel() == pytest.approx([0.5] * 3)
    z, p = significance.two_proportion_ztest(100, 1000, 130, 1000)
    assert z > 0 and 0.01 < p < 0.05
