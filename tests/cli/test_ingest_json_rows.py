"""``ingest --format json`` indents each row itself (C-encoded values, then the layout of
``json.dumps(indent=2)``) and falls back to json for rows of another shape: every output must
be exactly json's, NaN handling included (→ null: in a file the row's own values, on stdout
everywhere)."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

import pytest

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
]


@pytest.mark.parametrize("strict", [False, True])
def test_rows_are_indented_as_json_dumps_writes_them(strict: bool) -> None:
    written: list[str] = []
    _json(iter(ROWS), written.append, strict=strict)
    if strict:
        expected = json.dumps(_strict(ROWS), indent=2, allow_nan=False)
    else:
        expected = json.dumps([{k: _finite(v) for k, v in r.items()} for r in ROWS], indent=2)
    assert "".join(written) == expected + "\n"


def test_a_row_with_nan_in_its_checks_keeps_it_in_a_file() -> None:
    """The file output turns only the row's own non-finite values into null (as before)."""
    written: list[str] = []
    _json(iter(ROWS[8:9]), written.append, strict=False)
    assert '"detail": NaN' in "".join(written)
