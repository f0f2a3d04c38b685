"""The door of every entry function: the streaming options and the checks they share."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from duolm import _stream
from duolm._checks import Missing, check_positive_int
from duolm.design import Design


@dataclass(frozen=True)
class StreamOptions:
    """How to read data that are not in memory (refused for data in memory).

    Attributes
    ----------
    batch_size : int or None
        Rows per batch (None: the streaming wing's default).
    checkpoint : path or None
        File where the reduction state is saved atomically, to resume a
        killed run with the same arguments (files only).
    checkpoint_every : int or None
        Batches between checkpoints (None: the streaming wing's default).
    progress : bool
        Show a progress bar.
    encoding : str or None
        Text encoding of a CSV file (None: UTF-8).
    """

    batch_size: int | None = None
    checkpoint: str | os.PathLike[str] | None = None
    checkpoint_every: int | None = None
    progress: bool = False
    encoding: str | None = None

    @classmethod
    def checked(
        cls,
        batch_size: object,
        checkpoint: str | os.PathLike[str] | None,
        checkpoint_every: object,
        progress: bool,
        encoding: str | None = None,
    ) -> StreamOptions:
        return cls(
            None if batch_size is None else check_positive_int(batch_size, "batch_size"),
            checkpoint,
            None
            if checkpoint_every is None
            else check_positive_int(checkpoint_every, "checkpoint_every"),
            bool(progress),
            _check_encoding(encoding),
        )

    def designs(self, formula: str, source: object, missing: Missing) -> Iterator[Design]:
        """The designs of ``source``'s batches read with these options (a later pass's)."""
        return _stream.designs(
            formula,
            source,
            missing=missing,
            batch_size=self.batch_size,
            progress=self.progress,
            encoding=self.encoding,
        )

    def refuse(self, why: str) -> None:
        """Refuse the options that were given, saying ``why`` they do not apply."""
        if self != StreamOptions():
            raise TypeError(
                f"batch_size, checkpoint, checkpoint_every, progress and encoding {why}"
            )


def _check_encoding(encoding: object) -> str | None:
    """A text encoding Python knows, or None (UTF-8)."""
    if encoding is None:
        return None
    import codecs

    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a string such as 'latin-1', got {encoding!r}")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"encoding: unknown encoding {encoding!r}") from None
    return encoding


def _streamed(formula: object, data: object) -> bool:
    return isinstance(formula, str) and data is not None and _stream.is_source(data)


def _warn_dropped(n: int) -> None:
    """Say once per fit how many rows ``missing="drop"`` left out (the summary says it too)."""
    if n:
        import warnings

        from duolm.errors import MissingValuesWarning

        warnings.warn(
            f"{n} row(s) with missing values dropped (missing='drop'); pass missing='raise' "
            "to refuse them instead",
            MissingValuesWarning,
            stacklevel=3,
        )
