"""The side-by-side note does not promise equal intervals under a robust covariance (item 15).

Under the reference prior the credible intervals equal the *nonrobust* confidence
intervals (DESIGN.md); with ``cov_type="HC3"`` they do not, and the note says so.
"""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

import duolm
from duolm.cli import main

FORMULA = "height ~ I(time**2)"


def test_the_note_follows_the_covariance() -> None:
    data = duolm.datasets.tracking()
    ref = duolm.bayes(FORMULA, data, prior=duolm.NIG.reference(2))
    plain = duolm.side_by_side(duolm.ols(FORMULA, data), ref)
    assert "the two intervals coincide numerically" in plain.bayesian
    np.testing.assert_allclose(
        plain.table["ols_lower"], plain.table["bayes_lower"], rtol=1e-10, atol=0
    )
    robust = duolm.side_by_side(duolm.ols(FORMULA, data, cov_type="HC3"), ref)
    assert "coincide" not in robust.bayesian
    assert "classical (nonrobust) confidence interval, not this HC3 one" in robust.bayesian
    assert not np.allclose(robust.table["ols_lower"], robust.table["bayes_lower"], rtol=1e-6)


def test_fit_both_with_hc3_says_so(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "data.csv"
    duolm.datasets.tracking().to_csv(path, index=False)
    result = CliRunner().invoke(main, ["fit", str(path), "-f", FORMULA, "--cov-type", "HC3"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "coincide numerically" not in text
    assert "not this HC3 one" in text
