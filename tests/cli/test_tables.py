"""Terminal tables people can read (issue 12 item 6): they fit the terminal by leaving columns
out (never '0.…'), numbers are human, and warnings every row of a file shares are said once."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_cli
from rich.cells import cell_len

from tokenergy.cli import render
from tokenergy.cli.ingest import _table, file_wide_warnings
from tokenergy.cli.render import Column, fitted_table, fmt, make_console
from tokenergy.ingest import IngestOptions, load_results, summary_row
from tokenergy.power import GpuBasis, PowerSpec

GOLDEN = "inferencex/agg/run_20218553330.json"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (80312.4, "80,310"),
        (8.03e4, "80,300"),
        (0.000123456, "0.0001235"),
        (35.8851, "35.89"),
        (0.05, "0.05"),
        (12345678.9, "12,350,000"),
        (-80312.4, "-80,310"),
        (5.48e15, "5.48e+15"),
        (0.0, "0"),
        (1234, "1,234"),
        (None, "—"),
    ],
)
def test_human_numbers(value: float | int | None, text: str) -> None:
    assert fmt(value) == text


def _render(table: Any, width: int) -> str:
    buffer = io.StringIO()
    make_console(file=buffer, width=width).print(table)
    return buffer.getvalue()


def test_a_table_leaves_columns_out_instead_of_cutting_numbers() -> None:
    columns = [Column("name"), *(Column(f"value {i}", "right", True, drop=i) for i in range(1, 9))]
    rows = [["model-a", *(fmt(0.012345 * i) for i in range(1, 9))]]
    text = _render(fitted_table(columns, rows, width=60), 60)
    assert "…" not in text and max(len(line) for line in text.splitlines()) <= 60
    assert "not shown for width: value 5, value 6, value 7," in text  # highest ranks first
    assert "0.01235" in text  # the kept numbers are whole


@pytest.fixture(scope="module")
def golden_rows(shared_data: Path) -> list[dict[str, Any]]:
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    ingested = load_results([shared_data / GOLDEN], options)
    return [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]


@pytest.mark.parametrize("width", [80, 100, 140])
def test_ingest_table_fits_the_terminal(golden_rows: list[dict[str, Any]], width: int) -> None:
    text = _render(_table(golden_rows[:5], file_wide_warnings(golden_rows), width), width)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= width
    assert "J per" in text and "Wh/query" in text and "checks" in text


def test_format_wide_warnings_do_not_make_every_row_warn(
    golden_rows: list[dict[str, Any]],
) -> None:
    """InferenceX rows all lack counts and all publish 1/std(TPOT): a property of the file."""
    wide = file_wide_warnings(golden_rows)
    assert set(next(iter(wide.values()))) == {"counts_present", "reciprocal_spread"}
    text = _render(_table(golden_rows, wide, 250), 250)
    assert " warn " not in text and " pass " in text


def test_check_tally_counts_file_wide_warnings_once(
    cli: Callable[..., Any], shared_data: Path
) -> None:
    done = cli("check", str(shared_data / GOLDEN), "--basis", "allin")
    assert done.code == 0, done.stderr
    assert "150 results: 0 failed, 0 warnings (+2 on every row of a file)" in done.stdout
    assert len(done.stdout.strip().splitlines()) == 3


CHAT = "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("every", [False, True])
def test_frontier_table_fits_the_terminal(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, width: int, every: bool
) -> None:
    """Text wraps, numbers stay whole, nothing passes the terminal's edge (in-process CLI)."""
    monkeypatch.setattr(render.console, "width", width)
    done = run_cli("frontier", shared_data / CHAT, *(["--all"] if every else []))
    frontier = json.loads(run_cli("frontier", shared_data / CHAT, "--json").stdout)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "…" not in done.stdout and max(cell_len(line) for line in lines) <= width
    first = frontier[0]["frontier"][0]
    itl_ms, energy_j = fmt(first["median_itl_s"] * 1000), fmt(first["energy_per_token_j"])
    row = next(line for line in lines if f" {energy_j} " in line)  # the number is whole
    assert f" {itl_ms} " in row
    header = lines[lines.index(next(x for x in lines if "┏" in x)) : lines.index(row)]
    assert any("frontier" in line for line in header) is every  # 'on frontier' only with --all
    if width == 200:  # room for a whole row per line: group, configuration and both numbers
        assert "Qwen3-14B / lm-arena-chat / B200" in row and "bfloat16" in row


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize(
    "args",
    [
        ("compare", "--by", "gpu", "--at-itl", "50ms"),
        ("best", "--max-itl", "50ms"),
    ],
    ids=["compare", "best"],
)
def test_long_numeric_headings_wrap_instead_of_crushing_text_columns(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch, width: int, args: tuple[str, ...]
) -> None:
    """A numeric column never wraps, so a one-line heading such as 'B200: energy per output token
    (J)' used to set its width: the group column shrank to nothing and headings were cut."""
    monkeypatch.setattr(render.console, "width", width)
    done = run_cli(args[0], shared_data / CHAT, *args[1:])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert not any(line.startswith(("┏┳", "┏━┳", "│ │", "││")) for line in lines)
    assert "Qwen3-14B" in done.stdout  # the group column has room for its words
    top = lines.index(next(line for line in lines if "┡" in line))
    words = {word for line in lines[:top] for cell in line.split("┃") for word in cell.split()}
    assert {"output", "token", "(J)"} <= words  # headings whole, not cut at the column's edge


@pytest.mark.parametrize("width", [80, 100])
def test_ingest_table_says_basis_and_boundary_at_any_width(
    shared_data: Path, golden_rows: list[dict[str, Any]], width: int
) -> None:
    """Every number says its basis and boundary: at 100 columns the AIPerf row's J/token was shown
    while its 'measured/accelerator' column was left out for width. One shared by every row is
    said once under the table; rows that differ keep the column at any width."""
    ingested = load_results([shared_data / "peers" / "aiperf-0.13" / "profile_export_aiperf.json"])
    aiperf = [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]
    text = _render(_table(aiperf, file_wide_warnings(aiperf), width), width)
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "0.3805" in text and "energy figures: measured, accelerator" in " ".join(text.split())
    mixed = [*aiperf, *golden_rows[:2]]
    text = _render(_table(mixed, file_wide_warnings(mixed), width), width)
    assert max(cell_len(line) for line in text.splitlines()) <= width
    words = text.split()
    assert "basis," in words and "measured," in words and "provision" in text
