"""The stated power basis of rows without a measurement: resolved once, a fresh record per row."""

from __future__ import annotations

import pytest

from tokenergy.ingest.options import IngestOptions, stated_energy, stated_energy_fields
from tokenergy.power import PowerSpec
from tokenergy.records import EnergyMeasurement
from tokenergy.units import Basis, Boundary

OPTIONS = IngestOptions(
    power=PowerSpec(
        power_per_gpu_w=700.0, boundary=Boundary.ACCELERATOR, host_overhead=0.1, pue=1.2
    )
)


def test_each_call_is_a_record_of_its_own_down_to_the_steps() -> None:
    first, why = stated_energy(OPTIONS, "H100", 8)
    second, _ = stated_energy(OPTIONS, "H100", 8)
    assert why is None and first is not None and second is not None
    assert first == second and first.avg_power_w == pytest.approx(700 * 8 * 1.1 * 1.2)
    assert [s.name for s in first.steps] == ["host overhead", "PUE"]
    first.steps[0].factor = 3.0
    first.reasons.append("changed")
    third, _ = stated_energy(OPTIONS, "H100", 8)
    assert third == second and third.steps[0].factor == pytest.approx(1.1) and not third.reasons


def test_the_fields_validate_to_the_record() -> None:
    fields, why = stated_energy_fields(OPTIONS, "H100", 8)
    assert why is None and fields is not None
    assert fields["basis"] is Basis.PROVISIONED and fields["boundary"] is Boundary.FACILITY
    assert EnergyMeasurement.model_validate(fields) == stated_energy(OPTIONS, "H100", 8)[0]


def test_no_basis_or_an_unusable_one_says_why() -> None:
    assert (
        stated_energy(IngestOptions(), "H100", 8)[1]
        == stated_energy_fields(IngestOptions(), "H100", 8)[1]
    )
    energy, why = stated_energy(OPTIONS, "H100", None)
    assert energy is None and why is not None and "GPU count" in why
