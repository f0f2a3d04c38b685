"""Column names with matplotlib's math markup are shown literally (issue 14, item 10).

``$x^{$`` as a column name used to make every figure raise a mathtext ParseError
when drawn (and with it the report); a name like ``$a$`` was silently drawn as an
italic math "a". Every figure of duolm now shows every text as written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

import duolm
from duolm import plots

X, Y, Z = "$x^{$", "$y$", r"$\alpha$ 50$"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 10, 40)
    return pd.DataFrame({X: x, Z: rng.normal(size=40), Y: 1.0 + 0.5 * x + rng.normal(size=40)})


ONE = f"`{Y}` ~ `{X}`"
TWO = f"`{Y}` ~ `{X}` + `{Z}`"


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def draw(fig: Figure, tmp_path: Path, name: str) -> None:
    fig.savefig(tmp_path / f"{name}.png", dpi=40)  # mathtext errors surface when drawing


def figures(data: pd.DataFrame) -> dict[str, Callable[[], Figure]]:
    ols_one, bayes_one = duolm.ols(ONE, data), duolm.bayes(ONE, data)
    ols_two, bayes_two = duolm.ols(TWO, data), duolm.bayes(TWO, data)
    traj = duolm.trajectory(TWO, data)

    def on_axes(draw_on: Callable[..., object]) -> Figure:
        fig = Figure()
        draw_on(ax=fig.add_subplot())
        return fig

    return {
        "scatter": lambda: on_axes(lambda ax: plots.scatter(data, X, Y, ax=ax)),
        "bands": lambda: on_axes(lambda ax: plots.bands(ols_one, data, bayes_fit=bayes_one, ax=ax)),
        "residuals": lambda: plots.residuals(ols_two),
        "marginals": lambda: plots.marginals(bayes_two, ols_fit=ols_two),
        "evolution": lambda: plots.evolution(traj),
        "nig_density": lambda: plots.nig_density(
            bayes_two.posterior, names=list(ols_two.params.index)
        ),
    }


@pytest.mark.parametrize(
    "name", ["scatter", "bands", "residuals", "marginals", "evolution", "nig_density"]
)
def test_every_figure_draws_names_with_dollar_signs_literally(
    data: pd.DataFrame, tmp_path: Path, name: str
) -> None:
    fig = figures(data)[name]()
    try:
        draw(fig, tmp_path, name)
        shown = [t for t in fig.findobj(Text) if "$" in t.get_text()]
        assert shown, f"{name}: no text shows the column names"
        assert all(not t.get_parse_math() for t in shown)
        assert any(X in t.get_text() or Y in t.get_text() or Z in t.get_text() for t in shown)
    finally:
        plt.close(fig)  # other files check that no test leaves figures open


def test_the_report_builds_with_such_names(data: pd.DataFrame) -> None:
    from duolm.present.report import build_report

    page = build_report(data, ONE)
    assert page.count("<img ") >= 4
    assert "$x^{$" in page


def test_the_command_line_plot_draws_such_names(data: pd.DataFrame, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from duolm.cli import main

    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "fit.png"
    result = CliRunner().invoke(main, ["fit", str(path), "-f", ONE, "--plot", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000
