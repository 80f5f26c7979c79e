"""Rendering helpers shared by the commands: safe consoles, number formatting, JSON output.

Every string the CLI prints may hold data (model names, file names, option values, server
replies), so the consoles here never interpret text: no rich markup (``[/x]`` would crash or
restyle), no emoji codes, and control characters (ANSI/OSC sequences that recolour, retitle or
hyperlink a terminal) are stripped. Styling is applied with :func:`styled`, never with markup.

rich is imported when a console, a table or styled text is first made (``console`` and
``err_console`` are made on first use): an ingest to CSV or JSON with ``--quiet`` prints
nothing through rich, and rich.console and rich.table cost ~20 ms of its start-up.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import (
        Console,
        HighlighterType,
        JustifyMethod,
        OverflowMethod,
        RenderableType,
    )
    from rich.style import Style
    from rich.table import Table
    from rich.text import Text

    console: Console  # each made on first use (module __getattr__)
    err_console: Console

_PIPED_WIDTH = 250  # tables written to a pipe or file are read by people later: do not truncate

# ECMA-48 escape sequences (CSI, OSC up to BEL/ST, two-byte ESC forms), their 8-bit C1 forms,
# then any remaining C0/C1 control, DEL, and the bidirectional overrides that reorder text.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x90\x98\x9d\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: object) -> str:
    """Data made safe for a terminal: escape sequences and control characters removed.

    Newlines and tabs stay (captions are multi-line); :func:`one_line` folds them.
    """
    return _CONTROLS.sub("", _ESCAPES.sub("", str(text)))


def one_line(text: object) -> str:
    """:func:`clean`, with line breaks folded into '; ' (error and warning lines)."""
    lines = [line.strip() for line in clean(text).replace("\t", " ").splitlines()]
    return "; ".join(line for line in lines if line)


def styled(text: object, style: str | Style = "") -> Text:
    """Coloured text without markup: the text is data, only the style is ours."""
    from rich.text import Text

    return Text(clean(text), style=style)


@cache
def _safe_console_class() -> type[Console]:
    """SafeConsole, defined when rich is first needed."""
    from rich.console import Console

    class SafeConsole(Console):
        """A rich console that renders every string literally (see the module docstring)."""

        def render_str(
            self,
            text: str,
            *,
            style: str | Style = "",
            justify: JustifyMethod | None = None,
            overflow: OverflowMethod | None = None,
            emoji: bool | None = None,
            markup: bool | None = None,
            highlight: bool | None = None,
            highlighter: HighlighterType | None = None,
        ) -> Text:
            return super().render_str(
                clean(text),
                style=style,
                justify=justify,
                overflow=overflow,
                emoji=False,
                markup=False,
                highlight=highlight,
                highlighter=highlighter,
            )

    return SafeConsole


def _stdout_width() -> int | None:
    """Terminal width when interactive (rich decides); wide when piped or redirected."""
    return None if sys.stdout.isatty() else _PIPED_WIDTH


def make_console(**kwargs: Any) -> Console:
    """A safe console (for files too: ``make_console(file=handle, width=250)``)."""
    return _safe_console_class()(markup=False, emoji=False, **kwargs)


def __getattr__(name: str) -> Console:
    """``console`` (stdout) and ``err_console`` (stderr), each made once, when first used."""
    if name == "console":
        made = make_console(width=_stdout_width())
    elif name == "err_console":
        made = make_console(stderr=True)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = made
    return made


def _made(name: str) -> Console:
    """``console`` or ``err_console`` for this module's own use (a module's names are not
    looked up through its ``__getattr__`` from inside it)."""
    made: Console | None = globals().get(name)
    return made if made is not None else __getattr__(name)


def plain_stderr() -> bool:
    """Whether ``err_console`` would write plain text: stderr is not a terminal and nothing makes
    rich treat it as one (FORCE_COLOR, TTY_COMPATIBLE=1, a notebook). Lines for such a stderr
    are written as they are, without importing rich (~30 ms: ingest's skipped-files summary)."""
    if "err_console" in globals() or "IPython" in sys.modules:
        return False  # made already (or replaced, as tests do): print through it
    if "FORCE_COLOR" in os.environ or os.environ.get("TTY_COMPATIBLE") == "1":
        return False
    try:
        return not sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stream, or a closed one
        return False


def error_line(message: str) -> None:
    """One line, no traceback: the contract for bad input (exit code set by the caller)."""
    _made("err_console").print(
        styled("error: ", "bold red"), one_line(message), sep="", highlight=False, soft_wrap=True
    )


def warn(message: str) -> None:
    _made("err_console").print(
        styled("warning: ", "yellow"), one_line(message), sep="", highlight=False, soft_wrap=True
    )


def echo(text: str) -> None:
    """A plain line on stdout (no rich layout), cleaned like everything else."""
    sys.stdout.write(clean(text) + "\n")


def fmt(value: float | int | None, digits: int = 4) -> str:
    """A number as people read it: ``digits`` significant digits, no exponent between 1e-9 and
    1e15 ('80,310' rather than '8.031e+04', '0.0001234' rather than '1.234e-04'); '—' unknown."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude == 0 or 1e-4 <= magnitude < 10**digits:
        return f"{value:.{digits}g}"
    if 10**digits <= magnitude < 1e15:
        exponent = math.floor(math.log10(magnitude))
        return f"{round(value, digits - 1 - exponent):,.0f}"
    if 1e-9 <= magnitude < 1e-4:
        decimals = digits - 1 - math.floor(math.log10(magnitude))
        return f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{value:.{digits}g}"


HEADING_WIDTH = 12  # 'energy per' / 'output token' / '(J)': about as wide as the numbers


@dataclass(frozen=True)
class Column:
    """A table column: numbers never wrap or shorten to '0.…'; when the table is wider than the
    terminal, columns with the highest ``drop`` rank go first (0: always shown)."""

    header: str
    justify: JustifyMethod = "left"
    numeric: bool = False
    drop: int = 0


def fitted_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[RenderableType]],
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> Table:
    """A table that fits ``width`` (default: the terminal) by leaving out columns, never by
    cutting numbers; the caption names what was left out."""
    available = width if width is not None else _made("console").width
    columns = [
        _wrapped_heading(column, [row[i] for row in rows]) for i, column in enumerate(columns)
    ]
    kept = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: -columns[i].drop)
    minimum = [_min_width(column, [row[i] for row in rows]) for i, column in enumerate(columns)]
    while sum(minimum[i] + 3 for i in kept) + 1 > available and droppable:
        kept.remove(droppable.pop(0))
    table = _table_of(columns, rows, kept, title)
    hidden = [columns[i].header.replace("\n", " ") for i in range(len(columns)) if i not in kept]
    lines = [caption] if caption else []
    if hidden:
        lines.append(f"not shown for width: {', '.join(hidden)} (a wider terminal, --json or csv)")
    table.caption = "\n".join(lines) or None
    return table


def _wrapped_heading(column: Column, cells: Sequence[RenderableType]) -> Column:
    """A numeric column never wraps, its heading included: a long one-line heading ('B200: energy
    per output token (J)') would set the column's width and crush the text columns, so it is put
    on several lines about as wide as the numbers (at least HEADING_WIDTH)."""
    if not column.numeric:
        return column
    width = max(HEADING_WIDTH, _min_width(column, cells))
    lines = [part for line in column.header.split("\n") for part in textwrap.wrap(line, width)]
    return replace(column, header="\n".join(lines) or column.header)


def _min_width(column: Column, cells: Sequence[RenderableType]) -> int:
    """Narrowest the column can be without cutting: whole numbers, the longest word of text."""
    from rich.cells import cell_len
    from rich.text import Text

    words = [cell_len(word) for line in column.header.split("\n") for word in line.split()]
    for cell in cells:
        text = cell.plain if isinstance(cell, Text) else str(cell)
        if column.numeric:
            words.append(cell_len(text))
        else:
            words.extend(cell_len(word) for word in text.split())
    return max(words, default=1)


def _table_of(
    columns: Sequence[Column],
    rows: Sequence[Sequence[RenderableType]],
    kept: list[int],
    title: str | None,
) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for index in kept:
        column = columns[index]
        table.add_column(
            column.header,
            justify=column.justify,
            no_wrap=column.numeric,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*(row[index] for index in kept))
    return table


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    return value


def json_text(payload: Any) -> str:
    """Strict indented JSON (NaN/inf become null so every consumer can parse it).

    ``json.dumps`` escapes control characters, so data cannot reach the terminal raw.
    """
    return json.dumps(_strict(payload), indent=2, allow_nan=False)


def print_json(payload: Any) -> None:
    """Strict JSON on stdout (see :func:`json_text`)."""
    sys.stdout.write(json_text(payload) + "\n")
