"""Energy over a window from per-device readings, and the rules that make it valid.

See docs/methodology.md §9.

Two methods, chosen per device: the delta of a cumulative energy counter interpolated linearly at
the window edges (preferred: the device integrates for us), or the trapezoid rule over sampled
power with the power interpolated at the edges. A window is valid only if every expected device
has readings that bracket it without gaps longer than ``max_gap_s``, its counters never went
backwards, it is long enough, and the batch the load achieved was close to the one it targeted.

A device that publishes its own clock (tokenergy's simulator: simulated seconds) has its
seconds over the window interpolated the same way as its counter, and its power is energy per
those seconds: the time base of its counter, whatever ``--speed`` and the host's lag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tokenergy import catalog
from tokenergy.errors import CatalogError
from tokenergy.meters.base import GPU, DeviceInfo, Reading
from tokenergy.units import TimeBase

COUNTER = "counter"
TRAPEZOID = "power-trapezoid"
NO_DATA = "none"


@dataclass(frozen=True)
class WindowRules:
    """Thresholds of the validity rules; defaults are docs/methodology.md §9's."""

    max_gap_s: float = 3.0
    min_duration_s: float = 1.0
    min_batch_ratio: float = 0.85
    max_power_ratio: float = 1.5  # × the device's power limit or catalog TDP (methodology §9)


@dataclass(frozen=True)
class DeviceWindow:
    """Energy of one device over the window, how it was obtained and what is wrong with it."""

    device: DeviceInfo
    energy_j: float | None
    method: str
    reasons: tuple[str, ...] = ()
    # the device's own seconds over the window (simulated seconds of tokenergy's simulator);
    # None: it has no clock of its own and the wall clock's seconds apply
    device_s: float | None = None

    @property
    def time_base(self) -> TimeBase:
        return TimeBase.WALL if self.device_s is None else TimeBase.SIMULATED

    def seconds(self, wall_s: float) -> float:
        """The window's length in this device's time base (``wall_s`` when it has no clock)."""
        return wall_s if self.device_s is None else self.device_s

    def avg_power_w(self, wall_s: float) -> float | None:
        """Mean power per second of the device's time base; None without energy or time."""
        seconds = self.seconds(wall_s)
        if self.energy_j is None or seconds <= 0:
            return None
        return self.energy_j / seconds


@dataclass(frozen=True)
class WindowEnergy:
    """Energy of all metered devices over [start_s, end_s] with validity and its reasons."""

    start_s: float
    end_s: float
    devices: tuple[DeviceWindow, ...]
    reasons: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def valid(self) -> bool:
        return not self.reasons

    def energy_j(self, kinds: set[str] | None = None) -> float | None:
        """Sum over devices (of the given kinds); None if any of them has no energy."""
        chosen = [d for d in self.devices if kinds is None or d.device.kind in kinds]
        if not chosen or any(d.energy_j is None for d in chosen):
            return None
        return float(sum(d.energy_j for d in chosen if d.energy_j is not None))


def unwrap_counter(energy_j: NDArray[np.float64]) -> tuple[NDArray[np.float64], list[int]]:
    """Make a cumulative counter monotone; return it and the indices where it went backwards.

    A decrease means the counter restarted (driver reload, device reset): the value after it is
    the energy since the restart, so the segment contributes that value — a lower bound.
    """
    steps = np.diff(energy_j)
    resets = [int(i) + 1 for i in np.flatnonzero(steps < 0)]
    steps[steps < 0] = energy_j[1:][steps < 0]
    return np.concatenate(([energy_j[0]], energy_j[0] + np.cumsum(steps))), resets


def counter_energy_j(
    t_s: NDArray[np.float64], cumulative_j: NDArray[np.float64], start_s: float, end_s: float
) -> float:
    """Counter delta with the counter interpolated linearly at the edges (clamped outside)."""
    at_start, at_end = np.interp([start_s, end_s], t_s, cumulative_j)
    return float(at_end - at_start)


def trapezoid_energy_j(
    t_s: NDArray[np.float64], power_w: NDArray[np.float64], start_s: float, end_s: float
) -> float:
    """Trapezoid integral of power over [start_s, end_s], power interpolated at the edges."""
    inside = (t_s > start_s) & (t_s < end_s)
    times = np.concatenate(([start_s], t_s[inside], [end_s]))
    powers = np.interp(times, t_s, power_w)
    return float(np.trapezoid(powers, times))  # numpy's own: no scipy import on the bench path


def _span(t_s: NDArray[np.float64], start_s: float, end_s: float) -> slice:
    """Indices from the last reading at/before start to the first at/after end."""
    first = max(int(np.searchsorted(t_s, start_s, side="right")) - 1, 0)
    last = min(int(np.searchsorted(t_s, end_s, side="left")), len(t_s) - 1)
    return slice(first, last + 1)


def _coverage_reasons(
    t_s: NDArray[np.float64], start_s: float, end_s: float, rules: WindowRules
) -> list[str]:
    reasons = []
    if t_s[0] > start_s:
        reasons.append(f"first reading {t_s[0] - start_s:.2f} s after the window start")
    if t_s[-1] < end_s:
        reasons.append(f"last reading {end_s - t_s[-1]:.2f} s before the window end")
    span = t_s[_span(t_s, start_s, end_s)]
    if len(span) > 1:
        gap_s = float(np.max(np.diff(span)))
        if gap_s > rules.max_gap_s:
            reasons.append(f"gap of {gap_s:.2f} s between readings (> {rules.max_gap_s:g} s)")
    return reasons


def _power_bound(device: DeviceInfo) -> tuple[float, str] | None:
    """The power a GPU cannot exceed on average: its reported limit, else its catalog TDP, else
    the largest TDP in the catalog (an unknown GPU); None for devices that are not GPUs."""
    if device.kind != GPU:
        return None
    if device.power_limit_w:
        return device.power_limit_w, "power limit"
    name = (device.model or "").removeprefix("NVIDIA ").removeprefix("AMD ")
    try:
        return catalog.tdp_w(name), "catalog TDP"
    except CatalogError:
        tdps = [spec.tdp_w for spec in catalog.gpu_specs() if spec.tdp_w is not None]
        return max(tdps), "catalog's largest TDP"


def _plausibility_reasons(
    device: DeviceInfo,
    energy_j: float,
    duration_s: float,
    device_s: float | None,
    rules: WindowRules,
) -> list[str]:
    """Mean power above the device's ceiling. Per second of the device's own clock when it has
    one; else per wall second, the ceiling scaled by a simulator's speed label (its counter then
    runs that much faster than the wall clock)."""
    bound = _power_bound(device)
    seconds = duration_s if device_s is None else device_s
    if bound is None or seconds <= 0:
        return []
    limit_w, what = bound
    mean_w = energy_j / seconds
    scale = device.time_scale if device_s is None else 1.0
    ceiling_w = rules.max_power_ratio * limit_w * scale
    if mean_w <= ceiling_w:
        return []
    sped = f" × speed {scale:g}" if scale != 1.0 else ""
    return [
        f"mean power {mean_w:,.0f} W is implausible for {device.model or 'this GPU'} "
        f"(ceiling {ceiling_w:,.0f} W = {rules.max_power_ratio:g} × its {limit_w:,.0f} W {what}"
        f"{sped})"
    ]


def _device_clock(
    readings: Sequence[Reading],
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """(wall times, device clock) of the readings that carry the device's clock, if ≥ 2 do."""
    clocked = [r for r in readings if r.device_time_s is not None]
    if len(clocked) < 2:
        return None
    wall_s = np.array([r.t_s for r in clocked])
    device_s = np.array([r.device_time_s for r in clocked], dtype=float)
    return wall_s, device_s


def device_window(
    device: DeviceInfo,
    readings: Sequence[Reading],
    start_s: float,
    end_s: float,
    rules: WindowRules,
) -> DeviceWindow:
    """Energy of one device over the window: counter delta if it has one, else trapezoid."""
    counted = [r for r in readings if r.energy_j is not None]
    powered = [r for r in readings if r.power_w is not None]
    clock = _device_clock(readings)
    device_s = None  # the device's own seconds over the window, interpolated like its counter
    clock_reasons: tuple[str, ...] = ()
    if clock is not None:
        at_start, at_end = np.interp([start_s, end_s], *clock)
        device_s = float(at_end - at_start)
        if device_s <= 0:
            clock_reasons = ("the device's own clock did not advance over the window",)
    if len(counted) >= 2:
        t_s = np.array([r.t_s for r in counted])
        raw_j = np.array([r.energy_j for r in counted], dtype=float)
        cumulative_j, resets = unwrap_counter(raw_j)
        reasons = _coverage_reasons(t_s, start_s, end_s, rules)
        span = _span(t_s, start_s, end_s)
        in_span = [i for i in resets if span.start < i < span.stop]
        if in_span:
            where = ", ".join(f"+{t_s[i] - start_s:.2f} s" for i in in_span)
            reasons.append(
                f"energy counter went backwards (reset) at {where}; energy is a lower bound"
            )
        energy_j = counter_energy_j(t_s, cumulative_j, start_s, end_s)
        reasons += _plausibility_reasons(device, energy_j, end_s - start_s, device_s, rules)
        return DeviceWindow(device, energy_j, COUNTER, (*reasons, *clock_reasons), device_s)
    if len(powered) >= 2:
        t_s = np.array([r.t_s for r in powered])
        power_w = np.array([r.power_w for r in powered], dtype=float)
        reasons = _coverage_reasons(t_s, start_s, end_s, rules)
        if clock is None:
            energy_j = trapezoid_energy_j(t_s, power_w, start_s, end_s)
        else:  # the power is per second of the device's clock: integrate it over those
            on_device = np.interp(np.array([start_s, end_s, *t_s]), *clock)
            energy_j = trapezoid_energy_j(on_device[2:], power_w, on_device[0], on_device[1])
        reasons += _plausibility_reasons(device, energy_j, end_s - start_s, device_s, rules)
        return DeviceWindow(device, energy_j, TRAPEZOID, (*reasons, *clock_reasons), device_s)
    return DeviceWindow(device, None, NO_DATA, (f"{len(readings)} reading(s): cannot integrate",))


def window_energy(
    series: Mapping[DeviceInfo, Sequence[Reading]],
    start_s: float,
    end_s: float,
    rules: WindowRules = WindowRules(),
    *,
    expected_devices: int | None = None,
    batch_ratio: float | None = None,
) -> WindowEnergy:
    """Energy of every device over [start_s, end_s] and the reasons the window is not valid."""
    devices = tuple(
        device_window(device, sorted(readings, key=lambda r: r.t_s), start_s, end_s, rules)
        for device, readings in series.items()
    )
    reasons = [f"{d.device.device}: {reason}" for d in devices for reason in d.reasons]
    duration_s = end_s - start_s
    if duration_s < rules.min_duration_s:
        reasons.append(
            f"window of {duration_s:.2f} s is shorter than the minimum {rules.min_duration_s:g} s"
        )
    if expected_devices is not None:
        metered = sum(1 for d in devices if d.energy_j is not None)
        if metered != expected_devices:
            reasons.append(f"metered {metered} device(s), expected {expected_devices}")
    if batch_ratio is not None and batch_ratio < rules.min_batch_ratio:
        reasons.append(
            f"achieved/target batch {batch_ratio:.2f} is below {rules.min_batch_ratio:g}"
        )
    return WindowEnergy(start_s, end_s, devices, tuple(reasons))
