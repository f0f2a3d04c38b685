"""Checkpoints of a streamed fit: the fingerprint of a run and the atomic ``.npz`` file.

:func:`_save` writes a :class:`_Saved` reduction state (pass, batches done,
the pass-1 :class:`~duolm.reduction.Pass1` and the pass-2
:class:`~duolm.reduction.Pass2`) to a temporary file in the same folder,
flushes it to disk and renames it over the checkpoint (``os.replace``,
atomic); :func:`_load` reads it back with ``allow_pickle=False`` and refuses a
checkpoint whose :func:`_fingerprint` (formula, file path, size and
modification time, batch size, missing policy) differs from this run's, naming
the differences. :func:`_remove` deletes it, with the temporary files of killed
writes, once the fit completes. The entries of the file are listed in the
docstring of :mod:`duolm._stream`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from duolm._checks import Missing
from duolm._files import FileLock
from duolm._stream._sources import _Source
from duolm.core import (
    ALIAS_TOL,
    ClusterMeat,
    HACMeat,
    LagProducts,
    ResidualMoments,
    ScoreMeats,
    ScoreSpec,
    SqrtStat,
    WeightSums,
)
from duolm.errors import DataError, StateFileError
from duolm.reduction import ConstantColumns, Pass1, Pass2, TestSpec, TestSums

_FORMAT = "duolm.stream.checkpoint"
_VERSION = 2  # 2: a digest of the entries
_MOMENT_FIELDS = ("n", "mean", "m2", "m3", "m4", "ss", "dw_num", "first", "last", "unit")


@dataclass(frozen=True, eq=False)
class _Saved:
    """A checkpoint's content (the file format is in the docstring of :mod:`duolm._stream`)."""

    pass_: int
    batches: int
    spec_batch: int
    fast: bool
    part: Pass1
    resid: Pass2 | None
    refused: bool = False  # the direct column path failed its check: formulaic throughout


def _fingerprint(
    source: _Source,
    formula: str,
    size: int,
    missing: Missing,
    robust: bool = True,
    weights: str | None = None,
    scores: ScoreSpec | None = None,
    tests: Mapping[str, Any] | None = None,
    alias_tol: float = ALIAS_TOL,
) -> dict[str, Any]:
    assert source.path is not None
    path = source.path.resolve()
    info = path.stat()
    return {
        "formula": formula,
        "path": str(path),
        "size": int(info.st_size),
        "mtime_ns": int(info.st_mtime_ns),
        "batch_size": int(size),
        "missing": missing,
        "robust": bool(robust),  # pass 2 accumulates the HC meats or not
        # the text's encoding decides the values read; absent for UTF-8 (older checkpoints)
        **({"encoding": source.encoding} if source.encoding is not None else {}),
        **({"weights": weights} if weights is not None else {}),  # absent when unweighted
        # the HAC and cluster meats asked for (absent when none)
        **({"scores": _spec_fields(scores)} if scores is not None else {}),
        # the standard tests' request: their lags and RESET's power (absent when none)
        **({"tests": dict(tests)} if tests is not None else {}),
        # the columns pass 1 keeps, whose pass 2 the checkpoint may hold (absent: default)
        **({"alias_tol": float(alias_tol)} if alias_tol != ALIAS_TOL else {}),
    }


def _save(path: Path, fingerprint: Mapping[str, Any], saved: _Saved) -> None:
    """Write the checkpoint atomically: temporary file, fsync, ``os.replace``."""
    part = saved.part
    k = part.stat.k
    const = part.const
    arrays: dict[str, Any] = {
        "format": np.array(_FORMAT),
        "version": np.array(_VERSION),
        "fingerprint": np.array(json.dumps(dict(fingerprint), sort_keys=True)),
        "pass_": np.array(saved.pass_),
        "batches": np.array(saved.batches),
        "spec_batch": np.array(saved.spec_batch),
        "fast": np.array(saved.fast),
        "plain_refused": np.array(saved.refused),
        "rows": np.array(part.rows),
        "n_dropped": np.array(part.n_dropped),
        "R": part.stat.R,
        "nobs": np.array(part.stat.nobs),
        "y_mean": np.array(part.stat.y_mean),
        "y_m2": np.array(part.stat.y_m2),
        "const_first": np.full(k, np.nan) if const.first is None else const.first,
        "const_mask": np.zeros(k, bool) if const.mask is None else const.mask,
        "const_seen": np.array(const.first is not None),
    }
    if part.weights is not None:
        arrays["weight_sums"] = np.array(part.weights.as_tuple())
    if saved.resid is not None:
        mom = saved.resid.moments
        arrays["moments"] = np.array([float(getattr(mom, name)) for name in _MOMENT_FIELDS])
        arrays["meats"] = saved.resid.meats
        arrays["lev_one"] = np.array(saved.resid.lev_one)
        if saved.resid.scores is not None:
            arrays.update(_score_arrays(saved.resid.scores))
        if saved.resid.tests is not None:
            arrays.update(_test_arrays(saved.resid.tests))
    arrays["digest"] = np.array(_digest(arrays))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _digest(arrays: Mapping[str, Any]) -> str:
    """SHA-256 of the entries (name, type, shape, bytes) but ``digest``, in name order:
    an entry changed by hand or by a bad disk (a count, a meat, a label) is refused
    instead of resuming into numbers no run made."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        if name == "digest":
            continue
        value = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{value.dtype.str}|{value.shape}|".encode())
        h.update(value.tobytes())
    return h.hexdigest()


def _unreadable(path: Path, what: str) -> StateFileError:
    return StateFileError(
        f"checkpoint {path} is not readable: {what}; delete it, or give another "
        "checkpoint path, to start afresh"
    )


def _load(path: Path, fingerprint: Mapping[str, Any]) -> _Saved | None:
    """Read a checkpoint; None when there is none; StateFileError when it does not fit."""
    if not path.exists():
        return None
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise _unreadable(path, str(exc)) from None
    if magic != b"PK\x03\x04":  # a checkpoint is a zip of .npy entries (np.savez)
        what = (
            "it holds Python objects (pickles), which duolm never writes and never loads"
            if magic[:1] == b"\x80"  # a pickle's protocol opcode
            else "not a NumPy .npz archive (a duolm checkpoint)"
        )
        raise _unreadable(path, what)
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {name: z[name] for name in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, MemoryError) as exc:
        what = (
            "it holds Python objects (pickles), which duolm never writes and never loads"
            if "allow_pickle" in str(exc)
            else f"not a NumPy .npz archive ({type(exc).__name__}: {exc})"
        )
        raise _unreadable(path, what) from None
    try:
        if str(data["format"]) != _FORMAT or int(data["version"]) != _VERSION:
            raise StateFileError(f"{path} is not a duolm stream checkpoint of version {_VERSION}")
        if str(data["digest"]) != _digest(data):
            raise StateFileError(
                f"checkpoint {path} is corrupt: its entries do not match their digest (changed "
                "after it was written); delete it, or give another checkpoint path, to start "
                "afresh"
            )
        theirs = json.loads(str(data["fingerprint"]))
        if theirs != dict(fingerprint):
            diff = [
                f"{key}: {theirs.get(key)!r} there, {fingerprint.get(key)!r} now"
                for key in sorted(set(theirs) | set(fingerprint))
                if theirs.get(key) != fingerprint.get(key)
            ]
            raise StateFileError(
                f"checkpoint {path} belongs to another run ({'; '.join(diff)}); delete it "
                "or give another checkpoint path to start afresh"
            )
        stat = SqrtStat(data["R"], float(data["nobs"]), float(data["y_mean"]), float(data["y_m2"]))
        seen = bool(data["const_seen"])
        const = (
            ConstantColumns(np.array(data["const_first"]), np.array(data["const_mask"], dtype=bool))
            if seen
            else ConstantColumns()
        )
        sums = WeightSums.from_tuple(data["weight_sums"]) if "weight_sums" in data else None
        part = Pass1(stat, int(data["rows"]), int(data["n_dropped"]), const, sums)
        resid = None
        if "moments" in data:
            values = [float(v) for v in data["moments"]]
            moments = ResidualMoments(int(values[0]), *values[1:])
            scores = _scores_of(data) if "scores_spec" in data else None
            tests = _tests_of(data) if "tests_spec" in data else None
            meats = np.array(data["meats"])
            resid = Pass2(moments, meats, bool(data["lev_one"]), scores, tests)
        return _Saved(
            int(data["pass_"]),
            int(data["batches"]),
            int(data["spec_batch"]),
            bool(data["fast"]),
            part,
            resid,
            bool(data["plain_refused"]) if "plain_refused" in data else False,
        )
    except (KeyError, TypeError, ValueError, IndexError, AssertionError, OverflowError) as exc:
        if isinstance(exc, StateFileError):
            raise
        raise StateFileError(f"checkpoint {path} is corrupt: {exc!r}") from exc


def _spec_fields(spec: ScoreSpec) -> dict[str, Any]:
    """A :class:`~duolm.core.ScoreSpec` as JSON fields."""
    return {
        "hac": spec.hac,
        "maxlags": spec.maxlags,
        "kernel": spec.kernel,
        "maxlags_rule": spec.maxlags_rule,
        "groups": list(spec.groups),
    }


def _score_arrays(meats: ScoreMeats) -> dict[str, Any]:
    """The entries of the HAC and cluster meats of pass 2 so far (see :mod:`duolm._stream`)."""
    spec = meats.spec
    out: dict[str, Any] = {"scores_spec": np.array(json.dumps(_spec_fields(spec)))}
    if meats.hac is not None:
        out.update(
            hac_S=meats.hac.S,
            hac_head=meats.hac.head,
            hac_tail=meats.hac.tail,
            hac_nobs=np.array(meats.hac.nobs),
        )
    clusters = meats.clusters or ()
    out["clusters"] = np.array(len(clusters) if meats.clusters is not None else -1)
    for i, cluster in enumerate(clusters):
        out[f"cluster{i}_sums"] = cluster.sums
        out[f"cluster{i}_nobs"] = np.array(cluster.nobs)
        groups = cluster.groups
        levels = (
            [groups.get_level_values(j) for j in range(groups.nlevels)]
            if isinstance(groups, pd.MultiIndex)
            else [groups]
        )
        names = spec.groups if isinstance(groups, pd.MultiIndex) else (spec.groups[i],)
        out[f"cluster{i}_levels"] = np.array(len(levels))
        for j, (labels, name) in enumerate(zip(levels, names, strict=True)):
            out[f"cluster{i}_labels{j}"] = _label_array(labels, name)
    return out


def _label_array(labels: pd.Index, name: str) -> Any:
    """Cluster labels as an array NumPy stores without pickles: numbers, booleans and
    dates as they are, text as unicode; anything else is refused, naming the column."""
    values = labels.to_numpy()
    if values.dtype.kind in "biufmM":
        return values
    if all(isinstance(value, str) for value in values):
        return np.array(values.tolist(), dtype=str)
    kinds = sorted({type(value).__name__ for value in values})
    raise DataError(
        f"checkpoint= cannot store the cluster groups of column {name!r} (values of type "
        f"{', '.join(kinds)}): only numbers, booleans, dates and text can be written without "
        "pickles; cast the column, or drop checkpoint="
    )


def _scores_of(data: Mapping[str, Any]) -> ScoreMeats:
    """The HAC and cluster meats of a checkpoint's entries."""
    fields = json.loads(str(data["scores_spec"]))
    spec = ScoreSpec(
        bool(fields["hac"]),
        None if fields["maxlags"] is None else int(fields["maxlags"]),
        fields["kernel"],
        bool(fields["maxlags_rule"]),
        tuple(str(name) for name in fields["groups"]),
    )
    hac = None
    if "hac_S" in data:
        assert spec.maxlags is not None
        S, head, tail = (np.array(data[f"hac_{name}"]) for name in ("S", "head", "tail"))
        hac = HACMeat(spec.maxlags, spec.kernel, int(data["hac_nobs"]), S, head, tail)
    count = int(data["clusters"])
    clusters = None
    if count >= 0:
        parts = []
        for i in range(count):
            levels = [
                pd.Index(np.array(data[f"cluster{i}_labels{j}"]))
                for j in range(int(data[f"cluster{i}_levels"]))
            ]
            groups = pd.MultiIndex.from_arrays(levels) if len(levels) > 1 else levels[0]
            sums = np.array(data[f"cluster{i}_sums"])
            parts.append(ClusterMeat(groups, sums, int(data[f"cluster{i}_nobs"])))
        clusters = tuple(parts)
    return ScoreMeats(spec, hac, clusters)


_STAT_PARTS = ("bp", "white", "reset")


def _test_arrays(sums: TestSums) -> dict[str, Any]:
    """The entries of the standard tests' sums of pass 2 so far (see :mod:`duolm._stream`)."""
    spec = sums.spec
    out: dict[str, Any] = {
        "tests_spec": np.array([spec.maxlags, spec.power, int(spec.white), spec.unit]),
        "tests_scales": np.array(spec.scales, dtype=np.float64),
        "tests_fitted": np.array(spec.fitted),
        "tests_lags_nobs": np.array(sums.lags.nobs),
        "tests_lags_G": sums.lags.G,
        "tests_lags_sums": sums.lags.sums,
        "tests_lags_head": sums.lags.head,
        "tests_lags_tail": sums.lags.tail,
    }
    for name in _STAT_PARTS:
        stat: SqrtStat | None = getattr(sums, name)
        if stat is not None:
            out[f"tests_{name}_R"] = stat.R
            out[f"tests_{name}_moments"] = np.array([stat.nobs, stat.y_mean, stat.y_m2])
    return out


def _tests_of(data: Mapping[str, Any]) -> TestSums:
    """The standard tests' sums of a checkpoint's entries."""
    maxlags, power, white, unit = (float(v) for v in data["tests_spec"])
    scales = tuple(float(v) for v in data["tests_scales"])
    spec = TestSpec(
        int(maxlags), int(power), bool(white), unit, scales, float(data["tests_fitted"])
    )
    stats: dict[str, SqrtStat | None] = {}
    for name in _STAT_PARTS:
        if f"tests_{name}_R" not in data:
            stats[name] = None
            continue
        nobs, y_mean, y_m2 = (float(v) for v in data[f"tests_{name}_moments"])
        stats[name] = SqrtStat(np.array(data[f"tests_{name}_R"]), nobs, y_mean, y_m2)
    lags = LagProducts(
        spec.maxlags,
        int(data["tests_lags_nobs"]),
        *(np.array(data[f"tests_lags_{part}"]) for part in ("G", "sums", "head", "tail")),
    )
    bp, reset = stats["bp"], stats["reset"]
    assert bp is not None and reset is not None
    return TestSums(spec, bp, stats["white"], reset, lags)


def _remove(path: Path) -> None:
    """Delete the checkpoint of a completed fit, and the temporary files of killed writes.

    A temporary file is named after the process that wrote it; one whose process
    is still alive is another process's and is left alone.
    """
    stale = [
        tmp
        for tmp in path.parent.glob(f".{path.name}.*.tmp")
        if not _alive(tmp.name[len(path.name) + 2 : -len(".tmp")])
    ]
    for name in [path, *stale]:
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _alive(pid_text: str) -> bool:
    """Whether the process with this id runs (False for what is not a process id)."""
    if not pid_text.isdigit():
        return True  # not a name this module writes: not ours to delete
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold ``path`` as this process's checkpoint for the length of a fit
    (:class:`~duolm._files.FileLock`: a second run on it is refused)."""
    with FileLock(path):
        yield
