"""Streamed and distributed fits of files larger than they need to be, against the bare read.

Run from the repository root (a script, not a test)::

    .venv/bin/python benchmarks/bench_stream.py [--rows 10000000] [--repeat 3]

Data (seeded, generated once into a temporary folder, removed at the end
unless ``--keep DIR`` names a folder to keep and reuse them): a Parquet file of
``--rows`` rows and 6 float64 columns ``x1..x5, y`` (458 MiB raw for 10^7
rows), written in row groups of 10^6 rows, with ``y = 1 + X beta + N(0, 1)``;
the same at a quarter of the rows (for peak memory as the file grows); a CSV
file of ``--csv-rows`` (2,000,000) rows of the same columns. The formula is
``y ~ x1 + x2 + x3 + x4 + x5``.

The configurations run round-robin, ``--repeat`` rounds of each once, so the
drifts of a shared machine hit all alike; each run is a fresh Python process
that first runs the same configuration untimed on a smaller file (imports,
numba's cache, first calls; the in-memory fit on the file itself, so that the
page faults of its first gigabytes are not timed), then once timed (the file is in the page cache
after the first configuration reads it). The table gives the best and median
seconds, rows per second of the best, the ratio of the best to the floor's
best and the peak resident memory of the process (the kernel's ``VmHWM``,
imports included: about 150 MiB for duolm's; the largest of the rounds). The
Dask rows run ``--repeat`` times in one process per cluster. Rows:

- ``floor``: a bare pyarrow scan decoding every column,
  ``ParquetFile(pre_buffer=False).iter_batches()``, nothing computed (the
  floor the issue defines); the same with reads buffered by 256 KiB
  (``buffer_size=``: about a fifth faster, the column ``x buffered``
  divides by it); with pyarrow's default ``pre_buffer=True``; and a whole row
  group at a time (``read_row_group(i, use_threads=True)``, buffered: pyarrow
  decodes the columns in parallel with a fifth less CPU; on an idle 2-core
  machine the fastest scan, under contention from other processes slower
  than the buffered one; as duolm reads files of row groups up to 64 MiB;
  memory: one row group); the column ``x fastest`` divides by the fastest
  of these scans;
- ``bare two passes``: the floor of a complete fit that reads the file twice:
  the whole-row-group scan twice, one group ahead in a thread as duolm reads,
  each batch of 131,072 rows reduced by duolm's compiled kernels and nothing
  else (the Gram sweep, then the residual-moments sweep; no checks, no merges,
  no summary): what duolm's complete fit would take without its own overhead;
- ``in memory``: ``pandas.read_parquet`` of the whole file, then
  ``duolm.ols(formula, frame)`` with the whole summary printed;
- ``stream 1-pass``: ``duolm.ols(..., diagnostics=False)``, coefficients
  and full (nonrobust) inference forced: params, bse, t, p, intervals, F, R²;
- ``stream complete``: ``duolm.ols(...)``, both passes, then
  ``str(fit.summary())`` (every diagnostic of the summary; a nonrobust fit
  skips the leverages and HC meats);
- ``stream complete, HC3``: the same with ``cov_type="HC3"`` (the second pass
  also takes every leverage and the HC0, HC2 and HC3 meats);
- ``stream bayes``: ``duolm.bayes(...)`` and its summary (one pass);
- the two stream rows again on the quarter-size file (peak memory flat);
- CSV: bare chunked ``pandas.read_csv`` and pyarrow's streaming reader
  (``pyarrow.csv.open_csv``), then ``duolm.ols`` on the CSV (both passes);
- Dask: ``duolm.ols`` on ``dask.dataframe.read_parquet(split_row_groups=True)``
  on a ``LocalCluster`` of 1 and 2 worker processes (one thread each), one pass
  and complete, and Dask's own floor: every partition read on the workers and
  reduced to its column sums; the cluster's start is not timed, peak memory is
  the largest worker's. The partition count of a plain ``read_parquet`` is
  printed too.

``--profile`` adds a cProfile listing of one complete streamed fit.

``--dependent`` runs instead the covariances of dependent errors (issue 10) on
a Parquet file of ``--rows`` rows with two grouping columns beside the design,
``firm`` (1000 groups) and ``year`` (20), as ratios to the plain complete
streamed fit (both passes + summary), round-robin as above:
``cov_type="HAC"`` with the default lags (``floor(4 (n/100)^(2/9))``: 51 for
10^7 rows) and with 4 lags, and ``"cluster"`` one-way (firm) and two-way
(firm, year). The compiled pass-2 kernel writes each batch's score rows
(beside the leverages and HC meats); HAC filters them once (a compiled tile
kernel, running sums for Bartlett's and uniform weights), clustering sums
them by the groups' codes, read from the Arrow columns.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMULA = "y ~ x1 + x2 + x3 + x4 + x5"
BETA = (0.5, -1.0, 0.25, 2.0, 0.0)
GROUP = 1_000_000


# -- data ---------------------------------------------------------------------------------------


def make_parquet(path: Path, rows: int, seed: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(1, 6)] + ["y"]
    schema = pa.schema([(name, pa.float64()) for name in names])
    with pq.ParquetWriter(path, schema) as writer:
        for lo in range(0, rows, GROUP):
            m = min(GROUP, rows - lo)
            X = rng.standard_normal((m, 5))
            y = 1.0 + X @ np.array(BETA) + rng.standard_normal(m)
            columns = {name: X[:, i] for i, name in enumerate(names[:5])}
            writer.write_table(pa.table({**columns, "y": y}), row_group_size=GROUP)


def make_grouped(path: Path, rows: int, seed: int) -> None:
    """The Parquet file of :func:`make_parquet` with ``firm`` (1000) and ``year`` (20) labels."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = path.with_suffix(".tmp.parquet")
    make_parquet(source, rows, seed)
    rng = np.random.default_rng(seed + 1)
    with pq.ParquetWriter(path, _grouped_schema()) as writer:
        for batch in pq.ParquetFile(source).iter_batches(batch_size=GROUP):
            m = batch.num_rows
            table = batch.to_pydict() | {
                "firm": rng.integers(0, 1000, m),
                "year": rng.integers(2000, 2020, m),
            }
            writer.write_table(pa.table(table, schema=_grouped_schema()), row_group_size=GROUP)
    source.unlink()


def _grouped_schema() -> Any:
    import pyarrow as pa

    names = [f"x{i}" for i in range(1, 6)] + ["y"]
    fields = [(name, pa.float64()) for name in names]
    return pa.schema([*fields, ("firm", pa.int64()), ("year", pa.int64())])


def make_csv(path: Path, rows: int, seed: int) -> None:
    import pandas as pd

    source = path.with_suffix(".tmp.parquet")
    make_parquet(source, rows, seed)
    pd.read_parquet(source).to_csv(path, index=False)
    source.unlink()


# -- what each child process runs -----------------------------------------------------------------


def _floor(path: str, pre_buffer: bool, buffer_size: int = 0) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetFile(path, pre_buffer=pre_buffer, buffer_size=buffer_size) as pf:
        for batch in pf.iter_batches(batch_size=131_072, use_threads=True):
            rows += batch.num_rows
    return rows


def _floor_groups(path: str) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 18) as pf:
        for group in range(pf.num_row_groups):
            rows += pf.read_row_group(group, use_threads=True).num_rows
    return rows


def _floor_two_passes(path: str) -> int:
    """Two bare passes the way duolm reads (whole row groups, one ahead in a thread), each
    batch reduced by duolm's compiled kernels and nothing else: the Gram sweep on the
    first, the residual-moments sweep on the second (no checks, merges or summary)."""
    import queue
    import threading

    import numpy as np
    import pyarrow.parquet as pq

    from duolm._stream import _kernels

    names = [f"x{i}" for i in range(1, 6)] + ["y"]
    coefs = np.asarray(BETA)

    def one_pass(reduce: Callable[[list[Any]], None]) -> int:
        slots: queue.Queue[Any] = queue.Queue(maxsize=1)

        def read() -> None:
            with pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 18) as pf:
                for group in range(pf.num_row_groups):
                    slots.put(pf.read_row_group(group, columns=names, use_threads=True))
            slots.put(None)

        reader = threading.Thread(target=read)
        reader.start()
        rows = 0
        while (table := slots.get()) is not None:
            columns = [table.column(name).to_numpy() for name in names]
            for lo in range(0, table.num_rows, 131_072):
                reduce([column[lo : lo + 131_072] for column in columns])
            rows += table.num_rows
        reader.join()
        return rows

    one_pass(lambda batch: _kernels.gram(batch))
    return one_pass(lambda batch: _kernels.second_pass(batch[:-1], coefs, 1.0, batch[-1], 1.0))


def _in_memory(path: str) -> int:
    import pandas as pd

    import duolm

    fit = duolm.ols(FORMULA, pd.read_parquet(path))
    str(fit.summary())
    return fit.nobs


def _inference(fit: Any) -> None:
    forced = [fit.params, fit.bse, fit.tvalues, fit.pvalues, fit.conf_int(), fit.fvalue]
    forced += [fit.f_pvalue, fit.rsquared, fit.rsquared_adj, fit.llf, fit.aic, fit.bic]


def _stream_one(path: str) -> int:
    import duolm

    fit = duolm.ols(FORMULA, path, diagnostics=False)
    _inference(fit)
    return fit.nobs


def _stream_complete(path: str) -> int:
    import duolm

    fit = duolm.ols(FORMULA, path)
    _inference(fit)
    str(fit.summary())
    return fit.nobs


def _stream_hc3(path: str) -> int:
    import duolm

    fit = duolm.ols(FORMULA, path, cov_type="HC3")
    _inference(fit)
    str(fit.summary())
    return fit.nobs


def _stream_dependent(cov_type: str, cov_kwds: dict[str, Any]) -> Callable[[str], int]:
    def run(path: str) -> int:
        import duolm

        fit = duolm.ols(FORMULA, path, cov_type=cov_type, cov_kwds=cov_kwds)
        _inference(fit)
        str(fit.summary())
        return fit.nobs

    return run


def _stream_bayes(path: str) -> int:
    import duolm

    fit = duolm.bayes(FORMULA, path)
    str(fit.summary())
    return fit.nobs


def _csv_pandas(path: str) -> int:
    import pandas as pd

    rows = 0
    for chunk in pd.read_csv(path, chunksize=131_072):
        chunk.to_numpy()
        rows += len(chunk)
    return rows


def _csv_arrow(path: str) -> int:
    import pyarrow.csv as pc

    rows = 0
    for batch in pc.open_csv(path, read_options=pc.ReadOptions(block_size=1 << 22)):
        for column in batch.columns:
            column.to_numpy()
        rows += batch.num_rows
    return rows


CHILDREN: dict[str, Callable[[str], int]] = {
    "floor": lambda p: _floor(p, False),
    "floor_buffered": lambda p: _floor(p, False, 1 << 18),
    "floor_prebuffer": lambda p: _floor(p, True),
    "floor_groups": _floor_groups,
    "floor_two_passes": _floor_two_passes,
    "in_memory": _in_memory,
    "stream_one": _stream_one,
    "stream_complete": _stream_complete,
    "stream_hc3": _stream_hc3,
    "stream_bayes": _stream_bayes,
    "csv_pandas": _csv_pandas,
    "csv_arrow": _csv_arrow,
    "csv_stream": _stream_complete,
    "stream_hac_rule": _stream_dependent("HAC", {}),
    "stream_hac_4": _stream_dependent("HAC", {"maxlags": 4}),
    "stream_cluster": _stream_dependent("cluster", {"groups": "firm"}),
    "stream_cluster_2": _stream_dependent("cluster", {"groups": ["firm", "year"]}),
}


def _child_dask(path: str, workers: int, repeat: int, mode: str) -> dict[str, Any]:
    import dask.dataframe as dd
    from dask.distributed import Client, LocalCluster

    import duolm

    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        ddf = dd.read_parquet(path, split_row_groups=True)
        fit_rows = int(ddf.map_partitions(len).compute().sum())  # metadata: instant
        times = []
        rows = 0
        for run in range(repeat):
            start = time.perf_counter()
            if mode == "read":  # every partition read on the workers, one sum per column
                # (not len(): Dask answers that from the Parquet metadata, reading nothing;
                # + run: a result of the same key still held from the last run is reused)
                (ddf.sum() + run).compute()
                rows = fit_rows
            else:
                fit = duolm.ols(FORMULA, ddf, diagnostics=mode == "complete")
                _inference(fit)
                if mode == "complete":
                    str(fit.summary())
                rows = fit.nobs
            times.append(time.perf_counter() - start)

        peaks = client.run(_peak_kib)
        plain = dd.read_parquet(path).npartitions
    return {
        "times": times,
        "rows": rows,
        "peak_kib": max(peaks.values()),
        "note": f"{ddf.npartitions} partitions (plain read_parquet: {plain})",
    }


def _peak_kib() -> int:
    """Peak resident memory of this process in KiB: the kernel's ``VmHWM``.

    Not ``ru_maxrss``: Linux carries it over ``fork`` + ``exec``, so a child
    would report at least its parent's peak.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(name: str, path: str, repeat: int, warm: str | None) -> None:
    if name.startswith("dask"):
        _, workers, mode = name.split(":")
        out = _child_dask(path, int(workers), repeat, mode)
    else:
        run = CHILDREN[name]
        if warm:  # imports, numba's cache and first calls, on a smaller file: not timed
            run(warm)
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            rows = run(path)
            times.append(time.perf_counter() - start)
        out = {"times": times, "rows": rows, "peak_kib": _peak_kib()}
    print(json.dumps(out))


# -- the parent --------------------------------------------------------------------------------


def measure(name: str, path: Path, repeat: int, warm: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", name, "--path", str(path)]
    command += ["--repeat", str(repeat)] + (["--warm", str(warm)] if warm else [])
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def round_robin(plan: list[tuple[str, str, Path, Path]], rounds: int) -> list[tuple[str, Any]]:
    """Each configuration once per round, in a fresh process warmed up on a smaller file:
    drifts of a shared machine hit every configuration alike. Peak memory: the largest."""
    merged: dict[str, dict[str, Any]] = {}
    for _ in range(rounds):
        for label, name, path, warm in plan:
            result = measure(name, path, 1, warm)
            if label in merged:
                merged[label]["times"] += result["times"]
                merged[label]["peak_kib"] = max(merged[label]["peak_kib"], result["peak_kib"])
            else:
                merged[label] = result
    return [(label, merged[label]) for label, *_ in plan]


def report(
    rows: list[tuple[str, dict[str, Any]]],
    floor: float,
    buffered: float | None,
    fastest: float | None = None,
) -> None:
    head = f"{'configuration':44s} {'best s':>8s} {'median s':>9s} {'Mrows/s':>8s} {'x floor':>8s} "
    if buffered is not None:
        head += f"{'x buffered':>11s} "
    if fastest is not None:
        head += f"{'x fastest':>10s} "
    print(head + f"{'peak MiB':>9s}  note")
    print("-" * (len(head) + 30))
    for label, r in rows:
        best = min(r["times"])
        med = statistics.median(r["times"])
        rate = r["rows"] / best / 1e6
        line = f"{label:44s} {best:8.3f} {med:9.3f} {rate:8.2f} {best / floor:8.2f} "
        if buffered is not None:
            line += f"{best / buffered:11.2f} "
        if fastest is not None:
            line += f"{best / fastest:10.2f} "
        print(line + f"{r['peak_kib'] / 1024:9.0f}  {r.get('note', '')}")


def profile(path: Path) -> None:
    import cProfile
    import pstats

    import duolm

    profiler = cProfile.Profile()
    profiler.enable()
    duolm.ols(FORMULA, path).summary()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


def dependent(folder: Path, rows: int, seed: int, repeat: int) -> None:
    """``--dependent``: HAC and cluster streamed fits as ratios to the plain complete one."""
    big = folder / f"grouped{rows}.parquet"
    small = folder / f"grouped{rows // 10}.parquet"
    for path, n in ((big, rows), (small, rows // 10)):
        if not path.exists():
            make_grouped(path, n, seed)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, data in {folder}")
    print(f"{big.name}: {big.stat().st_size / 2**20:.0f} MiB on disk, {rows} rows x 8")
    print(f"load average before: {os.getloadavg()}")
    measure("floor", big, 1)  # warm the page cache
    plan = [
        ("stream complete (2 passes + summary)", "stream_complete", big, small),
        ("stream 1-pass (estimate + inference)", "stream_one", big, small),
        ("stream complete, HC3", "stream_hc3", big, small),
        ("stream HAC, default lags", "stream_hac_rule", big, small),
        ("stream HAC, maxlags=4", "stream_hac_4", big, small),
        ("stream cluster, firm (1000 groups)", "stream_cluster", big, small),
        ("stream cluster, firm x year (two-way)", "stream_cluster_2", big, small),
    ]
    results = round_robin(plan, repeat)
    print(f"\nParquet, {rows} rows (x floor: best / the plain complete fit's best)\n")
    report(results, min(results[0][1]["times"]), None)
    print(f"\nload average after: {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--csv-rows", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--keep", type=Path, default=None, help="folder for the data, kept")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--dependent", action="store_true", help="HAC and cluster fits against the plain one"
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--warm", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.path, args.repeat, args.warm)
        return

    folder = args.keep or Path(tempfile.mkdtemp(prefix="duolm-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if args.dependent:
            dependent(folder, args.rows, args.seed, args.repeat)
            return
        big = folder / f"rows{args.rows}.parquet"
        small = folder / f"rows{args.rows // 4}.parquet"
        csv = folder / f"rows{args.csv_rows}.csv"
        for path, make, n in (
            (big, make_parquet, args.rows),
            (small, make_parquet, args.rows // 4),
        ):
            if not path.exists():
                make(path, n, args.seed)
        if not csv.exists():
            make_csv(csv, args.csv_rows, args.seed)
        csv_warm = folder / "warm.csv"
        if not csv_warm.exists():
            with csv.open() as full, csv_warm.open("w") as head:
                head.writelines(line for _, line in zip(range(20_001), full, strict=False))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, data in {folder}")
        print(f"{big.name}: {big.stat().st_size / 2**20:.0f} MiB on disk, {args.rows} rows x 6")
        print(f"load average before: {os.getloadavg()}")
        measure("floor", big, 1)  # warm the page cache
        plan = [
            ("floor: pyarrow scan, pre_buffer=False", "floor", big, small),
            ("pyarrow scan, buffer_size=256 KiB", "floor_buffered", big, small),
            ("pyarrow scan, pre_buffer=True", "floor_prebuffer", big, small),
            ("pyarrow scan, whole row groups", "floor_groups", big, small),
            # warmed up on the file itself: the first few GB a process touches cost page faults
            # (seconds on some VMs) that a reused allocator does not pay again
            ("in memory: read_parquet + duolm.ols + summary", "in_memory", big, big),
            ("stream 1-pass (estimate + inference)", "stream_one", big, small),
            ("stream complete (2 passes + summary)", "stream_complete", big, small),
            ("bare two passes: whole row groups + kernels", "floor_two_passes", big, small),
            ("stream complete, HC3 (2 passes + summary)", "stream_hc3", big, small),
            ("stream bayes (1 pass + summary)", "stream_bayes", big, small),
            (f"stream 1-pass, {args.rows // 4} rows", "stream_one", small, small),
            (f"stream complete, {args.rows // 4} rows", "stream_complete", small, small),
        ]
        rows = round_robin(plan, args.repeat)
        floor = min(rows[0][1]["times"])
        buffered = min(rows[1][1]["times"])
        fastest = min(min(r["times"]) for _, r in rows[:4])
        print(f"\nParquet, {args.rows} rows (x floor: best / floor's best)\n")
        report(rows, floor, buffered, fastest)

        csv_plan = [
            ("csv: pandas read_csv(chunksize)", "csv_pandas", csv, csv_warm),
            ("csv: pyarrow open_csv (streaming)", "csv_arrow", csv, csv_warm),
            ("csv: stream complete (pandas reader)", "csv_stream", csv, csv_warm),
        ]
        csv_rows = round_robin(csv_plan, args.repeat)
        print(f"\nCSV, {args.csv_rows} rows (x floor: against the pandas chunked read)\n")
        report(csv_rows, min(csv_rows[0][1]["times"]), None)

        if not args.no_dask:
            dask_rows = []
            for workers in (1, 2):
                for mode in ("read", "one", "complete"):
                    what = {"read": "read only", "one": "1-pass", "complete": "complete"}[mode]
                    label = f"dask {workers} worker(s), {what}"
                    dask_rows.append((label, measure(f"dask:{workers}:{mode}", big, args.repeat)))
            print(f"\nDask LocalCluster, {args.rows} rows (x floor: against the Parquet floor)\n")
            report(dask_rows, floor, buffered)
        print(f"\nload average after: {os.getloadavg()}")
        if args.profile:
            profile(big)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
