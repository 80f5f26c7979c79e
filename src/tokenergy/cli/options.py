"""Option parsing shared by commands: power bases and quantities typed as strings.

Quantities arrive as strings so that bad input ('abc', '-3') gets our one-line error naming the
option rather than a usage panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from tokenergy.cli.flags import as_flags
from tokenergy.errors import ConfigError, TokenergyError
from tokenergy.power import PowerSpec
from tokenergy.power import power_spec as parse_power_spec

if TYPE_CHECKING:
    from tokenergy.footprint import Grid

BASIS_HELP = (
    "Power basis: tdp|allin (per-GPU catalog figures, need --gpu/--gpus) or, for --power/"
    "--power-per-gpu, the label measured|provisioned|nameplate|modeled (default provisioned)."
)


def parse_option(option: str, parser: Callable[[str], float], text: str) -> float:
    """Run a units parser and name the option in any error."""
    try:
        return parser(text)
    except TokenergyError as error:
        raise ConfigError(error.message, field=option) from None


POWER_FLAGS = {
    "power": "--power",
    "power_per_gpu": "--power-per-gpu",
    "basis": "--basis",
    "boundary": "--boundary",
    "host_overhead": "--host-overhead",
    "pue": "--pue",
    "gpus": "--gpus",
}


def power_spec(
    *,
    power: str | None,
    power_per_gpu: str | None,
    basis: str | None,
    boundary: str | None,
    host_overhead: str | None,
    pue: str | None,
) -> PowerSpec:
    """:func:`tokenergy.power.power_spec` with errors naming the flags."""
    with as_flags(POWER_FLAGS):
        return parse_power_spec(
            power=power,
            power_per_gpu=power_per_gpu,
            basis=basis,
            boundary=boundary,
            host_overhead=host_overhead,
            pue=pue,
        )


GRID_HELP = "Grid carbon intensity for gCO2e figures, e.g. 380g/kWh (location- or market-based)."
REGION_HELP = (
    "Country whose annual grid carbon and water intensity to use, e.g. DE or USA (packaged "
    "snapshot: Our World in Data/Ember carbon, EcoLogits/WRI water; see methodology)."
)
WUE_HELP = "Data-centre on-site water use per kWh of IT energy, e.g. 0.3L/kWh (adds to water)."


def grid_option(grid: str | None, region: str | None, wue: str | None) -> Grid | None:
    """The carbon/water layer from --grid, --region and --wue (None when none is given)."""
    if grid is None and region is None and wue is None:
        return None  # tokenergy.api (the calculator) is not imported: ~5 ms of start-up
    from tokenergy.api import grid_of

    with as_flags({"grid": "--grid", "region": "--region", "wue": "--wue"}):
        return grid_of(grid, region, wue)
