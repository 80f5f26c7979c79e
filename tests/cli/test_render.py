"""Data never drives the terminal (issue 14 items 9, 10): no markup, no emoji codes, no escapes."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from rich.table import Table

from tokenergy.cli.render import clean, error_line, make_console, one_line

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 \x9b2J "
    "[blink red]M[/blink red] :smile: [/x]"
)


def test_clean_strips_escape_sequences_and_controls() -> None:
    assert clean(HOSTILE) == "red link  [blink red]M[/blink red] :smile: [/x]"
    assert clean("a\u202eb\x00c\x07d\x7fe") == "abcde"
    assert clean("two\nlines\tkept") == "two\nlines\tkept"
    assert one_line("first\n  second\r\n\nthird") == "first; second; third"


def test_tables_render_data_literally() -> None:
    buffer = io.StringIO()
    table = Table(title="[bold]title[/] \x1b[2J")
    table.add_column("model")
    table.add_row(HOSTILE)
    make_console(file=buffer, width=200).print(table)
    text = buffer.getvalue()
    assert "[blink red]M[/blink red]" in text and ":smile:" in text and "[/x]" in text
    assert "[bold]title[/]" in text
    assert not any((ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_error_line_is_one_literal_line(capsys: Any) -> None:
    error_line("pip install 'tokenergy[nvidia]'\nsecond [/bold] line \x1b[31m")
    err = capsys.readouterr().err
    assert err == "error: pip install 'tokenergy[nvidia]'; second [/bold] line\n"


def test_markup_in_an_option_value_is_a_one_line_error(cli: Callable[..., Any]) -> None:
    done = cli("convert", "--throughput", "[/x]", "--power", "1kW")
    assert done.code == 2
    assert "[/x]" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_nvml_hint_keeps_the_extra_name(cli: Callable[..., Any]) -> None:
    done = cli("bench", "http://127.0.0.1:9", "--concurrency", "1", "--meter", "nvml")
    assert done.code == 2
    if "nvidia" in done.stderr:  # only where NVIDIA's bindings are absent (always in CI here)
        assert "tokenergy[nvidia]" in done.stderr
