"""duolm.plots: every figure is made, labelled, and draws the numbers of the results.

The checks read the drawn artists back (Line2D data, the vertices of filled bands,
scatter offsets) and compare them with the results' own numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.lines import Line2D
from scipy import stats

import duolm
from duolm import NIG, BayesResults, bayes, datasets, trajectory
from duolm.present import plots

PARABOLA = "height ~ I(time**2)"
T2 = "I(time ** 2)"
LECTURE_PRIOR_XI = np.diag([10000.0, 0.1, 0.1])


@pytest.fixture(autouse=True)
def _no_figure_left_open() -> Iterator[None]:
    assert plt.get_fignums() == []
    yield
    leaked = plt.get_fignums()
    plt.close("all")
    assert leaked == [], "a test left figures open"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return datasets.tracking()


@pytest.fixture(scope="module")
def ols_fit(data: pd.DataFrame) -> duolm.OLSResults:
    return duolm.ols(PARABOLA, data)


@pytest.fixture(scope="module")
def lecture_prior() -> NIG:
    return NIG.from_xi(LECTURE_PRIOR_XI, 5)


@pytest.fixture(scope="module")
def bayes_fit(data: pd.DataFrame, lecture_prior: NIG) -> BayesResults:
    return bayes(PARABOLA, data, prior=lecture_prior)


@pytest.fixture(scope="module")
def reference_fit(data: pd.DataFrame) -> BayesResults:
    return bayes(PARABOLA, data, prior=NIG.reference(2))


# -- reading artists back -------------------------------------------------------------


def _line(ax: Axes, gid: str) -> Line2D:
    found = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} lines with gid {gid!r}"
    return found[0]


def _xy(line: Line2D) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def _collection(ax: Axes, gid: str) -> Collection:
    found = [c for c in ax.collections if c.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} collections with gid {gid!r}"
    return found[0]


def _band(ax: Axes, gid: str, xs: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    """Lower and upper edge of a fill_between band at each x of ``xs``."""
    vertices = np.vstack([p.vertices for p in _collection(ax, gid).get_paths()])
    lo = np.array([vertices[vertices[:, 0] == x, 1].min() for x in xs])
    hi = np.array([vertices[vertices[:, 0] == x, 1].max() for x in xs])
    return lo, hi


def _labelled(ax: Axes) -> None:
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


# -- scatter and bands ------------------------------------------------------------------


def test_scatter(data: pd.DataFrame) -> None:
    ax = plots.scatter(data, "time", "height")
    try:
        assert len(plt.get_fignums()) == 1 and len(ax.figure.axes) == 1
        _labelled(ax)
        offsets = _collection(ax, "data").get_offsets()
        np.testing.assert_array_equal(offsets, data[["time", "height"]].to_numpy(float))
    finally:
        plt.close(ax.figure)


def test_scatter_draws_on_a_given_axes(data: pd.DataFrame) -> None:
    fig, ax = plt.subplots()
    try:
        assert plots.scatter(data, "time", "height", ax=ax, title="radar") is ax
        assert ax.get_title() == "radar" and plt.get_fignums() == [fig.number]
    finally:
        plt.close(fig)


def test_bands_ols(data: pd.DataFrame, ols_fit: duolm.OLSResults) -> None:
    ax = plots.bands(ols_fit, data, grid=150)
    try:
        assert len(plt.get_fignums()) == 1 and len(ax.figure.axes) == 1
        _labelled(ax)
        assert ax.get_xlabel() == "time" and ax.get_ylabel() == "height"
        assert PARABOLA in ax.get_title()
        xs, mean = _xy(_line(ax, "ols-mean"))
        assert xs.size == 150 and xs[0] == 1.0 and xs[-1] == 80.0
        ci_lo, ci_hi = _band(ax, "ols-mean-band", xs)
        pi_lo, pi_hi = _band(ax, "ols-obs-band", xs)
        assert np.all(ci_lo < mean) and np.all(mean < ci_hi)
        assert np.all(pi_lo < ci_lo) and np.all(ci_hi < pi_hi)
        pred = ols_fit.predict(pd.DataFrame({"time": xs}))
        np.testing.assert_allclose(mean, pred["mean"], rtol=1e-12)
        np.testing.assert_allclose(ci_hi, pred["mean_ci_upper"], rtol=1e-12)
        np.testing.assert_allclose(pi_lo, pred["obs_ci_lower"], rtol=1e-12, atol=1e-9)
        labels = ax.get_legend_handles_labels()[1]
        assert {"95% confidence band", "95% prediction band", "least squares", "data"} <= set(
            labels
        )
    finally:
        plt.close(ax.figure)


def test_bands_bayes_alone(data: pd.DataFrame, bayes_fit: BayesResults) -> None:
    ax = plots.bands(bayes_fit, data, alpha=0.1)
    try:
        xs, mean = _xy(_line(ax, "bayes-mean"))
        lo, hi = _band(ax, "bayes-mean-band", xs)
        obs_lo, obs_hi = _band(ax, "bayes-obs-band", xs)
        assert np.all(lo < mean) and np.all(mean < hi)
        assert np.all(obs_lo < lo) and np.all(hi < obs_hi)
        labels = ax.get_legend_handles_labels()[1]
        assert {"90% credible band", "90% predictive band", "posterior mean"} <= set(labels)
    finally:
        plt.close(ax.figure)


def test_bands_compare_lecture_prior(
    data: pd.DataFrame, ols_fit: duolm.OLSResults, bayes_fit: BayesResults
) -> None:
    ax = plots.bands(ols_fit, data, bayes_fit=bayes_fit)
    try:
        _, mean = _xy(_line(ax, "bayes-mean"))
        for part in ("mean-band", "obs-band"):
            _, lower = _xy(_line(ax, f"bayes-{part}-lower"))
            _, upper = _xy(_line(ax, f"bayes-{part}-upper"))
            assert np.all(lower < mean) and np.all(mean < upper)
        assert "Bayes" in ax.get_title() and "least squares" in ax.get_title()
    finally:
        plt.close(ax.figure)


def test_bands_reference_prior_coincide_with_ols(
    data: pd.DataFrame, ols_fit: duolm.OLSResults, reference_fit: BayesResults
) -> None:
    ax = plots.bands(ols_fit, data, bayes_fit=reference_fit)
    try:
        xs, ols_mean = _xy(_line(ax, "ols-mean"))
        _, bayes_mean = _xy(_line(ax, "bayes-mean"))
        np.testing.assert_allclose(bayes_mean, ols_mean, rtol=1e-9, atol=1e-9)
        for part in ("mean-band", "obs-band"):
            lo, hi = _band(ax, f"ols-{part}", xs)
            np.testing.assert_allclose(
                _xy(_line(ax, f"bayes-{part}-lower"))[1], lo, rtol=1e-9, atol=1e-8
            )
            np.testing.assert_allclose(
                _xy(_line(ax, f"bayes-{part}-upper"))[1], hi, rtol=1e-9, atol=1e-8
            )
    finally:
        plt.close(ax.figure)


def test_bands_on_a_given_axes(data: pd.DataFrame, ols_fit: duolm.OLSResults) -> None:
    fig, (left, right) = plt.subplots(1, 2)
    try:
        assert plots.bands(ols_fit, data, ax=right, x="time") is right
        assert not left.get_lines() and right.get_lines()
    finally:
        plt.close(fig)


def test_bands_refuses_what_it_cannot_draw(data: pd.DataFrame, ols_fit: duolm.OLSResults) -> None:
    two = data.assign(other=np.arange(len(data)) % 3)
    with pytest.raises(ValueError, match="exactly one"):
        plots.bands(duolm.ols("height ~ time + other", two), two)
    arrays = duolm.ols(X=np.column_stack([np.ones(80), data["time"]]), y=data["height"])
    with pytest.raises(ValueError, match="formula"):
        plots.bands(arrays, data)
    with pytest.raises(ValueError, match="not a column"):
        plots.bands(ols_fit, data, x="speed")
    with pytest.raises(ValueError, match="grid"):
        plots.bands(ols_fit, data, grid=1)
    with pytest.raises(TypeError):
        plots.bands(object(), data)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        plots.bands(ols_fit, data, alpha=1.5)
    assert plt.get_fignums() == []  # refused before any figure is made


# -- residual diagnostics and Anscombe --------------------------------------------------


def test_residuals(data: pd.DataFrame) -> None:
    fit = duolm.ols("height ~ time", data)
    fig = plots.residuals(fit)
    try:
        assert len(plt.get_fignums()) == 1 and len(fig.axes) == 6
        for ax in fig.axes:
            _labelled(ax)
        vs_fitted, in_order, lag, qq, hist, leverage = fig.axes
        np.testing.assert_allclose(
            vs_fitted.collections[0].get_offsets(),
            np.column_stack([fit.fittedvalues, fit.resid]),
            rtol=1e-12,
        )
        assert f"{fit.diagnostics.durbin_watson:.3f}" in in_order.get_title()
        np.testing.assert_allclose(_xy(in_order.get_lines()[0])[1], fit.resid, rtol=1e-12)
        assert lag.collections[0].get_offsets().shape == (79, 2)
        qq_points = np.asarray(qq.collections[0].get_offsets())
        assert np.all(np.diff(qq_points[:, 0]) > 0) and np.all(np.diff(qq_points[:, 1]) >= 0)
        assert hist.patches
        np.testing.assert_allclose(
            np.asarray(leverage.collections[0].get_offsets())[:, 0], fit.leverage, rtol=1e-12
        )
        # no row is influential here: both contours lie beyond the panel, and say so
        assert leverage.get_legend_handles_labels()[1] == []
        assert [t.get_gid() for t in leverage.texts] == ["cook-beyond"]
    finally:
        plt.close(fig)


def test_residuals_cooks_contours_mark_the_influential_point() -> None:
    quartet = datasets.anscombe()
    fit = duolm.ols("y ~ x", quartet[quartet["dataset"] == "III"])
    fig = plots.residuals(fit)
    try:
        ax = fig.axes[5]
        h = fit.leverage.to_numpy()
        r = fit.resid.to_numpy() / np.sqrt(fit.scale * (1 - h))
        worst = int(np.argmax(fit.cooks_distance.to_numpy()))
        assert fit.cooks_distance.iloc[worst] > 1.0
        # The contour of Cook's distance 1 passes below the point (at its leverage).
        contour = next(ln for ln in ax.get_lines() if ln.get_label() == "Cook's distance 1")
        xs, ys = _xy(contour)
        assert abs(r[worst]) > np.interp(h[worst], xs, ys)
    finally:
        plt.close(fig)


def test_residuals_needs_an_ols_fit(bayes_fit: BayesResults) -> None:
    with pytest.raises(TypeError):
        plots.residuals(bayes_fit)  # type: ignore[arg-type]


def test_anscombe() -> None:
    fig = plots.anscombe()
    try:
        assert len(plt.get_fignums()) == 1 and len(fig.axes) == 4
        titles = [ax.get_title() for ax in fig.axes]
        assert [t.split(":")[0] for t in titles] == ["I", "II", "III", "IV"]
        for ax, title in zip(fig.axes, titles, strict=True):
            assert "y = 3.00 + 0.500 x" in title
            xs, ys = _xy(_line(ax, "fit"))
            np.testing.assert_allclose(ys, 3.0 + 0.5 * xs, atol=0.01)
            assert len(_collection(ax, "data").get_offsets()) == 11
        assert fig.axes[2].get_xlabel() == "x" and fig.axes[0].get_ylabel() == "y"
        assert fig.get_suptitle()
    finally:
        plt.close(fig)


def test_anscombe_on_a_given_figure() -> None:
    fig = plt.figure()
    try:
        assert plots.anscombe(fig=fig) is fig and len(fig.axes) == 4
        with pytest.raises(ValueError, match="empty"):
            plots.anscombe(fig=fig)
    finally:
        plt.close(fig)


# -- the Bayesian figures ---------------------------------------------------------------


@pytest.fixture(scope="module")
def traj(data: pd.DataFrame, lecture_prior: NIG) -> pd.DataFrame:
    return trajectory(PARABOLA, data, prior=lecture_prior)


def test_evolution(traj: pd.DataFrame, bayes_fit: BayesResults, ols_fit: duolm.OLSResults) -> None:
    reference = {**ols_fit.params.to_dict(), "sigma2": ols_fit.scale}
    fig = plots.evolution(traj, alpha=0.1, reference=reference)
    try:
        assert len(plt.get_fignums()) == 1 and len(fig.axes) == 3
        assert [ax.get_title() for ax in fig.axes] == ["Intercept", T2, "sigma²"]
        for ax in fig.axes:
            assert ax.get_ylabel()
        assert fig.axes[-1].get_xlabel().startswith("t")
        final = bayes_fit.credible_interval(alpha=0.1)
        for ax, name in zip(fig.axes, ["Intercept", T2], strict=False):
            t, mean = _xy(_line(ax, "mean"))
            np.testing.assert_array_equal(t, np.arange(1, 81))
            lo, hi = _band(ax, "sd-band", t)
            assert np.all(lo < mean) and np.all(mean < hi)
            lower, upper = _xy(_line(ax, "credible-lower"))[1], _xy(_line(ax, "credible-upper"))[1]
            assert np.all(lower < lo) and np.all(hi < upper)  # 90% wider than ±1 sd
            # The last posterior of the sequence is the batch posterior.
            np.testing.assert_allclose(mean[-1], bayes_fit.params[name], rtol=1e-9)
            np.testing.assert_allclose(hi[-1] - mean[-1], bayes_fit.bse[name], rtol=1e-9)
            np.testing.assert_allclose(
                [lower[-1], upper[-1]], final.loc[name].to_numpy(), rtol=1e-9
            )
            np.testing.assert_allclose(
                _xy(_line(ax, "reference"))[1], reference[name], rtol=1e-12, atol=0
            )
        sigma = fig.axes[2]
        _, mean2 = _xy(_line(sigma, "mean"))
        np.testing.assert_allclose(mean2[-1], bayes_fit.sigma2_mean, rtol=1e-9)
        lower2, upper2 = (
            _xy(_line(sigma, "credible-lower"))[1],
            _xy(_line(sigma, "credible-upper"))[1],
        )
        np.testing.assert_allclose(
            [lower2[-1], upper2[-1]], bayes_fit.sigma2_marginal().ppf([0.05, 0.95]), rtol=1e-9
        )
        # The y limits hold the later steps, not the very wide first posteriors.
        low, high = fig.axes[1].get_ylim()
        assert high - low < 10.0
    finally:
        plt.close(fig)


def test_evolution_flat_prior_leaves_the_first_steps_blank(data: pd.DataFrame) -> None:
    # V^-1 = 0, a = -k/2, b = 0: the reference prior.
    flat = NIG.reference(2)
    frame = trajectory(PARABOLA, data, prior=flat)
    fig = plots.evolution(frame, start=2)
    try:
        t, mean = _xy(_line(fig.axes[0], "mean"))
        assert t[0] == 2 and np.isnan(mean[0]) and np.all(np.isfinite(mean[1:]))
        np.testing.assert_allclose(
            mean[-1], duolm.ols(PARABOLA, data).params["Intercept"], rtol=1e-9, atol=0
        )
        _, upper = _xy(_line(fig.axes[2], "credible-upper"))
        assert np.isnan(upper[0]) and np.isfinite(upper[-1])
    finally:
        plt.close(fig)


def test_evolution_refuses_other_frames(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="trajectory"):
        plots.evolution(data)
    assert plt.get_fignums() == []


def test_marginals(bayes_fit: BayesResults, ols_fit: duolm.OLSResults) -> None:
    fig = plots.marginals(bayes_fit, ols_fit)
    try:
        assert len(plt.get_fignums()) == 1 and len(fig.axes) == 3
        assert [ax.get_title() for ax in fig.axes] == ["Intercept", T2, "sigma²"]
        cred, conf = bayes_fit.credible_interval(), ols_fit.conf_int()
        for ax, name in zip(fig.axes, ["Intercept", T2], strict=False):
            _labelled(ax)
            xs, pdf = _xy(_line(ax, "posterior"))
            np.testing.assert_allclose(pdf, bayes_fit.coef_marginal(name).pdf(xs), rtol=1e-12)
            assert xs[np.argmax(pdf)] == pytest.approx(bayes_fit.params[name], abs=xs[1] - xs[0])
            np.testing.assert_allclose(
                _xy(_line(ax, "credible-ci"))[0], cred.loc[name], rtol=1e-12, atol=0
            )
            np.testing.assert_allclose(
                _xy(_line(ax, "ols-ci"))[0], conf.loc[name], rtol=1e-12, atol=0
            )
            assert _xy(_line(ax, "ols-ci-centre"))[0][0] == ols_fit.params[name]
            _line(ax, "prior")  # the lecture's prior is proper
        sigma = fig.axes[2]
        assert _xy(_line(sigma, "ols-scale"))[0][0] == ols_fit.scale
        np.testing.assert_allclose(
            _xy(_line(sigma, "credible-ci"))[0],
            bayes_fit.sigma2_marginal().ppf([0.025, 0.975]),
            rtol=1e-12,
            atol=0,
        )
    finally:
        plt.close(fig)


def test_marginals_reference_prior_credible_equals_confidence(
    reference_fit: BayesResults, ols_fit: duolm.OLSResults
) -> None:
    fig = plots.marginals(reference_fit, ols_fit, alpha=0.01)
    try:
        for ax in fig.axes[:2]:
            np.testing.assert_allclose(
                _xy(_line(ax, "credible-ci"))[0], _xy(_line(ax, "ols-ci"))[0], rtol=1e-9
            )
            assert not [ln for ln in ax.get_lines() if ln.get_gid() == "prior"]  # improper
    finally:
        plt.close(fig)


def test_marginals_without_ols(bayes_fit: BayesResults) -> None:
    fig = plots.marginals(bayes_fit, show_prior=False)
    try:
        gids = {ln.get_gid() for ax in fig.axes for ln in ax.get_lines()}
        assert "ols-ci" not in gids and "prior" not in gids and "posterior" in gids
    finally:
        plt.close(fig)


def test_nig_density_lecture_prior(lecture_prior: NIG) -> None:
    fig = plots.nig_density(lecture_prior, names=["Intercept", T2])
    try:
        assert len(plt.get_fignums()) == 1 and len(fig.axes) == 3
        beta, sigma2, _ = fig.axes
        _labelled(beta)
        _labelled(sigma2)
        assert beta.get_xlabel() == "Intercept" and beta.get_ylabel() == T2
        assert "3333" in beta.get_title()  # E sigma² = b/(a-1) = 5000/1.5
        contours = _collection(beta, "beta-contours")
        assert list(contours.levels) == [1.0, 2.0, 3.0]  # type: ignore[attr-defined]
        # The 1-sd contour of N(0, sigma² 10 I) is the circle of radius sqrt(33333).
        ring = contours.get_paths()[0].vertices
        np.testing.assert_allclose(
            np.hypot(ring[:, 0], ring[:, 1]), np.sqrt(5000 / 1.5 * 10), rtol=0.01
        )
        xs, pdf = _xy(_line(sigma2, "sigma2-density"))
        np.testing.assert_allclose(pdf, stats.invgamma.pdf(xs, 2.5, scale=5000.0), rtol=1e-12)
        assert sigma2.get_title() == "sigma² ~ iG(a = 2.5, b = 5000)"
    finally:
        plt.close(fig)


def test_nig_density_one_coefficient_and_given_sigma2() -> None:
    fig = plots.nig_density(NIG([1.0], [[4.0]], a=3.0, b=2.0), sigma2=0.5)
    try:
        xs, pdf = _xy(_line(fig.axes[0], "beta-density"))
        np.testing.assert_allclose(pdf, stats.norm.pdf(xs, 1.0, np.sqrt(2.0)), rtol=1e-12)
        assert _xy(_line(fig.axes[1], "sigma2"))[0][0] == 0.5
    finally:
        plt.close(fig)


def test_nig_density_refuses_an_improper_prior() -> None:
    with pytest.raises(ValueError, match="improper"):
        plots.nig_density(NIG.reference(2))
    assert plt.get_fignums() == []


# -- figures that say what they show (issue 14, item 16) --------------------------------------


def test_cook_contours_off_the_panel_get_no_legend_entry_but_a_word() -> None:
    data = datasets.tracking()
    fig = plots.residuals(duolm.ols("height ~ I(time**2)", data))  # no influential row
    try:
        lev = fig.axes[5]
        assert lev.get_legend() is None
        texts = [t for t in lev.texts if t.get_gid() == "cook-beyond"]
        assert texts and "beyond the panel" in texts[0].get_text()
    finally:
        plt.close(fig)
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(size=20), 12.0]  # one far point: its Cook's distance is large
    frame = pd.DataFrame({"x": x, "y": np.r_[rng.normal(size=20), 30.0]})
    fig = plots.residuals(duolm.ols("y ~ x", frame))
    try:
        legend = fig.axes[5].get_legend()
        assert legend is not None
        assert any("Cook's distance" in t.get_text() for t in legend.get_texts())
    finally:
        plt.close(fig)


def test_reference_lines_say_what_they_are() -> None:
    data = datasets.tracking()
    traj = duolm.trajectory("height ~ I(time**2)", data)
    ref = {"Intercept": 66.8}
    fig = plots.evolution(traj, reference=ref, reference_label="least squares, all rows")
    try:
        labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        assert "least squares, all rows" in labels and "reference" not in labels
    finally:
        plt.close(fig)


def test_marginal_panels_keep_few_ticks(lecture_prior: NIG) -> None:
    data = datasets.tracking()
    post = duolm.bayes(PARABOLA, data, prior=lecture_prior)
    fig = plots.marginals(post, duolm.ols(PARABOLA, data))
    try:
        fig.canvas.draw()
        for ax in fig.axes:
            ticks = [t for t in ax.get_xticklabels() if t.get_text()]
            assert len(ticks) <= 6
            boxes = [t.get_window_extent() for t in ticks]
            for left, right in itertools.pairwise(boxes):
                assert left.x1 <= right.x0  # no two labels overlap
    finally:
        plt.close(fig)


def test_nig_density_draws_the_joint_and_names_itself_in_words(lecture_prior: NIG) -> None:
    fig = plots.nig_density(lecture_prior, names=["Intercept", T2])
    try:
        title = fig._suptitle.get_text()  # type: ignore[union-attr]
        assert title.startswith("Normal-inverse-gamma prior: beta | sigma²")
        assert "NIG(" not in title and "from_xi" not in title
        joint = fig.axes[2]
        assert joint.get_xlabel() == "Intercept" and joint.get_ylabel() == "sigma²"
        contours = _collection(joint, "joint-contours")
        # the density at the mode of the joint exceeds every contour level
        b, s2 = np.meshgrid([0.0], [5000.0 / 2.5 / (1 + 0.5 + 1)])
        peak = float(lecture_prior.joint_logpdf(0, b, s2)[0, 0])
        assert max(contours.levels) < peak  # type: ignore[attr-defined]
    finally:
        plt.close(fig)


def test_joint_logpdf_is_the_normal_times_the_inverse_gamma(lecture_prior: NIG) -> None:
    beta, s2 = np.array([10.0, -40.0]), np.array([2000.0, 7000.0])
    want = stats.norm.logpdf(beta, 0.0, np.sqrt(s2 * 10.0)) + stats.invgamma.logpdf(
        s2, 2.5, scale=5000.0
    )
    np.testing.assert_allclose(lecture_prior.joint_logpdf(0, beta, s2), want, rtol=1e-13)


def test_band_gap_shows_what_overlaid_bands_hide(lecture_prior: NIG) -> None:
    data = datasets.tracking()
    ls = duolm.ols(PARABOLA, data)
    ax = plots.band_gap(ls, bayes(PARABOLA, data, prior=lecture_prior), data, grid=50)
    try:
        times = _xy(_line(ax, "gap-mean-lower"))[0]
        frame = pd.DataFrame({"time": times})
        want = bayes(PARABOLA, data, prior=lecture_prior).predict(frame)["obs_ci_upper"]
        got = _xy(_line(ax, "gap-obs-upper"))[1]
        np.testing.assert_allclose(got, want - ls.predict(frame)["obs_ci_upper"], rtol=1e-12)
        assert ax.get_title() == "95% bands: Bayes minus least squares"
    finally:
        plt.close(ax.figure)
    reference = bayes(PARABOLA, data, prior=NIG.reference(2))
    ax = plots.band_gap(ls, reference, data, grid=20)
    try:  # the reference prior's bands are the least-squares ones
        for gid in ("gap-mean-lower", "gap-mean-upper", "gap-obs-lower", "gap-obs-upper"):
            np.testing.assert_allclose(_xy(_line(ax, gid))[1], 0.0, atol=1e-9)
    finally:
        plt.close(ax.figure)
