"""The fit of a stream that never ends: :class:`Online`.

Rows arrive in batches (a frame, a mapping of columns, or one row as a
mapping of values); each batch is rotated into the square-root statistic of
DESIGN.md ("One core, two readings"), so that after any split of the rows
into batches the posterior is the one fit of all of them, to rounding. The
design spec (columns, categorical levels, the state of stateful transforms)
is fixed by the first batch and every later batch is built with it.

With ``forget=lam`` the past is discounted row by row, as
:meth:`NIG.forget` followed by :meth:`NIG.update` for each row
(exponential forgetting, DESIGN.md "forget"): a batch of ``m`` rows scales
the statistic (prior part included) by ``lam^m`` and enters with row ``i``
weighted by ``lam^(m - 1 - i)``, i.e. the rows scaled by
``lam^((m - 1 - i) / 2)`` before the QR. ``nu`` and the counts are scaled
likewise, so the state does not depend on how the rows were batched.

State files are versioned JSON (never pickle), written atomically (a
temporary file in the same folder, flushed and synced, then ``os.replace``),
so a process killed at any moment leaves the last complete checkpoint::

    {
      "format": "duolm-online",
      "version": 1,
      "payload": {
        "formula", "forget", "missing",
        "prior": NIG or null, "posterior": NIG or null, "design": spec or null,
        "rows", "rows_seen", "batches", "dropped",
        "const_value": [...] or null, "const_same": [...] or null
      },
      "sha256": "<hex SHA-256 of the payload as canonical JSON>"
    }

The NIG entries are those of :mod:`duolm.state` (:mod:`duolm.bayesian._serial`),
the design's those of :mod:`duolm.design._serial`; floats are written by
``repr``, so a loaded state resumes bit for bit.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._checks import check_forget
from duolm._files import FileLock, canonical, read_document, write_json_atomic
from duolm.bayesian._fit import checked_prior
from duolm.bayesian._nig import NIG
from duolm.bayesian._results import BayesResults
from duolm.bayesian._serial import nig_from, nig_payload
from duolm.core import ALIAS_TOL, SqrtStat
from duolm.design import from_formula
from duolm.design._serial import spec_from, spec_payload
from duolm.errors import DataError, StateFileError
from duolm.frequentist import OLSResults

__all__ = ["FORMAT", "VERSION", "Online"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FORMAT = "duolm-online"
VERSION = 1


@dataclass(frozen=True, eq=False)
class OnlineState:
    """One snapshot of an :class:`Online` fit (replaced, never changed, by each update).

    Attributes
    ----------
    spec : DesignSpec or None
        The design, fixed by the first batch (None before it).
    prior : NIG or None
        The prior given, or the default ``NIG.vague(k)`` once k is known.
    posterior : NIG or None
        The posterior after the rows fitted.
    rows : int
        Rows fitted.
    rows_seen : int
        Rows received (fitted and dropped for missing values).
    batches : int
        Batches with at least one row.
    dropped : int
        Rows dropped for missing values (``missing="drop"``).
    const_value : ndarray of shape (k,) or None
        The first fitted row of X.
    const_same : ndarray of bool, shape (k,) or None
        Columns of X equal to ``const_value`` in every fitted row.
    """

    spec: Any = None
    prior: NIG | None = None
    posterior: NIG | None = None
    rows: int = 0
    rows_seen: int = 0
    batches: int = 0
    dropped: int = 0
    const_value: FloatArray | None = None
    const_same: BoolArray | None = None


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | bytes) or np.ndim(value) == 0  # type: ignore[arg-type]


def _as_batch(batch: object, first_row: int) -> pd.DataFrame:
    """A batch as a pandas frame; mappings and polars frames are labelled by stream row."""
    if isinstance(batch, pd.DataFrame):
        return batch
    if type(batch).__module__.startswith("polars") and hasattr(batch, "columns"):
        table: Any = batch.collect() if hasattr(batch, "collect") else batch
        columns = {str(name): table.get_column(name).to_numpy() for name in table.columns}
    elif isinstance(batch, Mapping):
        values = dict(batch)
        if values and all(_is_scalar(v) for v in values.values()):  # one row
            columns = {str(k): [v] for k, v in values.items()}
        else:
            columns = {
                str(k): v.to_numpy() if isinstance(v, pd.Series) else v for k, v in values.items()
            }
    else:
        raise TypeError(
            "a batch is a pandas or polars DataFrame, a mapping of column name -> values, "
            f"or one row as a mapping of column name -> value; got {type(batch).__name__}"
        )
    try:
        frame = pd.DataFrame(columns)
    except ValueError as exc:
        raise DataError(f"cannot make a table of the batch's columns: {exc}") from exc
    frame.index = pd.RangeIndex(first_row, first_row + len(frame))
    return frame


def _plain_xy(spec: Any, batch: object) -> tuple[FloatArray, FloatArray] | None:
    """``(X, y)`` copied from the batch's columns when that is safe, else None.

    For a formula of plain numeric columns (:meth:`DesignSpec.plain_columns`)
    whose values in this batch are all finite numbers, the design is the
    columns themselves. Anything else (text, missing or infinite values,
    absent columns) returns None, and the full design path builds the batch
    and names what is wrong.
    """
    plain = spec.plain_columns()
    if plain is None:
        return None
    columns: list[FloatArray] = []
    for name in plain:
        if name is None:
            continue
        if isinstance(batch, pd.DataFrame):
            if name not in batch.columns or batch[name].dtype.kind not in "fiu":
                return None
            values = np.asarray(batch[name].to_numpy(), dtype=np.float64)
        elif isinstance(batch, Mapping):
            value = batch.get(name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                return None  # a mapping of columns, or not a number: the full path
            values = np.array([float(value)])
        else:
            return None
        if values.ndim != 1 or not np.all(np.isfinite(values)):
            return None
        columns.append(values)
    if len({len(c) for c in columns}) != 1:
        return None
    n = len(columns[0])
    X = np.empty((n, len(plain) - 1))
    at = 0
    for j, name in enumerate(plain[:-1]):
        if name is None:
            X[:, j] = 1.0
        else:
            X[:, j] = columns[at]
            at += 1
    return X, columns[-1].copy()


def _quick_xy(spec: Any, batch: object) -> tuple[FloatArray, FloatArray] | None:
    """``(X, y)`` of a batch without a pandas frame where that is safe, else None.

    Plain numeric columns are copied (:func:`_plain_xy`); one row given as a
    mapping of scalars is built by the design's verified recipes
    (:meth:`duolm.design.DesignSpec.row_xy`). None sends the batch down the
    full path, which builds it or names what is wrong with it.
    """
    fast = _plain_xy(spec, batch)
    one_row = isinstance(batch, Mapping) and batch and all(map(_is_scalar, batch.values()))
    return spec.row_xy(batch) if fast is None and one_row else fast


def _weighted_block(X: FloatArray, y: FloatArray, lam: float) -> SqrtStat:
    """The statistic of rows weighted ``lam^(m - 1 - i)`` (row i of m), with weighted moments."""
    m = len(y)
    expo = np.arange(m - 1, -1, -1, dtype=np.float64)
    omega = np.exp(expo * math.log(lam))  # weights of the rows (underflow to 0: forgotten)
    root = np.sqrt(omega)
    stat = SqrtStat.from_data(X * root[:, None], y * root)
    total = float(omega.sum())
    mean = float(omega @ y) / total
    m2 = float(omega @ (y - mean) ** 2)
    return SqrtStat(stat.R, total, mean, m2)


def _forgotten(post: NIG, X: FloatArray, y: FloatArray, lam: float) -> NIG:
    """``post`` after ``m`` rows with exponential forgetting ``lam`` before each row."""
    m = len(y)
    decay = math.exp(m * math.log(lam))
    k = post.k
    if decay > 0.0:
        prior_stat, nu0 = post.prior_stat.forget(decay), post.nu0 * decay
        data = post.data_stat.forget(decay)
    else:  # the state before the batch weighs less than the smallest double
        prior_stat, nu0, data = SqrtStat.empty(k), 0.0, SqrtStat.empty(k)
    data = data.merge(_weighted_block(X, y, lam))
    return NIG.from_parts(prior_stat, nu0, data, post.label, post.terms)


class Online:
    """A linear model fitted to a stream of rows, batch by batch, in both readings.

    The one object of duolm that changes: it holds a frozen snapshot
    (:attr:`state`) that each :meth:`update` replaces as a whole, so a batch
    that fails leaves it as it was.

    Parameters
    ----------
    formula : str
        A formula such as ``"height ~ time + I(time**2)"``; the design is
        fixed by the first batch (its levels and transform states).
    prior : NIG, optional
        Default ``NIG.vague(k)``, as :func:`duolm.bayes`.
    forget : float, optional
        Exponential forgetting factor in (0, 1] applied before each row
        (None: remember everything).
    checkpoint : str or path-like, optional
        A state file written atomically after every batch; when it exists
        already, the fit resumes from it (its formula, prior and forgetting
        must be these). One fit writes it at a time: a second (in any process)
        is refused until the first is closed (:meth:`close`, the end of a
        ``with`` block, its garbage collection or its process's end).
    missing : {"raise", "drop"}
        A row with a missing value is refused (the batch with it) or dropped.

    Examples
    --------
    >>> online = Online("y ~ x")
    >>> online.update({"x": [1.0, 2.0, 3.0], "y": [1.1, 1.9, 3.2]})  # doctest: +ELLIPSIS
    <duolm... Online 'y ~ x': 3 rows in 1 batch>
    >>> _ = online.update({"x": 4.0, "y": 3.9})                       # one row
    >>> online.ols().params.round(3).tolist()
    [0.1, 0.97]
    """

    def __init__(
        self,
        formula: str,
        prior: NIG | None = None,
        forget: float | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        *,
        missing: Literal["raise", "drop"] = "raise",
    ) -> None:
        if not isinstance(formula, str):
            raise TypeError(f"formula must be a string, got {type(formula).__name__}")
        if prior is not None and not isinstance(prior, NIG):
            raise TypeError(f"prior must be an NIG, got {type(prior).__name__}")
        if missing not in ("raise", "drop"):
            raise ValueError(f"missing must be 'raise' or 'drop', got {missing!r}")
        self.formula = formula
        lam, _ = check_forget(forget)
        self.forget: float | None = None if lam == 1.0 else lam
        self.missing: Literal["raise", "drop"] = missing
        self.checkpoint = None if checkpoint is None else Path(checkpoint)
        self.state = OnlineState(prior=prior, posterior=prior)
        self._lock: FileLock | None = None
        if self.checkpoint is not None:
            self._resume(prior)  # another fit's arguments are refused before the lock
            # one writer: a second would resume from the first's state and lose its rows
            self._lock = FileLock(self.checkpoint)
            self._resume(prior)  # as it is now that no other writer can change it

    def close(self) -> None:
        """Let another fit write the checkpoint (also when this one is garbage collected
        or the process ends); updates go on, written to the checkpoint no more."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
            self.checkpoint = None

    def __enter__(self) -> Online:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _resume(self, prior: NIG | None) -> None:
        """Take the state of the checkpoint, if there is one, after checking its arguments."""
        if self.checkpoint is not None and self.checkpoint.exists():
            saved = Online.load(self.checkpoint)
            self._check_same(saved, prior)
            self.state = saved.state

    def _check_same(self, saved: Online, prior: NIG | None) -> None:
        what = []
        if saved.formula != self.formula:
            what.append(f"formula {saved.formula!r}")
        if saved.forget != self.forget:
            what.append(f"forget={saved.forget}")
        if saved.missing != self.missing:
            what.append(f"missing={saved.missing!r}")
        if prior is not None and (
            saved.state.prior is None or nig_payload(saved.state.prior) != nig_payload(prior)
        ):
            what.append("another prior")
        if what:
            raise StateFileError(
                f"checkpoint {os.fspath(self.checkpoint or '')!r} holds a fit with "
                f"{', '.join(what)}; give the same arguments or another file"
            )

    # -- reading ------------------------------------------------------------------
    @property
    def spec(self) -> Any:
        """The design spec (None before the first batch)."""
        return self.state.spec

    @property
    def nobs(self) -> int:
        """Rows fitted."""
        return self.state.rows

    @property
    def rows_seen(self) -> int:
        """Rows received, fitted or dropped: where a feeder resumes the stream."""
        return self.state.rows_seen

    @property
    def posterior(self) -> NIG:
        """The posterior after the rows seen (the prior before the first batch, if given)."""
        if self.state.posterior is None:
            raise DataError(
                "no rows yet: the first batch fixes the design, and with it the default prior"
            )
        return self.state.posterior

    def _need_spec(self, what: str) -> Any:
        if self.state.spec is None:
            raise DataError(f"{what} needs the design, which the first batch fixes: no rows yet")
        return self.state.spec

    def bayes(self) -> BayesResults:
        """The Bayesian reading of the rows seen (without the rows themselves)."""
        spec = self._need_spec("bayes()")
        post = self.posterior
        prior = self.state.prior if self.state.prior is not None else post.prior
        return BayesResults.from_posterior(spec, prior, post)

    def ols(self) -> OLSResults:
        """The least-squares reading of the rows seen, from their statistic.

        Everything a one-pass streamed fit has (estimates, standard errors,
        tests, R², the F test, information criteria, predictions); not the
        residual diagnostics, which need a second pass over the rows.

        Raises
        ------
        ValueError
            With forgetting: the rows are weighted, least squares would not be theirs.
        DataError
            No more rows than estimable coefficients.
        """
        if self.forget is not None:
            raise ValueError(
                f"ols() reads the rows seen as they are; this fit forgets (forget="
                f"{self.forget}), so its statistic weights them: read posterior or bayes()"
            )
        spec = self._need_spec("ols()")
        state = self.state
        assert state.posterior is not None
        assert state.const_value is not None and state.const_same is not None
        stat = state.posterior.data_stat
        kept = ~stat.aliased(ALIAS_TOL)
        const = state.const_same[kept] & (state.const_value[kept] != 0)
        return OLSResults.from_state(
            spec,
            stat if kept.all() else stat.select(kept),
            kept=kept,
            const_col=int(np.flatnonzero(const)[0]) if const.any() else None,
            n_dropped=state.dropped,
            moments=None,
            meats=None,
            lev_one=False,
            cov_type="nonrobust",
            label="online",
        )

    def predict(self, new: object, alpha: float = 0.05) -> pd.DataFrame:
        """Posterior predictions for new rows (as :meth:`BayesResults.predict`).

        Parameters
        ----------
        new : DataFrame, mapping of columns, or one row as a mapping
        alpha : float
            Intervals hold posterior probability ``1 - alpha``.

        Returns
        -------
        DataFrame
            ``mean, mean_se, mean_ci_lower, mean_ci_upper, obs_ci_lower, obs_ci_upper``.
        """
        frame = _as_batch(new, 0)
        return self.bayes().predict(frame, alpha=alpha)

    # -- updating -----------------------------------------------------------------
    def update(self, batch: object) -> Online:
        """Take a batch of rows; return this object (updated).

        Parameters
        ----------
        batch : DataFrame, polars DataFrame, mapping of column -> values, or one row
            One row is a mapping of column -> value. Rows of mappings and
            polars frames are labelled by their position in the stream
            (from 0), which error messages name. One row costs well under a
            millisecond: a formula of numeric columns copies them, and any
            other design builds the row by its recipes (no pandas frame) once
            a later batch has verified them against formulaic
            (:mod:`duolm.design._recipe`).

        Raises
        ------
        DataError
            A bad row (missing or infinite value, text in a numeric column, a
            level the first batch did not have), named by column and row; the
            state is left as it was.
        """
        state = self.state
        fast = None if state.spec is None else _quick_xy(state.spec, batch)
        if fast is not None:
            if len(fast[1]) == 0:
                return self
            new = self._advance(state, state.spec, *fast, rows=len(fast[1]), dropped=0)
        else:
            frame = _as_batch(batch, state.rows_seen)
            if len(frame) == 0:
                return self
            where = (
                f"batch {state.batches + 1} (stream rows {state.rows_seen}.."
                f"{state.rows_seen + len(frame) - 1})"
            )
            try:
                new = self._next(state, frame)
            except DataError as exc:
                raise DataError(f"{where}: {exc}") from exc
        if self.checkpoint is not None:
            write_json_atomic(self._document(new), self.checkpoint)
        self.state = new
        return self

    def _next(self, state: OnlineState, frame: pd.DataFrame) -> OnlineState:
        if state.spec is not None:
            X, y, dropped = state.spec.build_xy(frame)
            return self._advance(state, state.spec, X, y, rows=len(frame), dropped=dropped)
        first = from_formula(self.formula, frame, missing=self.missing)
        spec, X, y = first.spec, first.X, first.y
        k = len(spec.terms)
        prior = checked_prior(state.prior, spec)
        start = replace(
            state,
            spec=spec,
            prior=prior,
            posterior=prior.named(spec.terms),  # the posterior of this model, as bayes()'s
            const_value=X[0].copy(),
            const_same=np.ones(k, dtype=bool),
        )
        return self._advance(start, spec, X, y, rows=len(frame), dropped=first.n_dropped)

    def _advance(
        self,
        state: OnlineState,
        spec: Any,
        X: FloatArray,
        y: FloatArray,
        *,
        rows: int,
        dropped: int,
    ) -> OnlineState:
        """The state after the design rows ``X, y`` of a batch of ``rows`` rows."""
        post, const_value, const_same = state.posterior, state.const_value, state.const_same
        assert post is not None and const_value is not None and const_same is not None
        if len(y):
            post = post.update(X, y) if self.forget is None else _forgotten(post, X, y, self.forget)
            const_same = const_same & np.all(const_value == X, axis=0)
        if not (np.all(np.isfinite(post.stat.R)) and math.isfinite(post.nobs)):
            raise DataError("the statistic overflows float64 with these rows: rescale the data")
        return OnlineState(
            spec=spec,
            prior=state.prior,
            posterior=post,
            rows=state.rows + len(y),
            rows_seen=state.rows_seen + rows,
            batches=state.batches + 1,
            dropped=state.dropped + dropped,
            const_value=const_value,
            const_same=const_same,
        )

    # -- files --------------------------------------------------------------------
    def _document(self, state: OnlineState) -> dict[str, Any]:
        payload = {
            "formula": self.formula,
            "forget": self.forget,
            "missing": self.missing,
            "prior": None if state.prior is None else nig_payload(state.prior),
            "posterior": None if state.posterior is None else nig_payload(state.posterior),
            "design": None if state.spec is None else spec_payload(state.spec),
            "rows": state.rows,
            "rows_seen": state.rows_seen,
            "batches": state.batches,
            "dropped": state.dropped,
            "const_value": None if state.const_value is None else state.const_value.tolist(),
            "const_same": None if state.const_same is None else state.const_same.tolist(),
        }
        return {
            "format": FORMAT,
            "version": VERSION,
            "payload": payload,
            "sha256": hashlib.sha256(canonical(payload)).hexdigest(),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state to ``path`` atomically (versioned JSON; module docstring)."""
        write_json_atomic(self._document(self.state), Path(path))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Online:
        """The fit saved at ``path``, resumed exactly (no checkpoint attached).

        Raises
        ------
        StateFileError
            Not a duolm online state, truncated, failing its checksum, a newer
            version, or malformed.
        """
        payload = _read(Path(path))
        try:
            online = cls(
                payload["formula"],
                forget=payload["forget"],
                missing=payload["missing"],
            )
            prior = None if payload["prior"] is None else nig_from(payload["prior"])
            post = None if payload["posterior"] is None else nig_from(payload["posterior"])
            spec = None if payload["design"] is None else spec_from(payload["design"])
            counts = [payload[name] for name in ("rows", "rows_seen", "batches", "dropped")]
            if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts):
                raise StateFileError("corrupt state file: a row count is not a count")
            value = payload["const_value"]
            same = payload["const_same"]
            const_value = None if value is None else np.array(value, dtype=np.float64)
            const_same = None if same is None else np.array(same, dtype=bool)
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"corrupt state file {os.fspath(path)!r}: {exc}") from exc
        if spec is not None and (
            post is None
            or post.k != len(spec.terms)
            or const_value is None
            or const_value.shape != (post.k,)
            or const_same is None
            or const_same.shape != (post.k,)
        ):
            raise StateFileError("corrupt state file: the design and the posterior disagree on k")
        online.state = replace(
            online.state,
            spec=spec,
            prior=prior,
            posterior=post,
            rows=counts[0],
            rows_seen=counts[1],
            batches=counts[2],
            dropped=counts[3],
            const_value=const_value,
            const_same=const_same,
        )
        return online

    def __repr__(self) -> str:
        s = self.state
        plural = "" if s.batches == 1 else "es"
        forget = "" if self.forget is None else f", forget={self.forget:g}"
        return (
            f"<duolm Online {self.formula!r}: {s.rows} rows in {s.batches} batch{plural}{forget}>"
        )


def _read(path: Path) -> dict[str, Any]:
    document = read_document(path, FORMAT, VERSION, "a duolm online state")
    payload = document.get("payload")
    try:
        digest = hashlib.sha256(canonical(payload)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise StateFileError(f"corrupt state file: {exc}") from exc
    if digest != document.get("sha256") or not isinstance(payload, dict):
        raise StateFileError(f"corrupt state file {os.fspath(path)!r}: checksum mismatch")
    return payload
