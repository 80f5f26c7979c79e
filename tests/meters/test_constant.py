"""A stated power: energy = P × T, labelled nameplate/provisioned, never measured."""

from __future__ import annotations

import pytest

from tokenergy.errors import MeterError
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.record import energy_record
from tokenergy.meters.specs import parse_spec


def test_energy_is_power_times_duration_with_the_stated_basis() -> None:
    meters = MeterSet.from_specs(["constant:1.5kW?basis=provisioned&boundary=node"])
    meters.open()
    record = energy_record(meters.window(100.0, 160.0))
    meters.close()
    assert record is not None
    assert record.energy_j == pytest.approx(1500.0 * 60)
    assert (record.basis.value, record.boundary.value) == ("provisioned", "node")
    assert record.method == "stated-power" and record.valid
    assert record.idle_power_w is None


def test_default_is_nameplate_accelerator() -> None:
    meters = MeterSet.from_specs(["constant:700W"])
    meters.open()
    record = energy_record(meters.window(0.0, 10.0))
    assert record is not None
    assert (record.basis.value, record.boundary.value) == ("nameplate", "accelerator")


def test_idle_is_not_defined_for_a_stated_power() -> None:
    meters = MeterSet.from_specs(["constant:700W"])
    meters.open()
    idle = meters.measure_idle(1.0, sleep=lambda seconds: None)
    assert idle.power_w == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("constant:", "give the power"),
        ("constant:lots", "cannot parse 'lots'"),
        ("constant:0W", "must be positive"),
        ("constant:700W?basis=measured", "not measured"),
        ("constant:700W?basis=guess", "'guess' is not a valid Basis"),
        ("constant:700W?boundary=planet", "'planet' is not a valid Boundary"),
        ("constant:700W?pue=1.2", "unknown option"),
    ],
)
def test_bad_constant_specs(spec: str, message: str) -> None:
    with pytest.raises(MeterError, match=message):
        parse_spec(spec)
