"""Compiling a kernel with numba when it is there: one function for the simple kernels.

A kernel is written once, in the subset of Python numba compiles; :func:`compiled`
gives it compiled (``@njit(cache=True)``, the cache in ``__pycache__``), or None
without numba or with ``NUMBA_DISABLE_JIT=1``, and the caller takes its numpy path.
numba is imported on the first call, not with duolm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compiled"]


def compiled(source: Callable[..., Any]) -> Callable[..., Any] | None:
    """``source`` compiled by numba (cached on disk when it can be), or None."""
    try:
        import numba  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:  # pragma: no cover - numba is a dependency
        return None
    if getattr(numba.config, "DISABLE_JIT", False):
        return None
    try:
        fn: Callable[..., Any] = numba.njit(cache=True, nogil=True, error_model="numpy")(source)
    except RuntimeError:  # pragma: no cover - no writable cache folder
        fn = numba.njit(nogil=True, error_model="numpy")(source)
    return fn
