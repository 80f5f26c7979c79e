"""Power model and the per-GPU energy counter, both in simulated time.

The counter integrates a piecewise-constant power exactly (energy += P·Δt at every change of
power), so a meter reading the DCGM counter can be checked against the sim's own bookkeeping.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

from tokenergy.sim.profiles import PowerCurve

_UUID_NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # RFC 4122 URL namespace
_BOOT_UPTIME_S = 3600.0  # counters start as if the GPU had idled this long since boot


def gpu_power_w(curve: PowerCurve, running_seqs: int) -> float:
    """Per-GPU power with ``running_seqs`` sequences in the step (0 = idle)."""
    if running_seqs <= 0:
        return curve.idle_w
    share = 1.0 - math.exp(-running_seqs / curve.saturation_seqs)
    return curve.busy_floor_w + (curve.max_w - curve.busy_floor_w) * share


@dataclass(frozen=True)
class SimGpu:
    """Identity of one simulated GPU, as DCGM labels it."""

    index: int
    uuid: str
    model_name: str
    boot_energy_j: float


def make_gpus(count: int, model_name: str, idle_w: float, seed: int) -> list[SimGpu]:
    """Stable fake identities; each counter starts at a different 'since boot' value."""
    return [
        SimGpu(
            index=index,
            uuid=f"GPU-{uuid.uuid5(_UUID_NAMESPACE, f'tokenergy-sim/{seed}/{index}')}",
            model_name=model_name,
            boot_energy_j=idle_w * _BOOT_UPTIME_S * (1.0 + 0.1 * index),
        )
        for index in range(count)
    ]


class EnergyLedger:
    """Exact energy bookkeeping of all simulated GPUs (they share one power level: TP)."""

    def __init__(self, curve: PowerCurve, num_gpus: int, start_s: float = 0.0) -> None:
        self._curve = curve
        self.num_gpus = num_gpus
        self._since_s = start_s
        self._power_w = curve.idle_w
        self._busy = False
        self._energy_j = 0.0  # per GPU, since sim start, committed up to _since_s
        self._power_w_by_seqs: dict[int, float] = {}  # P(B) once per batch size, not per step
        self.busy_s = 0.0
        self.idle_s = 0.0

    @property
    def power_w(self) -> float:
        """Current per-GPU power."""
        return self._power_w

    def set_running(self, now_s: float, running_seqs: int) -> None:
        """Commit energy up to ``now_s`` and switch to the power of the new batch."""
        self._commit(now_s)
        self._busy = running_seqs > 0
        power_w = self._power_w_by_seqs.get(running_seqs)
        if power_w is None:
            power_w = self._power_w_by_seqs[running_seqs] = gpu_power_w(self._curve, running_seqs)
        self._power_w = power_w

    def _commit(self, now_s: float) -> None:
        elapsed_s = now_s - self._since_s
        if elapsed_s < 0:
            raise ValueError("simulated time went backwards")
        self._energy_j += self._power_w * elapsed_s
        if self._busy:
            self.busy_s += elapsed_s
        else:
            self.idle_s += elapsed_s
        self._since_s = now_s

    def busy_idle_s(self, now_s: float) -> tuple[float, float]:
        """Busy and idle simulated seconds since sim start, up to ``now_s``."""
        pending_s = max(0.0, now_s - self._since_s)
        if self._busy:
            return self.busy_s + pending_s, self.idle_s
        return self.busy_s, self.idle_s + pending_s

    def energy_j(self, now_s: float) -> float:
        """Energy of one GPU since sim start, up to ``now_s`` (not before the last change)."""
        return self._energy_j + self._power_w * max(0.0, now_s - self._since_s)
