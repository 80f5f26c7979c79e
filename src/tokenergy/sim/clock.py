"""The simulated clock: runs ``speed``× faster than the wall clock, and never counts event-loop
lag or the sim's own processing as simulated time.

While the engine is idle, simulated time advances at speed × wall time. While it is busy, steps
are back to back in simulated time: a step of duration d occupies exactly d simulated seconds
(the engine sleeps d/speed wall seconds), and whatever wall time the event loop takes between
steps is not simulated. So energy per token does not depend on ``speed`` or on this machine.
"""

from __future__ import annotations

import time

_MAX_CATCH_UP_S = 0.05  # wall lag beyond which a busy engine stops trying to catch up


class SimClock:
    def __init__(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._anchor_sim_s = 0.0
        self._anchor_wall_s = time.monotonic()
        self._wall_start_s = self._anchor_wall_s
        self._cap_s: float | None = None  # busy: end of the current (or just finished) step
        self._step_wall_s = 0.0

    def now_s(self) -> float:
        """Current simulated time in seconds since the sim started."""
        elapsed_s = (time.monotonic() - self._anchor_wall_s) * self.speed
        if self._cap_s is not None:
            return min(self._anchor_sim_s + max(0.0, elapsed_s), self._cap_s)
        return self._anchor_sim_s + elapsed_s

    def wall_elapsed_s(self) -> float:
        """Wall seconds since the sim started (sim time / wall time = the effective speed)."""
        return time.monotonic() - self._wall_start_s

    def begin_step(self, duration_s: float, earliest_s: float) -> tuple[float, float]:
        """Start a step: right after the previous one when busy, else at ``earliest_s`` (the
        arrival that woke the engine, so waking up costs no simulated time).

        Returns its simulated start and the wall seconds to sleep until its end. When busy, the
        wall deadline continues from the previous step's deadline, so the sim's own processing
        between steps is absorbed instead of slowing the stream (unless it is far behind).
        """
        wall_now_s = time.monotonic()
        if self._cap_s is not None:
            start_s = self._cap_s
            wall_start_s = self._anchor_wall_s + self._step_wall_s
            if wall_now_s - wall_start_s > _MAX_CATCH_UP_S:
                wall_start_s = wall_now_s
        else:
            start_s = max(self._anchor_sim_s, min(self.now_s(), earliest_s))
            wall_start_s = wall_now_s
        self._step_wall_s = duration_s / self.speed
        self._anchor_sim_s, self._anchor_wall_s = start_s, wall_start_s
        self._cap_s = start_s + duration_s
        return start_s, max(0.0, wall_start_s + self._step_wall_s - wall_now_s)

    @property
    def busy(self) -> bool:
        """A step is running or has just ended (simulated time is held at its end)."""
        return self._cap_s is not None

    def end_step(self) -> float:
        """The step is over: simulated time stays at its end until the next step or idling."""
        assert self._cap_s is not None
        self._anchor_sim_s = self._cap_s
        return self._cap_s

    def go_idle(self, since_wall_s: float | None = None) -> float:
        """No work left: simulated time follows the wall clock again, from ``since_wall_s``
        (a monotonic time in the past, e.g. when a hold for more work began) or from now."""
        if self._cap_s is not None:
            now_wall_s = time.monotonic()
            since_s = now_wall_s if since_wall_s is None else min(since_wall_s, now_wall_s)
            self._anchor_sim_s, self._anchor_wall_s = self._cap_s, since_s
            self._cap_s = None
        return self._anchor_sim_s

    def wall_delay_s(self, sim_delay_s: float) -> float:
        """Wall-clock seconds of a simulated delay (stalls, slow start)."""
        return sim_delay_s / self.speed
