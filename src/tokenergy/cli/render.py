"""Rendering helpers shared by the commands: consoles, number formatting, JSON output."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

_PIPED_WIDTH = 250  # tables written to a pipe or file are read by people later: do not truncate


def _stdout_width() -> int | None:
    """Terminal width when interactive (rich decides); wide when piped or redirected."""
    return None if sys.stdout.isatty() else _PIPED_WIDTH


console = Console(width=_stdout_width())
err_console = Console(stderr=True)


def error_line(message: str) -> None:
    """One line, no traceback: the contract for bad input (exit code set by the caller)."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    err_console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def fmt(value: float | int | None, digits: int = 4) -> str:
    """Significant-digit formatting for tables; '—' for unknown."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    return value


def print_json(payload: Any) -> None:
    """Strict JSON on stdout (NaN/inf become null so every consumer can parse it)."""
    sys.stdout.write(json.dumps(_clean(payload), indent=2, allow_nan=False) + "\n")
