"""The rapl meter on a powercap tree built in tmp_path (the hardware boundary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import MeterError
from tokenergy.meters.rapl import RaplMeter
from tokenergy.meters.session import MeterSession
from tokenergy.meters.specs import parse_spec

MAX_UJ = 2**32  # ≈ 4295 J, a common max_energy_range_uj


def zone(root: Path, name: str, label: str, energy_uj: int) -> Path:
    path = root / name
    path.mkdir()
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{energy_uj}\n")
    (path / "max_energy_range_uj").write_text(f"{MAX_UJ}\n")
    return path


@pytest.fixture
def powercap(tmp_path: Path) -> Path:
    zone(tmp_path, "intel-rapl:0", "package-0", 4_200_000_000)
    zone(tmp_path, "intel-rapl:0:0", "core", 1)  # part of the package: not counted again
    zone(tmp_path, "intel-rapl:0:1", "dram", 5_000_000)
    zone(tmp_path, "intel-rapl:1", "package-1", 0)
    zone(tmp_path, "intel-rapl:2", "psys", 0)  # overlaps everything: ignored
    return tmp_path


def set_uj(root: Path, name: str, energy_uj: int) -> None:
    (root / name / "energy_uj").write_text(f"{energy_uj}\n")


def test_packages_and_dram_with_wraparound(powercap: Path) -> None:
    session = MeterSession(parse_spec(f"rapl:{powercap}"))
    devices = session.open()  # first reading
    assert [(d.device, d.kind) for d in devices] == [
        ("cpu-package-0", "cpu"),
        ("dram-0", "dram"),
        ("cpu-package-1", "cpu"),
    ]
    set_uj(powercap, "intel-rapl:0", 100_000_000)  # wrapped past 2**32 µJ
    set_uj(powercap, "intel-rapl:0:1", 9_000_000)
    set_uj(powercap, "intel-rapl:1", 70_000_000)
    session.sample_now()
    set_uj(powercap, "intel-rapl:0", 300_000_000)
    session.sample_now()
    readings = session.readings()
    start_s = readings["cpu-package-0"][0].t_s
    end_s = readings["cpu-package-0"][-1].t_s
    energy = session.window(start_s, end_s, batch_ratio=None)
    by_device = {d.device.device: d.energy_j for d in energy.devices}
    assert by_device["cpu-package-0"] == pytest.approx((MAX_UJ - 4_200_000_000 + 300_000_000) / 1e6)
    assert by_device["dram-0"] == pytest.approx(4.0)
    assert not any("reset" in reason for reason in energy.reasons)
    assert session.meter.method == "rapl-counter"
    session.close()


def test_absent_powercap_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MeterError, match="no RAPL powercap here"):
        RaplMeter(root=tmp_path / "missing").open()
    with pytest.raises(MeterError, match="no package or dram RAPL zone"):
        RaplMeter(root=tmp_path).open()


def test_garbage_counter_is_a_clear_error(powercap: Path) -> None:
    set_uj(powercap, "intel-rapl:1", 0)
    (powercap / "intel-rapl:1" / "energy_uj").write_text("n/a\n")
    with pytest.raises(MeterError, match=r"cannot read .*intel-rapl:1/energy_uj"):
        RaplMeter(root=powercap).open()
