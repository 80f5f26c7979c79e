"""An NVML-like device for tests: the hardware boundary, nothing above it is faked.

Its energy counter advances by the exact integral of a known power curve P(t) (mJ, since "driver
load"), optionally only every ``update_period_s`` like real NVML (~100 ms), optionally restarting
from zero (driver reload) or failing (GPU lost) after a given time. Function and exception names
are those of nvidia-ml-py's ``pynvml`` module.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

NOT_SUPPORTED, DRIVER_NOT_LOADED, INVALID_ARGUMENT, GPU_IS_LOST = 3, 9, 2, 15
_NAMES = {
    NOT_SUPPORTED: "Not Supported",
    DRIVER_NOT_LOADED: "Driver Not Loaded",
    INVALID_ARGUMENT: "Invalid Argument",
    GPU_IS_LOST: "GPU is lost",
}


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return _NAMES[self.value]


class NVMLError_NotSupported(NVMLError):
    def __init__(self) -> None:
        super().__init__(NOT_SUPPORTED)


class NVMLError_DriverNotLoaded(NVMLError):
    def __init__(self) -> None:
        super().__init__(DRIVER_NOT_LOADED)


class NVMLError_GpuIsLost(NVMLError):
    def __init__(self) -> None:
        super().__init__(GPU_IS_LOST)


@dataclass(frozen=True)
class SinePower:
    """P(t) = base + amplitude·sin(2πt/period), with its exact integral."""

    base_w: float = 300.0
    amplitude_w: float = 100.0
    period_s: float = 2.0

    def power_w(self, t_s: float) -> float:
        return self.base_w + self.amplitude_w * math.sin(2 * math.pi * t_s / self.period_s)

    def energy_j(self, t0_s: float, t1_s: float) -> float:
        omega = 2 * math.pi / self.period_s
        swing = self.amplitude_w / omega * (math.cos(omega * t0_s) - math.cos(omega * t1_s))
        return self.base_w * (t1_s - t0_s) + swing


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    profile: SinePower = field(default_factory=SinePower)
    has_counter: bool = True
    has_power: bool = True
    power_limit_mw: int = 700_000
    counter_at_load_j: float = 1.5e6
    update_period_s: float = 0.0
    reset_after_s: float | None = None
    lost_after_s: float | None = None


class FakeNvml:
    """Module-like object with the pynvml functions the nvml meter calls."""

    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported

    def __init__(self, gpus: list[FakeGpu], init_error: NVMLError | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.t0_s = time.time()
        self.initialised = False

    def elapsed_s(self) -> float:
        return time.time() - self.t0_s

    def true_energy_j(self, index: int, start_s: float, end_s: float) -> float:
        """Exact energy of GPU ``index`` between two Unix times."""
        return self.gpus[index].profile.energy_j(start_s - self.t0_s, end_s - self.t0_s)

    def _gpu(self, handle: int) -> FakeGpu:
        if not self.initialised:
            raise NVMLError(1)
        gpu = self.gpus[handle]
        if gpu.lost_after_s is not None and self.elapsed_s() >= gpu.lost_after_s:
            raise NVMLError_GpuIsLost()
        return gpu

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.initialised = True

    def nvmlShutdown(self) -> None:
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.gpus):
            raise NVMLError(INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetUUID(self, handle: int) -> str:
        return self._gpu(handle).uuid

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self._gpu(handle).name

    def nvmlSystemGetDriverVersion(self) -> str:
        return "550.54.15"

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: int) -> int:
        return self._gpu(handle).power_limit_mw

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        gpu = self._gpu(handle)
        if not gpu.has_power:
            raise NVMLError_NotSupported()
        return round(gpu.profile.power_w(self.elapsed_s()) * 1000)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:
        gpu = self._gpu(handle)
        if not gpu.has_counter:
            raise NVMLError_NotSupported()
        t_s = self.elapsed_s()
        if gpu.update_period_s > 0:
            t_s = math.floor(t_s / gpu.update_period_s) * gpu.update_period_s
        if gpu.reset_after_s is not None and t_s >= gpu.reset_after_s:
            return round(gpu.profile.energy_j(gpu.reset_after_s, t_s) * 1000)
        return round((gpu.counter_at_load_j + gpu.profile.energy_j(0.0, t_s)) * 1000)
