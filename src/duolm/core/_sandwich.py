"""The HC sandwich's meats: one routine for in-memory fits, streamed batches and the kernel.

With ``W = X Rxx^-1`` (rows of the thin Q factor, :meth:`SqrtStat.whiten`),
leverages ``h = |w_i|^2`` and residuals ``e``, the heteroskedasticity-consistent
covariances of MacKinnon & White (1985) are ``Rxx^-1 M Rxx^-T`` with the meat
``M = W^T diag(w) W`` and the weights

    HC0: e^2,   HC2: e^2 / (1 - h),   HC3: e^2 / (1 - h)^2

(HC1 is HC0 times ``n / (n - k)``). :func:`hc_weights` is written with
arithmetic only, so the same function serves numpy arrays here and, compiled,
the scalar loop of the streamed batch kernel (:mod:`duolm._stream._kernels`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["HC_KINDS", "LEVERAGE_ONE", "hc_weights", "meat", "meats"]

FloatArray = NDArray[np.float64]

#: The meats a pass accumulates, in this order (HC1 rescales HC0's).
HC_KINDS = ("HC0", "HC2", "HC3")

#: A row whose leverage is within this of 1 is fitted exactly by construction
#: (e.g. the only row of a category): HC2/HC3 divide by 1 - h and are undefined.
#: Leverages computed from R carry errors near 1e-15.
LEVERAGE_ONE = 1e-10


def hc_weights(e: Any, h: Any) -> tuple[Any, Any, Any]:
    """The HC0, HC2 and HC3 weights of residuals ``e`` with leverages ``h``.

    Scalars or arrays alike (arithmetic only). A leverage of 1 gives inf or
    NaN for HC2 and HC3: callers test ``1 - h <= LEVERAGE_ONE`` first.
    """
    one_minus = 1.0 - h
    e2 = e * e
    return e2, e2 / one_minus, e2 / (one_minus * one_minus)


def meat(W: FloatArray, e: FloatArray, h: FloatArray, kind: str) -> FloatArray:
    """``W^T diag(w) W`` for the weights of ``kind`` ("HC0", "HC2" or "HC3")."""
    with np.errstate(divide="ignore", invalid="ignore"):
        w = hc_weights(e, h)[HC_KINDS.index(kind)]
    out: FloatArray = W.T @ (W * w[:, None])
    return out


def meats(W: FloatArray, e: FloatArray, h: FloatArray) -> tuple[FloatArray, bool]:
    """The three meats stacked (3, r, r), and whether some row has leverage 1."""
    lev_one = bool(np.any(1.0 - h <= LEVERAGE_ONE))
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = hc_weights(e, h)
    return np.stack([W.T @ (W * w[:, None]) for w in weights]), lev_one
