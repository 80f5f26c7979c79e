from __future__ import annotations

import math

import pytest

from tokenergy.sim.power import EnergyLedger, gpu_power_w, make_gpus
from tokenergy.sim.profiles import PowerCurve

CURVE = PowerCurve(idle_w=70.0, busy_floor_w=400.0, max_w=700.0, saturation_seqs=50.0)


def test_power_curve_idle_floor_and_saturation() -> None:
    assert gpu_power_w(CURVE, 0) == 70.0
    assert gpu_power_w(CURVE, 50) == pytest.approx(400.0 + 300.0 * (1 - math.exp(-1)))
    assert gpu_power_w(CURVE, 10_000) == pytest.approx(700.0)
    powers = [gpu_power_w(CURVE, b) for b in range(1, 300)]
    assert powers == sorted(powers)


def test_ledger_integrates_piecewise_constant_power_exactly() -> None:
    ledger = EnergyLedger(CURVE, num_gpus=2)
    ledger.set_running(1.0, 50)  # idle for 1 s
    ledger.set_running(3.0, 0)  # busy at P(50) for 2 s
    expected_j = 70.0 * 1.0 + gpu_power_w(CURVE, 50) * 2.0 + 70.0 * 0.5
    assert ledger.energy_j(3.5) == pytest.approx(expected_j, rel=1e-12)
    assert ledger.busy_idle_s(3.5) == pytest.approx((2.0, 1.5))


def test_ledger_refuses_time_going_backwards() -> None:
    ledger = EnergyLedger(CURVE, num_gpus=1)
    ledger.set_running(2.0, 1)
    with pytest.raises(ValueError, match="backwards"):
        ledger.set_running(1.0, 0)


def test_gpu_identities_are_stable_and_distinct() -> None:
    gpus = make_gpus(4, "NVIDIA H100 80GB HBM3", 70.0, seed=3)
    assert [g.uuid for g in gpus] == [g.uuid for g in make_gpus(4, "x", 70.0, seed=3)]
    assert len({g.uuid for g in gpus}) == 4
    assert all(g.uuid.startswith("GPU-") for g in gpus)
    assert len({g.boot_energy_j for g in gpus}) == 4  # counters do not start at one value
