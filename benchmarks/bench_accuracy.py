"""Accuracy on the NIST StRD linear least squares datasets: duolm and the usual alternatives.

Prints, for each quantity, the number of correct significant digits (LRE,
minimum over components, capped at 15) per dataset and method, then the rank
each method found on Filip. The certified values, the designs and the LRE
come from ``tests/nist.py``, shared with ``tests/test_nist.py``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_accuracy.py

Methods:

- ``duolm``, ``duolm-f``: ``duolm.ols(X=X, y=y)`` and ``duolm.ols(formula, data)``;
- ``lstsq``: ``numpy.linalg.lstsq`` for the parameters, standard errors as a
  naive user gets them, ``sqrt(s² diag(inv(X.T @ X)))``, s² = SSE / (n - k);
- ``sm-pinv``, ``sm-qr``: ``statsmodels`` OLS, default (pinv) and ``method="qr"``;
- ``sklearn``: ``LinearRegression(fit_intercept=False)`` on the full X
  (parameters only). Its default ``tol=1e-6`` is passed to
  ``scipy.linalg.lstsq`` as ``cond``: singular values below 1e-6 of the
  largest are dropped, so it reports a low rank on the polynomial datasets.

For ``lstsq`` the rank is the one ``lstsq`` reports, while its df_resid is
n - k, the divisor the naive user takes for s².
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import duolm
from nist import NAMES, QUANTITIES, NistDataset, load, lres

LABELS = {
    "params": "parameters",
    "bse": "standard errors of the parameters",
    "resid_sd": "residual standard deviation, sqrt(scale)",
    "rsquared": "R-squared",
    "ssr": "ANOVA residual sum of squares (ssr)",
    "ess": "ANOVA regression sum of squares (ess)",
    "fvalue": "ANOVA F statistic",
}


def _anova(ds: NistDataset, params: np.ndarray, rank: int) -> dict[str, float]:
    """Residual and regression sums of squares the textbook way, from fitted params."""
    X = ds.design_matrix()
    resid = ds.y - X @ params
    ssr = float(resid @ resid)
    tss = float(np.sum((ds.y - ds.y.mean()) ** 2) if ds.has_intercept else np.sum(ds.y**2))
    df_model = rank - 1 if ds.has_intercept else rank
    df_resid = ds.nobs - ds.k  # as a naive user divides
    scale = ssr / df_resid
    ess = tss - ssr
    with np.errstate(divide="ignore", invalid="ignore"):
        fvalue = (ess / df_model) / scale
    return {
        "ssr": ssr,
        "ess": ess,
        "scale": scale,
        "rsquared": 1 - ssr / tss,
        "fvalue": fvalue,
        "df_resid": df_resid,
        "df_model": df_model,
    }


def fit_duolm(ds: NistDataset) -> Any:
    return duolm.ols(X=ds.design_matrix(), y=ds.y)


def fit_duolm_formula(ds: NistDataset) -> Any:
    return duolm.ols(ds.formula, ds.frame)


def fit_lstsq(ds: NistDataset) -> Any:
    X = ds.design_matrix()
    params, _, rank, _ = np.linalg.lstsq(X, ds.y, rcond=None)
    stats = _anova(ds, params, int(rank))
    try:
        with np.errstate(invalid="ignore"):
            bse = np.sqrt(stats["scale"] * np.diag(np.linalg.inv(X.T @ X)))
    except np.linalg.LinAlgError:
        bse = np.full(ds.k, np.nan)
    return SimpleNamespace(params=params, bse=bse, rank=int(rank), **stats)


def _statsmodels(method: str) -> Callable[[NistDataset], Any]:
    def fit(ds: NistDataset) -> Any:
        result = sm.OLS(ds.y, ds.design_matrix()).fit(method=method)
        result.rank = result.model.rank
        return result

    return fit


def fit_sklearn(ds: NistDataset) -> Any:
    model = LinearRegression(fit_intercept=False).fit(ds.design_matrix(), ds.y)
    rank = int(model.rank_)
    return SimpleNamespace(params=model.coef_, rank=rank, df_resid=ds.nobs - rank, bse=None)


METHODS: dict[str, Callable[[NistDataset], Any]] = {
    "duolm": fit_duolm,
    "duolm-f": fit_duolm_formula,
    "lstsq": fit_lstsq,
    "sm-pinv": _statsmodels("pinv"),
    "sm-qr": _statsmodels("qr"),
    "sklearn": fit_sklearn,
}


def _fit_all(datasets: dict[str, NistDataset]) -> dict[str, dict[str, Any]]:
    fits: dict[str, dict[str, Any]] = {}
    for method, fit in METHODS.items():
        fits[method] = {}
        for name, ds in datasets.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    fits[method][name] = fit(ds)
                except Exception as error:  # report and go on: this is a benchmark
                    print(f"{method} failed on {name}: {type(error).__name__}: {error}")
                    fits[method][name] = None
    return fits


def _cell(value: float) -> str:
    return f"{value:8.1f}" if not math.isnan(value) else f"{'-':>8}"


def main() -> None:
    if not hasattr(duolm, "ols"):
        print("duolm.ols is not available yet: duolm columns left out\n")
        del METHODS["duolm"], METHODS["duolm-f"]
    datasets = {name: load(name) for name in NAMES}
    fits = _fit_all(datasets)
    scores = {
        method: {
            name: lres(fit, datasets[name])
            if fit is not None
            else dict.fromkeys(QUANTITIES, float("nan"))
            for name, fit in by_name.items()
        }
        for method, by_name in fits.items()
    }

    print("Correct significant digits (LRE, min over components, 15 = all NIST certifies)")
    for quantity in QUANTITIES:
        print(f"\n{LABELS[quantity]}")
        print(f"{'dataset':<10}" + "".join(f"{m:>8}" for m in METHODS))
        for name in NAMES:
            row = "".join(_cell(scores[m][name][quantity]) for m in METHODS)
            print(f"{name:<10}{row}")

    filip = datasets["Filip"]
    print(f"\nFilip: k = {filip.k} columns, certified df_resid = {filip.anova.df_resid}")
    print(f"{'method':<10}{'rank':>6}{'df_resid':>10}{'bse finite':>12}")
    for method in METHODS:
        fit = fits[method]["Filip"]
        if fit is None:
            print(f"{method:<10}{'failed':>6}")
            continue
        df_resid = float(fit.df_resid)
        rank = getattr(fit, "rank", None)
        rank = int(rank) if rank is not None else round(filip.nobs - df_resid)
        bse = getattr(fit, "bse", None)
        finite = "-" if bse is None else str(bool(np.all(np.isfinite(np.asarray(bse)))))
        print(f"{method:<10}{rank:>6}{df_resid:>10.0f}{finite:>12}")


if __name__ == "__main__":
    main()
