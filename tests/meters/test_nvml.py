"""The nvml meter against an injected NVML-like device whose counter advances by P(t)·dt."""

from __future__ import annotations

import time
from importlib import metadata

import pytest
from nvml_fake import FakeGpu, FakeNvml, NVMLError_DriverNotLoaded, SinePower

from tokenergy.errors import MeterError
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.nvml import NvmlMeter, import_nvml, select_indices, visible_indices
from tokenergy.meters.record import energy_record

UUIDS = [f"GPU-{c * 8}-0000-0000-0000-000000000000" for c in "abcd"]


def fake(**overrides: object) -> FakeNvml:
    return FakeNvml([FakeGpu(uuid=UUIDS[0], **overrides)])  # type: ignore[arg-type]


def run(meters: MeterSet, before_s: float, window_s: float, after_s: float) -> tuple[float, float]:
    """Poll through a window with margins on both sides; return its edges."""
    meters.open()
    meters.start()
    time.sleep(before_s)
    start_s = meters.mark()
    time.sleep(window_s)
    end_s = meters.mark()
    time.sleep(after_s)
    meters.stop()
    return start_s, end_s


def test_counter_deltas_match_the_true_integral_per_device() -> None:
    nvml = FakeNvml(
        [
            FakeGpu(uuid=UUIDS[0], profile=SinePower(300, 100, 1.3)),
            FakeGpu(uuid=UUIDS[1], profile=SinePower(650, 40, 0.7), counter_at_load_j=9e9),
        ]
    )
    meters = MeterSet([NvmlMeter(library=nvml, environ={})])
    start_s, end_s = run(meters, 0.25, 1.2, 0.25)
    # edges between polls too: the counter is interpolated, not read there
    for a_s, b_s in ((start_s, end_s), (start_s + 0.033, end_s - 0.071)):
        measured = meters.window(a_s, b_s)
        assert measured.valid, measured.reasons
        energies = [d.energy_j for d in measured.parts[0].energy.devices]
        for index, energy_j in enumerate(energies):
            assert energy_j == pytest.approx(nvml.true_energy_j(index, a_s, b_s), rel=5e-3)
    record = energy_record(meters.window(start_s, end_s))
    assert record is not None
    assert record.method == "nvml-counter"
    assert (record.boundary.value, record.basis.value) == ("accelerator", "measured")
    assert [d.device for d in record.devices] == ["nvml:gpu0", "nvml:gpu1"]
    assert record.devices[1].power_limit_w == 700.0
    assert record.devices[1].uuid == UUIDS[1]
    meters.close()
    assert not nvml.initialised  # nvmlShutdown called


def test_counter_refreshed_every_100_ms_errs_by_at_most_one_refresh_per_edge() -> None:
    """Real NVML refreshes the counter every ~100 ms: an edge is uncertain by ≤ P_max × 0.1 s."""
    profile = SinePower(400, 100, 1.7)
    nvml = fake(update_period_s=0.1, profile=profile)
    meters = MeterSet([NvmlMeter(library=nvml, environ={}, poll_interval_s=0.05)])
    start_s, end_s = run(meters, 0.2, 1.0, 0.2)
    measured = meters.window(start_s, end_s)
    meters.close()
    (device,) = measured.parts[0].energy.devices
    assert device.energy_j is not None
    error_j = abs(device.energy_j - nvml.true_energy_j(0, start_s, end_s))
    bound_j = 2 * (profile.base_w + profile.amplitude_w) * 0.1
    assert error_j <= bound_j


def test_missing_counter_falls_back_to_sampled_power_within_one_percent() -> None:
    nvml = fake(has_counter=False, profile=SinePower(300, 120, 0.9))
    meter = NvmlMeter(library=nvml, environ={}, poll_interval_s=0.1)  # 10 Hz, the floor
    meters = MeterSet([meter])
    start_s, end_s = run(meters, 0.2, 2.0, 0.2)
    measured = meters.window(start_s, end_s)
    assert measured.valid, measured.reasons
    (device,) = measured.parts[0].energy.devices
    assert device.method == "power-trapezoid"
    assert meter.method == "nvml-power-trapezoid"
    assert device.energy_j == pytest.approx(nvml.true_energy_j(0, start_s, end_s), rel=0.01)
    assert any("no energy counter" in note for note in meters.notes)
    meters.close()


def test_counter_reset_mid_window_is_detected_and_invalidates() -> None:
    nvml = fake(reset_after_s=0.7)
    meters = MeterSet([NvmlMeter(library=nvml, environ={})])
    start_s, end_s = run(meters, 0.3, 0.9, 0.2)
    measured = meters.window(start_s, end_s)
    assert not measured.valid
    assert any("went backwards (reset)" in reason for reason in measured.reasons)
    record = energy_record(measured)
    assert record is not None and not record.valid
    assert record.energy_j is not None
    assert record.energy_j <= nvml.true_energy_j(0, start_s, end_s) * 1.001  # a lower bound
    before = meters.window(start_s, start_s + 0.3)  # a window before the reset stays clean
    assert not any("reset" in reason for reason in before.reasons)
    meters.close()


def test_device_count_mismatch_is_flagged() -> None:
    meters = MeterSet([NvmlMeter(library=fake(), environ={})])
    start_s, end_s = run(meters, 0.15, 1.0, 0.15)
    assert meters.window(start_s, end_s, expected_gpus=1).valid
    measured = meters.window(start_s, end_s, expected_gpus=2)
    assert "metered 1 GPU(s), the deployment has 2" in measured.reasons
    meters.close()


def test_gpu_lost_mid_run_invalidates_the_window_without_raising() -> None:
    meters = MeterSet([NvmlMeter(library=fake(lost_after_s=0.6), environ={})])
    start_s, end_s = run(meters, 0.2, 1.0, 0.1)
    measured = meters.window(start_s, end_s)
    assert not measured.valid
    text = " | ".join(measured.reasons)
    assert "GPU is lost" in text and "last reading" in text
    meters.close()


def four_gpus() -> FakeNvml:
    return FakeNvml([FakeGpu(uuid=uuid) for uuid in UUIDS])


@pytest.mark.parametrize(
    ("environ", "spec_args", "expected"),
    [
        ({}, "", ["gpu0", "gpu1", "gpu2", "gpu3"]),
        ({"CUDA_VISIBLE_DEVICES": "2,3"}, "", ["gpu2", "gpu3"]),
        ({"CUDA_VISIBLE_DEVICES": "2,3"}, "1", ["gpu3"]),  # indices are relative to the list
        ({"CUDA_VISIBLE_DEVICES": "3,1"}, "0,1", ["gpu3", "gpu1"]),
        ({"CUDA_VISIBLE_DEVICES": "GPU-cccc,GPU-aaaa"}, "", ["gpu2", "gpu0"]),  # UUID prefixes
        ({"CUDA_VISIBLE_DEVICES": "1,2"}, UUIDS[2], ["gpu2"]),
        ({}, "GPU-dddd", ["gpu3"]),
    ],
)
def test_cuda_visible_devices_mapping(
    environ: dict[str, str], spec_args: str, expected: list[str]
) -> None:
    meter = NvmlMeter.from_spec(f"nvml:{spec_args}", spec_args)
    meter._library = four_gpus()
    meter._environ = environ
    devices = meter.open()
    assert [d.device for d in devices] == expected
    assert [d.uuid for d in devices] == [UUIDS[int(name[-1])] for name in expected]
    has_note = any("CUDA_DEVICE_ORDER" in note for note in meter.notes)
    assert has_note == ("CUDA_VISIBLE_DEVICES" in environ)
    meter.close()


@pytest.mark.parametrize(
    ("visible", "message"),
    [
        ("0,7", "GPU index 7 but NVML sees 4"),
        ("GPU-ffff", "matches no GPU"),
        ("GPU-", "matches 4 GPUs"),
        ("MIG-1234", "MIG instances"),
        ("0,0", "listed twice"),
        ("zero", "neither an index nor a GPU UUID"),
    ],
)
def test_bad_cuda_visible_devices_are_refused(visible: str, message: str) -> None:
    with pytest.raises(MeterError, match=message) as caught:
        visible_indices(visible, UUIDS)
    assert "CUDA_VISIBLE_DEVICES" in str(caught.value)


def test_selection_outside_visible_gpus_is_refused() -> None:
    with pytest.raises(MeterError, match="GPU 2 requested but only 2 visible"):
        select_indices(["2"], [0, 1], UUIDS)
    with pytest.raises(MeterError, match="matches no GPU"):
        select_indices([UUIDS[3]], [0, 1], UUIDS)
    with pytest.raises(MeterError, match="selected twice"):
        select_indices(["0", UUIDS[0]], [0, 1], UUIDS)


def test_nvml_errors_become_meter_errors_before_any_load() -> None:
    broken = FakeNvml([FakeGpu(uuid=UUIDS[0])], init_error=NVMLError_DriverNotLoaded())
    with pytest.raises(MeterError, match="nvmlInit failed for the driver: Driver Not Loaded"):
        MeterSet([NvmlMeter(library=broken, environ={})]).open()
    blind = fake(has_counter=False, has_power=False)
    with pytest.raises(MeterError, match="neither an energy counter nor power"):
        NvmlMeter(library=blind, environ={}).open()
    assert not blind.initialised  # shut down again after the failure


def test_real_bindings_without_a_driver_give_a_clear_error() -> None:
    """With nvidia-ml-py: NVML's own 'library not found'; without: how to install it."""
    try:
        metadata.version("nvidia-ml-py")
    except metadata.PackageNotFoundError:
        with pytest.raises(MeterError, match=r"pip install 'tokenergy\[nvidia\]'"):
            import_nvml()
        return
    with pytest.raises(MeterError, match="nvmlInit failed") as caught:
        NvmlMeter(environ={}).open()
    assert "Not Found" in str(caught.value) or "Driver" in str(caught.value)
