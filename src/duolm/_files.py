"""The one way duolm writes and reads its own JSON files (saved fits, Online states).

- :func:`write_json_atomic`: a temporary file in the target's folder, flushed and
  synced, then ``os.replace``: a run killed at any moment leaves the old file or the
  new one, never half of one;
- :func:`read_document`: bytes -> a checked document: UTF-8, JSON nested no deeper
  than :data:`MAX_DEPTH` (measured before parsing: Python's parser recurses once per
  level), no NaN or infinities, the expected format name and a version this duolm
  reads; every failure a :class:`~duolm.errors.StateFileError` naming the file;
- :func:`canonical`: the JSON the checksums are taken of;
- :class:`FileLock`: one writer per checkpoint (streamed fits, ``Online``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from duolm.errors import StateFileError

__all__ = ["MAX_DEPTH", "FileLock", "canonical", "loads", "read_document", "write_json_atomic"]

#: Deepest nesting of arrays and objects a state or prior file may have (saved files
#: nest at most a dozen levels: formulaic's states inside tags inside the payload).
MAX_DEPTH = 64


def canonical(payload: Any) -> bytes:
    """``payload`` as canonical JSON (sorted keys, no spaces, no NaN): a checksum's input."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def loads(raw: bytes, label: str, what: str = "a duolm state file") -> Any:
    """Parse JSON bytes of a state or prior file, refusing deep nesting before parsing.

    Raises
    ------
    StateFileError
        Not UTF-8, not JSON, NaN or infinities, or nested deeper than :data:`MAX_DEPTH`.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateFileError(
            f"{label} is not {what} (not valid JSON: not UTF-8 text: {exc})"
        ) from None
    brackets = re.sub(r'"(?:[^"\\]|\\.)*"', "", text)
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                raise StateFileError(
                    f"{label} is not {what}: its JSON nests deeper than {MAX_DEPTH} levels"
                )
        elif char in "]}":
            depth -= 1
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise StateFileError(
            f"{label} is not {what} (not valid JSON; truncated or corrupt?): {exc}"
        ) from None


def read_document(
    path: str | os.PathLike[str], format_name: str, version: int, what: str
) -> dict[str, Any]:
    """The JSON object of a duolm file, its format name and version checked.

    Raises
    ------
    StateFileError
        Unreadable, not JSON (see :func:`loads`), another format, or a version
        newer than ``version``.
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise StateFileError(f"cannot read state file {os.fspath(path)!r}: {exc}") from exc
    label = repr(os.fspath(path))
    document = loads(raw, label, what)
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise StateFileError(f"{label} is not {what} (format {format_name!r})")
    found = document.get("version")
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise StateFileError(f"corrupt state file: bad version {found!r}")
    if found > version:
        raise StateFileError(
            f"{label} has format version {found}, written by a newer duolm; "
            f"this one reads up to version {version}"
        )
    return document


def write_json_atomic(document: Any, path: str | os.PathLike[str]) -> None:
    """Write ``document`` as JSON to ``path`` atomically (temporary file, fsync, replace).

    The file keeps its mode if it existed (0644 otherwise); the temporary file is
    removed on any failure.
    """
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    target = Path(path)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600; keep the usual (or the old file's) mode
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class FileLock:
    """Hold ``path`` as one writer's checkpoint until :meth:`release` (or the process ends).

    Two writers of one checkpoint would resume from each other's states, lose each
    other's rows and delete each other's files, so the second is refused: an exclusive
    ``flock`` on ``.<name>.lock`` beside the checkpoint, released by the system when a
    process dies (a killed run never leaves it locked). The lock file holds the owner's
    process id, named in the error. It is removed on release while still held; a
    writer that opened it just before then finds, once it holds it, that it is no
    longer the file at that name, and takes the new one instead (else two writers
    could each hold "the" lock, one of them on a removed file).

    Raises
    ------
    StateFileError
        Another process, or another writer of this one, holds the checkpoint.
    """

    def __init__(self, path: str | os.PathLike[str], what: str = "checkpoint") -> None:
        self.path = Path(path)
        self._lock = self.path.with_name(f".{self.path.name}.lock")
        self._fd: int | None = None
        while self._fd is None:
            fd = os.open(self._lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _take(fd)
            except OSError:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                mine = " (this one: close its other fit first)" if owner == str(os.getpid()) else ""
                raise StateFileError(
                    f"{what} {self.path} is in use by another run (process {owner}){mine}; two "
                    f"runs cannot share a {what}: give this one another {what}= path"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self._lock).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # removed by its last holder after this opened it: again
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self._fd = fd

    def release(self) -> None:
        """Let another writer take the checkpoint (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._lock)  # still held: see the class docstring
            os.close(fd)

    def __enter__(self) -> FileLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()


def _take(fd: int) -> None:
    """An exclusive lock on ``fd`` without waiting (OSError when another holds it)."""
    import sys

    if sys.platform == "win32":  # pragma: no cover - Windows' byte-range lock
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
