"""GPUs through Zeus's ``ZeusMonitor``, for users who already rely on Zeus (extra ``zeus``).

Zeus measures named windows (``begin_window``/``end_window``), not instants. We chain short
windows — begin the next, then end the previous, so no time falls between them — and add their
energies into a per-GPU cumulative reading, which the window code then treats like any counter.
GPU indices are CUDA's (relative to ``CUDA_VISIBLE_DEVICES``), as in Zeus. CPU packages are left to
the ``rapl`` meter so that host energy is never counted twice.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from tokenergy.errors import MeterError
from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.registry import register


def import_zeus_monitor() -> Any:
    """``zeus.monitor.ZeusMonitor``, or a MeterError saying how to install it."""
    try:
        module = importlib.import_module("zeus.monitor")
    except ImportError as error:
        raise MeterError(
            f"the zeus meter needs Zeus: pip install 'tokenergy[zeus]' ({error})",
            field="meters",
        ) from None
    return module.ZeusMonitor


@register
class ZeusMeter(PollingMeter):
    """Per-GPU cumulative energy built from chained ZeusMonitor windows."""

    name = "zeus"
    poll_interval_s = 0.5

    def __init__(
        self, spec: str = "zeus", gpu_indices: list[int] | None = None, poll_interval_s: float = 0.5
    ) -> None:
        super().__init__(spec)
        self.gpu_indices = gpu_indices
        self.poll_interval_s = poll_interval_s
        self._monitor: Any = None
        self._window = 0
        self._cumulative_j: dict[int, float] = {}

    @classmethod
    def from_spec(cls, spec: str, args: str) -> ZeusMeter:
        if not args:
            return cls(spec)
        try:
            indices = [int(part) for part in args.split(",")]
        except ValueError:
            raise MeterError(
                "zeus takes CUDA GPU indices, e.g. zeus:0,1", field=f"meters {spec}"
            ) from None
        return cls(spec, indices)

    @property
    def method(self) -> str:
        return "zeus-window"

    def _zeus(self, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Call into Zeus; its errors (vendor errors included) become MeterError."""
        try:
            return function(*args, **kwargs)
        except Exception as error:  # Zeus raises many unrelated types
            raise MeterError(f"Zeus {what} failed: {error}", field="meters") from None

    def open(self) -> list[DeviceInfo]:
        monitor_class = import_zeus_monitor()
        self._monitor = self._zeus(
            "monitor setup", monitor_class, gpu_indices=self.gpu_indices, cpu_indices=[]
        )
        indices: list[int] = list(self._monitor.gpu_indices)
        if not indices:
            raise MeterError("Zeus found no GPU", field="meters")
        devices = []
        for index in indices:
            name = self._zeus("get_name", self._monitor.gpus.get_name, index)
            limit_mw = self._zeus(
                "get_power_management_limit", self._monitor.gpus.get_power_management_limit, index
            )
            devices.append(
                DeviceInfo(device=f"gpu{index}", model=name, power_limit_w=limit_mw / 1000.0)
            )
        self._cumulative_j = dict.fromkeys(indices, 0.0)
        self._zeus("begin_window", self._monitor.begin_window, self._key, sync_execution=False)
        return devices

    @property
    def _key(self) -> str:
        return f"tokenergy-{self._window}"

    def read(self) -> dict[str, Reading]:
        previous = self._key
        self._window += 1
        self._zeus("begin_window", self._monitor.begin_window, self._key, sync_execution=False)
        measured = self._zeus(
            "end_window", self._monitor.end_window, previous, sync_execution=False
        )
        t_s = now_s()
        readings = {}
        for index, energy_j in measured.gpu_energy.items():
            self._cumulative_j[index] += float(energy_j)
            readings[f"gpu{index}"] = Reading(t_s, energy_j=self._cumulative_j[index])
        return readings

    def close(self) -> None:
        if self._monitor is not None:
            monitor, self._monitor = self._monitor, None
            with contextlib.suppress(Exception):  # nothing left to report when closing
                monitor.end_window(self._key, sync_execution=False, cancel=True)
