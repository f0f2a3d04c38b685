"""The dependent-error meats one second pass accumulates together, batch by batch.

A streamed or distributed fit cannot keep its score rows ``u_t = w_t e_t``
(:mod:`._sandwich`), so its second pass feeds them, in row order, to the
mergeable accumulators asked for before it started: a :class:`HACMeat` of a
fixed ``maxlags`` and kernel, and one :class:`ClusterMeat` per grouping (for
two-way clustering a third one of the intersection groups, Cameron, Gelbach &
Miller 2011, eq. 2.11). :class:`ScoreSpec` says what to accumulate and
:class:`ScoreMeats` holds it; both are immutable, and ``merge`` joins pieces
that follow each other in row order (the HAC meat needs the order, the group
sums do not).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from duolm._checks import check_maxlags_rows
from duolm.core._sandwich import ClusterMeat, HACMeat, Kernel, _factorize, default_maxlags
from duolm.errors import DataError

__all__ = ["ScoreMeats", "ScoreSpec"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ScoreSpec:
    """What a second pass accumulates from the score rows.

    Attributes
    ----------
    hac : bool
        Accumulate the HAC (Newey-West) meat.
    maxlags : int or None
        Its lags; None until the rows are counted (Newey & West's rule,
        :func:`~duolm.core.default_maxlags`, then :meth:`counted`).
    kernel : {"bartlett", "uniform"}
        Weights of its lag products.
    maxlags_rule : bool
        ``maxlags`` came from the rule (the summary says so).
    groups : tuple of str
        Names of the zero, one or two grouping columns whose group sums are kept.
    """

    hac: bool = False
    maxlags: int | None = None
    kernel: Kernel = "bartlett"
    maxlags_rule: bool = False
    groups: tuple[str, ...] = ()

    def counted(self, nobs: int) -> ScoreSpec:
        """This spec with ``maxlags`` by the rule for ``nobs`` rows, if it was None."""
        if not self.hac:
            return self
        if self.maxlags is not None:
            check_maxlags_rows(self.maxlags, nobs)  # before the second pass, not after it
            return self
        return replace(self, maxlags=default_maxlags(nobs), maxlags_rule=True)

    def empty(self, k: int) -> ScoreMeats:
        """The meats of no rows, for score rows of ``k`` columns."""
        hac = None
        if self.hac:
            if self.maxlags is None:
                raise ValueError("the HAC meat's maxlags is not known yet: call counted(nobs)")
            hac = HACMeat.empty(k, self.maxlags, self.kernel)
        return ScoreMeats(self, hac, None)


@dataclass(frozen=True, eq=False)
class ScoreMeats:
    """The HAC meat and the group sums of the score rows seen, in row order.

    Attributes
    ----------
    spec : ScoreSpec
    hac : HACMeat or None
        None when no HAC meat was asked for.
    clusters : tuple of ClusterMeat or None
        One per grouping of ``spec.groups`` and, for two, the intersection
        last; None before any row (or when no grouping was asked for).
    """

    spec: ScoreSpec
    hac: HACMeat | None
    clusters: tuple[ClusterMeat, ...] | None

    def update(self, u: FloatArray, labels: tuple[pd.Index, ...]) -> ScoreMeats:
        """Add the next score rows ``u`` (n, k) with one label index per grouping."""
        return self.merge(self._of(u, labels))

    def _of(self, u: FloatArray, labels: tuple[pd.Index, ...]) -> ScoreMeats:
        if len(labels) != len(self.spec.groups):
            raise ValueError(f"{len(self.spec.groups)} groupings, got {len(labels)} label sets")
        hac = None
        if self.hac is not None:
            hac = HACMeat.from_scores(u, self.hac.maxlags, self.hac.kernel)
        clusters = None
        if labels and u.shape[0]:
            # each grouping factorized once; the intersection from the two codes
            factorized = [_factorize(g) for g in labels]
            for g, (codes, _) in zip(labels, factorized, strict=True):
                if len(codes) != u.shape[0]:
                    raise DataError(f"groups has {len(g)} labels for {u.shape[0]} rows")
            parts = [ClusterMeat.from_codes(u, codes, uniques) for codes, uniques in factorized]
            if len(factorized) == 2:
                parts.append(ClusterMeat.crossed(u, factorized[0], factorized[1]))
            clusters = tuple(parts)
        return ScoreMeats(self.spec, hac, clusters)

    def merge(self, later: ScoreMeats) -> ScoreMeats:
        """Join these rows with the ones that follow them."""
        if later.spec != self.spec:
            raise ValueError(f"cannot merge score meats of {self.spec} and {later.spec}")
        hac = self.hac
        if hac is not None and later.hac is not None:
            hac = hac.merge(later.hac)
        clusters = self.clusters
        if clusters is None:
            clusters = later.clusters
        elif later.clusters is not None:
            clusters = tuple(a.merge(b) for a, b in zip(clusters, later.clusters, strict=True))
        return ScoreMeats(self.spec, hac, clusters)
