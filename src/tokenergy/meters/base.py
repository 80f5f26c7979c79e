"""The meter interface: devices, readings and the abstract meter classes (registry: registry.py).

Modelled on Zeus's device layer: one abstract class, one subclass per source, vendor errors mapped
to MeterError, units in every name. A meter reports what it covers (``DeviceInfo.kind``) and
where its watts come from (``basis``) so that the energy record can say both.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from tokenergy.units import Basis, Boundary

GPU = "gpu"
CPU = "cpu"
DRAM = "dram"


@dataclass(frozen=True)
class DeviceInfo:
    """Identity of one metered device: what the record needs to say what was measured."""

    device: str
    kind: str = GPU
    model: str | None = None
    uuid: str | None = None
    driver: str | None = None
    power_limit_w: float | None = None
    # device seconds per wall second: 1 for hardware, the speed of tokenergy's simulator (its
    # counter runs that much faster, so the wall-clock power bound scales with it)
    time_scale: float = 1.0


@dataclass(frozen=True)
class Reading:
    """One device at one instant: a cumulative energy counter and/or an instantaneous power.

    ``energy_j`` is cumulative since an arbitrary origin (driver load, boot); only its deltas
    mean anything. Either field may be None when the device does not offer it.

    ``device_time_s`` is the device's own clock when it publishes one: tokenergy's simulator's
    (simulated seconds, the time base of its counter and power); None for hardware, whose
    energy is per wall second. Like the counter, only its deltas mean anything.
    """

    t_s: float
    energy_j: float | None = None
    power_w: float | None = None
    device_time_s: float | None = None


def now_s() -> float:
    """The one clock of all readings and windows: Unix time, as Prometheus and the load log use."""
    return time.time()


class EnergyMeter(ABC):
    """A source of per-device energy over arbitrary windows.

    Life cycle: ``open()`` checks the source and returns the devices (errors here happen before
    any load is sent), then either the meter is polled (``PollingMeter.read``) by a session
    thread, or it answers for a window after the fact (``series_between``), then ``close()``.
    """

    name: ClassVar[str]
    basis: Basis = Basis.MEASURED
    boundary: Boundary = Boundary.ACCELERATOR

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.notes: list[str] = []

    @classmethod
    @abstractmethod
    def from_spec(cls, spec: str, args: str) -> EnergyMeter:
        """Build from the text after ``name:`` (``args``); ``spec`` is kept for the record."""

    @abstractmethod
    def open(self) -> list[DeviceInfo]:
        """Connect, select devices, probe what they offer; raise MeterError if unusable."""

    def close(self) -> None:  # noqa: B027 - most meters hold nothing to release
        """Release the source."""

    @property
    @abstractmethod
    def method(self) -> str:
        """How energy is obtained, e.g. 'nvml-counter' or 'nvml-power-trapezoid'."""


class PollingMeter(EnergyMeter):
    """A meter read at instants chosen by the caller (a session thread polls it)."""

    poll_interval_s: float = 0.1

    @abstractmethod
    def read(self) -> dict[str, Reading]:
        """Read every opened device now; raise MeterError when the source fails."""


class WindowMeter(EnergyMeter):
    """A meter that is asked, after a window, for the samples another system recorded."""

    @abstractmethod
    def series_between(self, start_s: float, end_s: float) -> dict[str, list[Reading]]:
        """Samples per device covering [start_s, end_s] (with grace at the edges)."""
