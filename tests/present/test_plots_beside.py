"""plots.evolution_beside: two trajectories drawn from their own columns, on shared limits."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

import duolm
from duolm import plots

FORMULA = "height ~ time + I(time**2)"


def test_each_column_draws_its_own_trajectory_on_shared_limits() -> None:
    data = duolm.datasets.tracking(T=120, manoeuvre_at=60)
    plain = duolm.trajectory(FORMULA, data)
    forgetting = duolm.trajectory(FORMULA, data, forget=0.9)
    fig = plots.evolution_beside(plain, forgetting, titles=("plain", "forget 0.9"))
    try:
        left, right = fig.subfigs
        assert [s._suptitle.get_text() for s in (left, right)] == ["plain", "forget 0.9"]
        for sub, traj in ((left, plain), (right, forgetting)):
            means = [line for ax in sub.axes for line in ax.get_lines() if line.get_gid() == "mean"]
            np.testing.assert_array_equal(means[1].get_ydata(), traj["m[time]"].to_numpy())
        for a, b in zip(left.axes, right.axes, strict=True):
            assert a.get_ylim() == b.get_ylim()
        # the manoeuvre: after it the curvature is a_after / 2 = -0.25; forgetting follows it,
        # the single fit averages it with the +0.25 before
        last_forget = forgetting["m[I(time ** 2)]"].iloc[-1]
        last_plain = plain["m[I(time ** 2)]"].iloc[-1]
        assert abs(last_forget + 0.25) < 0.1 and abs(last_plain + 0.25) > 0.2
    finally:
        plt.close(fig)


def test_trajectories_of_different_models_are_refused() -> None:
    data = duolm.datasets.tracking()
    a = duolm.trajectory("height ~ time", data)
    b = duolm.trajectory(FORMULA, data)
    with pytest.raises(ValueError, match="same model"):
        plots.evolution_beside(a, b)
    assert plt.get_fignums() == []
