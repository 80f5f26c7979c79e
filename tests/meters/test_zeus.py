"""The zeus meter: real Zeus (when installed) over the injected NVML-like device."""

from __future__ import annotations

import time

import pytest
from nvml_fake import FakeGpu, FakeNvml, SinePower

from tokenergy.errors import MeterError
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.zeus import ZeusMeter


def test_missing_zeus_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "zeus.monitor", None)  # as if absent
    with pytest.raises(MeterError, match=r"pip install 'tokenergy\[zeus\]'"):
        ZeusMeter().open()


def test_chained_zeus_windows_add_up_to_the_true_energy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zeus's own NVML layer runs; only the driver calls answer from the fake device."""
    pytest.importorskip("zeus.monitor", reason="zeus extra not installed")
    pynvml = pytest.importorskip("pynvml")
    import zeus.device.gpu as zeus_gpu

    fake = FakeNvml(
        [
            FakeGpu(uuid="GPU-a", profile=SinePower(300, 50, 0.8)),
            FakeGpu(uuid="GPU-b", profile=SinePower(500, 0, 1.0)),
        ]
    )

    def not_supported(*_: object) -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    driver = {
        "nvmlInit": fake.nvmlInit,
        "nvmlShutdown": fake.nvmlShutdown,
        "nvmlDeviceGetCount": fake.nvmlDeviceGetCount,
        "nvmlDeviceGetHandleByIndex": fake.nvmlDeviceGetHandleByIndex,
        "nvmlDeviceGetName": fake.nvmlDeviceGetName,
        "nvmlDeviceGetTotalEnergyConsumption": fake.nvmlDeviceGetTotalEnergyConsumption,
        "nvmlDeviceGetPowerUsage": fake.nvmlDeviceGetPowerUsage,
        "nvmlDeviceGetPowerManagementLimit": fake.nvmlDeviceGetEnforcedPowerLimit,
        "nvmlDeviceGetArchitecture": lambda _: pynvml.NVML_DEVICE_ARCH_HOPPER,
        "nvmlDeviceGetC2cModeInfoV": not_supported,
    }
    for name, function in driver.items():
        monkeypatch.setattr(pynvml, name, function)
    monkeypatch.setattr(zeus_gpu, "_gpus", None)  # Zeus caches its GPU list
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    meters = MeterSet([ZeusMeter(poll_interval_s=0.1)])
    devices = meters.open()
    assert [(d.device, d.power_limit_w) for d in devices] == [("gpu0", 700.0), ("gpu1", 700.0)]
    meters.start()
    time.sleep(0.2)
    start_s = meters.mark()
    time.sleep(1.0)
    end_s = meters.mark()
    time.sleep(0.2)
    meters.stop()
    measured = meters.window(start_s, end_s, expected_gpus=2)
    meters.close()
    monkeypatch.setattr(zeus_gpu, "_gpus", None)
    assert measured.valid, measured.reasons
    for index, device in enumerate(measured.parts[0].energy.devices):
        assert device.energy_j == pytest.approx(fake.true_energy_j(index, start_s, end_s), rel=5e-3)
