"""Saving and loading fits and posteriors: a documented, versioned JSON format, never pickle.

The file is UTF-8 JSON::

    {
      "format": "duolm-posterior",
      "version": 1,
      "kind": "nig" | "bayes" | "ols",
      "payload": {...},
      "sha256": "<hex SHA-256 of {"kind": ..., "payload": ...} as canonical JSON>"
    }

An ``"nig"`` payload is one :class:`~duolm.NIG` in its square-root form: ``k``,
``label``, ``nu0``, ``prior_R`` (the prior's (k+1)x(k+1) upper factor, order
``[x..., y]``) and ``data`` (``R``, ``nobs``, ``y_mean``, ``y_m2`` of the data
part), ``terms`` (the coefficients' names of a fit's posterior, or null) and
``refined`` (null, or the stack's factor ``R``, ``m`` and ``V`` of a posterior
refined from its rows in memory; absent in older files). A ``"bayes"`` payload
holds the ``posterior`` and the ``prior`` of a :class:`~duolm.BayesResults` and
its ``design`` (the design spec, as :mod:`duolm.design._serial` writes it) and
``tau2`` (the empirical prior's scale, or null). An ``"ols"`` payload is a
least-squares fit (:class:`~duolm.OLSResults`) as its statistics: the
``design``, ``stat`` (the square-root statistic of the kept columns: ``R``,
``nobs``, ``y_mean``, ``y_m2``), ``kept`` (one boolean a column), ``params``
(the estimate of the kept columns, as refined from the rows), ``const_col``,
``n_dropped``, ``cov_type``, ``method``, ``scaled_condition_number``,
``moments`` (the residuals' moments, the fields of
:class:`~duolm.core.ResidualMoments` in order, or null) and ``meats`` (the HC
meats by name, or null). A weighted fit (its design names the weights) adds
``weight_sums`` to an ``"ols"`` or ``"bayes"`` payload: ``sum w``, ``sum log
w``, the weighted mean of ``y`` and ``sum w (y - mean)^2``
(:class:`~duolm.core.WeightSums`). Numbers are JSON numbers written by
``repr``, so every float comes back bit for bit.

What is not restored: the fitted rows (a loaded ``BayesResults`` has
``design=None`` and a loaded ``OLSResults`` ``rows=None``, so ``predict()``
needs data and per-row diagnostics are not available).

Loading is typed: :func:`load_posterior` gives the posterior :class:`NIG` of
an ``"nig"`` or ``"bayes"`` file, :func:`load_bayes` the
:class:`~duolm.BayesResults` of a ``"bayes"`` file, :func:`load_fit` the
:class:`~duolm.OLSResults` of an ``"ols"`` file; each refuses a file of
another kind, saying what it holds.

Writes are atomic: a temporary file in the target directory, flushed and
synced, then ``os.replace``. Loading a file that is not JSON, is truncated,
fails its checksum, has another format name, a newer version or malformed
contents raises :class:`~duolm.errors.StateFileError`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

from duolm._checks import COV_TYPES, DEPENDENT_COV_TYPES
from duolm._files import canonical, read_document, write_json_atomic
from duolm.bayesian import NIG, BayesResults
from duolm.bayesian._serial import finite_float, matrix, nig_from, nig_payload, square
from duolm.core import ResidualMoments, SqrtStat, WeightSums
from duolm.design import DesignSpec
from duolm.design._serial import spec_from, spec_payload
from duolm.errors import DataError, StateFileError
from duolm.frequentist import OLSResults

__all__ = [
    "FORMAT",
    "VERSION",
    "load_bayes",
    "load_fit",
    "load_posterior",
    "save",
    "saved_kind",
]

FloatArray = NDArray[np.float64]

FORMAT = "duolm-posterior"
VERSION = 1


# -- files -----------------------------------------------------------------------------------


def _digest(kind: Any, payload: Any) -> str:
    """SHA-256 of the kind and the payload, in canonical JSON."""
    return hashlib.sha256(canonical({"kind": kind, "payload": payload})).hexdigest()


def save(obj: NIG | BayesResults | OLSResults, path: str | os.PathLike[str]) -> None:
    """Write a posterior or a fit to ``path`` atomically (versioned JSON, never pickle).

    Parameters
    ----------
    obj : NIG, BayesResults or OLSResults
        A results object is saved with its design spec and statistics (a
        Bayesian one with its prior and posterior), not the fitted rows.
    path : str or path-like
        The file to write (replaced atomically if it exists).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> post = NIG(np.zeros(2), np.eye(2), 2.0, 1.0).update([1.0, 2.0], 3.0)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save(post, pathlib.Path(tmp) / "post.json")
    ...     back = load_posterior(pathlib.Path(tmp) / "post.json")
    >>> bool(np.array_equal(back.V, post.V)), back.b == post.b
    (True, True)
    """
    if isinstance(obj, NIG):
        kind, payload = "nig", nig_payload(obj)
    elif isinstance(obj, BayesResults):
        kind = "bayes"
        payload = {
            "posterior": nig_payload(obj.posterior),
            "prior": nig_payload(obj.prior),
            "design": spec_payload(obj.spec),
            "tau2": obj.tau2,
            **_weights_payload(obj.weight_sums),
        }
    elif isinstance(obj, OLSResults):
        kind, payload = "ols", _ols_payload(obj)
    else:
        raise TypeError(
            f"can save an NIG, a BayesResults or an OLSResults, got {type(obj).__name__}"
        )
    digest = _digest(kind, payload)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "kind": kind,
        "payload": payload,
        "sha256": digest,
    }
    write_json_atomic(document, path)


def _read(path: str | os.PathLike[str]) -> tuple[str, Any]:
    document = read_document(path, FORMAT, VERSION, "a duolm state file")
    payload, kind = document.get("payload"), document.get("kind")
    try:
        digest = _digest(kind, payload)
    except (TypeError, ValueError) as exc:
        raise StateFileError(f"corrupt state file: {exc}") from exc
    if digest != document.get("sha256"):
        raise StateFileError(f"corrupt state file {os.fspath(path)!r}: checksum mismatch")
    if kind not in _KIND_NAMES or not isinstance(payload, dict):
        raise StateFileError(f"corrupt state file: unknown kind {kind!r}")
    return kind, payload


_KIND_NAMES = {"nig": "a posterior (NIG)", "bayes": "a Bayesian fit", "ols": "a least-squares fit"}


def _read_kind(
    path: str | os.PathLike[str], wanted: tuple[str, ...], loader: str
) -> tuple[str, Any]:
    kind, payload = _read(path)
    if kind not in wanted:
        raise StateFileError(
            f"{os.fspath(path)!r} holds {_KIND_NAMES[kind]}, which {loader}() does not read; "
            + {"nig": "use load_posterior()", "bayes": "use load_bayes()", "ols": "use load_fit()"}[
                kind
            ]
        )
    return kind, payload


def _entry(payload: Any, name: str) -> Any:
    try:
        return payload[name]
    except (KeyError, TypeError) as exc:
        raise StateFileError(f"corrupt state file: missing entry {name!r}") from exc


def saved_kind(path: str | os.PathLike[str]) -> str:
    """What a state file holds: ``"nig"``, ``"bayes"`` or ``"ols"`` (the file is checked)."""
    return _read(path)[0]


@contextlib.contextmanager
def _malformed(path: str | os.PathLike[str]) -> Iterator[None]:
    """Contents that pass the checksum but are not what :func:`save` writes (a foreign or
    faulty writer: a ragged matrix, a count that is text) are a StateFileError naming the
    file, not numpy's or Python's own error from deep inside."""
    try:
        yield
    except StateFileError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise StateFileError(f"corrupt state file {os.fspath(path)!r}: {exc!r}") from exc


def load_bayes(path: str | os.PathLike[str]) -> BayesResults:
    """The Bayesian fit that :func:`save` wrote (``design=None``: no rows are kept).

    Raises
    ------
    StateFileError
        The file holds something else, is not JSON, is truncated, fails its
        checksum, is of another format or a newer version, or its contents
        are malformed.
    """
    _, payload = _read_kind(path, ("bayes",), "load_bayes")
    with _malformed(path):
        return _bayes_from(payload)


def _bayes_from(payload: Any) -> BayesResults:
    posterior = nig_from(_entry(payload, "posterior"))
    prior = nig_from(_entry(payload, "prior"))
    spec = spec_from(_entry(payload, "design"))
    if len(spec.terms) != posterior.k or prior.k != posterior.k:
        raise StateFileError("corrupt state file: the design and the posterior disagree on k")
    tau2 = payload.get("tau2")  # absent in files written before it was kept
    tau2 = None if tau2 is None else finite_float(tau2, "tau2")
    weight_sums = _weights_from(payload, spec)
    return BayesResults(
        spec=spec,
        prior=prior,
        posterior=posterior,
        design=None,
        weight_sums=weight_sums,
        tau2=tau2,
    )


def load_posterior(path: str | os.PathLike[str]) -> NIG:
    """The posterior NIG of a file that :func:`save` wrote from an NIG or a Bayesian fit."""
    kind, payload = _read_kind(path, ("nig", "bayes"), "load_posterior")
    with _malformed(path):
        return nig_from(payload) if kind == "nig" else _bayes_from(payload).posterior


def load_fit(path: str | os.PathLike[str]) -> OLSResults:
    """The least-squares fit that :func:`save` wrote (``rows=None``: no rows are kept).

    Its estimates, inference, residual diagnostics and ``predict(new_data)``
    are those of the saved fit, bit for bit.

    Raises
    ------
    StateFileError
        As :func:`load_bayes`.
    """
    _, payload = _read_kind(path, ("ols",), "load_fit")
    with _malformed(path):
        return _ols_from(payload)


# -- OLSResults <-> JSON ---------------------------------------------------------------------


def _ols_payload(fit: OLSResults) -> dict[str, Any]:
    if fit.cov_type in ("HAC", "cluster"):
        raise DataError(
            f"a fit with cov_type={fit.cov_type!r} is read from its residual rows, which a "
            "saved fit does not keep: save fit.with_cov_type('nonrobust') (or an HC type)"
        )
    stat = fit.stat
    moments = fit.moments
    return {
        "design": spec_payload(fit.spec),
        "stat": {"R": matrix(stat.R), "nobs": stat.nobs, "y_mean": stat.y_mean, "y_m2": stat.y_m2},
        "kept": [bool(x) for x in fit.kept],
        "params": [float(x) for x in fit.params_kept],
        "const_col": fit.const_col,
        "n_dropped": int(fit.n_dropped),
        "cov_type": fit.cov_type,
        "method": fit.method,
        "scaled_condition_number": _json_float(fit.scaled_condition_number),
        "moments": None
        if moments is None
        else [float(getattr(moments, f.name)) for f in dataclasses.fields(moments)],
        "meats": _saved_meats(fit),
        **_weights_payload(fit.weight_sums),
    }


def _weights_payload(sums: WeightSums | None) -> dict[str, list[float]]:
    """``weight_sums`` of a weighted fit (absent when unweighted: older files stay valid)."""
    return {} if sums is None else {"weight_sums": list(sums.as_tuple())}


def _weights_from(payload: Any, spec: DesignSpec) -> WeightSums | None:
    """The weight sums, present exactly when the design says the fit was weighted."""
    raw = payload.get("weight_sums")
    if (raw is None) != (spec.weights is None):
        raise StateFileError("corrupt state file: the design and the weight sums disagree")
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 4:
        raise StateFileError("corrupt state file: weight_sums must be 4 numbers")
    sums = WeightSums(*(finite_float(v, "weight_sums") for v in raw))
    if not sums.total > 0 or sums.y_m2 < 0:
        raise StateFileError("corrupt state file: weight_sums are not sums of positive weights")
    return sums


def _json_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(float(x))


def _saved_meats(fit: OLSResults) -> dict[str, list[list[float]]] | None:
    """The HC meats: a streamed fit's as accumulated, an in-memory fit's computed now."""
    if fit.meats is not None:
        return {kind: matrix(m) for kind, m in fit.meats.items()}
    if fit.rows is None:
        return None
    out = {}
    for kind in ("HC0", "HC2", "HC3"):
        with contextlib.suppress(DataError):  # HC2/HC3 undefined (leverage 1): not saved
            out[kind] = matrix(fit._meat(kind))
    return out


def _ols_from(payload: Any) -> OLSResults:
    spec = spec_from(_entry(payload, "design"))
    kept = _entry(payload, "kept")
    if not (isinstance(kept, list) and kept and all(isinstance(x, bool) for x in kept)):
        raise StateFileError("corrupt state file: kept is not a list of booleans")
    if len(kept) != len(spec.terms):
        raise StateFileError("corrupt state file: kept and the design disagree on k")
    rank = sum(kept)
    raw = _entry(payload, "stat")
    nobs = finite_float(_entry(raw, "nobs"), "nobs")
    if nobs < rank + 1:
        raise StateFileError("corrupt state file: nobs leaves no residual degree of freedom")
    stat = SqrtStat(
        square(_entry(raw, "R"), rank, "R"),
        nobs,
        finite_float(_entry(raw, "y_mean"), "y_mean"),
        finite_float(_entry(raw, "y_m2"), "y_m2"),
    )
    if np.any(np.diag(stat.Rxx) == 0):
        raise StateFileError("corrupt state file: the factor of the kept columns is singular")
    params = _entry(payload, "params")
    if not isinstance(params, list) or len(params) != rank:
        raise StateFileError(f"corrupt state file: params must be {rank} numbers")
    estimate = np.array([finite_float(v, "params") for v in params])
    const_col = _entry(payload, "const_col")
    if const_col is not None and (
        isinstance(const_col, bool) or not isinstance(const_col, int) or not 0 <= const_col < rank
    ):
        raise StateFileError(f"corrupt state file: const_col {const_col!r}")
    n_dropped = _entry(payload, "n_dropped")
    if isinstance(n_dropped, bool) or not isinstance(n_dropped, int) or n_dropped < 0:
        raise StateFileError(f"corrupt state file: n_dropped {n_dropped!r}")
    cov_type = _entry(payload, "cov_type")
    if cov_type not in COV_TYPES or cov_type in DEPENDENT_COV_TYPES:  # never saved
        raise StateFileError(f"corrupt state file: cov_type {cov_type!r}")
    method = _entry(payload, "method")
    if not isinstance(method, str):
        raise StateFileError("corrupt state file: method is not a string")
    cond = _entry(payload, "scaled_condition_number")
    scaled = float(cond) if cond in ("inf", "nan") else finite_float(cond, "condition number")
    return OLSResults(
        spec=spec,
        stat=stat,
        kept=np.array(kept, dtype=bool),
        params_kept=estimate,  # the refined estimate, bit for bit (not re-solved from R)
        moments=_moments_from(_entry(payload, "moments")),
        const_col=const_col,
        n_dropped=n_dropped,
        cov_type=cov_type,
        method=method,
        scaled_condition_number=scaled,
        rows=None,
        meats=_meats_from(_entry(payload, "meats"), rank),
        weight_sums=_weights_from(payload, spec),
    )


def _moments_from(value: Any) -> ResidualMoments | None:
    if value is None:
        return None
    names = [f.name for f in dataclasses.fields(ResidualMoments)]
    if not isinstance(value, list) or len(value) != len(names):
        raise StateFileError(f"corrupt state file: moments must be {len(names)} numbers")
    numbers = [finite_float(v, f"moments.{name}") for v, name in zip(value, names, strict=True)]
    if numbers[0] != int(numbers[0]) or numbers[0] < 0:
        raise StateFileError("corrupt state file: moments.n is not a count")
    return ResidualMoments(int(numbers[0]), *numbers[1:])


def _meats_from(value: Any, rank: int) -> dict[str, FloatArray] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not set(value) <= {"HC0", "HC2", "HC3"}:
        raise StateFileError("corrupt state file: meats must map HC0/HC2/HC3 to matrices")
    out = {}
    for kind, entry in value.items():
        M = square(entry, rank - 1, f"meats.{kind}", triangular=False)
        out[kind] = M
    return out
