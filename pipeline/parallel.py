"""Run shapely's elementwise functions on chunks of arrays in threads.

Shapely releases the GIL while GEOS works, so the chunks of one call run on separate
cores (shapely's docs: "Multithreading"). Two rules keep this safe:

- arrays are only read, never written, while the threads run;
- a prepared geometry builds its indexes lazily and is not safe to use from two
  threads at once (libgeos/geos#825), so when an argument holds prepared geometries
  the caller passes `keys` (sorted, e.g. the region index of each pair) and equal
  keys stay in one chunk.

Results are identical to the single call: chunks are joined in order.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_CHUNK = 1024  # elements; below this, threads cost more than they save


def workers() -> int:
    """Threads to use: the CPUs this process may run on, or OPJORD_THREADS when set."""
    env = os.environ.get("OPJORD_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _splits(n: int, parts: int, keys: np.ndarray | None) -> list[int]:
    """Chunk boundaries 0 = s0 < s1 < … < sk = n, moved so that no key straddles two chunks."""
    bounds = [round(n * k / parts) for k in range(parts + 1)]
    if keys is not None:
        keys = np.asarray(keys)
        # move each inner boundary forward to the first element of a new key
        bounds = [0, *(int(np.searchsorted(keys, keys[b], side="left")) if b < n else n
                       for b in bounds[1:-1]), n]
        bounds = sorted(set(bounds))
    return bounds


def elementwise(func: Callable[..., np.ndarray], *arrays: np.ndarray,
                keys: np.ndarray | None = None, **kwargs) -> np.ndarray:
    """`func(*arrays, **kwargs)` for equal-length 1-d arrays, computed in chunks in threads.

    `keys` (sorted, same length) keeps equal keys in one chunk; pass it when an argument
    holds prepared geometries that repeat (see module docstring).
    """
    n = len(arrays[0])
    parts = min(workers(), n // MIN_CHUNK)
    if parts < 2:
        return func(*arrays, **kwargs)
    bounds = _splits(n, parts, keys)
    if len(bounds) < 3:
        return func(*arrays, **kwargs)
    with ThreadPoolExecutor(max_workers=len(bounds) - 1) as pool:
        results = list(pool.map(
            lambda s: func(*(a[s[0]:s[1]] for a in arrays), **kwargs),
            zip(bounds[:-1], bounds[1:], strict=True)))
    return np.concatenate(results)
