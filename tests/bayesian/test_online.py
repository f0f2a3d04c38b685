"""Online: the fit of a never-ending stream, batch by batch.

References: the in-memory fits of all the rows at once (``duolm.bayes`` and
``duolm.ols``, themselves checked against statsmodels and NIST elsewhere), and
``NIG.forget(lam).update(row)`` row by row for forgetting (DESIGN.md, "forget").
"""

from __future__ import annotations

import itertools
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import duolm
from duolm import Online
from duolm.errors import DataError, PriorError, StateFileError

FORMULA = "y ~ x + I(x**2) + C(g)"


def _data(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n)
    g = np.array(["a", "b", "c"])[rng.integers(0, 3, n)]
    g[:3] = ["a", "b", "c"]  # the first batch sees every level
    y = 1.0 + 0.5 * x - 0.2 * x**2 + np.select([g == "b", g == "c"], [1.0, -1.0], 0.0)
    return pd.DataFrame({"x": x, "g": g, "y": y + rng.normal(0, 0.5, n)})


def _batches(data: pd.DataFrame, seed: int) -> list[object]:
    """A random split into frames, mappings of columns and single rows."""
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.choice(np.arange(4, len(data)), size=12, replace=False))
    out: list[object] = []
    for i, (a, b) in enumerate(zip([0, *cuts], [*cuts, len(data)], strict=True)):
        part = data.iloc[a:b]
        if i % 3 == 1:
            out.append({name: part[name].tolist() for name in part.columns})
        elif i % 3 == 2:
            out.extend(part.iloc[j].to_dict() for j in range(len(part)))
        else:
            out.append(part)
    return out


def _same_nig(a: duolm.NIG, b: duolm.NIG, rtol: float) -> None:
    np.testing.assert_allclose(a.m, b.m, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.V, b.V, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.a, b.a, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.b, b.b, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.nobs, b.nobs, rtol=rtol, atol=0)


# -- batches == one fit ----------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_any_split_into_batches_is_the_one_fit(seed: int) -> None:
    data = _data(150, seed=seed)
    prior = duolm.NIG(np.zeros(5), 10.0 * np.eye(5), a=2.0, b=1.0)
    online = Online(FORMULA, prior=prior)
    for batch in _batches(data, seed):
        online.update(batch)
    assert online.nobs == len(data) and online.rows_seen == len(data)
    one = duolm.bayes(FORMULA, data, prior=prior)
    _same_nig(online.posterior, one.posterior, rtol=1e-12)
    assert online.spec.terms == one.spec.terms
    fit, ref = online.ols(), duolm.ols(FORMULA, data)
    for name in ("params", "bse", "tvalues", "pvalues"):
        np.testing.assert_allclose(getattr(fit, name), getattr(ref, name), rtol=1e-10, atol=0)
    for name in ("rsquared", "rsquared_adj", "fvalue", "llf", "aic", "bic", "ssr", "scale"):
        np.testing.assert_allclose(getattr(fit, name), getattr(ref, name), rtol=1e-10, atol=0)
    assert fit.nobs == ref.nobs and fit.df_model == ref.df_model
    new = data.iloc[:5]
    np.testing.assert_allclose(
        online.predict(new, alpha=0.1), one.predict(new, alpha=0.1), rtol=1e-11, atol=0
    )
    np.testing.assert_allclose(fit.predict(new), ref.predict(new), rtol=1e-10, atol=0)


def test_one_row_and_a_frame_of_it_are_the_same_update() -> None:
    data = _data(40)
    a, b = Online("y ~ x"), Online("y ~ x")
    a.update(data.iloc[:10])
    b.update(data.iloc[:10])
    for i in range(10, 40):
        a.update({"x": float(data["x"].iloc[i]), "y": float(data["y"].iloc[i])})  # fast path
        b.update({"x": [data["x"].iloc[i]], "y": [data["y"].iloc[i]]})  # the design's path
    np.testing.assert_array_equal(a.posterior.data_stat.R, b.posterior.data_stat.R)
    assert a.state.batches == b.state.batches == 31


def _recipes_verified(formula: str, data: pd.DataFrame) -> tuple[Online, Online]:
    """Two Online fits of ``formula`` after two frames: the design's recipes are verified."""
    a, b = Online(formula), Online(formula)
    for online in (a, b):
        online.update(data.iloc[:10]).update(data.iloc[10:20])
    return a, b


@pytest.mark.parametrize("formula", [FORMULA, "y ~ C(g) * x", "y ~ C(g) + np.log(x + 4)"])
def test_one_row_of_any_design_takes_the_recipe_and_equals_the_frame_path(
    formula: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data(60)
    quick, full = _recipes_verified(formula, data)
    for i in range(20, 60):
        full.update(data.iloc[i : i + 1])  # the design's path
    monkeypatch.setattr(
        duolm.design.DesignSpec, "build_xyc", lambda *a: pytest.fail("full path taken")
    )
    for i in range(20, 60):
        quick.update(data.iloc[i].to_dict())  # one row: the recipe, no frame
    np.testing.assert_array_equal(quick.posterior.data_stat.R, full.posterior.data_stat.R)
    assert quick.rows_seen == full.rows_seen == 60


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ({"x": 0.5, "g": "a", "y": math.inf}, r"'y' is inf at row 20"),
        ({"x": math.nan, "g": "a", "y": 1.0}, r"'x' at rows 20"),
        ({"x": 0.5, "g": "d", "y": 1.0}, r"level 'd' at row 20"),
        ({"x": 0.5, "g": None, "y": 1.0}, r"'g' at rows 20"),
        ({"x": "high", "g": "a", "y": 1.0}, r"'x'.*row 20"),
        ({"x": 0.5, "y": 1.0}, r"column 'g'"),
        ({"x": -5.0, "g": "a", "y": 1.0}, r"log\(x \+ 4\)' is nan at row 20"),
    ],
)
def test_a_bad_single_row_after_the_recipes_is_named_and_leaves_the_state(
    row: dict[str, object], match: str
) -> None:
    online, _ = _recipes_verified("y ~ x + C(g) + np.log(x + 4)", _data(20))
    state = online.state
    with pytest.raises(DataError, match=match):
        online.update(row)
    assert online.state is state


def test_a_single_row_with_missing_values_is_dropped_after_the_recipes() -> None:
    online = Online("y ~ x + C(g)", missing="drop")
    online.update(_data(20).iloc[:10]).update(_data(20).iloc[10:])
    online.update({"x": math.nan, "g": "a", "y": 1.0}).update({"x": 1.0, "g": None, "y": 1.0})
    assert online.nobs == 20 and online.rows_seen == 22 and online.state.dropped == 2


def test_polars_batches() -> None:
    pl = pytest.importorskip("polars")
    data = _data(60)
    online = Online(FORMULA)
    online.update(pl.from_pandas(data.iloc[:30]))
    online.update(pl.from_pandas(data.iloc[30:]))
    _same_nig(online.posterior, duolm.bayes(FORMULA, data).posterior, rtol=1e-12)


# -- forgetting ---------------------------------------------------------------------


@pytest.mark.parametrize("lam", [0.99, 0.9])
def test_forgetting_is_nig_forget_before_each_row(lam: float) -> None:
    data = _data(120, seed=3)
    prior = duolm.NIG(np.zeros(5), 10.0 * np.eye(5), a=2.0, b=1.0)
    online = Online(FORMULA, prior=prior, forget=lam)
    for batch in _batches(data, 3):
        online.update(batch)
    X = duolm.bayes(FORMULA, data).design.X  # type: ignore[union-attr]
    want = prior
    for x, y in zip(X, data["y"].to_numpy(), strict=True):
        want = want.forget(lam).update(x, y)
    _same_nig(online.posterior, want, rtol=1e-12)
    with pytest.raises(ValueError, match="forgets"):
        online.ols()


def test_forgetting_tracks_a_drifting_line() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    x = rng.normal(size=n)
    slope = np.where(np.arange(n) < 1000, 1.0, -1.0)
    data = pd.DataFrame({"x": x, "y": slope * x + rng.normal(0, 0.3, n)})
    forgetting, plain = Online("y ~ x", forget=0.98), Online("y ~ x")
    for start in range(0, n, 100):
        forgetting.update(data.iloc[start : start + 100])
        plain.update(data.iloc[start : start + 100])
    assert abs(forgetting.posterior.m[1] - (-1.0)) < 0.1
    assert abs(plain.posterior.m[1]) < 0.1  # the one fit averages the two slopes
    np.testing.assert_allclose(forgetting.posterior.nobs, (1 - 0.98**n) / 0.02, rtol=1e-12)


# -- files ----------------------------------------------------------------------------


def test_resume_after_save_and_load_is_uninterrupted(tmp_path: Path) -> None:
    data = _data(120, seed=5)
    batches = _batches(data, 5)
    whole = Online(FORMULA, forget=0.995)
    for batch in batches:
        whole.update(batch)
    first = Online(FORMULA, forget=0.995)
    for batch in batches[:6]:
        first.update(batch)
    first.save(tmp_path / "state.json")
    resumed = Online.load(tmp_path / "state.json")
    assert resumed.rows_seen == first.rows_seen and resumed.forget == 0.995
    np.testing.assert_array_equal(resumed.posterior.data_stat.R, first.posterior.data_stat.R)
    for batch in batches[6:]:
        resumed.update(batch)
    for a, b in ((resumed.posterior, whole.posterior), (resumed.state.prior, whole.state.prior)):
        assert a is not None and b is not None
        np.testing.assert_array_equal(a.data_stat.R, b.data_stat.R)  # bit for bit
        np.testing.assert_array_equal(a.prior_stat.R, b.prior_stat.R)
        assert a.nu0 == b.nu0 and a.data_stat.nobs == b.data_stat.nobs
    pd.testing.assert_frame_equal(resumed.predict(data.iloc[:3]), whole.predict(data.iloc[:3]))


def test_state_file_is_versioned_json_and_checked(tmp_path: Path) -> None:
    online = Online("y ~ x").update(_data(20))
    path = tmp_path / "s.json"
    online.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "duolm-online" and document["version"] == 1
    assert document["payload"]["formula"] == "y ~ x" and document["payload"]["rows"] == 20
    assert not list(tmp_path.glob(".*tmp"))  # the temporary file was renamed
    for broken in (
        path.read_text()[:-40],  # truncated
        path.read_text().replace('"rows": 20', '"rows": 21'),  # checksum
        json.dumps({**document, "version": 2}),  # newer
        json.dumps({**document, "format": "duolm-posterior"}),
    ):
        (tmp_path / "bad.json").write_text(broken)
        with pytest.raises(StateFileError):
            Online.load(tmp_path / "bad.json")
    before = Online("y ~ x")  # a state before any row also saves and loads
    before.save(tmp_path / "empty.json")
    assert Online.load(tmp_path / "empty.json").spec is None


def test_checkpoint_resumes_and_refuses_another_fit(tmp_path: Path) -> None:
    path = tmp_path / "ck.json"
    data = _data(50)
    Online("y ~ x", checkpoint=path).update(data.iloc[:20])
    again = Online("y ~ x", checkpoint=path)
    assert again.rows_seen == 20
    again.update(data.iloc[20:])
    assert Online.load(path).nobs == 50
    with pytest.raises(StateFileError, match="formula"):
        Online("y ~ x + I(x**2)", checkpoint=path)
    with pytest.raises(StateFileError, match="forget"):
        Online("y ~ x", forget=0.9, checkpoint=path)


_WRITER = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from duolm import Online

    data = pd.read_csv(sys.argv[1])
    online = Online("y ~ x + I(x**2) + C(g)", forget=0.999, checkpoint=sys.argv[2])
    print(online.rows_seen, flush=True)
    for start in range(online.rows_seen, len(data), 7):
        online.update(data.iloc[start : start + 7])
    print("done", flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_while_writing_checkpoints_then_resume(tmp_path: Path) -> None:
    data = _data(700, seed=9)
    csv = tmp_path / "data.csv"
    data.to_csv(csv, index=False)
    data = pd.read_csv(csv)  # the values as the writer reads them
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    ck = tmp_path / "ck.json"
    env = {**os.environ, "PYTHONPATH": str(Path(duolm.__file__).parents[1])}
    rng = np.random.default_rng(0)
    kills = 0
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(csv), str(ck)], env=env, stdout=subprocess.PIPE
        )
        assert proc.stdout is not None
        proc.stdout.readline()  # started (and resumed)
        time.sleep(float(rng.uniform(0.05, 0.4)))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait()
        Online.load(ck)  # whatever the moment, the checkpoint is whole
    assert kills >= 1
    finish = subprocess.run(
        [sys.executable, str(script), str(csv), str(ck)], env=env, capture_output=True, text=True
    )
    assert finish.returncode == 0, finish.stderr
    assert finish.stdout.split()[-1] == "done"
    resumed = Online.load(ck)
    whole = Online("y ~ x + I(x**2) + C(g)", forget=0.999)
    for start in range(0, len(data), 7):
        whole.update(data.iloc[start : start + 7])
    assert resumed.rows_seen == len(data) == whole.rows_seen
    np.testing.assert_array_equal(resumed.posterior.data_stat.R, whole.posterior.data_stat.R)
    np.testing.assert_array_equal(resumed.posterior.prior_stat.R, whole.posterior.prior_stat.R)
    assert resumed.posterior.nu0 == whole.posterior.nu0


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "match"),
    [
        ({"x": [0.1, math.nan], "g": ["a", "b"], "y": [1.0, 2.0]}, r"'x' at rows 21"),
        ({"x": 0.5, "g": "a", "y": math.inf}, r"'y' is inf at row 20"),
        ({"x": [0.1, 0.2], "g": ["a", "d"], "y": [1.0, 2.0]}, r"level 'd' at row 21"),
        ({"x": [0.1, "high"], "g": ["a", "b"], "y": [1.0, 2.0]}, r"'x'.*row 21"),
        ({"x": [0.1], "y": [1.0]}, r"column 'g'"),
    ],
)
def test_a_bad_row_is_named_and_leaves_the_state(tmp_path: Path, batch: object, match: str) -> None:
    path = tmp_path / "ck.json"
    online = Online(FORMULA, checkpoint=path).update(_data(20))
    state, saved = online.state, path.read_bytes()
    with pytest.raises(DataError, match=match):
        online.update(batch)
    assert online.state is state
    assert path.read_bytes() == saved


def test_wrong_prior_and_arguments_are_refused() -> None:
    online = Online("y ~ x", prior=duolm.NIG.vague(3))
    with pytest.raises(PriorError, match="3 coefficient"):
        online.update({"x": [1.0, 2.0], "y": [1.0, 2.0]})
    assert online.spec is None and online.nobs == 0
    with pytest.raises(ValueError, match="forget"):
        Online("y ~ x", forget=1.5)
    with pytest.raises(TypeError, match="batch"):
        Online("y ~ x").update([1.0, 2.0])
    with pytest.raises(DataError, match="no rows yet"):
        Online("y ~ x").posterior  # noqa: B018
    with pytest.raises(DataError, match="too few rows"):
        Online("y ~ x").update({"x": [1.0, 2.0], "y": [1.0, 3.0]}).ols()


def test_missing_drop_counts_the_rows() -> None:
    online = Online("y ~ x", missing="drop")
    online.update({"x": [1.0, 2.0, math.nan, 4.0], "y": [1.0, 2.5, 3.0, 4.5]})
    online.update({"x": [5.0, 6.0], "y": [math.nan, 6.5]})
    assert online.nobs == 4 and online.rows_seen == 6
    assert online.ols().n_dropped == 2


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=59), max_size=8, unique=True), st.booleans())
def test_batch_boundaries_never_matter(cuts: list[int], forgetting: bool) -> None:
    data = _data(60, seed=1)
    bounds = [0, *sorted(cuts), 60]
    lam = 0.97 if forgetting else None
    split, whole = Online("y ~ x + I(x**2)", forget=lam), Online("y ~ x + I(x**2)", forget=lam)
    for a, b in itertools.pairwise(bounds):
        split.update(data.iloc[a:b])
    whole.update(data)
    _same_nig(split.posterior, whole.posterior, rtol=1e-12)


@pytest.mark.parametrize("lam", [0.98, None])
def test_online_ends_where_the_trajectory_ends(lam: float | None) -> None:
    data = _data(120, seed=7)
    online = Online(FORMULA, forget=lam)
    for batch in _batches(data, 7):
        online.update(batch)
    last = duolm.trajectory(FORMULA, data, forget=lam).iloc[-1]
    post = online.posterior
    np.testing.assert_allclose(
        [last[f"m[{t}]"] for t in online.spec.terms], post.m, rtol=1e-11, atol=1e-12
    )
    np.testing.assert_allclose([last["a"], last["b"]], [post.a, post.b], rtol=1e-12, atol=0)
