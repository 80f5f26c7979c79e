"""Annual grid carbon intensity and water intensity of electricity per country
(``grid_intensity.csv``; sources in SOURCES.md and docs/methodology.md §11).

Looked up by ISO 3166-1 alpha-2 or alpha-3 code or by country name, case-insensitively; an
unknown region is an error with suggestions, never a silent world average.
"""

from __future__ import annotations

import csv
import difflib
from dataclasses import dataclass
from functools import cache

from tokenergy.catalog import catalog_path
from tokenergy.errors import CatalogError

_FILE = "grid_intensity.csv"
CARBON_SOURCE = (
    "Our World in Data, carbon intensity of electricity generation (Ember; Energy Institute), "
    "via codecarbon 3.3.2"
)
WATER_SOURCE = "EcoLogits 0.11.3 electricity mixes (WRI method: water consumed per kWh generated)"


@dataclass(frozen=True)
class GridRegion:
    """One country's electricity: lifecycle gCO2e per kWh generated (of ``carbon_year``) and the
    water consumed to generate a kWh (None when unknown; ``water_is_world_avg`` when the source
    fell back to its world average)."""

    iso3: str
    iso2: str
    name: str
    gco2e_per_kwh: float
    carbon_year: int
    water_l_per_kwh: float | None
    water_is_world_avg: bool


@cache
def grid_regions() -> tuple[GridRegion, ...]:
    with catalog_path(_FILE).open(newline="") as handle:
        return tuple(
            GridRegion(
                iso3=row["iso3"],
                iso2=row["iso2"],
                name=row["name"],
                gco2e_per_kwh=float(row["gco2e_per_kwh"]),
                carbon_year=int(row["carbon_year"]),
                water_l_per_kwh=float(row["water_l_per_kwh"]) if row["water_l_per_kwh"] else None,
                water_is_world_avg=row["water_is_world_avg"] == "true",
            )
            for row in csv.DictReader(handle)
        )


def grid_region(name: str) -> GridRegion:
    """A region by ISO code ('DE', 'DEU') or name ('Germany')."""
    key = name.strip().lower()
    for region in grid_regions():
        if key in (region.iso2.lower(), region.iso3.lower(), region.name.lower()):
            return region
    names = {r.name.lower(): r for r in grid_regions()}
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(f'{names[c].iso2} ({names[c].name})' for c in close)}?"
    raise CatalogError(
        f"unknown region {name!r}{hint if close else ''} (ISO codes such as DE, USA, or a "
        f"country name; {len(grid_regions())} countries known)",
        field="region",
    )
