"""Compilation with numba, cached outside the package (in the user cache directory).

numba reads ``NUMBA_CACHE_DIR`` when it is imported, so this module sets it first (unless the
user already did) and then exposes :func:`njit` and :func:`prange`.  Compilation is lazy: the
first call of a kernel compiles it (or loads it from the cache); importing handatlas does not.
"""

from __future__ import annotations

import os
import warnings

from platformdirs import user_cache_dir

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(user_cache_dir("handatlas"), "numba"))

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import numba

prange = numba.prange


def njit(func=None, *, parallel: bool = False):
    """``numba.njit`` with the project's settings: cached, no fastmath (exact IEEE results)."""

    def wrap(f):
        return numba.njit(cache=True, parallel=parallel, fastmath=False)(f)

    return wrap if func is None else wrap(func)
