"""Several meters run together (``--meter nvml --meter rapl``): opened, polled and windowed as one.

All meters are opened before any load, so a bad spec, an unreachable endpoint or a missing metric
fails first. Meters of different bases are never combined (a stated power next to a measured one
would make a sum that is neither), and each device is named ``meter:device`` so components stay
apart in the record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType

from tokenergy.errors import ConfigError, MeterError
from tokenergy.meters.base import GPU, DeviceInfo, EnergyMeter, PollingMeter, now_s
from tokenergy.meters.session import MeterSession
from tokenergy.meters.specs import parse_spec
from tokenergy.meters.window import WindowEnergy, WindowRules
from tokenergy.units import Basis


@dataclass(frozen=True)
class MeterWindow:
    """One meter's energy over one window."""

    meter: EnergyMeter
    energy: WindowEnergy


@dataclass(frozen=True)
class Measured:
    """Every meter's energy over the same window, plus the set-level validity reasons."""

    start_s: float
    end_s: float
    parts: tuple[MeterWindow, ...]
    set_reasons: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def reasons(self) -> list[str]:
        own = [f"{p.meter.name}: {reason}" for p in self.parts for reason in p.energy.reasons]
        return own + list(self.set_reasons)

    @property
    def valid(self) -> bool:
        return not self.reasons


@dataclass(frozen=True)
class Idle:
    """Mean power of each device (``meter:device``) with no load, and what made it doubtful."""

    start_s: float
    end_s: float
    power_w: dict[str, float]
    reasons: tuple[str, ...]


def qualified(meter: EnergyMeter, device: DeviceInfo) -> str:
    return f"{meter.name}:{device.device}"


class MeterSet:
    """The meters of one run, used as a context manager around the load."""

    def __init__(self, meters: Sequence[EnergyMeter], rules: WindowRules = WindowRules()) -> None:
        if not meters:
            raise ConfigError("no meter given", field="meters")
        bases = {meter.basis for meter in meters}
        if len(bases) > 1:
            raise ConfigError(
                "cannot combine a stated power (constant) with measured meters: the sum would "
                "mix bases",
                field="meters",
            )
        specs = [meter.spec for meter in meters]
        if len(set(specs)) != len(specs):
            raise ConfigError(f"the same meter is given twice in {specs}", field="meters")
        self.sessions = [MeterSession(meter) for meter in meters]
        self.rules = rules
        self._opened: list[MeterSession] = []

    @classmethod
    def from_specs(cls, specs: Iterable[str], rules: WindowRules = WindowRules()) -> MeterSet:
        return cls([parse_spec(spec) for spec in specs], rules)

    @property
    def meters(self) -> list[EnergyMeter]:
        return [session.meter for session in self.sessions]

    @property
    def notes(self) -> list[str]:
        return [f"{m.name}: {note}" for m in self.meters for note in m.notes]

    def open(self) -> list[DeviceInfo]:
        """Open every meter; on any failure close those already open and re-raise."""
        for session in self.sessions:
            try:
                session.open()
            except MeterError:
                self.close()
                raise
            self._opened.append(session)
        self._refuse_duplicate_gpus()
        return self.devices

    def _refuse_duplicate_gpus(self) -> None:
        seen: dict[str, str] = {}
        for session in self.sessions:
            for device in session.devices:
                if device.uuid is None:
                    continue
                other = seen.setdefault(device.uuid, session.meter.spec)
                if other != session.meter.spec:
                    self.close()
                    raise ConfigError(
                        f"GPU {device.uuid} is metered by both {other!r} and "
                        f"{session.meter.spec!r}: it would be counted twice",
                        field="meters",
                    )

    @property
    def devices(self) -> list[DeviceInfo]:
        return [device for session in self.sessions for device in session.devices]

    def start(self) -> float:
        """Start polling; returns the instant from which windows are bracketed."""
        for session in self.sessions:
            session.start()
        return now_s()

    def mark(self) -> float:
        """Read every polling meter now (a window edge) and return the instant.

        A failing read here is kept as a failure of that meter, like any failed poll.
        """
        t_s = now_s()
        for session in self.sessions:
            session.sample_now_or_record()
        return t_s

    def read_until_s(self) -> float | None:
        """The instant up to which every polling meter has read its devices (a live window must
        end there: past a meter's last reading its counter looks flat); now when no meter polls
        (the others answer for any window), None while a polling meter has no reading yet."""
        polling = [s for s in self.sessions if isinstance(s.meter, PollingMeter)]
        latest = [session.latest_reading_s() for session in polling]
        if any(t_s is None for t_s in latest):
            return None
        return min((t_s for t_s in latest if t_s is not None), default=now_s())

    def stop(self) -> None:
        for session in self.sessions:
            session.stop()

    def close(self) -> None:
        for session in self._opened:
            session.close()
        self._opened = []

    def __enter__(self) -> MeterSet:
        self.open()
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def window(
        self,
        start_s: float,
        end_s: float,
        *,
        expected_gpus: int | None = None,
        batch_ratio: float | None = None,
    ) -> Measured:
        """Energy of every meter over [start_s, end_s] with the validity rules applied."""
        per_meter = replace(self.rules, min_duration_s=0.0)  # judged once, below
        parts = tuple(
            MeterWindow(session.meter, session.window(start_s, end_s, per_meter))
            for session in self.sessions
        )
        reasons = []
        if expected_gpus is not None:
            metered = sum(
                1
                for part in parts
                for device in part.energy.devices
                if device.device.kind == GPU and device.energy_j is not None
            )
            if metered != expected_gpus:
                reasons.append(f"metered {metered} GPU(s), the deployment has {expected_gpus}")
        if batch_ratio is not None and batch_ratio < self.rules.min_batch_ratio:
            reasons.append(
                f"achieved/target batch {batch_ratio:.2f} is below {self.rules.min_batch_ratio:g}"
            )
        if end_s - start_s < self.rules.min_duration_s:
            reasons.append(
                f"window of {end_s - start_s:.2f} s is shorter than the minimum "
                f"{self.rules.min_duration_s:g} s"
            )
        return Measured(start_s, end_s, parts, tuple(reasons))

    def measure_idle(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> Idle:
        """Mean power of every device over ``seconds`` with no load (meters must be started)."""
        start_s = self.mark()
        sleep(seconds)
        end_s = self.mark()
        measured = self.window(start_s, end_s)
        power_w = {}
        for part in measured.parts:
            if part.meter.basis is not Basis.MEASURED:
                continue  # a stated power has no idle state
            for device in part.energy.devices:
                # per second of the device's time base (a simulator's: simulated seconds)
                mean_w = device.avg_power_w(measured.duration_s)
                if mean_w is not None:
                    power_w[qualified(part.meter, device.device)] = mean_w
        return Idle(start_s, end_s, power_w, tuple(measured.reasons))
