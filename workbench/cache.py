"""The run's cache of costly results that two notebooks compute from the same inputs (joblib.Memory).

The runner gives the notebooks' kernels a cache folder inside the run being written (environment variable
``WORKBENCH_CACHE``) and removes it when the run ends, so a run folder never carries it and a run never reads
another run's results. A function wrapped with :func:`cached` is keyed by its code and the content of its
arguments (joblib hashes arrays and sparse matrices by their bytes): a second call with equal inputs reads the
first call's result, bit for bit. Without the variable (a notebook opened in JupyterLab, a test) nothing is cached.
"""
from __future__ import annotations

import os
from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

#: the environment variable naming the cache folder
CACHE_ENV = "WORKBENCH_CACHE"
#: the cache folder's name inside the run being written
CACHE_DIR = ".cache"


def cached(fn: F) -> F:
    """``fn`` memoised on disk in the run's cache folder when there is one, else ``fn`` itself."""
    location = os.environ.get(CACHE_ENV)
    if not location:
        return fn
    from joblib import Memory

    return Memory(location, verbose=0).cache(fn)
