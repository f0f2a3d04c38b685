"""Reading CSV rows as they arrive (``duolm watch``): stdin, a growing file, resume."""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import Online
from duolm.cli._watch import CsvStream, watch
from duolm.errors import DataError


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    g = np.array(["a", "b"])[np.arange(n) % 2]
    return pd.DataFrame({"x": x, "g": g, "y": 1.0 + 0.5 * x + (g == "b") + rng.normal(0, 1, n)})


def test_a_file_read_to_its_end_is_the_one_fit(tmp_path: Path) -> None:
    data = _frame()
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    lines: list[str] = []
    online = watch("y ~ x + C(g)", str(path), every=50, echo=lines.append)
    data = pd.read_csv(path)
    one = duolm.bayes("y ~ x + C(g)", data)
    np.testing.assert_allclose(online.posterior.m, one.posterior.m, rtol=1e-12, atol=0)
    assert online.nobs == len(data)
    assert lines and lines[-1].startswith("rows 200  Intercept ")
    assert "sigma² " in lines[-1]


def test_a_growing_file_is_followed_and_a_partial_line_waits(tmp_path: Path) -> None:
    data = _frame(120)
    path = tmp_path / "grow.csv"
    text = data.to_csv(index=False)
    cut = text.index("\n", len(text) // 2) + 5  # the middle of a line
    path.write_text(text[:cut])
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.3)
        with path.open("a") as fh:
            fh.write(text[cut:])
        time.sleep(0.3)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    online = watch(
        "y ~ x + C(g)", str(path), follow=True, poll=0.02, echo=lambda _: None, stop=done.is_set
    )
    thread.join()
    whole = duolm.bayes("y ~ x + C(g)", pd.read_csv(path))
    assert online.nobs == len(data)
    np.testing.assert_allclose(online.posterior.m, whole.posterior.m, rtol=1e-12, atol=0)


def test_state_resumes_a_file_where_it_stopped(tmp_path: Path) -> None:
    data = _frame(100)
    path, state = tmp_path / "d.csv", tmp_path / "state.json"
    data.iloc[:60].to_csv(path, index=False)
    watch("y ~ x + C(g)", str(path), state=str(state), echo=lambda _: None)
    data.to_csv(path, index=False)  # the file grew while nobody watched
    online = watch("y ~ x + C(g)", str(path), state=str(state), echo=lambda _: None)
    assert online.nobs == 100 and Online.load(state).nobs == 100
    whole = duolm.bayes("y ~ x + C(g)", pd.read_csv(path))
    np.testing.assert_allclose(online.posterior.m, whole.posterior.m, rtol=1e-12, atol=0)


def test_standard_input(tmp_path: Path) -> None:
    data = _frame(80)
    script = textwrap.dedent(
        """
        from duolm.cli._watch import watch
        watch("y ~ x + C(g)", None, every=40)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(Path(duolm.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    text = data.to_csv(index=False).splitlines(keepends=True)
    proc.stdin.write("".join(text[:41]))  # the header and 40 rows, then a pause
    proc.stdin.flush()
    first = proc.stdout.readline()  # printed before the rest is written
    proc.stdin.write("".join(text[41:]))
    proc.stdin.close()
    rest = proc.stdout.read()
    assert proc.wait() == 0
    assert first.split("  ")[0] == "rows 40"
    assert [line.split("  ")[0] for line in rest.splitlines()] == ["rows 80"]


def test_a_short_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1,2\n3\n")
    fd = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(DataError, match="line 3 has 1 field"):
            list(CsvStream(functools.partial(os.read, fd)).batches())
    finally:
        os.close(fd)


# -- the command ---------------------------------------------------------------------


def test_duolm_watch_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from duolm.cli import main

    data = _frame(60)
    text = data.to_csv(index=False)
    runner = CliRunner()
    out = runner.invoke(main, ["watch", "-f", "y ~ x + C(g)", "--every", "20"], input=text)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("rows 60  Intercept ")  # one read: one batch, one line
    assert "Bayesian Regression Results" in out.output
    one = duolm.bayes("y ~ x + C(g)", pd.read_csv(io.StringIO(text)))
    assert f"{one.params['x']:.6g}" in lines[0]
    # a state, then more rows: the fit resumes
    state = tmp_path / "s.json"
    path = tmp_path / "d.csv"
    data.iloc[:30].to_csv(path, index=False)
    args = ["watch", str(path), "-f", "y ~ x + C(g)", "--state", str(state), "--prior", "vague"]
    assert runner.invoke(main, args).exit_code == 0
    data.to_csv(path, index=False)
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[0].startswith("rows 60 ")
    bad = runner.invoke(main, ["watch", str(path), "-f", "y ~ x", "--prior", "zellner"])
    assert bad.exit_code == 2 and "Zellner" in bad.output
