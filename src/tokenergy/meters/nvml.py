"""NVIDIA GPUs through NVML (the ``pynvml`` module of nvidia-ml-py, imported lazily).

Energy: ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the driver was last loaded, Volta and
newer); a device without it falls back to sampling ``nvmlDeviceGetPowerUsage`` (mW) at ≥ 10 Hz,
integrated with the trapezoid rule by the window code. Devices are selected the way CUDA sees
them: indices in the spec are positions in ``CUDA_VISIBLE_DEVICES`` when it is set, which may
itself list NVML indices or GPU UUIDs (prefixes allowed, as CUDA allows).
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from tokenergy.errors import MeterError
from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.registry import register

NVIDIA_ML_PY = "nvidia-ml-py"


def import_nvml() -> Any:
    """Import ``pynvml`` from nvidia-ml-py, refusing the unofficial ``pynvml`` distribution."""
    try:
        metadata.version(NVIDIA_ML_PY)
    except metadata.PackageNotFoundError:
        raise MeterError(
            "the nvml meter needs NVIDIA's bindings: pip install 'tokenergy[nvidia]' "
            "(nvidia-ml-py)",
            field="meters",
        ) from None
    return importlib.import_module("pynvml")


@dataclass(frozen=True)
class _Gpu:
    handle: Any
    info: DeviceInfo
    has_counter: bool


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _match_uuid(prefix: str, uuids: list[str], where: str) -> int:
    hits = [i for i, uuid in enumerate(uuids) if uuid.startswith(prefix)]
    if len(hits) != 1:
        found = "matches no GPU" if not hits else f"matches {len(hits)} GPUs"
        raise MeterError(f"{prefix!r} {found} (known: {', '.join(uuids)})", field=where)
    return hits[0]


def visible_indices(cuda_visible_devices: str | None, uuids: list[str]) -> list[int]:
    """NVML indices CUDA can see, in CUDA's order.

    Integers are taken as NVML (PCI bus) indices, which is CUDA's order only with
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID``; CUDA silently ignores entries after an invalid one, we
    refuse them instead.
    """
    if cuda_visible_devices is None:
        return list(range(len(uuids)))
    field = f"CUDA_VISIBLE_DEVICES={cuda_visible_devices!r}"
    indices: list[int] = []
    for raw in cuda_visible_devices.split(","):
        entry = raw.strip()
        if entry.isdigit():
            index = int(entry)
            if index >= len(uuids):
                raise MeterError(f"GPU index {index} but NVML sees {len(uuids)}", field=field)
        elif entry.startswith("MIG-"):
            raise MeterError("MIG instances share their GPU's energy counter", field=field)
        elif entry.startswith("GPU-"):
            index = _match_uuid(entry, uuids, field)
        else:
            raise MeterError(f"entry {entry!r} is neither an index nor a GPU UUID", field=field)
        if index in indices:
            raise MeterError(f"GPU {index} is listed twice", field=field)
        indices.append(index)
    return indices


def select_indices(selection: list[str] | None, visible: list[int], uuids: list[str]) -> list[int]:
    """NVML indices chosen by the spec: positions among visible GPUs, or UUIDs (prefixes)."""
    if selection is None:
        return list(visible)
    visible_uuids = [uuids[i] for i in visible]
    chosen: list[int] = []
    for entry in selection:
        if entry.isdigit():
            position = int(entry)
            if position >= len(visible):
                raise MeterError(
                    f"GPU {position} requested but only {len(visible)} visible",
                    field="meters",
                )
            index = visible[position]
        else:
            index = visible[_match_uuid(entry, visible_uuids, "meters nvml")]
        if index in chosen:
            raise MeterError(f"GPU {entry!r} selected twice", field="meters")
        chosen.append(index)
    return chosen


@register
class NvmlMeter(PollingMeter):
    """Per-GPU energy from the NVML counter, or integrated NVML power where there is none."""

    name = "nvml"
    poll_interval_s = 0.1

    def __init__(
        self,
        spec: str = "nvml",
        selection: list[str] | None = None,
        *,
        library: Any = None,
        environ: Mapping[str, str] | None = None,
        poll_interval_s: float = 0.1,
    ) -> None:
        super().__init__(spec)
        self.selection = selection
        self.poll_interval_s = poll_interval_s
        self._library = library
        self._environ = os.environ if environ is None else environ
        self._gpus: list[_Gpu] = []
        self._lib: Any = None

    @classmethod
    def from_spec(cls, spec: str, args: str) -> NvmlMeter:
        entries = [part.strip() for part in args.split(",") if part.strip()] if args else None
        return cls(spec, entries)

    @property
    def method(self) -> str:
        counters = {gpu.has_counter for gpu in self._gpus}
        if counters == {True}:
            return "nvml-counter"
        if counters == {False}:
            return "nvml-power-trapezoid"
        return "nvml-counter+power-trapezoid"

    def _call(self, what: str, function: str, *args: Any) -> Any:
        """Call an NVML function, mapping NVMLError to MeterError naming the call."""
        lib = self._lib
        try:
            return getattr(lib, function)(*args)
        except lib.NVMLError as error:
            raise MeterError(f"{function} failed for {what}: {error}", field="meters") from None

    def _supported(self, what: str, function: str, handle: Any) -> Any:
        """Like ``_call`` but None when the device does not support the query."""
        lib = self._lib
        try:
            return getattr(lib, function)(handle)
        except lib.NVMLError_NotSupported:
            return None
        except lib.NVMLError as error:
            raise MeterError(f"{function} failed for {what}: {error}", field="meters") from None

    def open(self) -> list[DeviceInfo]:
        self._lib = self._library if self._library is not None else import_nvml()
        self._call("the driver", "nvmlInit")
        try:
            return self._open_devices()
        except MeterError:
            self.close()
            raise

    def _open_devices(self) -> list[DeviceInfo]:
        count = int(self._call("the driver", "nvmlDeviceGetCount"))
        handles = [self._call(f"GPU {i}", "nvmlDeviceGetHandleByIndex", i) for i in range(count)]
        uuids = [
            _text(self._call(f"GPU {i}", "nvmlDeviceGetUUID", h)) for i, h in enumerate(handles)
        ]
        cuda_visible = self._environ.get("CUDA_VISIBLE_DEVICES")
        chosen = select_indices(self.selection, visible_indices(cuda_visible, uuids), uuids)
        if not chosen:
            raise MeterError("no GPU to meter (CUDA_VISIBLE_DEVICES hides all)", field="meters")
        if cuda_visible is not None and self._environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
            self.notes.append(
                "CUDA_VISIBLE_DEVICES indices taken as NVML (PCI bus) order; set "
                "CUDA_DEVICE_ORDER=PCI_BUS_ID so CUDA uses the same order"
            )
        driver = _text(self._call("the driver", "nvmlSystemGetDriverVersion"))
        self._gpus = [self._probe(i, handles[i], uuids[i], driver) for i in chosen]
        return [gpu.info for gpu in self._gpus]

    def _probe(self, index: int, handle: Any, uuid: str, driver: str) -> _Gpu:
        what = f"GPU {index}"
        limit_mw = self._supported(what, "nvmlDeviceGetEnforcedPowerLimit", handle)
        has_counter = (
            self._supported(what, "nvmlDeviceGetTotalEnergyConsumption", handle) is not None
        )
        if not has_counter:
            if self._supported(what, "nvmlDeviceGetPowerUsage", handle) is None:
                raise MeterError(
                    f"{what} reports neither an energy counter nor power", field="meters"
                )
            self.notes.append(
                f"gpu{index}: no energy counter; integrating power sampled at "
                f"{1 / self.poll_interval_s:g} Hz"
            )
        info = DeviceInfo(
            device=f"gpu{index}",
            model=_text(self._call(what, "nvmlDeviceGetName", handle)),
            uuid=uuid,
            driver=driver,
            power_limit_w=None if limit_mw is None else limit_mw / 1000.0,
        )
        return _Gpu(handle, info, has_counter)

    def read(self) -> dict[str, Reading]:
        readings = {}
        for gpu in self._gpus:
            what = gpu.info.device
            energy_mj = (
                self._call(what, "nvmlDeviceGetTotalEnergyConsumption", gpu.handle)
                if gpu.has_counter
                else None
            )
            power_mw = self._supported(what, "nvmlDeviceGetPowerUsage", gpu.handle)
            readings[what] = Reading(
                t_s=now_s(),
                energy_j=None if energy_mj is None else energy_mj / 1000.0,
                power_w=None if power_mw is None else power_mw / 1000.0,
            )
        return readings

    def close(self) -> None:
        if self._lib is not None:
            lib, self._lib = self._lib, None
            with contextlib.suppress(lib.NVMLError):  # a broken driver has nothing to report
                lib.nvmlShutdown()
