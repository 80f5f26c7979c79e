"""When the engine may hold its next step for a closed-loop client's next request.

A closed-loop client sends its next request right after one finishes; the wall time it takes
(reading the last chunk, sending the next request) would become ``speed``× simulated time with
the batch one short, so J/token would rise with ``speed``. The engine therefore holds (no
simulated time passes) while freed slots are owed a follow-up. An open-loop client's arrivals
are its own schedule, not follow-ups, and must not be pulled forward: an arrival that no freed
slot owes (after the first completion since idle, i.e. not the start-up ramp) marks the client
as open-loop and stops holds until the engine next idles. A hold that expires (a slow client)
stops holds until the owed follow-ups have arrived.

Modes (``sim serve --closed-loop-hold``): ``auto`` as above; ``on`` trusts that the client is a
closed loop (no open-loop detection: a slow start-up ramp that overlaps the first completions
cannot switch holds off); ``off`` never holds (the clients' wall time is simulated time).
"""

from __future__ import annotations

from enum import StrEnum

HOLD_WAIT_S = 0.5  # wall seconds a hold lasts at most (a closed-loop client's turnaround)


class HoldMode(StrEnum):
    AUTO = "auto"
    ON = "on"
    OFF = "off"


class ClosedLoopHold:
    def __init__(self, mode: HoldMode = HoldMode.AUTO) -> None:
        self.mode = mode
        self.owed = 0  # freed slots whose client has not sent its next request yet
        self.open_loop = False
        self._expired = False
        self._finished_since_idle = False

    @property
    def should_hold(self) -> bool:
        if self.mode is HoldMode.OFF:
            return False
        return self.owed > 0 and not self.open_loop and not self._expired

    def freed(self) -> None:
        """A sequence finished or was aborted."""
        self.owed += 1
        self._finished_since_idle = True

    def arrived(self) -> None:
        """A sequence was submitted."""
        if self.owed:
            self.owed -= 1
            if not self.owed:
                self._expired = False
        elif self._finished_since_idle and self.mode is HoldMode.AUTO:
            self.open_loop = True

    def expired(self) -> None:
        self._expired = True

    def idle(self) -> None:
        """Nothing runs or waits: the next arrivals start a new ramp."""
        self.owed = 0
        self.open_loop = self._expired = self._finished_since_idle = False
