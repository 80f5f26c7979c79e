"""Carbon and water as a layer over any energy figure (operational, location-based).

    gCO2e = E [kWh] × CI [gCO2e/kWh]
    water [L] = E [kWh] × WUE_off-site [L/kWh] + E_IT [kWh] × WUE_on-site [L/kWh]

CI is the grid's annual average carbon intensity (stated with ``--grid``, or a country's from the
packaged snapshot with ``--region``); WUE_off-site is the water consumed to generate a kWh of that
grid's electricity; WUE_on-site the data centre's own water per kWh of IT energy (``--wue``), so
E_IT = E / PUE when the figure includes a PUE step (Li et al., "Making AI Less Thirsty", and
EcoLogits apply the same split). The footprint keeps the boundary and basis of the energy it came
from: the carbon of an accelerator-boundary figure covers the accelerators' electricity only.
Embodied emissions (manufacturing) are out of scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenergy import units
from tokenergy.catalog.grid import CARBON_SOURCE, WATER_SOURCE, grid_region
from tokenergy.errors import ConfigError
from tokenergy.units import Basis, Boundary

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Grid:
    """Carbon (and water) intensity of the electricity an energy figure is charged to."""

    gco2e_per_kwh: float
    source: str
    region: str | None = None
    year: int | None = None
    water_l_per_kwh: float | None = None  # off-site: consumed generating the electricity
    water_source: str | None = None
    wue_onsite_l_per_kwh: float | None = None  # on-site: the data centre, per kWh of IT energy

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid_gco2e_per_kwh": self.gco2e_per_kwh,
            "grid_source": self.source,
            "grid_region": self.region,
            "grid_year": self.year,
            "water_offsite_l_per_kwh": self.water_l_per_kwh,
            "water_source": self.water_source,
            "wue_onsite_l_per_kwh": self.wue_onsite_l_per_kwh,
        }


def stated_grid(gco2e_per_kwh: float, *, wue_onsite_l_per_kwh: float | None = None) -> Grid:
    """A carbon intensity the user states (e.g. a supplier's, or market-based): no water of
    electricity generation is assumed."""
    if not 0 <= gco2e_per_kwh < float("inf"):
        raise ConfigError(f"must be a finite number >= 0, got {gco2e_per_kwh!r}", field="grid")
    return Grid(
        gco2e_per_kwh=gco2e_per_kwh, source="stated", wue_onsite_l_per_kwh=wue_onsite_l_per_kwh
    )


def region_grid(region: str, *, wue_onsite_l_per_kwh: float | None = None) -> Grid:
    """A country's annual grid from the packaged snapshot, with its sources and year."""
    row = grid_region(region)
    water_source = None
    if row.water_l_per_kwh is not None:
        where = "world average (no national figure)" if row.water_is_world_avg else row.iso3
        water_source = f"{WATER_SOURCE}, {where}"
    return Grid(
        gco2e_per_kwh=row.gco2e_per_kwh,
        source=f"{CARBON_SOURCE}, {row.name} {row.carbon_year}",
        region=row.iso2,
        year=row.carbon_year,
        water_l_per_kwh=row.water_l_per_kwh,
        water_source=water_source,
        wue_onsite_l_per_kwh=wue_onsite_l_per_kwh,
    )


@dataclass(frozen=True)
class Footprint:
    """Carbon and water of one energy amount, labelled with that energy's boundary and basis."""

    energy_j: float
    gco2e: float
    water_l: float | None
    boundary: Boundary | None
    basis: Basis | None


def footprint(
    energy_j: float,
    grid: Grid,
    *,
    boundary: Boundary | None = None,
    basis: Basis | None = None,
    pue: float | None = None,
) -> Footprint:
    """gCO2e and litres of one energy amount (J). ``pue`` (when the figure includes one) turns
    the energy back into IT energy for the on-site WUE."""
    if not 0 <= energy_j < float("inf"):
        raise ConfigError(f"energy must be finite and >= 0, got {energy_j!r}", field="energy")
    kwh = energy_j / units.J_PER_KWH
    water: float | None = None
    if grid.water_l_per_kwh is not None or grid.wue_onsite_l_per_kwh is not None:
        it_kwh = kwh / pue if pue else kwh
        water = kwh * (grid.water_l_per_kwh or 0.0) + it_kwh * (grid.wue_onsite_l_per_kwh or 0.0)
    return Footprint(energy_j, kwh * grid.gco2e_per_kwh, water, boundary, basis)


def boundary_note(boundary: Boundary | None) -> str | None:
    """What the carbon of a figure at this boundary leaves out (None when nothing is known)."""
    notes = {
        Boundary.ACCELERATOR: "accelerator boundary: host, cooling and facility electricity "
        "not included",
        Boundary.NODE: "node boundary: facility overhead (PUE) not included",
    }
    return None if boundary is None else notes.get(boundary)


def footprint_figures(
    grid: Grid,
    *,
    wh_per_query: float | None = None,
    kwh_per_mtok: float | None = None,
    power_w: float | None = None,
    j_per_day: float | None = None,
    boundary: Boundary | None = None,
    basis: Basis | None = None,
    pue: float | None = None,
) -> dict[str, Any]:
    """Flat figures for tables and JSON: gCO2e and L per query, per million tokens and per day
    (``j_per_day``, else a day of operation at ``power_w``), with the grid, boundary and basis.

    Keys: ``gco2e_per_query``, ``water_l_per_query``, ``gco2e_per_mtok``, ``water_l_per_mtok``,
    ``gco2e_per_day``, ``water_l_per_day``, ``carbon_boundary``, ``carbon_basis``,
    ``carbon_note`` and the grid's ``grid_*``/``water_*`` keys. Missing inputs give None.
    """
    if j_per_day is None and power_w is not None:
        j_per_day = power_w * SECONDS_PER_DAY

    def both(energy_j: float | None) -> tuple[float | None, float | None]:
        if energy_j is None:
            return None, None
        result = footprint(energy_j, grid, boundary=boundary, basis=basis, pue=pue)
        return result.gco2e, result.water_l

    query = both(None if wh_per_query is None else units.wh_to_j(wh_per_query))
    mtok = both(None if kwh_per_mtok is None else kwh_per_mtok * units.J_PER_KWH)
    day = both(j_per_day)
    return {
        "gco2e_per_query": query[0],
        "water_l_per_query": query[1],
        "gco2e_per_mtok": mtok[0],
        "water_l_per_mtok": mtok[1],
        "gco2e_per_day": day[0],
        "water_l_per_day": day[1],
        "carbon_boundary": boundary.value if boundary else None,
        "carbon_basis": basis.value if basis else None,
        "carbon_note": boundary_note(boundary),
        **grid.to_dict(),
    }


def footprint_of(
    energies_j: dict[str, float | None],
    grid: Grid,
    *,
    boundary: Boundary | None = None,
    basis: Basis | None = None,
    pue: float | None = None,
) -> dict[str, Any]:
    """Carbon and water of several named energies (J), e.g. the quantiles of a distribution:
    the footprint is linear in energy, so quantiles map to quantiles. Keys: ``gco2e`` and
    ``water_l`` (each {name: value}; ``water_l`` None without water data), the labels and grid."""
    carbon: dict[str, float | None] = {}
    water: dict[str, float | None] = {}
    for name, energy_j in energies_j.items():
        if energy_j is None:
            carbon[name] = water[name] = None
            continue
        result = footprint(energy_j, grid, boundary=boundary, basis=basis, pue=pue)
        carbon[name], water[name] = result.gco2e, result.water_l
    has_water = grid.water_l_per_kwh is not None or grid.wue_onsite_l_per_kwh is not None
    return {
        "gco2e": carbon,
        "water_l": water if has_water else None,
        "carbon_boundary": boundary.value if boundary else None,
        "carbon_basis": basis.value if basis else None,
        "carbon_note": boundary_note(boundary),
        "pue_for_onsite_water": pue if grid.wue_onsite_l_per_kwh is not None else None,
        **grid.to_dict(),
    }


def pue_of(steps: list[Any]) -> float | None:
    """The PUE factor among an EnergyMeasurement's boundary steps, if one was applied."""
    for step in steps:
        if getattr(step, "to_boundary", None) is Boundary.FACILITY:
            return float(step.factor)
    return None
