"""The options of ``duolm fit`` for covariances of dependent errors: HAC and cluster.

``--cov-type HAC --maxlags L [--kernel bartlett|uniform] [--use-correction]``
and ``--cov-type cluster --groups COLUMN[,COLUMN2] [--no-use-correction]``
become statsmodels' ``cov_kwds`` (:func:`duolm.ols`); a streamed file's second
pass accumulates them (``duolm.reduce(..., hac=..., groups=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from duolm._checks import KERNELS

__all__ = ["CovOptions", "cov_options"]


def cov_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--maxlags``, ``--kernel``, ``--use-correction/--no-use-correction``, ``--groups``."""
    for option in reversed(
        [
            click.option(
                "--maxlags",
                type=click.IntRange(min=0),
                default=None,
                metavar="L",
                help="--cov-type HAC: lags of the Newey-West covariance "
                "(default: floor(4 (n/100)^(2/9))).",
            ),
            click.option(
                "--kernel",
                type=click.Choice(KERNELS),
                default=None,
                help="--cov-type HAC: weights of the lags (default: bartlett).",
            ),
            click.option(
                "--use-correction/--no-use-correction",
                default=None,
                help="Small-sample correction: HAC n/(n-k) (default off), cluster "
                "G/(G-1) (n-1)/(n-k) (default on).",
            ),
            click.option(
                "--groups",
                default=None,
                metavar="COLUMN[,COLUMN2]",
                help="--cov-type cluster: the column of cluster labels, or two "
                "(comma-separated) for two-way clustering.",
            ),
        ]
    ):
        f = option(f)
    return f


class CovOptions:
    """The options given, checked against ``--cov-type``."""

    def __init__(
        self,
        cov_type: str,
        maxlags: int | None,
        kernel: str | None,
        use_correction: bool | None,
        groups: str | None,
    ) -> None:
        hac = {"--maxlags": maxlags, "--kernel": kernel}
        if cov_type != "HAC" and any(v is not None for v in hac.values()):
            given = [k for k, v in hac.items() if v is not None]
            raise click.UsageError(f"{', '.join(given)} apply to --cov-type HAC")
        if cov_type != "cluster" and groups is not None:
            raise click.UsageError("--groups applies to --cov-type cluster")
        if cov_type not in ("HAC", "cluster") and use_correction is not None:
            raise click.UsageError("--use-correction applies to --cov-type HAC or cluster")
        if cov_type == "cluster" and groups is None:
            raise click.UsageError("--cov-type cluster needs --groups COLUMN[,COLUMN2]")
        self.cov_type = cov_type
        self.names: tuple[str, ...] = ()
        if groups is not None:
            self.names = tuple(name.strip() for name in groups.split(","))
            if not 1 <= len(self.names) <= 2 or not all(self.names):
                raise click.UsageError(
                    f"--groups takes one column or two separated by a comma, got {groups!r}"
                )
        self._kwds: dict[str, Any] = {}
        if maxlags is not None:
            self._kwds["maxlags"] = maxlags
        if kernel is not None:
            self._kwds["kernel"] = kernel
        if use_correction is not None:
            self._kwds["use_correction"] = use_correction

    @property
    def hac(self) -> dict[str, Any] | None:
        """``reduce``'s ``hac`` (what a streamed second pass accumulates), or None."""
        if self.cov_type != "HAC":
            return None
        return {k: v for k, v in self._kwds.items() if k != "use_correction"}

    @property
    def groups(self) -> list[str] | None:
        """``reduce``'s ``groups``, or None."""
        return list(self.names) if self.names else None

    def cov_kwds(self, data: object) -> dict[str, Any] | None:
        """``cov_kwds`` for ``reduction.ols``: the groups' columns of ``data`` in memory
        (a DataFrame, aligned on the fitted rows by its index), their names streamed."""
        if self.cov_type not in ("HAC", "cluster"):
            return None
        kwds = dict(self._kwds)
        if self.names:
            kwds["groups"] = self._columns(data) if data is not None else self.groups
        return kwds

    def _columns(self, data: Any) -> Any:
        missing = [name for name in self.names if name not in data.columns]
        if missing:
            raise click.UsageError(f"--groups: column {missing[0]!r} is not in the data")
        return data[list(self.names)]
