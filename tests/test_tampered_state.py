"""Tampered state and prior files: every failure is a StateFileError (issue 14, item 7).

A tamperer can recompute the checksum (it is no secret), so each test rewrites the
payload and its ``sha256``: JSON nested beyond the depth limit (a "JSON bomb", which
made Python's parser raise RecursionError), tags naming dtypes that would allocate
gigabytes, unknown or malformed tags, ragged arrays.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import duolm
from duolm import state
from duolm.errors import StateFileError


def saved_fit(tmp_path: Path, array: bool = True) -> tuple[Path, dict[str, Any]]:
    """A saved fit; with ``array`` the knots of ``bs(x)`` are re-tagged as a float64 array
    (what :func:`state._encode` writes for an ndarray in a transform's state)."""
    rng = np.random.default_rng(7)
    data = pd.DataFrame({"x": rng.uniform(0, 10, 40), "g": list("abcd") * 10})
    data["y"] = 1 + 0.5 * data.x + rng.normal(size=40)
    fit = duolm.bayes("y ~ bs(x, df=4) + center(x) + g", data)
    path = tmp_path / "post.json"
    state.save(fit, path)
    doc = json.loads(path.read_text())
    if array:
        states = dict(
            (k, v) for k, v in doc["payload"]["design"]["rhs"]["transform_state"]["__dict__"]
        )
        for entry in states["bs(x, df=4)"]["__dict__"]:
            if entry[0] == "knots":
                entry[1] = {"__ndarray__": entry[1], "dtype": "float64"}
        rewrite(path, doc)
    return path, doc


def rewrite(path: Path, doc: dict[str, Any]) -> None:
    doc["sha256"] = state._digest(doc["kind"], doc["payload"])
    path.write_text(json.dumps(doc))


def find_tag(node: Any, tag: str) -> dict[str, Any]:
    """The first dict holding ``tag`` in a decoded JSON tree."""
    if isinstance(node, dict):
        if tag in node:
            return node
        children = list(node.values())
    elif isinstance(node, list):
        children = node
    else:
        children = []
    for child in children:
        try:
            return find_tag(child, tag)
        except LookupError:
            continue
    raise LookupError(tag)


def test_a_saved_fit_with_arrays_and_tags_still_loads(tmp_path: Path) -> None:
    path, doc = saved_fit(tmp_path)
    assert find_tag(doc, "__ndarray__")  # the knots of bs(x) are a tagged array
    back = state.load_bayes(path)
    assert isinstance(back, duolm.BayesResults)
    knots = back.spec._rhs_spec.transform_state["bs(x, df=4)"]["knots"]
    assert isinstance(knots, np.ndarray) and knots.dtype == np.float64 and knots.shape == (9,)


@pytest.mark.parametrize("depth", [100, 100_000])
@pytest.mark.parametrize("where", ["payload", "top"])
def test_a_json_bomb_is_a_state_file_error(tmp_path: Path, depth: int, where: str) -> None:
    path, doc = saved_fit(tmp_path)
    bomb = "[" * depth + "]" * depth
    if where == "top":
        path.write_text(bomb)
    else:
        text = json.dumps(doc).replace('"label": "', f'"extra": {bomb}, "label": "', 1)
        path.write_text(text)
    with pytest.raises(StateFileError, match="nests deeper than 64 levels"):
        state.load_bayes(path)


def test_brackets_inside_strings_do_not_count(tmp_path: Path) -> None:
    path, doc = saved_fit(tmp_path)
    doc["payload"]["posterior"]["label"] = "[" * 500 + '\\"{'
    rewrite(path, doc)
    assert state.load_bayes(path).posterior.label.startswith("[[[")


@pytest.mark.parametrize(
    "dtype",
    ["(100000,100000)f8", "V60000000000", "object", "O", "U100000000", "S8", "M8[ns]", 3],
)
def test_an_array_tag_with_a_foreign_dtype_is_refused_before_allocating(
    tmp_path: Path, dtype: object
) -> None:
    path, doc = saved_fit(tmp_path)
    find_tag(doc["payload"], "__ndarray__")["dtype"] = dtype
    rewrite(path, doc)
    with pytest.raises(StateFileError, match=r"an array's dtype .* is not one of"):
        state.load_bayes(path)


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        ([[1.0, 2.0], [3.0]], "not rectangular"),
        ([1.0, "2"], "entries are not numbers"),
        ([1.0, None], "entries are not numbers"),
        ([[1.0], 2.0], "not rectangular"),
        ({"a": 1}, "entries are not numbers"),
    ],
)
def test_an_array_tag_with_bad_entries_is_refused(
    tmp_path: Path, entries: object, match: str
) -> None:
    path, doc = saved_fit(tmp_path)
    tag = find_tag(doc["payload"], "__ndarray__")
    tag["__ndarray__"] = entries
    rewrite(path, doc)
    with pytest.raises(StateFileError, match=match):
        state.load_bayes(path)


def test_an_array_tag_whose_entries_overflow_its_dtype_is_refused(tmp_path: Path) -> None:
    path, doc = saved_fit(tmp_path)
    tag = find_tag(doc["payload"], "__ndarray__")
    tag["__ndarray__"], tag["dtype"] = [1, 300], "int8"
    rewrite(path, doc)
    with pytest.raises(StateFileError, match="entries do not fit dtype int8"):
        state.load_bayes(path)


@pytest.mark.parametrize(
    ("tag", "match"),
    [
        ({"__pickle__": "gASV"}, "unknown tagged value"),
        ({"__tuple__": 5}, "unknown tagged value"),
        ({"__tuple__": [1], "extra": 2}, "unknown tagged value"),
        ({"__dict__": [[1, 2, 3]]}, r"\[key, value\] pairs"),
        ({"__dict__": [[{"__dict__": []}, 1]]}, "not hashable"),
        ({"__float__": "1e5"}, "not inf, -inf or nan"),
        ({"__float__": 7}, "not inf, -inf or nan"),
        ({"__ndarray__": [1.0]}, "unknown tagged value"),
    ],
)
def test_every_tag_is_validated(tmp_path: Path, tag: dict[str, Any], match: str) -> None:
    path, doc = saved_fit(tmp_path)
    rhs = doc["payload"]["design"]["rhs"]
    rhs["transform_state"] = tag
    rewrite(path, doc)
    with pytest.raises(StateFileError, match=match):
        state.load_bayes(path)


def test_a_malformed_design_side_is_a_state_file_error(tmp_path: Path) -> None:
    path, doc = saved_fit(tmp_path)
    doc["payload"]["design"]["rhs"] = ["not", "an", "object"]
    rewrite(path, doc)
    with pytest.raises(StateFileError, match="cannot rebuild the design"):
        state.load_bayes(path)


def test_a_prior_file_bomb_is_a_state_file_error(tmp_path: Path) -> None:
    from duolm.cli._prior import parse_prior

    path = tmp_path / "prior.json"
    path.write_text('{"m": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(StateFileError, match="nests deeper than 64 levels"):
        parse_prior(str(path))
    path.write_text('{"m": [0, 0], "V": ')
    with pytest.raises(StateFileError, match="not valid JSON"):
        parse_prior(str(path))


def test_a_saved_least_squares_fit_is_guarded_too(tmp_path: Path) -> None:
    data = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) ** 1.5})
    path = tmp_path / "ols.json"
    state.save(duolm.ols("y ~ x", data), path)
    doc = json.loads(path.read_text())
    text = json.dumps(doc).replace(
        '"method": ', '"extra": ' + "[" * 10_000 + "]" * 10_000 + ', "method": ', 1
    )
    path.write_text(text)
    with pytest.raises(StateFileError, match="nests deeper than 64 levels"):
        state.load_fit(path)
    doc["payload"]["design"]["rhs"]["transform_state"] = {"__ndarray__": [1], "dtype": "V99999999"}
    rewrite(path, doc)
    with pytest.raises(StateFileError, match=r"an array's dtype"):
        state.load_fit(path)


def test_a_ragged_matrix_under_a_valid_checksum_is_a_state_file_error(tmp_path: Path) -> None:
    """A foreign writer's ragged matrix raised numpy's own ValueError from load_posterior
    and load_bayes ("inhomogeneous shape"), not a StateFileError naming the file."""
    path, doc = saved_fit(tmp_path, array=False)
    refined = doc["payload"]["posterior"]["refined"]
    assert refined is not None
    refined["V"][0] = []
    rewrite(path, doc)
    for load in (state.load_posterior, state.load_bayes):
        with pytest.raises(StateFileError, match=r"corrupt state file .*post\.json"):
            load(path)
