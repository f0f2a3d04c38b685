"""Two processes sharing a checkpoint path (issue 14, item 11).

The second writer is refused with a message naming the checkpoint and the process
that holds it, and no run deletes a temporary file of a process that still runs.
Before, the first run to finish removed every ``.<name>.*.tmp`` beside the
checkpoint, and the other run died in ``os.replace`` with FileNotFoundError.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm._stream import _checkpoint
from duolm.errors import StateFileError

SRC = str(Path(duolm.__file__).resolve().parents[1])


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=400)})
    frame["y"] = 1.0 + frame.x + rng.normal(size=400)
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture()
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another process holding ``ck.npz`` as its checkpoint, and a temporary file of its own."""
    ckpt = tmp_path / "ck.npz"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from duolm._stream._checkpoint import _locked\n"
        "import os\n"
        f"path = Path({str(ckpt)!r})\n"
        "with _locked(path):\n"
        "    path.with_name(f'.{path.name}.{os.getpid()}.tmp').write_bytes(b'half written')\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    try:
        yield proc, ckpt
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)


def test_a_second_writer_is_refused_by_name(
    data: Path, holder: tuple[subprocess.Popen[str], Path]
) -> None:
    proc, ckpt = holder
    theirs = ckpt.with_name(f".{ckpt.name}.{proc.pid}.tmp")
    for fit in (
        lambda: duolm.ols("y ~ x", data, batch_size=50, checkpoint=ckpt),
        lambda: duolm.bayes("y ~ x", data, batch_size=50, checkpoint=ckpt),
    ):
        with pytest.raises(
            StateFileError,
            match=rf"checkpoint .*ck\.npz is in use by another run \(process {proc.pid}\)",
        ):
            fit()
    assert theirs.read_bytes() == b"half written"  # nothing of theirs was touched


def test_the_checkpoint_is_free_again_after_the_holder_ends(data: Path, tmp_path: Path) -> None:
    ckpt = tmp_path / "ck.npz"
    first = duolm.ols("y ~ x", data, batch_size=50, checkpoint=ckpt, checkpoint_every=1)
    again = duolm.ols("y ~ x", data, batch_size=50, checkpoint=ckpt, checkpoint_every=1)
    np.testing.assert_array_equal(first.params, again.params)
    assert not ckpt.exists()
    assert list(tmp_path.glob(".ck.npz*")) == []  # no lock file or temporary file left


def test_a_finished_run_removes_only_temporary_files_of_dead_processes(
    data: Path, tmp_path: Path
) -> None:
    ckpt = tmp_path / "ck.npz"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        dead_pid = int(dead.stdout)
        time.sleep(0.1)
        live_tmp = ckpt.with_name(f".{ckpt.name}.{sleeper.pid}.tmp")
        dead_tmp = ckpt.with_name(f".{ckpt.name}.{dead_pid}.tmp")
        live_tmp.write_bytes(b"theirs")
        dead_tmp.write_bytes(b"stale")
        duolm.ols("y ~ x", data, batch_size=50, checkpoint=ckpt)
        assert live_tmp.read_bytes() == b"theirs"
        assert not dead_tmp.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.slow  # two interpreters importing duolm: about 10 s
def test_two_processes_racing_on_one_checkpoint_never_crash_obscurely(
    data: Path, tmp_path: Path
) -> None:
    ckpt = tmp_path / "ck.npz"
    script = (
        "import duolm, sys\n"
        "from duolm.errors import StateFileError\n"
        "try:\n"
        f"    duolm.ols('y ~ x', {str(data)!r}, batch_size=5, checkpoint={str(ckpt)!r},"
        " checkpoint_every=1)\n"
        "    print('done')\n"
        "except StateFileError as exc:\n"
        "    print('refused' if 'in use by another run' in str(exc) else f'other: {exc}')\n"
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outcomes.append(out.strip())
    assert set(outcomes) <= {"done", "refused"} and "done" in outcomes


def test_a_lock_opened_before_its_holder_removed_it_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that opened the lock file just before its holder removed it took the lock of
    the removed file, while a run started just after created and took a new one: two
    holders of "the" lock. The first now sees that it holds a removed file and takes the
    new one, which the second holds."""
    ckpt = tmp_path / "ck.npz"
    lock = tmp_path / ".ck.npz.lock"
    with _checkpoint._locked(ckpt):
        stale = os.open(lock, os.O_RDWR)  # opened, not yet locked, when the holder ends
    real_open = os.open
    opened: list[int] = []

    def opening(path: Any, flags: int, mode: int = 0o777) -> int:
        if not opened and Path(path) == lock:
            opened.append(1)
            return stale
        return real_open(path, flags, mode)

    with _checkpoint._locked(ckpt):  # the run started just after
        monkeypatch.setattr(os, "open", opening)
        with (
            pytest.raises(StateFileError, match="in use by another run"),
            _checkpoint._locked(ckpt),
        ):
            pass
    assert opened


def test_two_online_fits_cannot_share_a_checkpoint(tmp_path: Path) -> None:
    """Both were accepted, and the last to write won: 300 rows fed, 200 in the file."""
    rng = np.random.default_rng(0)

    def batch(n: int) -> pd.DataFrame:
        x = rng.normal(size=n)
        return pd.DataFrame({"x": x, "y": 1 + 2 * x + rng.normal(size=n)})

    path = tmp_path / "online.json"
    first = duolm.Online("y ~ x", checkpoint=path)
    first.update(batch(100))
    with pytest.raises(StateFileError, match=r"in use by another run .*close its other fit"):
        duolm.Online("y ~ x", checkpoint=path)
    first.update(batch(100))
    first.close()
    with duolm.Online("y ~ x", checkpoint=path) as second:  # resumes the first's 200 rows
        assert second.rows_seen == 200
        second.update(batch(100))
    assert duolm.Online.load(path).nobs == 300
