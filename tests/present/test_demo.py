"""duolm.demo: what the lecture says holds on duolm's own data.

The lecture fits a line and a parabola to the rising object's heights, then
the parabola the Bayesian way, and draws conclusions; each test below is one
of them, checked on the objects :func:`duolm.demo.run` returns.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import NIG, bayes
from duolm.present import demo

T2 = "I(time ** 2)"


@pytest.fixture(scope="module")
def lecture(tmp_path_factory: pytest.TempPathFactory) -> demo.LectureDemo:
    return demo.run(tmp_path_factory.mktemp("demo") / "figures")


def test_the_data_are_the_lecture_s(lecture: demo.LectureDemo) -> None:
    assert list(lecture.data.columns) == ["time", "height"]
    assert len(lecture.data) == 80 and lecture.data["time"].tolist() == list(range(1, 81))


def test_the_tables_look_like_the_lecture_s(lecture: demo.LectureDemo) -> None:
    # lecture: line R² 0.956, parabola R² 0.995 with t² coefficient 0.3045, s about 40
    assert round(lecture.line.rsquared, 2) == 0.96
    assert round(lecture.parabola.rsquared, 3) == 0.995
    assert lecture.parabola.params[T2] == pytest.approx(0.30, abs=0.01)
    assert np.sqrt(lecture.parabola.scale) == pytest.approx(40, rel=0.1)
    assert lecture.line.nobs == lecture.parabola.nobs == 80
    assert lecture.line.df_resid == 78 and lecture.line.df_model == 1


def test_the_parabola_fits_better_by_every_criterion(lecture: demo.LectureDemo) -> None:
    line, parabola = lecture.line, lecture.parabola
    assert parabola.rsquared > line.rsquared
    assert parabola.aic < line.aic
    assert parabola.bic < line.bic
    assert lecture.bayes_parabola.log_evidence > lecture.bayes_line.log_evidence
    table = lecture.comparison
    assert list(table.index) == ["line", "parabola"]
    assert table.loc["parabola", "rsquared"] > table.loc["line", "rsquared"]
    assert table.loc["parabola", "aic"] < table.loc["line", "aic"]
    assert table.loc["parabola", "bic"] < table.loc["line", "bic"]
    assert table.loc["parabola", "log_evidence"] > table.loc["line", "log_evidence"]
    assert table.loc["parabola", "bayes_factor"] == 1.0
    assert table.loc["line", "bayes_factor"] < 1e-10  # decisive
    assert set(table["prior"]) == {"from_xi"}  # both under the lecture's prior


def test_the_line_s_residuals_are_autocorrelated(lecture: demo.LectureDemo) -> None:
    dw_line = lecture.line.diagnostics.durbin_watson
    assert dw_line < 0.5  # lecture: 0.102, "far below 2"
    assert lecture.parabola.diagnostics.durbin_watson > 3 * dw_line
    # the line misses the curvature: residuals positive at both ends, negative in the middle
    resid = lecture.line.resid.to_numpy()
    assert resid[:5].mean() > 0 and resid[-5:].mean() > 0 and resid[35:45].mean() < 0


def test_the_parabola_s_residuals_look_normal(lecture: demo.LectureDemo) -> None:
    d = lecture.parabola.diagnostics
    assert d.jarque_bera_pvalue > 0.05 and d.omnibus_pvalue is not None
    assert d.omnibus_pvalue > 0.05


def test_the_lecture_s_prior(lecture: demo.LectureDemo) -> None:
    prior = lecture.prior
    np.testing.assert_allclose(prior.xi, np.diag([10000.0, 0.1, 0.1]), rtol=1e-12, atol=1e-12)
    assert prior.nu == 5.0 and prior.a == 2.5 and prior.b == 5000.0
    np.testing.assert_allclose(prior.m, 0.0, atol=1e-12)
    np.testing.assert_allclose(prior.V, 10.0 * np.eye(2), rtol=1e-12, atol=0)
    assert lecture.bayes_parabola.prior is prior


def test_the_final_estimates(lecture: demo.LectureDemo) -> None:
    post = lecture.bayes_parabola
    text = demo.final_estimates(post).splitlines()
    labels = [
        "Final estimate of beta:",
        "Final estimate of sigma2:",
        "std(beta):",
        "std(sigma2):",
    ]
    assert [line.split(":")[0] + ":" for line in text] == labels
    beta = [float(v) for v in text[0].split("[")[1].rstrip("]").split()]
    np.testing.assert_allclose(beta, post.params, rtol=1e-6, atol=0)
    assert float(text[1].split(":")[1]) == pytest.approx(post.sigma2_mean, rel=1e-7)
    assert float(text[3].split(":")[1]) == pytest.approx(np.sqrt(post.sigma2_var), rel=1e-7)
    # the lecture printed [57.67, 0.2976], 1490, sd [6.49, 0.00223], 234 from another draw:
    # duolm's data land within two posterior sd of each
    lecture_beta, lecture_sigma2 = np.array([57.66874799, 0.29756]), 1489.9808858438248
    assert np.all(np.abs(post.params.to_numpy() - lecture_beta) < 2 * post.bse.to_numpy())
    assert abs(post.sigma2_mean - lecture_sigma2) < 2 * np.sqrt(post.sigma2_var)
    assert post.bse.to_numpy() == pytest.approx([6.49, 0.00223], rel=0.1)


def test_the_evolution_ends_at_the_batch_posterior(lecture: demo.LectureDemo) -> None:
    traj, post = lecture.trajectory, lecture.bayes_parabola
    assert len(traj) == 80
    last = traj.iloc[-1]
    assert last["m[Intercept]"] == pytest.approx(post.params["Intercept"], rel=1e-10)
    assert last[f"m[{T2}]"] == pytest.approx(post.params[T2], rel=1e-10)
    assert last[f"sd[{T2}]"] == pytest.approx(post.bse[T2], rel=1e-10)
    assert last["mean_sigma2"] == pytest.approx(post.sigma2_mean, rel=1e-10)
    # the uncertainty shrinks as the data come in
    sd = traj[f"sd[{T2}]"].to_numpy()
    assert sd[-1] < sd[9] / 10


def test_credible_intervals_equal_confidence_intervals_under_the_reference_prior(
    lecture: demo.LectureDemo,
) -> None:
    table = lecture.reference_side_by_side.table
    for end in ("lower", "upper"):
        np.testing.assert_allclose(table[f"bayes_{end}"], table[f"ols_{end}"], rtol=1e-12, atol=0)
    assert lecture.reference_gap < 1e-9
    assert lecture.reference.prior.label == "reference"
    # under the lecture's (proper) prior they differ, a little
    other = lecture.side_by_side.table
    assert not np.allclose(other["bayes_lower"], other["ols_lower"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(other["bayes_lower"], other["ols_lower"], rtol=0.02, atol=0)


def test_anscombe_four_data_sets_one_line(lecture: demo.LectureDemo) -> None:
    table = lecture.anscombe
    assert list(table.index) == ["I", "II", "III", "IV"]
    for column, value, tol in (
        ("mean_x", 9.0, 1e-12),
        ("mean_y", 7.50, 0.01),
        ("var_x", 11.0, 1e-12),
        ("var_y", 4.125, 0.01),
        ("corr", 0.816, 0.001),
        ("intercept", 3.00, 0.01),
        ("slope", 0.500, 0.001),
    ):
        np.testing.assert_allclose(table[column], value, atol=tol, rtol=0)
    # ... yet the data differ: the sets' y values are not the same
    quartet = duolm.datasets.anscombe()
    ys = [part["y"].to_numpy() for _, part in quartet.groupby("dataset")]
    assert not any(np.allclose(ys[0], other) for other in ys[1:])


def test_the_figures_are_written(lecture: demo.LectureDemo) -> None:
    names = {
        "anscombe",
        "scatter",
        "line",
        "line-residuals",
        "parabola",
        "parabola-residuals",
        "prior",
        "bayes-evolution",
        "bayes-bands",
        "bayes-marginals",
        "manoeuvre-forgetting",
        "manoeuvre-changepoints",
    }
    assert set(lecture.figures) == names
    for name, path in lecture.figures.items():
        assert isinstance(path, Path) and path.name == f"{name}.png"
        blob = path.read_bytes()
        assert blob[:8] == b"\x89PNG\r\n\x1a\n" and len(blob) > 10_000, name


def test_the_printed_sections(lecture: demo.LectureDemo) -> None:
    sections = demo.sections(lecture)
    titles = [s.title for s in sections]
    assert "Anscombe" in titles[0] and "reference prior" in titles[-2]
    assert "manoeuvring target" in titles[-1]
    text = "\n".join(i for s in sections for i in s.items if isinstance(i, str))
    assert "OLS Regression Results" in text and "Bayesian Regression Results" in text
    assert "Final estimate of beta:" in text and "far below 2" in text
    for name in lecture.figures:
        assert str(lecture.figures[name]) in text
    frames = [i for s in sections for i in s.items if isinstance(i, pd.DataFrame)]
    assert any("log_evidence" in f.columns for f in frames)


def test_the_demo_command_prints_the_lecture(
    lecture: demo.LectureDemo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``duolm demo --out DIR`` runs the lecture into DIR and prints every section."""
    from click.testing import CliRunner

    from duolm.cli import main

    folder = lecture.figures["anscombe"].parent
    asked: list[str] = []
    monkeypatch.setattr(demo, "run", lambda out: asked.append(out) or lecture)  # drawn once
    result = CliRunner().invoke(main, ["demo", "--out", str(folder)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert asked == [str(folder)]
    for needle in (
        "Anscombe",
        "OLS Regression Results",
        "Bayesian Regression Results",
        "Final estimate of beta:",
        "std(sigma2):",
        "log_evidence",
        "reference prior",
        "manoeuvring target",
    ):
        assert needle in result.output, needle
    assert result.output.splitlines()[-1] == f"12 figures written to {folder.resolve()}"


def test_the_lecture_prior_helper_matches_nig_from_xi() -> None:
    data = duolm.datasets.tracking()
    a = bayes(demo.PARABOLA, data, prior=demo.lecture_prior())
    b = bayes(demo.PARABOLA, data, prior=NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5))
    np.testing.assert_array_equal(a.params, b.params)


def test_the_manoeuvring_target_three_ways(lecture: demo.LectureDemo) -> None:
    # truth (the simulation): t² coefficient 0.25 until time 80, then -0.25
    man = lecture.manoeuvre
    table = man.table
    single, plain, forgetting, segment = table["t2_coef"]
    assert abs(single) < 0.02 and abs(plain - single) < 1e-4  # both average the motions
    se = table.loc[f"forget={demo.MANOEUVRE_FORGET:g}", "t2_se"]
    assert abs(forgetting + 0.25) < 2 * se < 0.2  # forgetting follows the braking
    assert abs(segment + 0.25) < 3 * table["t2_se"].iloc[-1]
    after = table["pred_logpdf_after"].to_numpy()
    assert after[2] > after[1] + 2.0  # forgetting predicts the rows after far better
    # one change, where the curvature changes (known to ~sqrt(sigma/|delta a|) ~ 8 rows)
    (change,) = man.changes.changes
    assert abs(int(man.data["time"].iloc[change]) - (demo.MANOEUVRE_AT + 1)) <= 8
    assert man.noticed_at is not None and change < man.noticed_at <= demo.MANOEUVRE_T
    first = man.changes.segments[0].ols
    assert first is not None and abs(first.params[T2] - 0.25) < 0.05
    # the readings are duolm's own calls on the same rows
    ref = duolm.trajectory(
        demo.MANOEUVRE, man.data, prior=man.prior, forget=0.9, forget_toward="prior"
    )
    pd.testing.assert_frame_equal(man.forgetting, ref)
