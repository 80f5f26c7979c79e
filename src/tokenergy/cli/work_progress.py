"""Progress of long library work (Monte Carlo draws, files ingested) on stderr.

The library reports :class:`tokenergy.progress.Progress` through a callback; this renders it the
way ``bench`` does: a bar on a terminal, a plain line every ``--progress-every`` seconds otherwise
(logs, CI) and a last line where it ended, nothing with ``--quiet``. stdout (tables, JSON) is
never touched.
"""

from __future__ import annotations

import math
import time
from types import TracebackType
from typing import TYPE_CHECKING

import typer

from tokenergy.cli import render
from tokenergy.errors import ConfigError
from tokenergy.progress import Progress

if TYPE_CHECKING:  # rich is imported when something is shown (not with --quiet)
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

REDRAW_EVERY_S = 0.1  # a bar redrawn more often only costs the work it reports on

QUIET_OPTION = typer.Option(
    False, "--quiet", "-q", help="No progress display (results, warnings and errors remain)."
)
PROGRESS_EVERY_OPTION = typer.Option(
    10.0,
    "--progress-every",
    help="Seconds between progress lines when stderr is not a terminal (logs, CI).",
)


def check_interval(every_s: float) -> float:
    """--progress-every, refused unless a finite number of seconds > 0."""
    if not (math.isfinite(every_s) and every_s > 0):
        raise ConfigError("must be a finite number of seconds > 0", field="--progress-every")
    return every_s


class WorkProgress:
    """A callback for the library's ``progress`` parameter; use it as a context manager."""

    def __init__(self, label: str, *, quiet: bool, every_s: float) -> None:
        self.label, self.quiet, self.every_s = label, quiet, check_interval(every_s)
        self.started = time.monotonic()
        self.shown_at = self.started  # lines: none before the first interval has passed
        self.last: Progress | None = None  # the latest report
        self.printed: Progress | None = None  # the latest line printed
        self.bar: Bar | None = None
        self.task = None if quiet or not render.err_console.is_terminal else self._start_bar()

    def _start_bar(self) -> TaskID:
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        self.bar = Bar(
            TextColumn("{task.description}", markup=False, style="bold"),
            BarColumn(),
            TextColumn("{task.fields[count]}", markup=False),
            TimeElapsedColumn(),
            console=render.err_console,
            transient=True,
        )
        self.bar.start()
        return self.bar.add_task(self.label, total=None, count="")

    def __call__(self, progress: Progress) -> None:
        if self.quiet:
            return
        self.last = progress
        now = time.monotonic()
        if now - self.shown_at < (REDRAW_EVERY_S if self.bar is not None else self.every_s):
            return
        self.shown_at = now
        if self.bar is not None and self.task is not None:
            self.bar.update(
                self.task,
                completed=progress.done,
                total=progress.total,
                count=f"{progress.done:,}/{progress.total:,} {progress.unit}{_results(progress)}",
            )
        else:
            self._line(progress)

    def _line(self, progress: Progress) -> None:
        share = f" ({progress.done / progress.total:.0%})" if progress.total else ""
        elapsed = time.monotonic() - self.started
        render.err_console.print(
            f"{self.label}: {progress.done:,}/{progress.total:,} {progress.unit}{share}"
            f"{_results(progress)}, {elapsed:.0f} s",
            highlight=False,
            soft_wrap=True,
        )
        self.printed = progress

    def close(self) -> None:
        """Stop the bar; in a log that showed progress, a last line says where it ended."""
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
        elif self.printed is not None and self.last is not None and self.last != self.printed:
            self._line(self.last)

    def __enter__(self) -> WorkProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _results(progress: Progress) -> str:
    return "" if progress.results is None else f", {progress.results:,} rows"
