"""How far long library work has come, told to whoever asked: the library never prints.

Long computations (Monte Carlo draws, ingesting a directory) take an optional ``progress``
callback and call it with a :class:`Progress` as units of work finish — per chunk or per file,
never per draw, so that it costs nothing measurable. Counts only grow, and the last call has
``done == total``. The CLI renders them (cli/work_progress.py); a notebook may ignore them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """``done`` of ``total`` ``unit`` (e.g. draws, files); ``results``: rows read so far, if any."""

    done: int
    total: int
    unit: str
    results: int | None = None


ProgressCallback = Callable[[Progress], None]


class Tally:
    """Accumulates finished units and passes the running count to a callback (if any)."""

    def __init__(self, callback: ProgressCallback | None, total: int, unit: str) -> None:
        self.callback, self.total, self.unit = callback, total, unit
        self.done = 0

    def add(self, units: int, results: int | None = None) -> None:
        self.done += units
        if self.callback is not None:
            self.callback(Progress(self.done, max(self.total, self.done), self.unit, results))

    def finish(self, results: int | None = None) -> None:
        """When the work came out smaller than announced, a last call whose total is what was
        done (an estimate of the total, e.g. files counted before reading, may be off)."""
        if self.done != self.total:
            self.total = self.done
            if self.callback is not None:
                self.callback(Progress(self.done, self.total, self.unit, results))
