"""Progress of a bench point: requests done, output tok/s and, with meters, J per output token so
far — a bar on a terminal, a line every few seconds otherwise (logs, CI), nothing with --quiet.

The library reports through observer calls; this module only renders them.
"""

from __future__ import annotations

import bisect
import threading
import time

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tokenergy.cli.render import err_console, fmt
from tokenergy.load.client import ClockAnchor, RequestRecord
from tokenergy.load.driver import RunObserver
from tokenergy.meters.base import now_s
from tokenergy.meters.meterset import MeterSet

REDRAW_EVERY_S = 0.1  # a redraw per request would cost the load generator its event loop
ENERGY_EVERY_S = 2.0  # a live energy figure integrates every meter's readings: not too often


class BenchProgress(RunObserver):
    """Counts finished requests and output tokens; shows them, and live energy when metered."""

    def __init__(
        self,
        label: str,
        total: int | None,
        meters: MeterSet | None,
        *,
        terminal: bool,
        line_every_s: float,
    ) -> None:
        self.label, self.total, self.meters = label, total, meters
        self.done = 0
        self.failed = 0
        self.output_tokens = 0
        self.finished_at_s: list[float] = []  # when each successful request ended (now_s) ...
        self.tokens_by_then: list[int] = []  # ... and the output tokens done by then
        self.started = time.monotonic()
        self.metered_from: float | None = None
        self.energy_note = ""
        self.energy_at = 0.0
        self.bar: Progress | None = None
        self.shown = 0.0
        self.stop_lines = threading.Event()
        self.lines: threading.Thread | None = None
        if terminal:
            self.bar = Progress(
                TextColumn("{task.description}", markup=False, style="bold"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rates]}", markup=False),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            )
            self.task = self.bar.add_task(label, total=total, rates="")
            self.bar.start()
        else:
            self.lines = threading.Thread(target=self._line_loop, args=(line_every_s,), daemon=True)
            self.lines.start()

    def on_start(self, anchor: ClockAnchor) -> None:
        self.started = time.monotonic()
        self.metered_from = now_s()

    def on_request_done(self, record: RequestRecord) -> None:
        self.done += 1
        if record.ok:
            self.output_tokens += record.output_tokens
            self.finished_at_s.append(now_s())
            self.tokens_by_then.append(self.output_tokens)
        else:
            self.failed += 1
        if self.bar is not None and time.monotonic() - self.shown >= REDRAW_EVERY_S:
            self.shown = time.monotonic()
            self.bar.update(self.task, completed=self.done, rates=self.rates())

    def on_stop(self, stop_ns: int) -> None:
        self.close()

    def rates(self, fresh: bool = False) -> str:
        """'1,234 output tok/s, 0.52 J/output token so far, 3 failed'."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        parts = [f"{fmt(self.output_tokens / elapsed)} output tok/s"]
        energy = self._energy_note(fresh)
        if energy:
            parts.append(energy)
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)

    def _energy_note(self, fresh: bool = False) -> str:
        if self.meters is None or self.metered_from is None or not self.output_tokens:
            return ""
        if not fresh and time.monotonic() - self.energy_at < ENERGY_EVERY_S:
            return self.energy_note
        self.energy_at = time.monotonic()
        # Energy and tokens over the same window: up to the meters' last reading, not now (the
        # first figure divided ~0 J by the tokens of the first poll interval: 500x too low).
        end_s = self.meters.read_until_s()
        done = 0 if end_s is None else bisect.bisect_right(self.finished_at_s, end_s)
        if end_s is None or end_s <= self.metered_from or not done:
            return self.energy_note
        try:
            measured = self.meters.window(self.metered_from, end_s)
            parts = [part.energy.energy_j() for part in measured.parts]
        except Exception:  # a display must never break the run; the final figure says why
            return self.energy_note
        tokens = self.tokens_by_then[done - 1]
        if tokens and parts and all(part is not None for part in parts):
            joules = sum(part for part in parts if part is not None)
            self.energy_note = f"{fmt(joules / tokens, 3)} J/output token so far"
        return self.energy_note

    def line(self, fresh: bool = False) -> str:
        total = "" if self.total is None else f"/{self.total}"
        elapsed = time.monotonic() - self.started
        return f"{self.label}: {self.done}{total} requests, {self.rates(fresh)}, {elapsed:.0f} s"

    def _line_loop(self, every_s: float) -> None:
        while not self.stop_lines.wait(every_s):
            if self.metered_from is not None:  # nothing to say before the load starts
                err_console.print(self.line(), highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Stop the display; in a log, the point's last line says where it ended."""
        ran = self.metered_from is not None  # on_start was called: the load began
        if self.lines is not None and not self.stop_lines.is_set() and ran:
            self.stop_lines.set()
            err_console.print(self.line(fresh=True), highlight=False, soft_wrap=True)
        self.stop_lines.set()
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
