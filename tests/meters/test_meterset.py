"""Several meters as one: components kept apart, bases never mixed, failures before the load."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nvml_fake import FakeGpu, FakeNvml, SinePower

from tokenergy.errors import ConfigError, MeterError
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.nvml import NvmlMeter
from tokenergy.meters.rapl import RaplMeter
from tokenergy.meters.record import energy_record, host_energy_j, idle_subtracted_j
from tokenergy.meters.specs import parse_spec


def powercap(root: Path) -> Path:
    for name, label in (("intel-rapl:0", "package-0"), ("intel-rapl:0:0", "dram")):
        (root / name).mkdir()
        (root / name / "name").write_text(label)
        (root / name / "energy_uj").write_text("0")
        (root / name / "max_energy_range_uj").write_text(str(2**32))
    return root


def test_gpu_and_host_components_are_recorded_apart(tmp_path: Path) -> None:
    nvml = FakeNvml([FakeGpu(uuid="GPU-1", profile=SinePower(400, 0, 1.0))])
    rapl = RaplMeter(root=powercap(tmp_path), poll_interval_s=0.1)
    meters = MeterSet([NvmlMeter(library=nvml, environ={}), rapl])
    meters.open()
    meters.start()
    idle = meters.measure_idle(0.5)
    start_s = meters.mark()
    time.sleep(0.5)
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text(str(60_000_000))  # +60 J
    (tmp_path / "intel-rapl:0:0" / "energy_uj").write_text(str(6_000_000))  # +6 J
    time.sleep(0.5)
    end_s = meters.mark()
    meters.stop()
    record = energy_record(meters.window(start_s, end_s, expected_gpus=1), idle)
    meters.close()
    assert record is not None and record.valid, record and record.reasons
    kinds = {d.device: d.kind for d in record.devices}
    assert kinds == {"nvml:gpu0": "gpu", "rapl:cpu-package-0": "cpu", "rapl:dram-0": "dram"}
    duration_s = end_s - start_s
    # the headline stays the accelerator's; host energy is reported beside it
    assert record.energy_j == pytest.approx(400 * duration_s, rel=5e-3)
    assert record.boundary.value == "accelerator"
    assert host_energy_j(record) == pytest.approx(66.0)
    assert record.method == "nvml-counter+rapl-counter"
    assert record.meter == "nvml + rapl"
    assert record.idle_power_w == pytest.approx(400, rel=5e-3)  # this fake GPU never idles
    assert idle_subtracted_j(record, duration_s) == pytest.approx(0.0, abs=0.01 * 400)


def test_rapl_alone_is_the_serving_processor(tmp_path: Path) -> None:
    meters = MeterSet([RaplMeter(root=powercap(tmp_path), poll_interval_s=0.1)])
    meters.open()
    meters.start()
    start_s = meters.mark()
    (tmp_path / "intel-rapl:0" / "energy_uj").write_text(str(30_000_000))
    time.sleep(1.0)
    end_s = meters.mark()
    meters.stop()
    record = energy_record(meters.window(start_s, end_s))
    meters.close()
    assert record is not None and record.energy_j == pytest.approx(30.0)
    assert host_energy_j(record) is None  # no GPU: the CPU is what serves


def test_stated_and_measured_bases_are_never_combined(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mix bases"):
        MeterSet([parse_spec("constant:700W"), RaplMeter(root=powercap(tmp_path))])
    with pytest.raises(ConfigError, match="given twice"):
        MeterSet.from_specs(["rapl", "rapl"])


def test_the_same_gpu_through_two_meters_is_refused() -> None:
    def one_gpu() -> NvmlMeter:
        return NvmlMeter(library=FakeNvml([FakeGpu(uuid="GPU-1")]), environ={})

    first, second = one_gpu(), one_gpu()
    second.spec = "nvml:0"
    with pytest.raises(ConfigError, match="GPU GPU-1 is metered by both 'nvml' and 'nvml:0'"):
        MeterSet([first, second]).open()


def test_a_failing_meter_closes_the_ones_already_open(tmp_path: Path) -> None:
    nvml = FakeNvml([FakeGpu(uuid="GPU-1")])
    meters = MeterSet([NvmlMeter(library=nvml, environ={}), RaplMeter(root=tmp_path / "no")])
    with pytest.raises(MeterError, match="no RAPL powercap"):
        meters.open()
    assert not nvml.initialised


def test_short_window_and_starved_batch_are_reasons() -> None:
    meters = MeterSet.from_specs(["constant:700W"])
    measured = meters.window(0.0, 0.4, batch_ratio=0.5)
    assert measured.reasons == [
        "achieved/target batch 0.50 is below 0.85",
        "window of 0.40 s is shorter than the minimum 1 s",
    ]
