"""Stated power bases resolve to a labelled EnergyMeasurement with every step recorded."""

from __future__ import annotations

import pytest

from tokenergy.errors import CatalogError, ConfigError
from tokenergy.power import GpuBasis, PowerSpec, resolve
from tokenergy.units import Basis, Boundary


def test_catalog_tdp_with_host_and_pue() -> None:
    energy = resolve(PowerSpec(gpu_basis=GpuBasis.TDP, host_overhead=0.10, pue=1.2), "H100", 4)
    assert energy.avg_power_w == pytest.approx(4 * 700 * 1.10 * 1.2)
    assert energy.basis is Basis.NAMEPLATE
    assert energy.boundary is Boundary.FACILITY
    assert [s.name for s in energy.steps] == ["host overhead", "PUE"]


def test_catalog_allin_is_provisioned_facility() -> None:
    energy = resolve(PowerSpec(gpu_basis=GpuBasis.ALLIN), "b200", 8)
    assert energy.avg_power_w == pytest.approx(8 * 2170.0)
    assert (energy.basis, energy.boundary) == (Basis.PROVISIONED, Boundary.FACILITY)


def test_stated_powers() -> None:
    total = resolve(PowerSpec(power_w=11300.0), None, None)
    assert (total.avg_power_w, total.boundary, total.basis) == (
        11300.0,
        Boundary.NODE,
        Basis.PROVISIONED,
    )
    per_gpu = resolve(PowerSpec(power_per_gpu_w=1200.0, basis=Basis.NAMEPLATE), None, 8)
    assert per_gpu.avg_power_w == 9600.0


@pytest.mark.parametrize(
    ("spec", "gpu", "gpus", "error"),
    [
        (PowerSpec(), "H100", 1, ConfigError),
        (PowerSpec(power_w=1.0, gpu_basis=GpuBasis.TDP), "H100", 1, ConfigError),
        (PowerSpec(gpu_basis=GpuBasis.ALLIN, pue=1.2), "H100", 1, ConfigError),
        (PowerSpec(gpu_basis=GpuBasis.TDP), "H100", None, ConfigError),
        (PowerSpec(gpu_basis=GpuBasis.TDP), None, 2, ConfigError),
        (PowerSpec(gpu_basis=GpuBasis.ALLIN), "A100", 2, CatalogError),
    ],
)
def test_refuses_incomplete_or_double_counting(
    spec: PowerSpec, gpu: str | None, gpus: int | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        resolve(spec, gpu, gpus)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        (PowerSpec(power_w=1000.0, boundary=Boundary.FACILITY, pue=1.2), "already|facility"),
        (PowerSpec(power_w=1000.0, host_overhead=0.1), "already at the node"),
        (PowerSpec(power_w=1000.0, boundary=Boundary.FLEET, host_overhead=0.1), "fleet"),
        (PowerSpec(gpu_basis=GpuBasis.TDP, pue=1.3), "add a host overhead"),
        (PowerSpec(power_w=0.0), "positive"),
        (PowerSpec(power_per_gpu_w=float("inf")), "finite"),
    ],
)
def test_steps_only_move_outward_one_boundary_at_a_time(spec: PowerSpec, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        resolve(spec, "H100", 1)


def test_explicit_zero_host_overhead_allows_pue_on_tdp() -> None:
    energy = resolve(PowerSpec(gpu_basis=GpuBasis.TDP, host_overhead=0.0, pue=1.3), "H100", 1)
    assert energy.avg_power_w == pytest.approx(910.0)
    assert [s.to_boundary for s in energy.steps] == [Boundary.NODE, Boundary.FACILITY]


def test_a_power_spec_takes_its_bases_as_text_as_a_notebook_writes_them() -> None:
    """``gpu_basis="allin"`` is the all-in basis, not (as a plain string once was) TDP."""
    as_text = PowerSpec(gpu_basis="allin", basis="measured", boundary="facility")  # type: ignore[arg-type]
    assert as_text.gpu_basis is GpuBasis.ALLIN
    assert as_text.basis is Basis.MEASURED and as_text.boundary is Boundary.FACILITY
    assert resolve(as_text, "H100", 8) == resolve(PowerSpec(gpu_basis=GpuBasis.ALLIN), "H100", 8)
    assert resolve(as_text, "H100", 8).method == "catalog-allin"


@pytest.mark.parametrize("name", ["gpu_basis", "basis", "boundary"])
def test_a_power_spec_refuses_an_unknown_name_naming_the_parameter(name: str) -> None:
    with pytest.raises(ConfigError, match=f"unknown {name} 'watts'; use one of") as raised:
        PowerSpec(**{name: "watts"})  # type: ignore[arg-type]
    assert raised.value.field == name
