"""The run's cache: a result computed once per run from equal inputs, read back bit for bit."""
import numpy as np
import scipy.sparse as sp

from workbench import cache
from workbench.recommend import cf


def test_without_a_cache_folder_nothing_is_cached(monkeypatch):
    monkeypatch.delenv(cache.CACHE_ENV, raising=False)
    calls = []

    def double(x):
        calls.append(x)
        return 2 * x

    assert cache.cached(double)(3) == cache.cached(double)(3) == 6 and calls == [3, 3]


def test_equal_inputs_read_the_first_result_and_other_inputs_compute(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    rng = np.random.default_rng(0)
    X = sp.csr_matrix((rng.random((40, 12)) < 0.3).astype(np.float32))
    first = cache.cached(cf.ease_weights_of)(X, 50.0)
    again = cache.cached(cf.ease_weights_of)(X.copy(), 50.0)
    np.testing.assert_array_equal(first, again)
    memo = cache.cached(cf.ease_weights_of)
    assert memo.check_call_in_cache(X, 50.0) and not memo.check_call_in_cache(X, 60.0)
    np.testing.assert_array_equal(first, cf.ease_weights_of(X, 50.0))  # what it would compute
