"""The skipped-files summary on a plain stderr (not a terminal) is written without rich: it must
be what err_console would print there, byte for byte; a terminal still gets rich's colours."""

from __future__ import annotations

import io
import sys

import pytest

from tokenergy.cli import render
from tokenergy.cli.ingest import _report_skipped
from tokenergy.cli.render import make_console
from tokenergy.ingest import Ingestion
from tokenergy.ingest.sources import SkippedFile

SKIPPED = [
    SkippedFile("/data/a.md", "not a result file (.md)", failed=False),
    SkippedFile(
        "/data/b.json", "/data/b.json: row 3: field 'x'\n\tis \x1b[31mred\x1b[0m", failed=True
    ),
    SkippedFile("/data/[bold]c[/].csv\x07", "empty array: no rows", failed=False),
]


def _summary(monkeypatch: pytest.MonkeyPatch, console: object | None) -> tuple[str, int]:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    if console is None:
        monkeypatch.delitem(render.__dict__, "err_console", raising=False)
    else:
        monkeypatch.setattr(render, "err_console", console, raising=False)
    code = _report_skipped(Ingestion(skipped=list(SKIPPED)))
    return stderr.getvalue(), code


def test_plain_stderr_gets_what_rich_would_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    plain, code = _summary(monkeypatch, None)
    rich_file = io.StringIO()
    through_rich, rich_code = _summary(monkeypatch, make_console(file=rich_file, stderr=True))
    assert code == rich_code == 2 and through_rich == ""
    assert plain == rich_file.getvalue()
    assert plain.splitlines()[:2] == [
        "skipped 3 file(s), 1 with errors:",
        "  skip: /data/a.md: not a result file (.md)",
    ]


def test_a_terminal_still_gets_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    _summary(monkeypatch, make_console(file=terminal, force_terminal=True))
    assert "\x1b[1;31merror\x1b[0m" in terminal.getvalue()


def test_forced_colour_is_left_to_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delitem(render.__dict__, "err_console", raising=False)
    assert not render.plain_stderr()
