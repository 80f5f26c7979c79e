"""The meter interface: devices, readings, and the registry that maps a spec name to a meter class.

Modelled on Zeus's device layer: one abstract class, one subclass per source, vendor errors mapped
to MeterError, units in every name. A meter reports what it covers (``DeviceInfo.kind``) and
where its watts come from (``basis``) so that the energy record can say both.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from tokenergy.errors import MeterError
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


@dataclass(frozen=True)
class Reading:
    """One device at one instant: a cumulative energy counter and/or an instantaneous power.

    ``energy_j`` is cumulative since an arbitrary origin (driver load, boot); only its deltas
    mean anything. Either field may be None when the device does not offer it.
    """

    t_s: float
    energy_j: float | None = None
    power_w: float | None = None


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


_REGISTRY: dict[str, type[EnergyMeter]] = {}
_M = TypeVar("_M", bound=type[EnergyMeter])


def register(meter_class: _M) -> _M:
    """Class decorator: make a meter reachable as ``--meter NAME[:ARGS]`` (NAME = its ``name``)."""
    _REGISTRY[meter_class.name] = meter_class
    return meter_class


def registered() -> Mapping[str, type[EnergyMeter]]:
    _load_builtin_meters()
    return dict(_REGISTRY)


def parse_spec(spec: str) -> EnergyMeter:
    """Build a meter from ``NAME[:ARGS]`` (``nvml:0,1``, ``dcgm:http://h:9400/metrics`` …).

    The meter is not opened; opening is where the source itself is checked.
    """
    text = spec.strip()
    name, _, args = text.partition(":")
    meters = registered()
    meter_class = meters.get(name.lower())
    if meter_class is None:
        known = ", ".join(sorted(meters))
        raise MeterError(f"unknown meter {name!r} in {spec!r}; known: {known}", field="--meter")
    return meter_class.from_spec(text, args)


def _load_builtin_meters() -> None:
    """Import the built-in meters so their ``@register`` lines run (cheap: no vendor libs)."""
    from tokenergy.meters import constant, dcgm, nvml, prometheus, rapl, zeus  # noqa: F401
