"""Credible intervals along a trajectory: every coefficient and sigma² after each row.

The frame of :func:`duolm.trajectory` holds, after row ``t``, the posterior
mean ``m[term]`` and sd ``sd[term]`` of each coefficient and the shape and
scale ``a``, ``b`` of sigma²'s inverse gamma. The marginal of a coefficient is
Student t with ``2a`` degrees of freedom, location ``m`` and scale
``sd * sqrt((a - 1) / a)`` (the sd of a t with ``nu = 2a`` is its scale times
``sqrt(nu / (nu - 2))``); sigma² is inverse gamma ``(a, b)``. Where the
posterior is improper (``a <= 0`` or ``b <= 0``) or a moment is undefined the
interval is NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from duolm._checks import check_alpha

__all__ = ["credible_path"]


def credible_path(traj: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Equal-tailed ``1 - alpha`` credible intervals after each row of a trajectory.

    Parameters
    ----------
    traj : DataFrame
        The result of :func:`duolm.trajectory` (columns ``m[term]``, ``sd[term]``,
        ``a``, ``b``).
    alpha : float
        Significance level.

    Returns
    -------
    DataFrame
        Same index as ``traj``; columns ``lower[term]``, ``upper[term]`` for each
        coefficient, then ``lower_sigma2``, ``upper_sigma2``.

    Examples
    --------
    >>> import duolm
    >>> data = duolm.datasets.tracking()
    >>> traj = duolm.trajectory("height ~ I(time**2)", data, prior=duolm.NIG.reference(2))
    >>> last = credible_path(traj).iloc[-1]
    >>> print(f"{last['lower[Intercept]']:.4f} {last['upper[Intercept]']:.4f}")
    53.3727 80.3148
    """
    check_alpha(alpha)
    terms = [str(c)[2:-1] for c in traj.columns if str(c).startswith("m[") and str(c)[-1] == "]"]
    lacking = [c for c in ("a", "b", *(f"sd[{t}]" for t in terms)) if c not in traj.columns]
    if not terms or lacking:
        raise ValueError(
            "traj must be a frame of duolm.trajectory(); missing column(s) "
            f"{lacking or ['m[<term>]']}"
        )
    a = traj["a"].to_numpy(dtype=np.float64)
    b = traj["b"].to_numpy(dtype=np.float64)
    proper = (a > 0) & (b > 0) & np.isfinite(b)
    safe_a = np.where(proper, a, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(proper, stats.t.isf(alpha / 2.0, 2.0 * safe_a), np.nan)
        tscale = np.sqrt((a - 1.0) / a)
    out: dict[str, np.ndarray] = {}
    for term in terms:
        m = traj[f"m[{term}]"].to_numpy(dtype=np.float64)
        half = q * traj[f"sd[{term}]"].to_numpy(dtype=np.float64) * tscale
        out[f"lower[{term}]"] = m - half
        out[f"upper[{term}]"] = m + half
    lo = np.full(a.shape, np.nan)
    hi = np.full(a.shape, np.nan)
    lo[proper] = stats.invgamma.ppf(alpha / 2.0, a[proper], scale=b[proper])
    hi[proper] = stats.invgamma.isf(alpha / 2.0, a[proper], scale=b[proper])
    out["lower_sigma2"], out["upper_sigma2"] = lo, hi
    return pd.DataFrame(out, index=traj.index)
