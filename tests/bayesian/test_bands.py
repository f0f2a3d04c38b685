"""Credible intervals along a trajectory equal those of the batch posterior at each row."""

from __future__ import annotations

import numpy as np
import pytest

import duolm
from duolm.bayesian import credible_path

FORMULA = "height ~ I(time**2)"


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_every_row_is_the_batch_posterior_s_interval(alpha: float) -> None:
    data = duolm.datasets.tracking()
    prior = duolm.NIG.from_xi(np.diag([1e4, 0.1, 0.1]), 5)
    bands = credible_path(duolm.trajectory(FORMULA, data, prior=prior), alpha)
    for t in (3, 17, len(data)):
        post = duolm.bayes(FORMULA, data.iloc[:t], prior=prior)
        row = bands.iloc[t - 1]
        want = post.credible_interval(alpha)
        for term in post.terms:
            got = [row[f"lower[{term}]"], row[f"upper[{term}]"]]
            np.testing.assert_allclose(got, want.loc[term], rtol=1e-10, atol=0)
        sigma2 = post.sigma2_marginal().ppf([alpha / 2, 1 - alpha / 2])
        got = [row["lower_sigma2"], row["upper_sigma2"]]
        np.testing.assert_allclose(got, sigma2, rtol=1e-10, atol=0)


def test_reference_prior_ends_at_the_confidence_interval() -> None:
    data = duolm.datasets.tracking()
    traj = duolm.trajectory(FORMULA, data, prior=duolm.NIG.reference(2))
    bands = credible_path(traj)
    first = bands.iloc[1]  # two rows, two coefficients: no degree of freedom yet
    assert np.isnan(first["lower_sigma2"])
    ci = duolm.ols(FORMULA, data).conf_int()
    last = bands.iloc[-1]
    for term in ci.index:
        got = [last[f"lower[{term}]"], last[f"upper[{term}]"]]
        np.testing.assert_allclose(got, ci.loc[term], rtol=1e-9, atol=0)


def test_bad_arguments() -> None:
    traj = duolm.trajectory(FORMULA, duolm.datasets.tracking())
    with pytest.raises(ValueError, match=r"alpha"):
        credible_path(traj, alpha=1.5)
    with pytest.raises(ValueError, match=r"sd\[Intercept\]"):
        credible_path(traj.drop(columns="sd[Intercept]"))
