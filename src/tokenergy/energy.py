"""The energy part of a record: what was metered or stated, over which boundary, on which basis.

Its own module so that ``tokenergy convert`` (which only states a power) builds these three
models and not the whole :class:`tokenergy.records.ServingResult`; records re-exports them.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenergy.units import Basis, Boundary


class RecordModel(BaseModel):
    """Base of every stored record: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=True)


class DeviceEnergy(RecordModel):
    """Energy and identity of one metered device (a GPU, a CPU package, DRAM …)."""

    device: str
    kind: str = "gpu"
    model: str | None = None
    uuid: str | None = None
    energy_j: float | None = Field(default=None, ge=0)
    avg_power_w: float | None = Field(default=None, ge=0)
    idle_power_w: float | None = Field(default=None, ge=0)
    power_limit_w: float | None = Field(default=None, ge=0)


class BoundaryStep(RecordModel):
    """One explicit multiplier applied to move energy outward (host overhead, PUE, β)."""

    name: str
    factor: float = Field(gt=0)
    to_boundary: Boundary
    source: str | None = None


class EnergyMeasurement(RecordModel):
    """Energy (or power) of all devices serving, with what it covers and where it came from.

    For measured results ``energy_j`` is the window energy; for stated power bases
    (provisioned/nameplate) only ``avg_power_w`` is known.
    """

    energy_j: float | None = Field(default=None, ge=0)
    avg_power_w: float | None = Field(default=None, ge=0)
    boundary: Boundary
    basis: Basis
    method: str = Field(description="e.g. 'nvml-counter', 'trapezoid', 'catalog-allin'")
    meter: str | None = None
    devices: list[DeviceEnergy] = Field(default_factory=list)
    idle_power_w: float | None = Field(default=None, ge=0)
    steps: list[BoundaryStep] = Field(default_factory=list)
    valid: bool = True
    reasons: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_quantity(self) -> Self:
        if self.energy_j is None and self.avg_power_w is None:
            raise ValueError("energy needs energy_j or avg_power_w")
        return self
