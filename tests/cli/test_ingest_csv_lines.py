"""``ingest --format csv`` writes each line itself (a %-template per sequence of cell types) and
falls back to csv.writer for a row with a cell that needs quoting: every line must be what
csv.writer writes, whatever the cells hold."""

from __future__ import annotations

import csv
import io
import math
from enum import StrEnum
from typing import Any

import pytest

from tokenergy.cli.ingest import _csv, _CsvLines
from tokenergy.ingest.checks import Finding, Spellings, Status


class _Label(StrEnum):
    NODE = "node"


class _Ratio(float):
    def __repr__(self) -> str:  # csv.writer writes a float (subclass too) by repr
        return f"ratio({float(self)})"


CELLS: list[Any] = [
    "plain",
    "a, comma",
    'a "quote"',
    "two\nlines",
    "carriage\rreturn",
    "",
    " padded ",
    "None",
    "nul\x00byte",
    "ü ✓",
    None,
    True,
    False,
    0,
    -12,
    10**20,
    0.1,
    1 / 3,
    1e-7,
    1e16,
    123456789012345.0,
    -0.0,
    math.nan,
    math.inf,
    -math.inf,
    _Label.NODE,
    _Ratio(0.5),
    [1, 2],
    {"a": 1},
    (1, "x"),
]


def _row(first: Any, second: Any, status: str, number: int) -> dict[str, Any]:
    return {
        "model": "m",
        "first": first,
        "status": status,
        "second": second,
        "row": number,
        "checks": [
            Finding("total_is_sum", Status.PASS, "ok"),
            Finding("failure_rate", Status.SKIP, "no counts"),
            Finding("counts_present", Status.WARN, "none"),
        ],
    }


@pytest.mark.parametrize("status", ["pass", "warn", "fail"])
def test_lines_are_what_csv_writer_writes(status: str) -> None:
    rows = [_row(a, b, status, i) for i, (a, b) in enumerate(zip(CELLS, CELLS[::-1], strict=True))]
    rows += [_row(a, a, status, len(rows) + i) for i, a in enumerate(CELLS)]  # templates again
    spill = _CsvLines(None)
    spellings = Spellings()
    spellings.add("m", "m")
    for row in rows:
        spill.append(row, ("m", "m"))
    spill.commit()
    written: list[str] = []
    _csv(spill.lines(spellings, descending=False, top=None), spill.header, written.append)

    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(["model", "first", "status", "second", "row", "checks"])
    checks = "total_is_sum:pass;counts_present:warn;model_spellings:pass"
    for row in rows:
        writer.writerow([row["model"], row["first"], status, row["second"], row["row"], checks])
    assert "".join(written) == expected.getvalue()


def test_status_last_and_no_lines() -> None:
    spill = _CsvLines(None)
    spellings = Spellings()
    spellings.add("m", "m")
    written: list[str] = []
    _csv(spill.lines(spellings, descending=False, top=None), spill.header, written.append)
    assert "".join(written) == ""  # nothing at all without rows, not even the header
    spill.append({"model": "a,b", "x": 1.5, "status": "pass", "checks": []}, ("m", "m"))
    _csv(spill.lines(spellings, descending=False, top=None), spill.header, written.append)
    assert "".join(written) == 'model,x,status,checks\r\n"a,b",1.5,pass,model_spellings:pass\r\n'


def test_a_row_missing_a_column_has_an_empty_cell_and_one_column_works() -> None:
    spellings = Spellings()
    spellings.add("m", "m")
    spill = _CsvLines(None)
    spill.append({"model": "a", "x": 1.5, "status": "pass", "checks": []}, ("m", "m"))
    spill.append({"status": "warn", "model": "b", "extra": 3, "checks": []}, ("m", "m"))
    written: list[str] = []
    _csv(spill.lines(spellings, descending=False, top=None), spill.header, written.append)
    assert "".join(written) == (
        "model,x,status,checks\r\na,1.5,pass,model_spellings:pass\r\n"
        "b,,warn,model_spellings:pass\r\n"
    )
    alone = _CsvLines(None)
    alone.append({"status": "fail", "checks": []}, ("m", "m"))
    written = []
    _csv(alone.lines(spellings, descending=False, top=None), alone.header, written.append)
    assert "".join(written) == "status,checks\r\nfail,model_spellings:pass\r\n"


def test_quoting_columns_learnt_row_by_row_write_what_csv_writer_writes() -> None:
    """A column whose text needed quotes is filled quoted from then on; a cell of another column
    that needs them is still found (its column joins), and a quoted cell's own commas, quotes
    and line breaks do not hide another's."""
    cells = [
        ("plain", "a, b", 1.5),
        ("plain", "plain", 2.5),
        ('x"y', "plain", None),
        ("plain", 'a, "b"', 3.5),
        ("a,b", "c\nd", 4.5),
        ("e\rf", None, 5.5),
        ("plain", "a, b", 6.5),
    ]
    rows = [
        {"model": m, "status": "pass", "method": method, "x": x, "checks": []}
        for m, method, x in cells
    ]
    spill = _CsvLines(None)
    spellings = Spellings()
    spellings.add("m", "m")
    for row in rows:
        spill.append(row, ("m", "m"))
    written: list[str] = []
    _csv(spill.lines(spellings, descending=False, top=None), spill.header, written.append)
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(["model", "status", "method", "x", "checks"])
    for m, method, x in cells:
        writer.writerow([m, "pass", method, x, "model_spellings:pass"])
    assert "".join(written) == expected.getvalue()
