"""Posteriors of different models never pool (issue 14, item 4).

``merge`` and ``prior=`` accepted any NIG with the same number of coefficients, so the
posterior of ``y ~ x`` could become the prior of ``y ~ z``: beliefs about one slope
carried over to another by position. A fit's posterior now knows its coefficients' names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import NIG, state
from duolm.errors import PriorError


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=60), "z": rng.normal(size=60)})
    frame["y"] = 1 + 2 * frame.x - frame.z + rng.normal(size=60)
    return frame


def test_a_fits_posterior_knows_its_coefficients(data: pd.DataFrame, tmp_path: Path) -> None:
    post = duolm.bayes("y ~ x", data).posterior
    assert post.terms == ("Intercept", "x")
    assert post.update([1.0, 0.5], 2.0).terms == post.terms
    assert post.forget(0.9).terms == post.terms and post.prior.terms == post.terms
    state.save(post, tmp_path / "p.json")
    assert state.load_posterior(tmp_path / "p.json").terms == post.terms
    streamed = duolm.reduce("y ~ x", [data.iloc[:30], data.iloc[30:]]).bayes().posterior
    assert streamed.terms == ("Intercept", "x")


def test_the_posterior_of_another_formula_is_no_prior(data: pd.DataFrame) -> None:
    post = duolm.bayes("y ~ x", data.iloc[:30]).posterior
    duolm.bayes("y ~ x", data.iloc[30:], prior=post)  # the same model: sequential Bayes
    for fit in (duolm.bayes, duolm.trajectory):
        with pytest.raises(
            PriorError, match=r"coefficients \['Intercept', 'x'\].*has \['Intercept', 'z'\]"
        ):
            fit("y ~ z", data.iloc[30:], prior=post)
    with pytest.raises(PriorError, match="coefficients"):
        duolm.reduce("y ~ z", data).bayes(post)
    renamed = post.named(None)  # the user says: the same coefficients, other names
    duolm.bayes("y ~ z", data.iloc[30:], prior=renamed)


def test_posteriors_of_different_models_do_not_merge(data: pd.DataFrame) -> None:
    prior = NIG.vague(2)
    a = duolm.bayes("y ~ x", data.iloc[:30], prior=prior).posterior
    b = duolm.bayes("y ~ z", data.iloc[30:], prior=prior).posterior
    with pytest.raises(PriorError, match=r"different models.*'x'.*'z'"):
        a.merge(b)
    same = duolm.bayes("y ~ x", data.iloc[30:], prior=prior).posterior
    whole = duolm.bayes("y ~ x", data, prior=prior).posterior
    np.testing.assert_allclose(a.merge(same).m, whole.m, rtol=1e-12, atol=0)


def test_a_bare_nig_still_works_by_position(data: pd.DataFrame) -> None:
    bare = NIG(np.zeros(2), np.eye(2), 2.0, 1.0)
    assert bare.terms is None
    assert duolm.bayes("y ~ z", data, prior=bare).posterior.terms == ("Intercept", "z")
    X = np.column_stack([np.ones(60), data.x])
    assert bare.update(X, data.y).merge(bare.update(X, data.y)).terms is None
