"""Several meters as one: components kept apart, bases never mixed, failures before the load."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nvml_fake import FakeGpu, FakeNvml, SinePower

from tokenergy.errors import ConfigError, MeterError
from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.nvml import NvmlMeter
from tokenergy.meters.rapl import RaplMeter
from tokenergy.meters.record import energy_record, host_energy_j, idle_subtracted_j
from tokenergy.meters.specs import parse_spec
from tokenergy.records import Identity, Provenance, ServingResult, Throughput
from tokenergy.units import TimeBase


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


class _SimulatedGpu(PollingMeter):
    """A simulator's DCGM series at speed 4: its counter and its clock, read at real instants."""

    name = "simgpu"

    def __init__(self) -> None:
        super().__init__("simgpu")
        self.power_w = 70.0  # per simulated second
        self._started_s = now_s()
        self._device_s = 0.0
        self._energy_j = 0.0

    @classmethod
    def from_spec(cls, spec: str, args: str) -> _SimulatedGpu:
        return cls()

    @property
    def method(self) -> str:
        return "simgpu-counter"

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo("gpu0", model="NVIDIA H100 80GB HBM3", time_scale=4.0)]

    def read(self) -> dict[str, Reading]:
        t_s = now_s()
        device_s = 4.0 * (t_s - self._started_s)
        self._energy_j += self.power_w * (device_s - self._device_s)
        self._device_s = device_s
        return {"gpu0": Reading(t_s, energy_j=self._energy_j, device_time_s=device_s)}


def test_a_simulators_powers_are_per_simulated_second_and_j_per_token_is_unchanged() -> None:
    """Issue 14 item 14: idle and mean power, and the energy above idle, in the simulator's time
    base; J/token still energy / tokens, whose rate is per wall second."""
    gpu = _SimulatedGpu()
    meters = MeterSet([gpu])
    meters.open()
    idle = meters.measure_idle(0.2)
    gpu.power_w = 500.0
    start_s = meters.mark()
    time.sleep(0.3)
    end_s = meters.mark()
    record = energy_record(meters.window(start_s, end_s), idle)
    meters.close()
    assert record is not None and record.energy_j is not None
    wall_s = end_s - start_s
    assert record.time_base is TimeBase.SIMULATED
    assert record.duration_s == pytest.approx(4.0 * wall_s)
    assert record.avg_power_w == pytest.approx(500.0)
    assert record.idle_power_w == pytest.approx(70.0)
    assert record.devices[0].time_base is TimeBase.SIMULATED
    assert record.devices[0].avg_power_w == pytest.approx(500.0)
    assert idle_subtracted_j(record, wall_s) == pytest.approx(430.0 * 4.0 * wall_s)
    tokens = 1000.0
    result = ServingResult(
        identity=Identity(model="m"),
        throughput=Throughput(output_tok_s=tokens / wall_s),
        duration_s=wall_s,
        energy=record,
        provenance=Provenance(source="sim", source_format="tokenergy-run", simulated=True),
    )
    assert result.power_w == pytest.approx(500.0)  # not 2000 W per wall second
    assert result.j_per_output_token == pytest.approx(record.energy_j / tokens)
