"""Bayesian online changepoint detection for the regression model (Adams & MacKay 2007).

The rows are cut into segments; within a segment the regression
``y = x^T beta + e``, ``e ~ N(0, sigma^2)``, holds with its own
``(beta, sigma^2)`` drawn afresh from the prior NIG. A new segment starts at
each row after the first with probability ``hazard`` (a constant hazard: the
segment lengths are geometric), independently of everything else. This is a
product partition model, and Adams & MacKay's recursion computes its
run-length posterior one row at a time:

    run length r_t: the number of rows of the segment that holds row t, up to
    and including it (r_t = 1 when a segment starts at row t; the paper's
    r_t = 0 on the row of the change is our r_t = 1);

    P(r_t = 1,     y_1..t) = H * p(y_t | prior)   * sum_r P(r_{t-1} = r, y_1..t-1)
    P(r_t = r + 1, y_1..t) = (1 - H) * p(y_t | run r) * P(r_{t-1} = r, y_1..t-1)

(Adams & MacKay, "Bayesian online changepoint detection", 2007, Algorithm 1,
steps 3-5). ``p(y_t | run r)`` is the predictive of the NIG posterior of the
run's ``r`` rows: Student t with ``2 a`` dof, location ``m^T x_t`` and
scale^2 ``(b/a)(1 + x_t^T V x_t)`` (DESIGN.md, "Bayesian results").

Each run length keeps its posterior in square-root form, the upper factor
``R`` of ``xi = xi_0 + sum z z^T`` (DESIGN.md, "One core, two readings").
Rotating the new row ``z = [x_t, y_t]`` into ``R`` by Givens rotations both
updates the run and gives its predictive without a solve: if ``c_j`` are the
diagonal entries of ``Rxx`` before and ``c'_j`` after, and ``e`` is what is
left of ``y`` once ``x`` is eliminated, then

    1 + x^T V x = prod_j (c'_j / c_j)^2,  (y - m^T x)^2 / (1 + x^T V x) = e^2,
    log p(y | run) = lgamma(a + 1/2) - lgamma(a) - log(pi)/2 - log(ryy)
                     - sum_j log(c'_j / c_j) - (a + 1/2) log(1 + e^2 / ryy^2)

with ``ryy^2 = 2 b``. All run lengths are rotated at once, vectorised with numpy.

Run lengths whose posterior probability falls below ``tol`` are dropped
(and the rest renormalised), so memory is bounded by the run lengths that
survive; ``tol=0`` keeps them all and is exact (the tests compare it with
every segmentation enumerated).

Three readings of the posterior are recorded per row:

- the MAP run length ``argmax_r P(r_t = r | y_1..t)`` (filtering);
- the probability that a segment starts at row ``t`` given the rows up to
  ``t + lag``: with ``rho_t(s) = P(change at t | y_1..s)``, the product
  partition gives, for ``s >= t``,

      rho_t(s) = P(r_s = s - t + 1 | y_1..s) + sum_{r=1}^{s-t} P(r_s = r | y_1..s) rho_t(s - r)

  (given that the current run started at ``s - r + 1``, the rows before it
  are a series of their own), computed for the last ``lag + 1`` rows;
- the MAP segmentation, the most probable cut of all the rows (Viterbi:
  ``V_s = max_r V_{s-r} + log prior(segment) + log p(segment)``, over the
  surviving run lengths).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm import core
from duolm._format import literal
from duolm.bayesian._nig import NIG
from duolm.bayesian._results import BayesResults
from duolm.core import RunLengthStream
from duolm.design import Design, DesignSpec
from duolm.errors import RankWarning
from duolm.frequentist import OLSResults

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["KEEP", "Changepoints", "Segment"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Default of ``keep``: run-length probabilities stored for the plot and
#: :meth:`Changepoints.runlength_posterior` (the image's colour scale ends there).
KEEP = 1e-4


# ------------------------------------------------------------------ results


@dataclass(frozen=True, eq=False)
class Segment:
    """One segment of the MAP segmentation, with its own fitted line.

    Attributes
    ----------
    start, stop : int
        Positions of its rows among the fitted rows: ``start <= i < stop``.
    index : pandas.Index
        Labels of its rows.
    ols : OLSResults or None
        Least squares on the segment's rows; None when the segment has no more
        rows than coefficients (no residual degree of freedom).
    bayes : BayesResults
        The posterior of the segment's rows under the detector's prior.
    """

    start: int
    stop: int
    index: pd.Index
    ols: OLSResults | None
    bayes: BayesResults

    @property
    def nobs(self) -> int:
        """Rows in the segment."""
        return self.stop - self.start


@dataclass(frozen=True, eq=False)
class Changepoints:
    """The result of :func:`changepoints`: the run-length posterior read three ways.

    Holds the fitted rows (``X``, ``y``), because each segment's fit and the
    plot need them.

    Attributes
    ----------
    spec : DesignSpec
        How the design was built (terms, response).
    prior : NIG
        The prior of each segment's regression.
    hazard : float
        Probability that a segment starts at a given row.
    tol : float
        Pruning threshold of the run-length posterior (0: exact).
    lag : int
        Rows after ``t`` that :attr:`change_prob` conditions on.
    keep : float
        Run-length probabilities at or above it are stored.
    X : ndarray of shape (n, k)
    y : ndarray of shape (n,)
    index : pandas.Index
        Labels of the fitted rows.
    map_run_length : ndarray of int, shape (n,)
        ``argmax_r P(r_t = r | y_1..t)``: rows of the current segment up to
        and including row t.
    change_prob : ndarray of shape (n,)
        ``P(a segment starts at row t | y_1..t+lag)`` (for the last ``lag``
        rows, given all the rows); 0 for the first row.
    log_evidence : float
        ``log p(y_1..n)`` under the changepoint model (exact for ``tol=0``).
    boundaries : tuple of int
        Start positions of the MAP segmentation's segments (the first is 0).
    max_run_lengths : int
        Largest number of run lengths held at once (the memory used, in factors).
    """

    spec: DesignSpec
    prior: NIG
    hazard: float
    tol: float
    lag: int
    keep: float
    X: FloatArray
    y: FloatArray
    index: pd.Index
    map_run_length: IntArray
    change_prob: FloatArray
    log_evidence: float
    boundaries: tuple[int, ...]
    max_run_lengths: int
    _post_ptr: IntArray = dataclasses.field(repr=False)
    _post_len: IntArray = dataclasses.field(repr=False)
    _post_prob: FloatArray = dataclasses.field(repr=False)

    @classmethod
    def from_design(
        cls, design: Design, prior: NIG, hazard: float, tol: float, lag: int, keep: float
    ) -> Changepoints:
        """Run the recursion (:class:`duolm.core.RunLengthStream`) over the design's rows.

        ``prior`` must be proper and of the design's size, and the other
        arguments as :func:`duolm.changepoints` checks them.
        """
        return cls.from_designs((design,), prior, hazard, tol, lag, keep)

    @classmethod
    def from_designs(
        cls,
        designs: Iterable[Design],
        prior: NIG,
        hazard: float,
        tol: float,
        lag: int,
        keep: float,
    ) -> Changepoints:
        """Run the recursion over the rows of designs that follow one another (batches).

        The recursion (:class:`duolm.core.RunLengthStream`) holds only the
        surviving run lengths between batches; the same rows in any batches
        give the same result as one design, to the last bit. The rows are kept
        (as :meth:`from_design` keeps them): the segments' fits and the plot
        need them. ``designs`` share one spec and yield at least one.
        """
        stream = RunLengthStream(np.array(prior.stat.R), prior.a, hazard, tol, lag, keep)
        Xs: list[FloatArray] = []
        ys: list[FloatArray] = []
        labels: list[pd.Index] = []
        spec: DesignSpec | None = None
        for design in designs:
            spec = design.spec if spec is None else spec
            X = np.ascontiguousarray(design.X, dtype=np.float64)
            y = np.ascontiguousarray(design.y, dtype=np.float64)
            stream.feed(np.column_stack([X, y]))
            Xs.append(X)
            ys.append(y)
            labels.append(design.index)
        if spec is None:
            raise ValueError("changepoints needs at least one batch of rows")
        run = stream.finish()
        return cls(
            spec=spec,
            prior=prior,
            hazard=hazard,
            tol=tol,
            lag=lag,
            keep=keep,
            X=Xs[0] if len(Xs) == 1 else np.concatenate(Xs),
            y=ys[0] if len(ys) == 1 else np.concatenate(ys),
            index=labels[0].append(labels[1:]) if len(labels) > 1 else labels[0],
            map_run_length=run.map_run_length,
            change_prob=run.change_prob,
            log_evidence=run.log_evidence,
            boundaries=run.boundaries,
            max_run_lengths=run.max_runs,
            _post_ptr=run.post_ptr,
            _post_len=run.post_len,
            _post_prob=run.post_prob,
        )

    @property
    def nobs(self) -> int:
        """Number of rows."""
        return len(self.y)

    @property
    def changes(self) -> tuple[int, ...]:
        """Positions where the MAP segmentation starts a new segment (the first row excluded)."""
        return self.boundaries[1:]

    @cached_property
    def table(self) -> pd.DataFrame:
        """Per row, by label: ``map_run_length``, ``change_prob``, ``segment`` (MAP)."""
        seg = np.zeros(self.nobs, dtype=np.int64)
        for start in self.changes:
            seg[start:] += 1
        return pd.DataFrame(
            {
                "map_run_length": self.map_run_length,
                "change_prob": self.change_prob,
                "segment": seg,
            },
            index=self.index,
        )

    def runlength_posterior(self) -> FloatArray:
        """``P(r_t = r | y_1..t)`` as a matrix of shape (n, max run length + 1).

        Entry ``[t, r]``; run lengths whose probability was below ``keep`` (or
        pruned below ``tol``) are 0. Column 0 is always 0 (a run holds row t).
        """
        width = int(self._post_len.max()) + 1 if len(self._post_len) else 1
        out = np.zeros((self.nobs, width))
        rows = np.repeat(np.arange(self.nobs), np.diff(self._post_ptr))
        out[rows, self._post_len] = self._post_prob
        return out

    @cached_property
    def segments(self) -> tuple[Segment, ...]:
        """The MAP segmentation's segments, each with its least-squares and Bayesian fit."""
        stops = (*self.boundaries[1:], self.nobs)
        return tuple(self._segment(a, b) for a, b in zip(self.boundaries, stops, strict=True))

    def _segment(self, start: int, stop: int) -> Segment:
        design = Design(
            matrix=self.X[start:stop],
            y=self.y[start:stop],
            spec=self.spec,
            n_dropped=0,
            index=self.index[start:stop],
        )
        post = BayesResults.from_design(design, self.prior)
        fit: OLSResults | None = None
        if stop - start > design.X.shape[1]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RankWarning)  # aliased columns: NaN, as said
                solved = core.lstsq(design.X, design.y, const_col=design.const_col)
                if stop - start > int(solved.kept.sum()):
                    fit = OLSResults.from_fit(design, solved)
        return Segment(start=start, stop=stop, index=design.index, ols=fit, bayes=post)

    def plot(self, *, fig: Figure | None = None) -> Figure:
        """The data with each segment's fitted line, and the run-length posterior below.

        As Adams & MacKay's figures: top, ``y`` against the row with each MAP
        segment's least-squares fitted values (the posterior mean where the
        segment is too short for least squares) and the changes marked;
        bottom, ``P(r_t = r | y_1..t)`` as a grey image on a log scale (down to
        ``keep``) with the MAP run length drawn over it.

        Parameters
        ----------
        fig : matplotlib Figure, optional
            An empty figure to draw on (default: a new pyplot figure).

        Returns
        -------
        matplotlib Figure
        """
        return _draw(self, fig)


def _draw(result: Changepoints, fig: Figure | None) -> Figure:
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if fig is None:
        fig = plt.figure(figsize=(9.0, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    rows = np.arange(result.nobs)
    top.plot(rows, result.y, ".", color="0.3", markersize=3, label=result.spec.response)
    for i, seg in enumerate(result.segments):
        fitted = (
            seg.ols.fittedvalues.to_numpy()
            if seg.ols is not None
            else seg.bayes.predict().loc[:, "mean"].to_numpy()
        )
        label = "segments" if i == 0 else None
        top.plot(rows[seg.start : seg.stop], fitted, "-", lw=2, label=label)
    for start in result.changes:
        top.axvline(start - 0.5, color="C3", lw=1, ls="--")
    top.set_ylabel(result.spec.response)
    top.legend(loc="best")
    top.set_title(f"changepoints (hazard {result.hazard:g}): {len(result.changes)} change(s)")
    post = result.runlength_posterior()
    floor = result.keep if result.keep > 0 else max(float(post[post > 0].min()), 1e-300)
    image = np.where(post.T > 0, post.T, np.nan)
    bottom.imshow(
        image,
        origin="lower",
        aspect="auto",
        cmap="gray_r",
        norm=LogNorm(vmin=floor, vmax=1.0),
        extent=(-0.5, result.nobs - 0.5, -0.5, post.shape[1] - 0.5),
        interpolation="nearest",
    )
    bottom.plot(rows, result.map_run_length, "-", color="C3", lw=1, label="MAP run length")
    bottom.set_xlabel("row")
    bottom.set_ylabel("run length")
    bottom.legend(loc="upper left")
    literal(fig)  # a response named like $y^{$ is shown as written
    return fig
