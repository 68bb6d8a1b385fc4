"""Independent numpy work on the machine's cores: numpy's partitioning, sorting and element-wise loops release
the GIL, so a few threads work on separate arrays at once.

Results come back in the order of the inputs, so they are the same whatever the number of threads.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells, else ``os.cpu_count()``)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def thread_map(fn: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """Return ``[fn(x) for x in items]``, computed on up to ``threads`` threads (default: the available cores).

    ``fn`` must not change shared state: each call works on its own item.
    """
    items = list(items)
    n = min(threads or available_cores(), len(items))
    if n <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))
