"""duolm's own JSON files, read and written one way (duolm._files): every reader refuses a
JSON bomb and a foreign file with a StateFileError; writes are atomic.

Online states had their own reader without the depth limit that saved fits have: a
nested-bracket file raised RecursionError from Online.load.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import state
from duolm._files import MAX_DEPTH, read_document, write_json_atomic
from duolm.errors import StateFileError


def _readers() -> dict[str, object]:
    return {
        "load_posterior": state.load_posterior,
        "load_bayes": state.load_bayes,
        "load_fit": state.load_fit,
        "Online.load": duolm.Online.load,
    }


@pytest.mark.parametrize("name", list(_readers()))
def test_every_reader_refuses_a_json_bomb(name: str, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.json"
    bomb.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StateFileError, match=f"nests deeper than {MAX_DEPTH} levels"):
        _readers()[name](bomb)  # type: ignore[operator]


@pytest.mark.parametrize("name", list(_readers()))
def test_every_reader_refuses_a_foreign_or_newer_file(name: str, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "something-else", "version": 1}))
    with pytest.raises(StateFileError, match="is not a duolm"):
        _readers()[name](foreign)  # type: ignore[operator]


def test_online_state_round_trips_through_the_shared_writer(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=30)})
    frame["y"] = 1 + frame.x + rng.normal(size=30)
    online = duolm.Online("y ~ x")
    online.update(frame)
    online.save(tmp_path / "o.json")
    back = duolm.Online.load(tmp_path / "o.json")
    np.testing.assert_array_equal(back.posterior.m, online.posterior.m)
    newer = json.loads((tmp_path / "o.json").read_text())
    newer["version"] = 99
    (tmp_path / "o.json").write_text(json.dumps(newer))
    with pytest.raises(StateFileError, match="newer duolm"):
        duolm.Online.load(tmp_path / "o.json")


def test_writes_are_atomic_and_keep_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "doc.json"
    write_json_atomic({"format": "f", "version": 1, "x": [1.5]}, target)
    target.chmod(0o640)
    write_json_atomic({"format": "f", "version": 1, "x": [2.5]}, target)
    assert target.stat().st_mode & 0o777 == 0o640
    assert read_document(target, "f", 1, "a test file")["x"] == [2.5]
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]  # no temporary file left
    with pytest.raises(TypeError):
        write_json_atomic({"x": object()}, target)
    assert read_document(target, "f", 1, "a test file")["x"] == [2.5]  # the old file stays
    assert [p.name for p in tmp_path.iterdir()] == ["doc.json"]
