"""Stated power bases for results without a measurement (docs/methodology.md §3).

A stated power is resolved into an :class:`EnergyMeasurement` carrying its boundary, basis and
every multiplier applied (host overhead, PUE), so no conversion is ever silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from tokenergy import catalog, units
from tokenergy.energy import BoundaryStep, EnergyMeasurement
from tokenergy.errors import ConfigError
from tokenergy.units import Basis, Boundary


class GpuBasis(StrEnum):
    """Per-GPU figures from the catalog."""

    TDP = "tdp"  # board TDP: nameplate, accelerator boundary
    ALLIN = "allin"  # InferenceX all-in provisioned kW/GPU: already includes host + facility


@dataclass(frozen=True)
class PowerSpec:
    """How the user said the power should be obtained; exactly one source must be set."""

    power_w: float | None = None  # whole deployment
    power_per_gpu_w: float | None = None
    gpu_basis: GpuBasis | None = None
    basis: Basis = Basis.PROVISIONED  # label for power_w / power_per_gpu_w
    boundary: Boundary = Boundary.NODE  # label for power_w / power_per_gpu_w
    host_overhead: float | None = None
    pue: float | None = None

    def __post_init__(self) -> None:
        """Names given as text (a notebook's ``gpu_basis="allin"``) become their enums: the
        bases are compared by identity, so a plain string silently meant the TDP basis."""
        for name, kind in (("gpu_basis", GpuBasis), ("basis", Basis), ("boundary", Boundary)):
            value = getattr(self, name)
            if value is None or type(value) is kind:
                continue
            try:
                object.__setattr__(self, name, kind(value))
            except ValueError:
                raise ConfigError(
                    f"unknown {name} {value!r}; use one of {', '.join(k.value for k in kind)}",
                    field=name,
                ) from None

    def describe(self) -> str:
        if self.power_w is not None:
            return f"{self.power_w:g} W stated ({self.basis}, {self.boundary})"
        if self.power_per_gpu_w is not None:
            return f"{self.power_per_gpu_w:g} W/GPU stated ({self.basis}, {self.boundary})"
        return f"catalog {self.gpu_basis}"


def _sources(spec: PowerSpec) -> int:
    return sum(x is not None for x in (spec.power_w, spec.power_per_gpu_w, spec.gpu_basis))


def _parse_pue(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"cannot parse {text!r} as a PUE (e.g. 1.2)") from None
    if not 1.0 <= value < float("inf"):
        raise ConfigError(f"PUE must be a finite number >= 1, got {text!r}")
    return value


def power_spec(
    *,
    power: float | str | None = None,
    power_per_gpu: float | str | None = None,
    basis: str | None = None,
    boundary: str | None = None,
    host_overhead: float | str | None = None,
    pue: float | str | None = None,
) -> PowerSpec:
    """A PowerSpec from numbers (W, fractions) or text ("1.5kW", "10%"); unknown names are
    refused with the valid ones. ``basis`` is tdp|allin (catalog per-GPU figures) or the label
    of a stated power (measured|provisioned|nameplate|modeled; default provisioned)."""
    gpu_basis: GpuBasis | None = None
    label = Basis.PROVISIONED
    if basis is not None:
        names = [b.value for b in GpuBasis] + [b.value for b in Basis]
        if basis in {b.value for b in GpuBasis}:
            gpu_basis = GpuBasis(basis)
        elif basis in {b.value for b in Basis}:
            label = Basis(basis)
        else:
            raise ConfigError(
                f"unknown basis {basis!r}; use one of {', '.join(names)}", field="basis"
            )
    if gpu_basis is not None and (power is not None or power_per_gpu is not None):
        raise ConfigError(
            "basis tdp|allin reads the catalog; do not combine with a stated power", field="basis"
        )
    bound = Boundary.NODE
    if boundary is not None:
        try:
            bound = Boundary(boundary)
        except ValueError:
            raise ConfigError(
                f"unknown boundary {boundary!r}; use one of {', '.join(b.value for b in Boundary)}",
                field="boundary",
            ) from None
    return PowerSpec(
        power_w=None if power is None else units.quantity("power", power, units.parse_power_w),
        power_per_gpu_w=(
            None
            if power_per_gpu is None
            else units.quantity("power_per_gpu", power_per_gpu, units.parse_power_w)
        ),
        gpu_basis=gpu_basis,
        basis=label,
        boundary=bound,
        host_overhead=(
            None
            if host_overhead is None
            else units.quantity("host_overhead", host_overhead, units.parse_fraction)
        ),
        pue=None if pue is None else units.quantity("pue", pue, _parse_pue),
    )


def validate_spec(spec: PowerSpec) -> None:
    """Refuse contradictory or incomplete power specifications before any work is done."""
    if _sources(spec) == 0:
        raise ConfigError(
            "no power given: state a power, a power per GPU, or basis tdp|allin with a GPU",
            field="power",
        )
    if _sources(spec) > 1:
        raise ConfigError(
            "give only one of `power`, `power_per_gpu`, `basis` tdp|allin", field="power"
        )
    if spec.gpu_basis is GpuBasis.ALLIN and (spec.pue is not None or spec.host_overhead):
        raise ConfigError(
            "all-in provisioned figures already include host share and facility overhead; "
            "a PUE or host overhead would count them twice",
            field="basis",
        )
    for name, value in (("power", spec.power_w), ("power_per_gpu", spec.power_per_gpu_w)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ConfigError(
                f"a stated power must be positive and finite, got {value:g} W", field=name
            )
    if spec.pue is not None and not (1.0 <= spec.pue < math.inf):
        raise ConfigError(f"PUE must be >= 1, got {spec.pue:g}", field="pue")


def resolve(spec: PowerSpec, gpu: str | None, num_gpus: int | None) -> EnergyMeasurement:
    """Total power of a deployment of ``num_gpus`` × ``gpu`` under a stated basis."""
    validate_spec(spec)
    steps: list[BoundaryStep] = []
    if spec.power_w is not None:
        power_w, basis, boundary = spec.power_w, spec.basis, spec.boundary
        method = "stated-total"
    else:
        if num_gpus is None:
            raise ConfigError("the GPU count is unknown: give the GPU count", field="gpus")
        if spec.power_per_gpu_w is not None:
            per_gpu_w, basis, boundary = spec.power_per_gpu_w, spec.basis, spec.boundary
            method = "stated-per-gpu"
        else:
            if gpu is None:
                raise ConfigError("the GPU model is unknown: give the GPU", field="gpu")
            if spec.gpu_basis is GpuBasis.ALLIN:
                per_gpu_w, basis, boundary = (
                    catalog.allin_w(gpu),
                    Basis.PROVISIONED,
                    Boundary.FACILITY,
                )
                method = "catalog-allin"
            else:
                per_gpu_w, basis, boundary = (
                    catalog.tdp_w(gpu),
                    Basis.NAMEPLATE,
                    Boundary.ACCELERATOR,
                )
                method = "catalog-tdp"
        power_w = per_gpu_w * num_gpus
    power_w, boundary = _step_outward(spec, power_w, boundary, steps)
    return EnergyMeasurement(
        avg_power_w=power_w, boundary=boundary, basis=basis, method=method, steps=steps
    )


def _step_outward(
    spec: PowerSpec, power_w: float, boundary: Boundary, steps: list[BoundaryStep]
) -> tuple[float, Boundary]:
    """Apply host overhead (accelerator → node) then PUE (node → facility), one boundary at a time.

    A step from the wrong boundary would count an overhead twice (PUE on a facility figure) or
    relabel a figure inward, so it is refused rather than applied.
    """
    if spec.host_overhead is not None:
        if boundary is not Boundary.ACCELERATOR:
            raise ConfigError(
                f"a host overhead moves accelerator power to the node, but this power is already "
                f"at the {boundary} boundary",
                field="host_overhead",
            )
        power_w = units.with_host_overhead(power_w, spec.host_overhead)
        boundary = Boundary.NODE
        steps.append(
            BoundaryStep(name="host overhead", factor=1 + spec.host_overhead, to_boundary=boundary)
        )
    if spec.pue is not None:
        if boundary is not Boundary.NODE:
            hint = (
                " (add a host overhead, e.g. 0% to state that the host is ignored)"
                if boundary is Boundary.ACCELERATOR
                else ""
            )
            raise ConfigError(
                f"a PUE moves node power to the facility, but this power is at the {boundary} "
                f"boundary{hint}",
                field="pue",
            )
        power_w = units.with_pue(power_w, spec.pue)
        boundary = Boundary.FACILITY
        steps.append(BoundaryStep(name="PUE", factor=spec.pue, to_boundary=boundary))
    return power_w, boundary
