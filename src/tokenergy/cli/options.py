"""Option parsing shared by commands: power bases and quantities typed as strings.

Quantities arrive as strings so that bad input ('abc', '-3') gets our one-line error naming the
option rather than a usage panel.
"""

from __future__ import annotations

from collections.abc import Callable

from tokenergy import units
from tokenergy.errors import ConfigError, TokenergyError
from tokenergy.footprint import Grid, region_grid, stated_grid
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.units import Basis, Boundary

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


def power_spec(
    *,
    power: str | None,
    power_per_gpu: str | None,
    basis: str | None,
    boundary: str | None,
    host_overhead: str | None,
    pue: str | None,
) -> PowerSpec:
    """Build a PowerSpec from CLI strings, refusing unknown names with the list of valid ones."""
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
                f"unknown basis {basis!r}; use one of {', '.join(names)}", field="--basis"
            )
    if gpu_basis is not None and (power is not None or power_per_gpu is not None):
        raise ConfigError(
            "--basis tdp|allin reads the catalog; do not combine with --power", field="--basis"
        )
    bound = Boundary.NODE
    if boundary is not None:
        try:
            bound = Boundary(boundary)
        except ValueError:
            raise ConfigError(
                f"unknown boundary {boundary!r}; use one of {', '.join(b.value for b in Boundary)}",
                field="--boundary",
            ) from None
    pue_value = parse_option("--pue", _parse_pue, pue) if pue is not None else None
    return PowerSpec(
        power_w=parse_option("--power", units.parse_power_w, power) if power is not None else None,
        power_per_gpu_w=(
            parse_option("--power-per-gpu", units.parse_power_w, power_per_gpu)
            if power_per_gpu is not None
            else None
        ),
        gpu_basis=gpu_basis,
        basis=label,
        boundary=bound,
        host_overhead=(
            parse_option("--host-overhead", units.parse_fraction, host_overhead)
            if host_overhead is not None
            else None
        ),
        pue=pue_value,
    )


def _parse_pue(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"cannot parse {text!r} as a PUE (e.g. 1.2)") from None
    if not 1.0 <= value < float("inf"):
        raise ConfigError(f"PUE must be a finite number >= 1, got {text!r}")
    return value


GRID_HELP = "Grid carbon intensity for gCO2e figures, e.g. 380g/kWh (location- or market-based)."
REGION_HELP = (
    "Country whose annual grid carbon and water intensity to use, e.g. DE or USA (packaged "
    "snapshot: Our World in Data/Ember carbon, EcoLogits/WRI water; see methodology)."
)
WUE_HELP = "Data-centre on-site water use per kWh of IT energy, e.g. 0.3L/kWh (adds to water)."


def grid_option(grid: str | None, region: str | None, wue: str | None) -> Grid | None:
    """The carbon/water layer from --grid, --region and --wue (None when none is given)."""
    onsite = parse_option("--wue", units.parse_l_per_kwh, wue) if wue is not None else None
    if grid is not None and region is not None:
        raise ConfigError("give --grid or --region, not both", field="--grid")
    if grid is not None:
        return stated_grid(
            parse_option("--grid", units.parse_g_per_kwh, grid), wue_onsite_l_per_kwh=onsite
        )
    if region is not None:
        try:
            return region_grid(region, wue_onsite_l_per_kwh=onsite)
        except TokenergyError as error:
            raise ConfigError(error.message, field="--region") from None
    if onsite is not None:
        raise ConfigError("--wue needs --grid or --region", field="--wue")
    return None
