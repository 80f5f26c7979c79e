"""What a sweep reports while it runs (the library never prints; the CLI renders these)."""

from __future__ import annotations

from tokenergy.measure.bench import BenchHooks
from tokenergy.sweep.outcome import ConfigOutcome
from tokenergy.sweep.spec import Configuration


class SweepHooks(BenchHooks):
    """What a caller may show: configuration i/N started and finished (plus the bench hooks)."""

    def config_started(self, index: int, total: int, config: Configuration) -> None:
        """Configuration ``index`` (1-based) of ``total`` is about to launch."""

    def config_done(self, index: int, total: int, outcome: ConfigOutcome, skipped: bool) -> None:
        """It finished (``skipped``: already done in an earlier run, with ``resume``)."""
