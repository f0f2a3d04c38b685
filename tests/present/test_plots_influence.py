"""Added-variable, component-plus-residual and influence figures (issue 10, item 6), and
literal names in every figure added since (issue 14, item 10's class)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import duolm
from duolm.present import plots


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    data = pd.DataFrame({"x": rng.normal(size=80), "z": rng.normal(size=80)})
    data["w"] = 0.6 * data.x + rng.normal(size=80)
    data["y"] = 1 + 2 * data.x - data.z + 0.5 * data.w + rng.normal(size=80)
    return data


def test_partial_regression_is_frisch_waugh_lovell(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x + z + w", frame)
    points = fit.partial_regression("x")
    # the reference: statsmodels' residuals of y and of x on the other columns
    others = sm.add_constant(frame[["z", "w"]])
    want_y = sm.OLS(frame.y, others).fit().resid
    want_x = sm.OLS(frame.x, others).fit().resid
    np.testing.assert_allclose(points["y_resid"], want_y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(points["x_resid"], want_x, rtol=1e-10, atol=1e-12)
    slope = float(points.x_resid @ points.y_resid / (points.x_resid @ points.x_resid))
    np.testing.assert_allclose(slope, fit.params["x"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(
        points.y_resid - slope * points.x_resid, fit.resid, rtol=1e-9, atol=1e-12
    )
    with pytest.raises(ValueError, match="intercept"):
        fit.partial_regression("Intercept")
    with pytest.raises(ValueError, match="not an estimated term"):
        fit.partial_regression("v")


def test_component_plus_residual_has_the_coefficient_as_slope(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x + z + w", frame)
    points = fit.component_plus_residual("z")
    slope = np.polyfit(points.x, points.partial_resid, 1)[0]
    np.testing.assert_allclose(slope, fit.params["z"], rtol=1e-10, atol=0)


def test_the_figures_draw_what_the_fit_says(frame: pd.DataFrame) -> None:
    fit = duolm.ols("y ~ x + z + w", frame)
    fig = plots.added_variable(fit)
    try:
        assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["x", "z", "w"]
        xs, ys = fig.axes[0].get_lines()[0].get_data()
        np.testing.assert_allclose(np.diff(ys) / np.diff(xs), fit.params["x"], rtol=1e-12, atol=0)
    finally:
        plt.close(fig)
    fig = plots.component_plus_residual(fit, ["w"])
    try:
        assert len(fig.axes) == 1 and fig.axes[0].get_title() == "w"
    finally:
        plt.close(fig)
    fig = plots.influence_plot(fit, label=2)
    try:
        ax = fig.axes[0]
        infl = fit.influence()
        offsets = np.asarray(ax.collections[0].get_offsets())
        np.testing.assert_allclose(offsets[:, 0], infl.hat_diag, rtol=1e-12)
        np.testing.assert_allclose(offsets[:, 1], infl.student_resid, rtol=1e-12)
        worst = [str(i) for i in infl.cooks_d.sort_values(ascending=False).index[:2]]
        assert sorted(t.get_text() for t in ax.texts) == sorted(worst)
    finally:
        plt.close(fig)


def test_names_with_math_markup_draw_literally() -> None:
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"$x^{$": rng.normal(size=40), "y": rng.normal(size=40)})
    fit = duolm.ols("y ~ Q('$x^{$')", data)
    for draw in (plots.added_variable, plots.component_plus_residual, plots.influence_plot):
        fig = draw(fit)
        try:
            fig.canvas.draw()  # mathtext would raise on the unbalanced brace
        finally:
            plt.close(fig)


def test_changepoint_figure_shows_a_marked_up_response_literally() -> None:
    rng = np.random.default_rng(6)
    data = pd.DataFrame({"x": rng.normal(size=60), "$y^{$": rng.normal(size=60)})
    result = duolm.changepoints("Q('$y^{$') ~ x", data)
    fig = result.plot()
    try:
        fig.canvas.draw()
        labels = [ax.yaxis.label.get_text() for ax in fig.axes]
        assert any("$y^{$" in label for label in labels), labels
    finally:
        plt.close(fig)
