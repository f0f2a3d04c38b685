"""duolm.report: one self-contained HTML page, checked as text and in a real browser.

The browser is headless Chromium or Chrome: Debian's chromium (``.ci/setup`` installs it as
root), any of :data:`BROWSERS` on the PATH, or the one that ``DUOLM_BROWSER`` names. Without
one these tests fail, never skip, saying what to do: a report nobody opened is not checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from duolm import NIG, datasets
from duolm.present.report import build_report

PARABOLA = "height ~ I(time**2)"
TITLE = "Radar <script>alert('x')</script> & co"


#: Browser executables accepted for the report test, looked up in this order on the PATH
#: (after the DUOLM_BROWSER environment variable, which names one explicitly).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

BROWSER_HELP = (
    "the HTML report is checked in a real browser (Chromium or Chrome, headless) and none "
    "was found. Either run `bash .ci/setup` as root (it installs Debian's chromium with "
    "apt-get), install one yourself (Debian/Ubuntu: apt-get install chromium), or name an "
    "installed one: DUOLM_BROWSER=/path/to/chromium-or-chrome. Looked for: $DUOLM_BROWSER, "
    + ", ".join(BROWSERS)
)


def find_browser() -> str | None:
    """The browser to use: $DUOLM_BROWSER if set (it must be an executable file), else the
    first of :data:`BROWSERS` on the PATH."""
    named = os.environ.get("DUOLM_BROWSER")
    if named:
        path = shutil.which(named)
        if path is None:
            pytest.fail(f"DUOLM_BROWSER={named!r} is not an executable file; {BROWSER_HELP}")
        return path
    return next((p for p in map(shutil.which, BROWSERS) if p is not None), None)


def chromium() -> str:
    """The browser executable; fails the test (not skip) when there is none."""
    found = find_browser()
    if found is None:
        pytest.fail(BROWSER_HELP)
    return found


def test_the_browser_is_found_by_name_or_by_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "my-chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DUOLM_BROWSER", str(fake))
    assert find_browser() == str(fake)
    monkeypatch.setenv("DUOLM_BROWSER", str(tmp_path / "absent"))
    with pytest.raises(pytest.fail.Exception, match=r"DUOLM_BROWSER=.*not an executable"):
        find_browser()
    monkeypatch.delenv("DUOLM_BROWSER")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_browser() is None
    (tmp_path / "google-chrome").symlink_to(fake)
    assert find_browser() == str(tmp_path / "google-chrome")
    assert "DUOLM_BROWSER=/path/to/" in BROWSER_HELP and "as root" in BROWSER_HELP


def run_chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *extra,
        page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


class _Resources(HTMLParser):
    """Collects every tag and every URL-valued attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[tuple[str, str, str]] = []
        self.img_src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action") and value:
                self.urls.append((tag, name, value))
            if tag == "img" and name == "src" and value:
                self.img_src.append(value)


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    frame = datasets.tracking()
    frame["<em>note</em>"] = "<b>bold?</b>"  # a column the model does not use
    return frame


@pytest.fixture(scope="module")
def page(data: pd.DataFrame) -> str:
    return build_report(
        data,
        PARABOLA,
        prior=NIG.from_xi(np.diag([10000.0, 0.1, 0.1]), 5),
        title=TITLE,
        source="tracking.csv",
    )


@pytest.fixture(scope="module")
def page_file(page: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_the_page_is_complete(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for needle in (
        "OLS Regression Results",
        "Bayesian Regression Results",
        "ols_lower",
        "bayes_lower",
        "Notes in plain words",
        "Durbin-Watson",
        "Description",
        "reference prior",
    ):
        assert needle in page, needle
    for key in ("bands", "evolution", "residuals", "marginals", "influence"):
        assert f'id="fig-{key}"' in page
    for key in ("added-variable", "component-plus-residual"):  # one slope: the data figure
        assert f'id="fig-{key}"' not in page


def test_the_page_is_self_contained(page: str) -> None:
    parser = _Resources()
    parser.feed(page)
    for tag, name, value in parser.urls:
        assert value.startswith(("#", "data:")), f"<{tag} {name}={value[:60]!r}> is external"
    assert len(parser.img_src) == 5
    assert all(src.startswith("data:image/png;base64,") for src in parser.img_src)
    assert "script" not in parser.tags and "link" not in parser.tags
    assert "iframe" not in parser.tags
    lowered = page.lower()
    assert "@import" not in lowered and "url(" not in lowered


def test_user_text_is_escaped(page: str) -> None:
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in page
    assert "<em>note</em>" not in page and "&lt;em&gt;note&lt;/em&gt;" in page
    assert "<b>bold?</b>" not in page and "&lt;b&gt;bold?&lt;/b&gt;" in page


@pytest.mark.slow
def test_a_model_with_several_inputs_gets_a_note_instead_of_bands_and_partial_plots() -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.normal(size=40), "z": rng.normal(size=40)})
    frame["y"] = 2 + frame["x"] + 0.5 * frame["z"] + rng.normal(size=40)
    text = build_report(frame, "y ~ x + z")
    assert "No bands figure" in text and 'id="fig-bands"' not in text
    for key in ("added-variable", "component-plus-residual", "influence"):
        assert f'id="fig-{key}"' in text
    assert text.count("<img ") == 6


def test_chromium_renders_the_tables(page_file: Path, tmp_path: Path) -> None:
    done = run_chromium(page_file, tmp_path / "profile", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.count("<table") >= 8, "the summaries, the data and the intervals are tables"
    assert dom.count("<img") == 5
    for needle in ("OLS Regression Results", "Bayesian Regression Results", "I(time ** 2)"):
        assert needle in dom
    assert "<script>" not in dom


@pytest.mark.slow
def test_chromium_draws_the_page_and_its_images(page_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    done = run_chromium(
        page_file, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,7000"
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = np.asarray(mpimg.imread(shot))[..., :3]
    assert pixels.shape[0] == 7000 and pixels.shape[1] == 1280
    assert float(pixels.std()) > 0.05, "the screenshot is blank"
    # the figures are drawn: the Bayesian colour (matplotlib's C1, #ff7f0e) covers
    # many pixels; the tables and text alone are black, grey, white and two headings
    orange = (
        (np.abs(pixels[..., 0] - 1.0) < 0.08)
        & (np.abs(pixels[..., 1] - 0.498) < 0.12)
        & (pixels[..., 2] < 0.25)
    )
    assert int(orange.sum()) > 5000, f"only {int(orange.sum())} orange pixels: images not drawn"
    blue = (pixels[..., 0] < 0.25) & (np.abs(pixels[..., 1] - 0.467) < 0.1) & (pixels[..., 2] > 0.6)
    assert int(blue.sum()) > 5000, "the least-squares colour (C0) is missing"
