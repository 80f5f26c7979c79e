"""The energy part of a record: what was metered or stated, over which boundary, on which basis.

Its own module so that ``tokenergy convert`` (which only states a power) builds these three
models and not the whole :class:`tokenergy.records.ServingResult`; records re-exports them.
"""

# no `from __future__ import annotations`: pydantic would compile and evaluate every field's
# annotation string when it builds the models (~1.5 ms CPU at import for the records, measured)
from typing import Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from tokenergy.units import Basis, Boundary, TimeBase


def empty_list() -> list[Any]:
    """A new empty list: the records' list default factory. pydantic inspects a factory's
    signature when it builds a model, and ``inspect.signature(list)`` tokenizes list's text
    signature (~2 ms CPU at import, measured; a function's is read directly, and a call of it
    costs ~15 ns more than one of ``list``)."""
    return []


class RecordModel(BaseModel):
    """Base of every stored record: unknown keys are errors, assignments are validated. (The
    ingest adapters, whose keys are spelled by our code, validate with unknown keys ignored:
    ingest.common.validated_result; a test holds their keys to this refusal.)"""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=True)


def _without_wall_time_base(
    record: BaseModel, handler: SerializerFunctionWrapHandler
) -> dict[str, Any]:
    """Wall time is the default base: written only when it is not, so every record of real
    hardware (and every one written before time bases existed) reads and writes as before."""
    data: dict[str, Any] = handler(record)
    if data.get("time_base") in (TimeBase.WALL, TimeBase.WALL.value):
        del data["time_base"]
        if data.get("duration_s", 0) is None:
            del data["duration_s"]
    return data


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
    time_base: TimeBase = Field(
        default=TimeBase.WALL, description="whose seconds avg_power_w and idle_power_w are per"
    )

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_wall_time_base(self, handler)


class BoundaryStep(RecordModel):
    """One explicit multiplier applied to move energy outward (host overhead, PUE, β)."""

    name: str
    factor: float = Field(gt=0)
    to_boundary: Boundary
    source: str | None = None


class EnergyMeasurement(RecordModel):
    """Energy (or power) of all devices serving, with what it covers and where it came from.

    For measured results ``energy_j`` is the window energy; for stated power bases
    (provisioned/nameplate) only ``avg_power_w`` is known. A simulator's energy is in its own
    time base (``time_base`` simulated): ``avg_power_w`` = ``energy_j`` / ``duration_s``
    simulated seconds, a real GPU's watts at any ``--speed``.
    """

    energy_j: float | None = Field(default=None, ge=0)
    avg_power_w: float | None = Field(default=None, ge=0)
    boundary: Boundary
    basis: Basis
    method: str = Field(description="e.g. 'nvml-counter', 'trapezoid', 'catalog-allin'")
    meter: str | None = None
    devices: list[DeviceEnergy] = Field(default_factory=empty_list)
    idle_power_w: float | None = Field(default=None, ge=0)
    time_base: TimeBase = Field(
        default=TimeBase.WALL,
        description="whose seconds the powers are per: 'simulated' for a simulator's own clock",
    )
    duration_s: float | None = Field(
        default=None,
        ge=0,
        description="simulated seconds the energy covers (None for wall time: the result's "
        "duration_s)",
    )
    steps: list[BoundaryStep] = Field(default_factory=empty_list)
    valid: bool = True
    reasons: list[str] = Field(default_factory=empty_list)

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _without_wall_time_base(self, handler)

    @model_validator(mode="after")
    def _has_a_quantity(self) -> Self:
        if self.energy_j is None and self.avg_power_w is None:
            raise ValueError("energy needs energy_j or avg_power_w")
        return self
