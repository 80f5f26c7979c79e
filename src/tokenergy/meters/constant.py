"""A stated power instead of a meter: energy = P × duration, labelled with its basis.

For runs against servers whose hardware cannot be metered (remote APIs, shared clusters): the
result still carries an energy figure, honestly labelled ``nameplate`` (default) or
``provisioned``, never ``measured``. Spec: ``constant:700W[?basis=provisioned&boundary=node]``.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import numpy as np

from tokenergy import units
from tokenergy.errors import MeterError, TokenergyError
from tokenergy.meters.base import DeviceInfo, Reading, WindowMeter
from tokenergy.meters.registry import register
from tokenergy.units import Basis, Boundary

STATED = "stated"


@register
class ConstantMeter(WindowMeter):
    """A flat power of ``power_w`` over every window."""

    name = "constant"

    def __init__(
        self,
        spec: str,
        power_w: float,
        basis: Basis = Basis.NAMEPLATE,
        boundary: Boundary = Boundary.ACCELERATOR,
    ) -> None:
        super().__init__(spec)
        if basis is Basis.MEASURED:
            raise MeterError(
                "a stated power is not measured; use nameplate or provisioned",
                field=f"meters {spec}",
            )
        self.power_w = power_w
        self.basis = basis
        self.boundary = boundary

    @classmethod
    def from_spec(cls, spec: str, args: str) -> ConstantMeter:
        power_text, _, query = args.partition("?")
        field = f"meters {spec}"
        if not power_text:
            raise MeterError("give the power, e.g. constant:700W", field=field)
        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = set(options) - {"basis", "boundary"}
        if unknown:
            raise MeterError(
                f"unknown option(s) {sorted(unknown)}; use basis, boundary", field=field
            )
        try:
            power_w = units.parse_power_w(power_text)
            basis = Basis(options.get("basis", Basis.NAMEPLATE.value))
            boundary = Boundary(options.get("boundary", Boundary.ACCELERATOR.value))
        except TokenergyError as error:
            raise MeterError(error.message, field=field) from None
        except ValueError as error:
            raise MeterError(str(error), field=field) from None
        if power_w <= 0:
            raise MeterError("power must be positive", field=field)
        return cls(spec, power_w, basis, boundary)

    @property
    def method(self) -> str:
        return "stated-power"

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo(device=STATED, kind=STATED)]

    def series_between(self, start_s: float, end_s: float) -> dict[str, list[Reading]]:
        """A flat line with a point every second (so the timeline plots and no gap shows)."""
        count = max(math.ceil(end_s - start_s), 1) + 1
        times = np.linspace(start_s, end_s, count)
        return {STATED: [Reading(float(t), power_w=self.power_w) for t in times]}
