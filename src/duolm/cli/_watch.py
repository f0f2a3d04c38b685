"""Reading CSV rows as they arrive, for ``duolm watch``: standard input or a growing file.

The bytes are read as they come (``os.read`` on a file, ``read1`` on
standard input: each returns what is there, waiting only when nothing is),
cut into complete lines, and each lot of complete
lines is one batch for :meth:`duolm.Online.update`. A line still
being written (no newline yet) waits for its end. At the end of a file,
``follow`` polls for more, as ``tail -f`` does; standard input ends at EOF.

The first line is the header. Fields are split by the :mod:`csv` module
(quoted fields may hold commas, not newlines); a column whose values in a
batch all read as numbers (an empty field is missing) is numeric, any other
is text (categorical).
"""

from __future__ import annotations

import csv
import functools
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from duolm.bayesian import NIG, Online
from duolm.errors import DataError

__all__ = ["CsvStream", "columns_of", "estimate_line", "watch"]

#: Bytes read at a time.
_CHUNK = 1 << 16


def _number(text: str) -> float:
    stripped = text.strip()
    return math.nan if stripped == "" else float(stripped)


def columns_of(header: list[str], lines: list[str], first_line: int) -> dict[str, object]:
    """A batch of CSV lines as a mapping of columns (numbers where every value is one).

    Parameters
    ----------
    header : list of str
        Column names.
    lines : list of str
        Complete data lines (without their newline).
    first_line : int
        Line number of ``lines[0]`` in the source (1 = the header), for errors.
    """
    rows = list(csv.reader(lines))
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise DataError(
                f"line {first_line + i} has {len(row)} field(s), the header {len(header)} "
                f"({', '.join(header)})"
            )
    out: dict[str, object] = {}
    for j, name in enumerate(header):
        values = [row[j] for row in rows]
        try:
            out[name] = np.array([_number(v) for v in values], dtype=np.float64)
        except ValueError:
            out[name] = values
    return out


@dataclass
class CsvStream:
    """Batches of rows from a file descriptor, as they arrive.

    Attributes
    ----------
    read : callable
        ``read(n)`` returns up to ``n`` bytes that have arrived (waiting only
        while none has), ``b""`` at the end: ``os.read`` on a file's
        descriptor, ``sys.stdin.buffer.read1``.
    follow : bool
        At the end of the data, wait for more (a growing file) instead of stopping.
    poll : float
        Seconds between looks at a file that has not grown.
    skip : int
        Data rows to pass over first (those a resumed state has seen).
    stop : callable, optional
        Asked while waiting; True ends the stream.
    """

    read: Callable[[int], bytes]
    follow: bool = False
    poll: float = 0.2
    skip: int = 0
    stop: Callable[[], bool] | None = None
    header: list[str] | None = None
    _line: int = 1  # the source's line number of the next complete line

    def _read(self) -> Iterator[bytes]:
        while True:
            chunk = self.read(_CHUNK)
            if chunk:
                yield chunk
                continue
            if not self.follow or (self.stop is not None and self.stop()):
                return
            yield b""  # nothing new: the caller flushes, then we wait
            time.sleep(self.poll)

    def batches(self) -> Iterator[dict[str, object]]:
        """Mappings of columns, one per lot of complete lines that arrived together."""
        pending = b""
        for chunk in self._read():
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut < 0:
                continue
            complete, pending = pending[: cut + 1], pending[cut + 1 :]
            batch = self._take(complete.decode("utf-8").splitlines())
            if batch is not None:
                yield batch
        if pending.strip():  # a last line without its newline, at the end of the data
            batch = self._take([pending.decode("utf-8")])
            if batch is not None:
                yield batch

    def _take(self, lines: list[str]) -> dict[str, object] | None:
        first = self._line
        self._line += len(lines)
        if self.header is None:
            if not lines:
                return None
            self.header = next(csv.reader([lines[0]]))
            lines, first = lines[1:], first + 1
        lines = [line for line in lines if line.strip()]  # blank lines are not rows
        if self.skip:
            passed = min(self.skip, len(lines))
            self.skip -= passed
            lines, first = lines[passed:], first + passed
        if not lines:
            return None
        return columns_of(self.header, lines, first)


def _print_flushed(line: str) -> None:
    print(line, flush=True)


def estimate_line(online: Online) -> str:
    """One line of running estimates: rows, each coefficient's posterior mean and sd, sigma²."""
    fit = online.bayes()
    parts = [f"rows {online.nobs}"]
    for name, mean, sd in zip(fit.terms, fit.params, fit.bse, strict=True):
        parts.append(f"{name} {mean:.6g} ± {sd:.3g}")
    if fit.posterior.a > 1:
        parts.append(f"sigma² {fit.sigma2_mean:.6g}")
    return "  ".join(parts)


def watch(
    formula: str,
    source: str | None,
    *,
    state: str | None = None,
    prior: NIG | Callable[[dict[str, object]], NIG | None] | None = None,
    forget: float | None = None,
    every: int = 1,
    follow: bool = False,
    poll: float = 0.2,
    echo: Callable[[str], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Online:
    """Fit ``formula`` to CSV rows as they arrive; print the running estimates.

    Parameters
    ----------
    formula : str
    source : str or None
        A CSV file (read from its start; with ``follow``, as it grows), or
        None (or ``"-"``) for standard input.
    state : str, optional
        A checkpoint written after every batch; when it exists, the fit
        resumes from it, and a file's rows it has seen are passed over.
    prior : NIG or callable, optional
        As :class:`duolm.Online`; or a function of the first batch (a mapping
        of columns) that makes it, for a prior that needs the design's size.
        Not used when ``state`` exists (the saved fit has its prior).
    forget : float, optional
        As :class:`duolm.Online`.
    every : int
        Print a line each time this many more rows have been fitted.
    follow : bool
        Keep reading a file as it grows (until ``stop`` says so, or Ctrl-C).
    echo : callable, optional
        Where the lines go (default: standard output, flushed line by line).

    Returns
    -------
    Online
        The fit of every row read.
    """
    echo = echo if echo is not None else _print_flushed
    resumed = state is not None and os.path.exists(state)
    online: Online | None = None
    if resumed or not callable(prior):
        fixed = None if resumed or callable(prior) else prior
        online = Online(formula, prior=fixed, forget=forget, checkpoint=state)
    from_stdin = source is None or source == "-"
    skip = 0 if from_stdin or online is None else online.rows_seen
    fd = -1 if from_stdin else os.open(str(source), os.O_RDONLY)
    stdin: Any = sys.stdin.buffer  # a BufferedReader: read1 returns what has arrived
    read = stdin.read1 if from_stdin else functools.partial(os.read, fd)
    printed = 0 if online is None else online.nobs // every
    stream = CsvStream(read, follow=follow and not from_stdin, poll=poll, skip=skip, stop=stop)
    try:
        for batch in stream.batches():
            if online is None:  # the prior is made from the first batch
                assert callable(prior)
                made = prior(batch)
                online = Online(formula, prior=made, forget=forget, checkpoint=state)
            online.update(batch)
            if online.nobs // every > printed and online.spec is not None:
                printed = online.nobs // every
                echo(estimate_line(online))
    except KeyboardInterrupt:  # Ctrl-C ends the watch; every whole batch is in
        pass
    finally:
        if not from_stdin:
            os.close(fd)
    if online is None:
        raise DataError(f"no rows in {source if not from_stdin else 'standard input'}")
    return online
