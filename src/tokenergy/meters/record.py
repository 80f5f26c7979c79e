"""From metered windows to ``records.EnergyMeasurement``: what the energy covers, and how.

The headline ``energy_j`` covers the accelerators (boundary ``accelerator``): the GPUs when any
GPU is metered, else the processors that serve (CPU packages + DRAM of a CPU-served model).
Host CPU/DRAM measured next to GPUs is recorded per component in ``devices`` and summed in
``host_energy_j`` — never folded into the accelerator figure, and never called ``node``: GPU +
CPU + DRAM still misses NICs, fans, storage and power-supply losses.

Powers are per second of each device's time base: a simulator that publishes its clock gives
energy per simulated second (``time_base`` simulated), hardware per wall second.
"""

from __future__ import annotations

from tokenergy.meters.base import GPU
from tokenergy.meters.meterset import Idle, Measured, qualified
from tokenergy.records import DeviceEnergy, EnergyMeasurement
from tokenergy.units import TimeBase


def _headline_kinds(measured: Measured) -> set[str]:
    kinds = {d.device.kind for part in measured.parts for d in part.energy.devices}
    return {GPU} if GPU in kinds else kinds


def energy_record(measured: Measured, idle: Idle | None = None) -> EnergyMeasurement | None:
    """The EnergyMeasurement of a window, or None when no device yielded any energy."""
    headline = _headline_kinds(measured)
    duration_s = measured.duration_s
    devices: list[DeviceEnergy] = []
    energy_j = 0.0
    idle_w: float | None = 0.0
    any_energy = False
    for part in measured.parts:
        for window in part.energy.devices:
            info, name = window.device, qualified(part.meter, window.device)
            idle_power_w = None if idle is None else idle.power_w.get(name)
            devices.append(
                DeviceEnergy(
                    device=name,
                    kind=info.kind,
                    model=info.model,
                    uuid=info.uuid,
                    energy_j=window.energy_j,
                    avg_power_w=window.avg_power_w(duration_s),
                    idle_power_w=idle_power_w,
                    power_limit_w=info.power_limit_w,
                    time_base=window.time_base,
                )
            )
            if info.kind in headline:
                if window.energy_j is not None:
                    any_energy = True
                    energy_j += window.energy_j
                idle_w = None if idle_w is None or idle_power_w is None else idle_w + idle_power_w
    if not any_energy:
        return None
    first = measured.parts[0].meter
    time_base, avg_power_w = _headline_power(
        [d for d in devices if d.kind in headline and d.energy_j is not None], duration_s
    )
    return EnergyMeasurement(
        energy_j=energy_j,
        avg_power_w=avg_power_w,
        boundary=first.boundary,
        basis=first.basis,
        method="+".join(dict.fromkeys(p.meter.method for p in measured.parts)),
        meter=" + ".join(p.meter.spec for p in measured.parts),
        devices=devices,
        idle_power_w=None if idle is None else idle_w,
        time_base=time_base,
        duration_s=(
            energy_j / avg_power_w if time_base is TimeBase.SIMULATED and avg_power_w else None
        ),
        valid=measured.valid,
        reasons=measured.reasons,
    )


def _headline_power(
    headline: list[DeviceEnergy], duration_s: float
) -> tuple[TimeBase, float | None]:
    """The headline's time base and mean power. Simulated when every headline device runs on a
    simulator's clock: the sum of their powers, each per its own simulated seconds. Else per
    wall second: the headline energy over the window's duration."""
    if all(d.time_base is TimeBase.SIMULATED for d in headline):
        powers = [d.avg_power_w for d in headline]
        if any(p is None for p in powers):
            return TimeBase.SIMULATED, None
        return TimeBase.SIMULATED, sum(p for p in powers if p is not None)
    energy_j = sum(d.energy_j for d in headline if d.energy_j is not None)
    return TimeBase.WALL, energy_j / duration_s if duration_s > 0 else None


def host_energy_j(record: EnergyMeasurement) -> float | None:
    """Energy of host components (CPU, DRAM) metered next to GPUs; None if there are none."""
    if not any(d.kind == GPU for d in record.devices):
        return None
    host = [d for d in record.devices if d.kind != GPU]
    if not host or any(d.energy_j is None for d in host):
        return None
    return sum(d.energy_j for d in host if d.energy_j is not None)


def idle_subtracted_j(record: EnergyMeasurement, duration_s: float) -> float | None:
    """Window energy above idle: E − P_idle × T (labelled as such wherever it is shown).

    T is in the energy's time base: a simulator's seconds over the window when its powers are
    per simulated second, else ``duration_s`` (wall seconds).
    """
    seconds = record.duration_s if record.time_base is TimeBase.SIMULATED else duration_s
    if record.energy_j is None or record.idle_power_w is None or seconds is None:
        return None
    return max(record.energy_j - record.idle_power_w * seconds, 0.0)
