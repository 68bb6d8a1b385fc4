"""thread_map: the same results, in input order, whatever the number of threads."""
from __future__ import annotations

import threading

import numpy as np

from workbench.threads import available_cores, thread_map


def test_results_keep_the_input_order_and_equal_a_plain_loop():
    rng = np.random.default_rng(0)
    arrays = [rng.random((50, 300)) for _ in range(7)]
    plain = [np.argpartition(a, 290, axis=1)[:, 290:] for a in arrays]
    for threads in (1, 2, 4):
        got = thread_map(lambda a: np.argpartition(a, 290, axis=1)[:, 290:], arrays, threads=threads)
        assert len(got) == len(plain)
        for g, p in zip(got, plain):
            np.testing.assert_array_equal(g, p)


def test_work_runs_on_several_threads_when_cores_allow():
    seen = set()
    barrier = threading.Barrier(2, timeout=5)

    def work(i):
        seen.add(threading.get_ident())
        barrier.wait()  # both calls must be in flight at once, or this times out
        return i * i

    assert thread_map(work, [3, 4], threads=2) == [9, 16] and len(seen) == 2
    assert thread_map(lambda i: i + 1, [], threads=2) == [] and available_cores() >= 1
