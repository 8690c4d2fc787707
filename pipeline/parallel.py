"""Run shapely's elementwise functions on chunks of arrays in threads.

Shapely releases the GIL while GEOS works, so the chunks of one call run on separate
cores (shapely's docs: "Multithreading"). Two rules keep this safe:

- arrays are only read, never written, while the threads run;
- no predicate gets a prepared geometry through here: a prepared geometry builds its
  indexes lazily and is not safe to use from two threads at once (libgeos/geos#825).
  Set operations such as `intersection` do not use the preparation, so prepared
  arguments are fine there.

Results are identical to the single call: chunks are joined in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_CHUNK = 1024  # elements per thread; below this, threads cost more than they save


def workers() -> int:
    """Threads to use: the CPUs this process may run on, or OPJORD_THREADS when set."""
    env = os.environ.get("OPJORD_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def elementwise(func: Callable[..., np.ndarray], *arrays: np.ndarray, **kwargs) -> np.ndarray:
    """`func(*arrays, **kwargs)` for equal-length 1-d arrays, computed in chunks in threads."""
    n = len(arrays[0])
    parts = min(workers(), n // MIN_CHUNK)
    if parts < 2:
        return func(*arrays, **kwargs)
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    with ThreadPoolExecutor(max_workers=parts) as pool:
        results = list(pool.map(lambda s: func(*(a[s[0]:s[1]] for a in arrays), **kwargs),
                                zip(bounds[:-1], bounds[1:], strict=True)))
    return np.concatenate(results)
