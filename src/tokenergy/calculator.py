"""The quick calculator behind ``tokenergy convert``: throughput and power → J/token, Wh/query."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tokenergy import catalog, units
from tokenergy.energy import EnergyMeasurement
from tokenergy.errors import ConfigError
from tokenergy.footprint import Grid, footprint_figures, pue_of


class ThroughputKind(StrEnum):
    TOTAL = "total"  # input + output tokens per second
    OUTPUT = "output"  # generated tokens per second only


@dataclass(frozen=True)
class Conversion:
    """One power bracket converted; J/token is per the throughput kind given."""

    throughput_tok_s: float
    throughput_kind: ThroughputKind
    power: EnergyMeasurement
    isl: int | None
    osl: int | None
    queries: float | None
    grid: Grid | None = None

    @property
    def power_w(self) -> float:
        assert self.power.avg_power_w is not None
        return self.power.avg_power_w

    @property
    def j_per_token(self) -> float:
        return units.j_per_token(self.power_w, self.throughput_tok_s)

    @property
    def tokens_per_query(self) -> float | None:
        """Tokens the J/token applies to: ISL+OSL for total throughput, OSL for output-only."""
        if self.throughput_kind is ThroughputKind.OUTPUT:
            return None if self.osl is None else float(self.osl)
        if self.isl is None or self.osl is None:
            return None
        return float(self.isl + self.osl)

    @property
    def wh_per_query(self) -> float | None:
        tokens = self.tokens_per_query
        return None if tokens is None else units.wh_per_query_from_tokens(self.j_per_token, tokens)

    @property
    def total_kwh(self) -> float | None:
        wh = self.wh_per_query
        if wh is None or self.queries is None:
            return None
        return wh * self.queries / 1000.0

    def footprint(self) -> dict[str, Any] | None:
        """gCO2e and litres per query, per million tokens and per day of operation at this power
        (None without a grid); labelled with the power's boundary and basis."""
        if self.grid is None:
            return None
        return footprint_figures(
            self.grid,
            wh_per_query=self.wh_per_query,
            kwh_per_mtok=units.kwh_per_mtok(self.j_per_token),
            power_w=self.power_w,
            boundary=self.power.boundary,
            basis=self.power.basis,
            pue=pue_of(self.power.steps),
        )

    def to_dict(self) -> dict[str, Any]:
        wh = self.wh_per_query
        footprint = self.footprint()
        return {
            "throughput_tok_s": self.throughput_tok_s,
            "throughput_kind": self.throughput_kind.value,
            "power_w": self.power_w,
            "boundary": self.power.boundary.value,
            "basis": self.power.basis.value,
            "method": self.power.method,
            "steps": [step.model_dump(mode="json") for step in self.power.steps],
            "j_per_token": self.j_per_token,
            "kwh_per_mtok": units.kwh_per_mtok(self.j_per_token),
            "isl": self.isl,
            "osl": self.osl,
            **({"wh_per_query": wh} if wh is not None else {}),
            **({"queries": self.queries, "total_kwh": self.total_kwh} if self.queries else {}),
            "equivalents": equivalents_of(wh) if wh is not None else {},
            **({"footprint": footprint} if footprint is not None else {}),
        }


def equivalents_of(energy_wh: float) -> dict[str, float]:
    """Everyday equivalents of an energy, keyed by the catalog's unit phrase."""
    return {eq.unit_phrase: catalog.express(energy_wh, eq) for eq in catalog.equivalents()}


def convert(
    throughput_tok_s: float,
    kind: ThroughputKind,
    powers: list[EnergyMeasurement],
    isl: int | None = None,
    osl: int | None = None,
    queries: float | None = None,
    grid: Grid | None = None,
) -> list[Conversion]:
    """One Conversion per power bracket; with a ``grid``, each also has its carbon and water."""
    if not throughput_tok_s > 0:
        raise ConfigError(
            f"throughput must be positive, got {throughput_tok_s:g}", field="throughput_tok_s"
        )
    for name, value in (("isl", isl), ("osl", osl), ("queries", queries)):
        if value is not None and not 0 <= value < math.inf:
            raise ConfigError(f"must be a finite number >= 0, got {value!r}", field=name)
    if osl is None and (isl is not None or queries is not None):
        raise ConfigError("Wh/query needs the output length: give osl (and isl)", field="osl")
    if kind is ThroughputKind.TOTAL and osl is not None and isl is None:
        raise ConfigError("J per total token needs input and output lengths: give isl", field="isl")
    return [Conversion(throughput_tok_s, kind, power, isl, osl, queries, grid) for power in powers]
