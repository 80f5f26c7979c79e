"""The per-device power timeline CSV saved in the run directory."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import pytest
from nvml_fake import FakeGpu, FakeNvml, SinePower

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
