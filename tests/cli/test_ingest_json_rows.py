"""``ingest --format json`` indents a row of plain scalars itself (C-encoded values, then the
layout of ``json.dumps(indent=2)``) and leaves any other row to json (a container value, even a
one-line one, a key that is not a string): every output must be exactly json's, NaN handling
included (→ null: in a file the row's own values, on stdout everywhere)."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenergy.cli.ingest import _finite, _json
from tokenergy.cli.render import _strict


class _Label(StrEnum):
    NODE = "node"


class _Ratio(float):
    def __repr__(self) -> str:
        return "ratio"  # json writes a float subclass by float.__repr__, not its own


def _checks(*statuses: str) -> list[dict[str, Any]]:
    return [
        {"name": f"check_{i}", "status": status, "detail": f'{{"x"}}\n}}\n{{ é ✓ \\ {status}'}
        for i, status in enumerate(statuses)
    ]


ROWS: list[dict[str, Any]] = [
    {"model": "m", "x": 1.5, "status": "pass", "checks": _checks("pass", "warn"), "after": 2},
    {"model": 'a "q"\n, }\n{', "ok": True, "no": False, "none": None, "big": 10**20},
    {"tiny": 1e-7, "huge": 1e16, "neg": -0.0, "third": 1 / 3, "checks": []},
    {"label": _Label.NODE, "ratio": _Ratio(0.25), "checks": _checks("skip")},
    {"nan": math.nan, "checks": _checks("fail")},
    {"inf": -math.inf, "checks": _checks("pass")},
    {"nested": [1, [2, 3]], "checks": _checks("pass")},
    {"empty": [], "also": {}, "tuple": (1, "a"), "checks": _checks("warn", "pass")},
    {"checks": [{"name": "a", "status": "pass", "detail": math.nan}]},
    {"checks": [{}]},
    {"checks": [{"name": "a", "status": "pass", "detail": ["x", "y"]}]},
    {"checks": ["a", "b"]},
    {"checks": None},
    {},
    {"ünïcode": "ü ✓ \u2028", "checks": [{"name": "only"}]},
    # containers json.dumps(indent=2) writes on one line ('[]', '{}') or over lines ([1]), at
    # any depth: never by the row indenting, which writes each value on one line as it stands
    {"x": [1], "checks": _checks("pass")},
    {"x": {"a": 1}, "checks": _checks("pass")},
    {"x": [], "checks": _checks("pass")},
    {"x": {}, "checks": _checks("pass")},
    {"x": [{}], "y": {"a": []}, "z": [[1]], "checks": _checks("pass")},
    {"x": (), "checks": []},
    {"x": [1]},
    {"checks": [{"d": [1]}]},
    {"checks": [{"d": {"a": 1}}]},
    {"checks": [{"d": []}, {"e": {}}]},
    {"checks": [{"d": [{"e": [1]}]}]},
    {"checks": [{"name": "a"}, {}]},
    {"checks": [{"name": "a"}], "x": [1]},
    # keys json writes as strings: 2 → "2", True → "true", None → "null", 1.5 → "1.5"
    {2: "a", True: "b", None: "c", 1.5: "d", "checks": _checks("pass")},
    {"checks": [{1: "a", False: "b", None: "c", 2.5: "d"}]},
]


def _as_json_writes(rows: list[dict[Any, Any]], *, strict: bool) -> str:
    if strict:
        return json.dumps(_strict(rows), indent=2, allow_nan=False) + "\n"
    return json.dumps([{k: _finite(v) for k, v in r.items()} for r in rows], indent=2) + "\n"


@pytest.mark.parametrize("strict", [False, True])
def test_rows_are_indented_as_json_dumps_writes_them(strict: bool) -> None:
    written: list[str] = []
    _json(iter(ROWS), written.append, strict=strict)
    assert "".join(written) == _as_json_writes(ROWS, strict=strict)


@pytest.mark.parametrize("strict", [False, True])
def test_each_row_alone_is_indented_as_json_dumps_writes_it(strict: bool) -> None:
    """Alone, so a row of a key order seen before cannot hide behind that row's layout."""
    for row in ROWS:
        written: list[str] = []
        _json(iter([row]), written.append, strict=strict)
        assert "".join(written) == _as_json_writes([row], strict=strict), row


_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_KEYS = st.sampled_from(["checks", "name", "status", "detail", "x"]) | st.text(max_size=4)
_ODD_KEYS = (
    _KEYS
    | st.integers()
    | st.booleans()
    | st.none()
    | st.floats(allow_nan=False, allow_infinity=False)
)
# mostly scalars (the rows the fast path takes), sometimes a container of any size and depth
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.tuples(inner) | st.dictionaries(_KEYS, inner, max_size=3)
    ),
    max_leaves=6,
)
# as a summary row's (flat dicts, the fast path) or not (empty or holding containers)
_CHECK = st.dictionaries(_ODD_KEYS, _SCALARS, min_size=1, max_size=4) | st.dictionaries(
    _ODD_KEYS, _VALUES, max_size=4
)
_CHECKS = st.lists(_CHECK, max_size=4) | _VALUES
_ROWS = st.lists(
    st.dictionaries(_ODD_KEYS, _VALUES, max_size=6)
    | st.builds(
        lambda row, checks: {**row, "checks": checks},
        st.dictionaries(_KEYS, _SCALARS, max_size=6),
        _CHECKS,
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(rows=_ROWS)
def test_any_rows_are_written_as_json_dumps_writes_them(rows: list[dict[Any, Any]]) -> None:
    """Rows of scalars (the indenting) or holding containers at any depth, odd keys, NaN."""
    for strict in (False, True):
        written: list[str] = []
        _json(iter(rows), written.append, strict=strict)
        assert "".join(written) == _as_json_writes(rows, strict=strict)


def test_a_row_with_nan_in_its_checks_keeps_it_in_a_file() -> None:
    """The file output turns only the row's own non-finite values into null (as before)."""
    written: list[str] = []
    _json(iter(ROWS[8:9]), written.append, strict=False)
    assert '"detail": NaN' in "".join(written)


@pytest.mark.parametrize("strict", [False, True])
def test_no_rows_is_an_empty_array(strict: bool) -> None:
    written: list[str] = []
    _json(iter([]), written.append, strict=strict)
    assert "".join(written) == "[]\n"
