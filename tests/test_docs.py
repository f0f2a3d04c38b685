"""docs/lecture.md: every ```python block runs, in order, in one namespace.

The guide tells the lecture with duolm; running its code here means a change
to the library that breaks a formula, a name or a figure of the guide fails
the suite instead of leaving the guide silently wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "lecture.md"
_FENCE = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """The ```python blocks of a Markdown text, with the line each starts on."""
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in _FENCE.finditer(text)]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    plt.close("all")


def test_blocks_are_found() -> None:
    blocks = python_blocks(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 20
    sample = "intro\n```python\nx = 1\n```\ntext\n```bash\nls\n```\n```python\ny = x\n```\n"
    assert python_blocks(sample) == [(3, "x = 1\n"), (10, "y = x\n")]


@pytest.mark.slow
def test_every_python_block_runs(in_tmp: Path) -> None:
    before = set(plt.get_fignums())  # another test in this process may have left some
    namespace: dict[str, object] = {"__name__": "lecture_guide"}
    for line, code in python_blocks(GUIDE.read_text(encoding="utf-8")):
        compiled = compile(code, f"{GUIDE.name}:{line}", "exec")
        try:
            exec(compiled, namespace)
        except Exception as exc:  # name the block that failed
            raise AssertionError(
                f"the block at docs/lecture.md line {line} failed: {exc!r}"
            ) from exc
    written = {p.name for p in in_tmp.glob("*.png")}
    # each figure of the lecture is drawn by the guide
    for name in (
        "anscombe.png",
        "tracking-scatter.png",
        "tracking-line.png",
        "tracking-parabola.png",
        "prior-nig.png",
        "tracking-bayes.png",
        "manoeuvre-forgetting.png",
        "manoeuvre-changepoints.png",
    ):
        assert name in written, f"the guide did not draw {name}"
    assert set(plt.get_fignums()) <= before, "the guide leaves figures open"


def test_guide_names_the_lecture_slips() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert "T - p + 1" in text and "SSE/(T - k)" in text
    assert "all slope coefficients are zero" in text
    assert "-(a + 1 + k/2)" in text
    assert "centered_tss" in text and "`ess`" in text
