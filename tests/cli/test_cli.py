"""The duolm command line, through click's runner: every command, format and error path.

Numbers printed machine-readably (``--format json``/``csv``) are checked
against the library calls they come from; errors must be one line on stderr
(``duolm: error: ...``), a non-zero exit status and no traceback.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

import duolm
from duolm import NIG, bayes, compare, datasets, state
from duolm.cli import main, parse_prior
from duolm.errors import PriorError

PARABOLA = "height ~ I(time**2)"
LINE = "height ~ time"
T2 = "I(time ** 2)"
LECTURE_PRIOR = "xi:10000,0.1,0.1;nu:5"


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return datasets.tracking()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, data: pd.DataFrame) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    out = {
        "csv": folder / "tracking.csv",
        "parquet": folder / "tracking.parquet",
        "new": folder / "future.csv",
        "nocol": folder / "nocol.csv",
    }
    data.to_csv(out["csv"], index=False)
    data.to_parquet(out["parquet"])
    pd.DataFrame({"time": [81.0, 85.0, 90.0]}).to_csv(out["new"], index=False)
    pd.DataFrame({"when": [81.0]}).to_csv(out["nocol"], index=False)
    return out


def invoke(*args: object, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def ok(*args: object, input: str | None = None) -> Result:
    result = invoke(*args, input=input)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def _save_lecture_posterior(data: Path, saved: Path) -> None:
    """``duolm fit`` of the parabola with the lecture's prior, the posterior saved."""
    ok("fit", data, "-f", PARABOLA, "--bayes", "--prior", LECTURE_PRIOR, "--save-state", saved)


# -- fit --------------------------------------------------------------------------------


def test_fit_both_is_the_default(files: dict[str, Path]) -> None:
    out = ok("fit", files["csv"], "-f", PARABOLA).stdout
    assert "OLS Regression Results" in out
    assert "Bayesian Regression Results" in out
    assert "Confidence and credible intervals" in out
    assert "Frequentist:" in out and "Bayesian:" in out


def test_fit_ols_and_bayes_alone(files: dict[str, Path]) -> None:
    only_ols = ok("fit", files["csv"], "-f", LINE, "--ols").stdout
    assert "OLS Regression Results" in only_ols and "Bayesian" not in only_ols
    assert "Durbin-Watson" in only_ols
    only_bayes = ok("fit", files["csv"], "-f", PARABOLA, "--bayes").stdout
    assert "Bayesian Regression Results" in only_bayes and "OLS Regression" not in only_bayes


def test_fit_json_matches_the_library(files: dict[str, Path], data: pd.DataFrame) -> None:
    out = ok("fit", files["csv"], "-f", PARABOLA, "--prior", LECTURE_PRIOR, "--format", "json")
    doc = json.loads(out.stdout)
    fit = duolm.ols(PARABOLA, data)
    post = bayes(PARABOLA, data, prior=NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5))
    coef = doc["ols"]["coefficients"]
    assert coef[T2]["coef"] == pytest.approx(fit.params[T2], rel=1e-14)
    assert coef["Intercept"]["std err"] == pytest.approx(fit.bse["Intercept"], rel=1e-14)
    assert doc["ols"]["model"]["R-squared"] == pytest.approx(fit.rsquared, rel=1e-14)
    assert doc["ols"]["diagnostics"]["Durbin-Watson"] == pytest.approx(
        fit.diagnostics.durbin_watson, rel=1e-14
    )
    bcoef = doc["bayes"]["coefficients"]
    assert bcoef[T2]["mean"] == pytest.approx(post.params[T2], rel=1e-14)
    assert bcoef["Intercept"]["sd"] == pytest.approx(post.bse["Intercept"], rel=1e-14)
    assert doc["bayes"]["model"]["E[sigma2]"] == pytest.approx(post.sigma2_mean, rel=1e-14)
    assert doc["bayes"]["model"]["Prior"] == "from_xi"
    side = doc["side_by_side"]
    assert side[T2]["bayes_lower"] == pytest.approx(
        post.credible_interval()["lower"][T2], rel=1e-14
    )
    assert isinstance(doc["ols"]["notes"], list) and doc["ols"]["notes"]


def test_fit_csv_format_is_one_long_table(files: dict[str, Path], data: pd.DataFrame) -> None:
    out = ok("fit", files["csv"], "-f", LINE, "--format", "csv").stdout
    table = pd.read_csv(io.StringIO(out), keep_default_na=False)
    assert list(table.columns) == ["reading", "table", "row", "column", "value"]
    assert set(table["reading"]) == {"ols", "bayes", "both"}
    fit = duolm.ols(LINE, data)
    row = table[
        (table["reading"] == "ols") & (table["row"] == "time") & (table["column"] == "coef")
    ]
    assert float(row["value"].iloc[0]) == pytest.approx(fit.params["time"], rel=1e-14)


def test_fit_from_stdin_and_parquet_agree(files: dict[str, Path]) -> None:
    text = files["csv"].read_text()
    from_stdin = json.loads(
        ok("fit", "-", "-f", LINE, "--ols", "--format", "json", input=text).stdout
    )
    from_parquet = json.loads(
        ok("fit", files["parquet"], "-f", LINE, "--ols", "--format", "json").stdout
    )
    assert from_stdin["ols"]["coefficients"] == from_parquet["ols"]["coefficients"]


def test_fit_reference_prior_reproduces_the_confidence_intervals(files: dict[str, Path]) -> None:
    doc = json.loads(
        ok("fit", files["csv"], "-f", PARABOLA, "--prior", "reference", "--format", "json").stdout
    )
    for row in doc["side_by_side"].values():
        assert row["bayes_lower"] == pytest.approx(row["ols_lower"], rel=1e-12)
        assert row["bayes_upper"] == pytest.approx(row["ols_upper"], rel=1e-12)
    assert doc["bayes"]["model"]["Log evidence"] is None  # improper prior: no evidence


def test_fit_cov_type_and_alpha(files: dict[str, Path], data: pd.DataFrame) -> None:
    args = ("fit", files["csv"], "-f", LINE, "--ols", "--cov-type", "HC3", "--alpha", "0.1")
    doc = json.loads(ok(*args, "--format", "json").stdout)
    fit = duolm.ols(LINE, data, cov_type="HC3")
    assert doc["ols"]["model"]["Covariance Type"] == "HC3"
    assert doc["ols"]["coefficients"]["time"]["std err"] == pytest.approx(
        fit.bse["time"], rel=1e-14
    )
    # machine-readable keys name the bounds (issue 14, item 15); the text keeps statsmodels'
    assert doc["ols"]["coefficients"]["time"]["ci_lower"] == pytest.approx(
        fit.conf_int(0.1)["lower"]["time"], rel=1e-14
    )
    assert doc["ols"]["coefficients"]["time"]["ci_upper"] == pytest.approx(
        fit.conf_int(0.1)["upper"]["time"], rel=1e-14
    )
    assert "[0.05" not in json.dumps(doc) and "0.95]" not in json.dumps(doc)
    csv_out = ok(*args, "--format", "csv").stdout
    assert "ci_lower" in csv_out and "[0.05" not in csv_out
    assert "[0.05" in ok(*args).stdout


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("m=0;V=10;a=2.5;b=5000", NIG(np.zeros(2), 10 * np.eye(2), 2.5, 5000.0)),
        ("m=0,0;V=10,0,0,10;a=2.5;b=5000", NIG(np.zeros(2), 10 * np.eye(2), 2.5, 5000.0)),
        ("xi=10000,0.1,0.1;nu=5", NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5)),
        ("vague", NIG.vague(2)),
        ("vague;scale=100;a=1;b=2", NIG.vague(2, scale=100, a=1, b=2)),
    ],
)
def test_prior_specs(spec: str, expected: NIG) -> None:
    prior = parse_prior(spec)(2, np.ones((5, 2)))
    np.testing.assert_allclose(prior.m, expected.m, rtol=1e-14, atol=0)
    np.testing.assert_allclose(prior.V, expected.V, rtol=1e-12, atol=0)
    assert (prior.a, prior.b) == pytest.approx((expected.a, expected.b), rel=1e-14)


def test_prior_zellner_uses_the_design() -> None:
    X = np.column_stack([np.ones(6), np.arange(6.0)])
    prior = parse_prior("zellner")(2, X)
    np.testing.assert_allclose(prior.V, 6 * np.linalg.inv(X.T @ X), rtol=1e-10, atol=0)


def test_prior_from_files(files: dict[str, Path], tmp_path: Path, data: pd.DataFrame) -> None:
    spec = tmp_path / "prior.json"
    spec.write_text(json.dumps({"xi": [10000, 0.1, 0.1], "nu": 5}))
    doc = json.loads(
        ok(
            "fit", files["csv"], "-f", PARABOLA, "--bayes", "--prior", spec, "--format", "json"
        ).stdout
    )
    lecture = bayes(PARABOLA, data, prior=NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5))
    assert doc["bayes"]["coefficients"][T2]["mean"] == pytest.approx(lecture.params[T2], rel=1e-14)

    # a saved posterior serves as the prior of new data
    saved = tmp_path / "post.json"
    _save_lecture_posterior(files["csv"], saved)
    doc = json.loads(
        ok(
            "fit", files["csv"], "-f", PARABOLA, "--bayes", "--prior", saved, "--format", "json"
        ).stdout
    )
    twice = bayes(PARABOLA, data, prior=lecture.posterior)
    assert doc["bayes"]["coefficients"][T2]["mean"] == pytest.approx(twice.params[T2], rel=1e-12)


def test_fit_plot_writes_a_figure(files: dict[str, Path], tmp_path: Path) -> None:
    png = tmp_path / "bands.png"
    result = ok("fit", files["csv"], "-f", PARABOLA, "--plot", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figure written" in result.stderr
    svg = tmp_path / "bands.svg"
    ok("fit", files["csv"], "-f", LINE, "--ols", "--plot", svg)
    assert svg.read_text().lstrip().startswith("<?xml")


def test_fit_plot_of_several_inputs_falls_back_to_residuals(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.normal(size=30), "z": rng.normal(size=30)})
    frame["y"] = 1 + frame["x"] - frame["z"] + rng.normal(size=30)
    path = tmp_path / "xz.csv"
    frame.to_csv(path, index=False)
    png = tmp_path / "res.png"
    result = ok("fit", path, "-f", "y ~ x + z", "--plot", png)
    assert png.exists() and "no bands figure" in result.stderr


def test_warnings_are_one_line(tmp_path: Path, files: dict[str, Path]) -> None:
    result = ok("fit", files["csv"], "-f", "height ~ time + I(2*time)", "--ols")
    lines = [line for line in result.stderr.splitlines() if line]
    assert lines and all(line.startswith("duolm: warning: ") for line in lines)
    assert "aliased" in result.stderr


# -- predict ----------------------------------------------------------------------------


def test_predict_from_a_saved_least_squares_fit(
    files: dict[str, Path], tmp_path: Path, data: pd.DataFrame
) -> None:
    saved = tmp_path / "ols.json"
    ok("fit", files["csv"], "-f", PARABOLA, "--ols", "--cov-type", "HC3", "--save-state", saved)
    assert state.saved_kind(saved) == "ols"
    doc = json.loads(
        ok("predict", saved, "--new", files["new"], "--alpha", "0.1", "--format", "json").stdout
    )
    assert set(doc) == {"ols"}
    new = pd.read_csv(files["new"])
    expected = duolm.ols(PARABOLA, data, cov_type="HC3").predict(new, alpha=0.1)
    got = pd.DataFrame(doc["ols"])
    for column in expected.columns:
        np.testing.assert_allclose(got[column], expected[column], rtol=1e-12, atol=0)
    bad = invoke("predict", saved, "--bayes", "--new", files["new"])
    assert bad.exit_code != 0 and "least-squares fit" in bad.output


def test_predict_from_a_saved_state(
    files: dict[str, Path], tmp_path: Path, data: pd.DataFrame
) -> None:
    saved = tmp_path / "state.json"
    _save_lecture_posterior(files["csv"], saved)
    assert state.saved_kind(saved) == "bayes"
    doc = json.loads(
        ok("predict", saved, "--new", files["new"], "--alpha", "0.1", "--format", "json").stdout
    )
    assert set(doc) == {"bayes"}
    expected = bayes(PARABOLA, data, prior=NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5)).predict(
        pd.read_csv(files["new"]), alpha=0.1
    )
    rows = doc["bayes"]
    assert [r["time"] for r in rows] == [81.0, 85.0, 90.0]
    np.testing.assert_allclose([r["mean"] for r in rows], expected["mean"], rtol=1e-13, atol=0)
    np.testing.assert_allclose(
        [r["obs_ci_upper"] for r in rows], expected["obs_ci_upper"], rtol=1e-13, atol=0
    )
    text = ok("predict", saved, "--new", files["new"]).stdout
    assert "predictive interval" in text and "obs_ci_lower" in text


def test_predict_by_refitting(files: dict[str, Path], data: pd.DataFrame) -> None:
    out = ok("predict", files["csv"], "-f", LINE, "--new", files["new"], "--format", "csv").stdout
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns[:3]) == ["reading", "time", "mean"]
    ols_rows = table[table["reading"] == "ols"]
    expected = duolm.ols(LINE, data).predict(pd.read_csv(files["new"]))
    np.testing.assert_allclose(
        ols_rows["mean_ci_lower"], expected["mean_ci_lower"], rtol=1e-13, atol=0
    )
    assert set(table["reading"]) == {"ols", "bayes"}
    text = ok("predict", files["csv"], "-f", LINE, "--new", files["new"], "--ols").stdout
    assert "confidence band" in text and "Bayes" not in text


# -- compare ----------------------------------------------------------------------------


def test_compare(files: dict[str, Path], data: pd.DataFrame) -> None:
    text = ok("compare", files["csv"], "-f", LINE, "-f", PARABOLA).stdout
    assert "Model comparison" in text and "log_evidence" in text and "bayes_factor" in text
    doc = json.loads(
        ok("compare", files["csv"], "-f", LINE, "-f", PARABOLA, "--format", "json").stdout
    )
    expected = compare({LINE: duolm.ols(LINE, data), PARABOLA: duolm.ols(PARABOLA, data)})
    assert doc[PARABOLA]["log_evidence"] == pytest.approx(
        expected.loc[PARABOLA, "log_evidence"], rel=1e-12
    )
    assert doc[PARABOLA]["aic"] < doc[LINE]["aic"]
    out = ok(
        "compare",
        files["csv"],
        "-f",
        LINE,
        "-f",
        PARABOLA,
        "--prior",
        LECTURE_PRIOR,
        "--format",
        "csv",
    )
    table = pd.read_csv(io.StringIO(out.stdout), index_col="model")
    assert list(table["prior"]) == ["from_xi", "from_xi"]
    assert table.loc[PARABOLA, "bayes_factor"] == 1.0


# -- report and demo --------------------------------------------------------------------


def test_report_command(files: dict[str, Path], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = ok("report", files["csv"], "-f", PARABOLA, "-o", page, "--prior", LECTURE_PRIOR)
    assert str(page) in result.stdout
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "data:image/png;base64," in text
    assert "OLS Regression Results" in text and "Bayesian Regression Results" in text


# -- errors -----------------------------------------------------------------------------


def _errors(files: dict[str, Path], tmp_path: Path) -> list[tuple[list[object], str | None, str]]:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    return [
        (["fit", tmp_path / "nope.csv", "-f", LINE], None, "does not exist"),
        (["fit", files["csv"], "-f", "height ~ nope"], None, "unknown name 'nope'"),
        (["fit", files["csv"], "-f", "height ~ (time"], None, "unbalanced parentheses"),
        (["fit", files["csv"], "-f", "height ~ __import__('os')"], None, "not allowed"),
        (["fit", files["csv"], "-f", LINE, "--prior", "bogus"], None, "cannot read 'bogus'"),
        (["fit", files["csv"], "-f", LINE, "--prior", "xi=1,2;nu=5"], None, "xi has 2 values"),
        (["fit", files["csv"], "-f", LINE, "--prior", "m=0;V=-1;a=1;b=1"], None, "positive"),
        (["fit", files["csv"], "-f", LINE, "--prior", "vague;g=3"], None, "vague takes"),
        (["fit", files["csv"], "-f", LINE, "--prior", garbage], None, "cannot read the prior"),
        (["fit", files["csv"], "-f", LINE, "--alpha", "1.5"], None, "--alpha"),
        (["fit", files["csv"], "-f", LINE, "--alpha", "abc"], None, "--alpha"),
        (["fit", files["csv"]], None, "Missing option"),
        (["fit", files["csv"], "-f", LINE, "--bogus"], None, "No such option"),
        (["fit", "-", "-f", LINE], "", "no data on stdin"),
        (["compare", files["csv"], "-f", LINE], None, "at least two models"),
        (["predict", tmp_path / "missing.json", "--new", files["new"]], None, "does not exist"),
        (["predict", garbage, "--new", files["new"]], None, "not a duolm state file"),
        (["predict", files["csv"], "-f", LINE, "--new", files["nocol"]], None, "time"),
        (["report", files["csv"], "-f", "height ~ nope", "-o", tmp_path / "r.html"], None, "nope"),
        (["nosuchcommand"], None, "No such command"),
    ]


def test_errors_are_one_line_without_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    for args, stdin, needle in _errors(files, tmp_path):
        result = invoke(*args, input=stdin)
        where = f"duolm {' '.join(map(str, args))}"
        assert result.exit_code not in (0, None), where
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (where, result.stderr)
        assert lines[0].startswith("duolm: error: "), (where, lines[0])
        assert needle in lines[0], (where, lines[0])
        assert "Traceback" not in result.output, where
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), where


def test_usage_errors_exit_2_and_data_errors_exit_1(files: dict[str, Path]) -> None:
    assert invoke("fit", files["csv"], "-f", LINE, "--alpha", "2").exit_code == 2
    assert invoke("fit", files["csv"], "-f", "height ~ nope").exit_code == 1


def test_parse_prior_errors() -> None:
    for spec in ("", "nu=5", "xi=1,2,3", "m=0;V=1;a=1", "xi=a,b;nu=1", "a=1;a=2"):
        with pytest.raises(PriorError):
            parse_prior(spec)(2, np.ones((4, 2)))


@pytest.mark.parametrize("command", ["fit", "compare", "predict", "report", "demo"])
def test_help_has_an_example(command: str) -> None:
    out = ok(command, "--help").stdout
    assert "Example" in out
    assert f"duolm {command}" in out


def test_main_help_and_version() -> None:
    out = ok("--help").stdout
    for command in ("demo", "fit", "compare", "predict", "report"):
        assert command in out
    assert "duolm demo" in out
    assert duolm.__version__ in ok("--version").stdout


def test_fit_streams_a_file_with_a_progress_bar_and_the_same_numbers(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    duolm.datasets.tracking(T=400).to_parquet(path)
    args = ["fit", str(path), "-f", "height ~ I(time**2)", "--format", "json"]
    args += ["--prior", "xi=10000,0.1,0.1;nu=5"]
    streamed = CliRunner().invoke(main, [*args, "--stream"])
    in_memory = CliRunner().invoke(main, [*args, "--in-memory"])
    assert streamed.exit_code == 0, streamed.output
    assert in_memory.exit_code == 0, in_memory.output
    a, b = json.loads(streamed.stdout), json.loads(in_memory.stdout)
    for reading, column in (("ols", "coef"), ("bayes", "mean")):
        got, want = a[reading]["coefficients"], b[reading]["coefficients"]
        assert got.keys() == want.keys()
        np.testing.assert_allclose(
            [got[name][column] for name in got], [want[name][column] for name in got], rtol=1e-10
        )
    assert "pass 1/2" in streamed.stderr  # the progress bar, on stderr


def test_stream_refuses_what_needs_the_data_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    duolm.datasets.tracking(T=50).to_csv(path, index=False)
    base = ["fit", str(path), "-f", "height ~ time", "--stream"]
    for extra, message in (
        (["--plot", str(tmp_path / "x.png")], "needs them in memory"),
        (["--prior", "zellner"], "whole design"),
    ):
        result = CliRunner().invoke(main, [*base, *extra])
        assert result.exit_code != 0
        assert message in result.stderr
    result = CliRunner().invoke(
        main, ["fit", "-", "-f", "height ~ time", "--stream"], input="a\n1\n"
    )
    assert result.exit_code != 0 and "stdin" in result.stderr
