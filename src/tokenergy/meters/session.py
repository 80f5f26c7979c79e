"""One meter at work: a thread that polls it and keeps every reading, and windows over them.

Readings are kept (not only the latest) so that any window — idle, whole run, steady state,
decided only after the fact — can be computed from the same record, and so the power timeline
can be saved. A meter that fails mid-run stops contributing readings; its errors are kept with
their times and invalidate the windows they fall in, while the load keeps running.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from tokenergy.errors import MeterError
from tokenergy.meters.base import (
    DeviceInfo,
    EnergyMeter,
    PollingMeter,
    Reading,
    WindowMeter,
    now_s,
)
from tokenergy.meters.window import DeviceWindow, WindowEnergy, WindowRules, window_energy


@dataclass(frozen=True)
class MeterFailure:
    """A read that failed: when, and what the source said."""

    t_s: float
    message: str


class MeterSession:
    """Polls one meter (when it is a PollingMeter) and answers energy over windows."""

    def __init__(self, meter: EnergyMeter) -> None:
        self.meter = meter
        self.devices: list[DeviceInfo] = []
        self.failures: list[MeterFailure] = []
        self._readings: dict[str, list[Reading]] = {}
        self._lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> list[DeviceInfo]:
        """Open the meter and take one reading, so a broken source fails before any load."""
        self.devices = self.meter.open()
        self._readings = {device.device: [] for device in self.devices}
        if isinstance(self.meter, PollingMeter):
            try:
                self.sample_now()
            except MeterError:
                self.meter.close()
                raise
        return self.devices

    def sample_now(self) -> None:
        """Take a reading of every device now (also used to pin window edges)."""
        if not isinstance(self.meter, PollingMeter):
            return
        with self._read_lock:  # meters keep state between reads (RAPL wraps, Zeus windows)
            readings = self.meter.read()
            with self._lock:
                for device, reading in readings.items():
                    self._readings.setdefault(device, []).append(reading)

    def sample_now_or_record(self) -> None:
        """``sample_now`` that keeps a failure instead of raising (used during the run)."""
        try:
            self.sample_now()
        except Exception as error:  # a failing meter must not stop the run
            with self._lock:
                self.failures.append(MeterFailure(now_s(), str(error) or type(error).__name__))

    def start(self) -> None:
        """Start polling on a daemon thread (no-op for meters that answer after the fact)."""
        if not isinstance(self.meter, PollingMeter) or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._poll,
            args=(self.meter.poll_interval_s,),
            daemon=True,
            name=f"tokenergy-meter-{self.meter.name}",
        )
        self._thread.start()

    def _poll(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            self.sample_now_or_record()

    def stop(self) -> None:
        """Stop polling after one last reading (so the last window edge is bracketed)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.sample_now_or_record()

    def close(self) -> None:
        self.stop()
        self.meter.close()

    def readings(self) -> dict[str, list[Reading]]:
        """A copy of every reading kept so far, per device name."""
        with self._lock:
            return {device: list(values) for device, values in self._readings.items()}

    def latest_reading_s(self) -> float | None:
        """When every device was last read (the oldest of their newest readings); None before
        any reading and for meters asked after the fact (they keep none)."""
        with self._lock:
            if not self._readings or any(not values for values in self._readings.values()):
                return None
            return min(values[-1].t_s for values in self._readings.values())

    def series(self, start_s: float, end_s: float) -> dict[DeviceInfo, list[Reading]]:
        """Readings per device for a window: kept ones, or asked of a WindowMeter."""
        if isinstance(self.meter, WindowMeter):
            found = self.meter.series_between(start_s, end_s)
        else:
            found = self.readings()
        return {device: found.get(device.device, []) for device in self.devices}

    def window(
        self,
        start_s: float,
        end_s: float,
        rules: WindowRules = WindowRules(),
        *,
        expected_devices: int | None = None,
        batch_ratio: float | None = None,
    ) -> WindowEnergy:
        """Energy over [start_s, end_s]; a meter failure becomes a reason, never an exception."""
        try:
            series = self.series(start_s, end_s)
        except MeterError as error:
            empty = tuple(DeviceWindow(device, None, "none") for device in self.devices)
            return WindowEnergy(start_s, end_s, empty, (f"{self.meter.name}: {error}",))
        result = window_energy(
            series,
            start_s,
            end_s,
            rules,
            expected_devices=expected_devices,
            batch_ratio=batch_ratio,
        )
        with self._lock:
            inside = [f for f in self.failures if start_s <= f.t_s <= end_s]
        if not inside:
            return result
        failed = (
            f"{self.meter.name}: {len(inside)} failed read(s) from "
            f"+{inside[0].t_s - start_s:.2f} s, first: {inside[0].message}"
        )
        return WindowEnergy(start_s, end_s, result.devices, (*result.reasons, failed))
