"""The per-device power timeline CSV saved in the run directory."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from nvml_fake import FakeGpu, FakeNvml, SinePower

from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.nvml import NvmlMeter
from tokenergy.meters.timeline import COLUMNS, write_timeline


def test_timeline_rows_with_sampled_and_counter_power(tmp_path: Path) -> None:
    nvml = FakeNvml(
        [
            FakeGpu(uuid="GPU-a", profile=SinePower(350, 0, 1.0)),
            FakeGpu(uuid="GPU-b", profile=SinePower(250, 0, 1.0), has_power=False),
        ]
    )
    meters = MeterSet([NvmlMeter(library=nvml, environ={})])
    meters.open()
    start_s = meters.start()
    time.sleep(0.6)
    meters.stop()
    end_s = meters.mark()
    path = tmp_path / "power_timeline.csv"
    rows = write_timeline(meters, path, start_s, end_s)
    meters.close()
    with path.open() as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == COLUMNS
    assert len(table) == rows >= 10
    by_device: dict[str, list[dict[str, str]]] = {}
    for row in table:
        by_device.setdefault(row["device"], []).append(row)
    assert set(by_device) == {"nvml:gpu0", "nvml:gpu1"}
    sampled = [float(r["power_w"]) for r in by_device["nvml:gpu0"]]
    assert all(r["power_from"] == "sample" for r in by_device["nvml:gpu0"])
    assert sampled == pytest.approx([350.0] * len(sampled))
    derived = by_device["nvml:gpu1"]
    assert derived[0]["power_w"] == ""  # no earlier reading to difference with
    from_counter = [float(r["power_w"]) for r in derived if r["power_from"] == "counter"]
    assert len(from_counter) >= len(derived) - 3  # only readings < 50 ms apart are left blank
    assert from_counter == pytest.approx([250.0] * len(from_counter), rel=0.02)
    assert by_device["nvml:gpu1"][0]["uuid"] == "GPU-b"


class _ClockedMeter(PollingMeter):
    """A simulator-like device: counter and clock at speed 4, 500 W per simulated second."""

    name = "clocked"

    def __init__(self) -> None:
        super().__init__("clocked")
        self.wall_s = 0.0

    @classmethod
    def from_spec(cls, spec: str, args: str) -> _ClockedMeter:
        return cls()

    @property
    def method(self) -> str:
        return "clocked-counter"

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo("gpu0", time_scale=4.0)]

    def read(self) -> dict[str, Reading]:
        self.wall_s += 0.1
        device_s = 4.0 * self.wall_s
        return {"gpu0": Reading(self.wall_s, energy_j=500.0 * device_s, device_time_s=device_s)}


def test_counter_power_of_a_device_clock_is_per_its_seconds(tmp_path: Path) -> None:
    """Issue 14 item 14: the timeline's power is the simulator's (500 W), not × its speed."""
    meters = MeterSet([_ClockedMeter()])
    meters.open()
    for _ in range(5):
        meters.mark()
    path = tmp_path / "power_timeline.csv"
    write_timeline(meters, path, 0.0, 1.0)
    meters.close()
    with path.open() as handle:
        table = list(csv.DictReader(handle))
    derived = [float(r["power_w"]) for r in table if r["power_from"] == "counter"]
    assert derived == pytest.approx([500.0] * 5)
    assert [float(r["device_t_s"]) for r in table] == pytest.approx([0.4 * i for i in range(1, 7)])
