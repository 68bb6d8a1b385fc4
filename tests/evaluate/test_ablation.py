"""Leave-one-out / alone ablation with paired bootstrap."""
import numpy as np
import pandas as pd
import pytest

from workbench.evaluate import ablation as evaluate_ablation


def test_without_and_alone_weights():
    w = {"a": 0.5, "b": 0.3, "c": 0.2}
    assert evaluate_ablation.without(w, "a") == pytest.approx({"a": 0.0, "b": 0.6, "c": 0.4})
    assert evaluate_ablation.alone(w, "b") == {"a": 0.0, "b": 1.0, "c": 0.0}
    assert evaluate_ablation.without({"a": 1.0}, "a") == {"a": 0.0}
    with pytest.raises(KeyError, match="not a component"):
        evaluate_ablation.without(w, "zzz")


def _linear_metric(values: dict[str, np.ndarray]):
    """Per-customer metric of a blend = weighted mean of each component's per-customer value."""
    def fn(w):
        tot = sum(w.values())
        return sum(w[n] * values[n] for n in w) / tot
    return fn


def test_ablation_hand_computed_and_significance():
    rng = np.random.default_rng(0)
    n = 400
    good = 0.5 + rng.normal(0, 0.05, n)       # a useful component
    bad = 0.1 + rng.normal(0, 0.05, n)        # a harmful one
    idle = 0.3 + rng.normal(0, 0.05, n)       # weight 0: leaving it out changes nothing
    fn = _linear_metric({"good": good, "bad": bad, "idle": idle})
    w = {"good": 0.6, "bad": 0.4, "idle": 0.0}
    t = evaluate_ablation.ablation(fn, w, n_boot=500, seed=1)
    assert list(t.columns) == list(evaluate_ablation.ABLATION_COLUMNS)
    assert list(t["component"]) == ["good", "bad", "idle"]
    full = 0.6 * good + 0.4 * bad
    row = t.set_index("component")
    # leaving out good -> only bad remains; delta = mean(full - bad)
    assert row.loc["good", "delta"] == pytest.approx(float(np.mean(full - bad)))
    assert row.loc["good", "low"] > 0                       # earns its weight
    assert row.loc["bad", "delta"] == pytest.approx(float(np.mean(full - good)))
    assert row.loc["bad", "high"] < 0                       # costs more than it adds
    assert row.loc["idle", "delta"] == 0.0 and row.loc["idle", "p_value"] == 1.0
    assert row.loc["idle", "alone"] == pytest.approx(float(idle.mean()))
    assert row.loc["good", "alone_delta"] == pytest.approx(float(np.mean(full - good)))
    assert evaluate_ablation.earns_weight(t).to_dict() == {"good": True, "bad": False, "idle": False}
    m = evaluate_ablation.as_metrics(t)
    assert set(m) == {"good", "bad", "idle"} and set(m["good"]) == {"delta", "low", "high"}
    # deterministic with the same seed
    pd.testing.assert_frame_equal(t, evaluate_ablation.ablation(fn, w, n_boot=500, seed=1))


def test_ablation_rejects_misaligned_customers():
    def fn(w):
        return np.zeros(5 if w["a"] == 1.0 else 4)
    with pytest.raises(ValueError, match="same customers"):
        evaluate_ablation.ablation(fn, {"a": 1.0, "b": 1.0}, n_boot=50)


def test_describe_names_the_components_by_verdict():
    t = pd.DataFrame({"component": ["good", "bad", "noisy", "idle"], "weight": [0.5, 0.3, 0.2, 0.0],
                      "delta": [0.02, -0.01, 0.001, 0.0], "low": [0.01, -0.02, -0.003, 0.0],
                      "high": [0.03, -0.005, 0.004, 0.0]})
    s = evaluate_ablation.describe(t, "NDCG@10")
    assert "Earn their weight" in s and "good +0.0200" in s
    assert "Cost more than they add" in s and "bad -0.0100" in s
    assert "apart from zero" in s and "noisy" in s
    assert s.endswith("changes nothing: idle.")
