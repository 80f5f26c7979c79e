"""Rendering the carbon/water layer (--grid/--region/--wue) the same way in every command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokenergy import units
from tokenergy.footprint import Grid, footprint_figures, footprint_of
from tokenergy.units import Basis, Boundary

if TYPE_CHECKING:  # annotations only: `tokenergy convert` must not load the estimator (numpy)
    from tokenergy.estimate.fleet import FleetResult
    from tokenergy.estimate.montecarlo import EstimateResult


def footprint_caption(figures: dict[str, Any]) -> str:
    """One line naming the grid, its source and year, and what the boundary leaves out."""
    parts = [f"carbon: {figures['grid_gco2e_per_kwh']:.4g} gCO2e/kWh ({figures['grid_source']})"]
    if figures.get("water_offsite_l_per_kwh") is not None:
        parts.append(
            f"water of electricity {figures['water_offsite_l_per_kwh']:.4g} L/kWh "
            f"({figures['water_source']})"
        )
    if figures.get("wue_onsite_l_per_kwh") is not None:
        parts.append(f"on-site WUE {figures['wue_onsite_l_per_kwh']:.4g} L/kWh (stated)")
    if figures.get("carbon_note"):
        parts.append(str(figures["carbon_note"]))
    return "; ".join(parts)


_STATS = ("median", "q1", "q3", "p5", "p95", "mean")


def estimate_footprint(row: dict[str, Any], grid: Grid, result: EstimateResult) -> dict[str, Any]:
    """gCO2e and litres per query at each statistic of one estimate row (quantiles map through)."""
    return footprint_of(
        {s: units.wh_to_j(row[f"{s}_wh"]) for s in _STATS},
        grid,
        boundary=result.boundary,
        basis=result.basis,
        pue=result.params.pue.quantile(0.5),
    )


def estimate_footprint_lines(result: EstimateResult, grid: Grid) -> list[str]:
    """Caption lines: the grid, then gCO2e per query (median, P5–P95) per model."""
    lines = []
    rows = [*result.to_dict()["models"]]
    if result.pooled is not None:
        rows.append({"model": "pooled", **result.pooled.to_dict()})
    for row in rows:
        figures = estimate_footprint(row, grid, result)
        carbon, water = figures["gco2e"], figures["water_l"]
        text = (
            f"{row['model']}: {carbon['median']:.3g} gCO2e/query "
            f"(P5–P95 {carbon['p5']:.3g}–{carbon['p95']:.3g})"
        )
        if water is not None:
            text += f", {water['median']:.3g} L water/query"
        lines.append(text)
        if not lines[1:]:
            lines.insert(0, footprint_caption(figures))
    return lines


def add_fleet_footprint(payload: dict[str, Any], grid: Grid, result: FleetResult) -> None:
    """Per fleet row: gCO2e and litres per day at each statistic of its GWh/day."""
    pue = result.params.pue.quantile(0.5)
    for row in [*payload["models"], *([payload["pooled"]] if "pooled" in payload else [])]:
        row["footprint_per_day"] = footprint_of(
            {s: row["gwh_per_day"][s] * units.J_PER_GWH for s in _STATS},
            grid,
            boundary=result.boundary,
            basis=result.basis,
            pue=pue,
        )


def fleet_footprint_line(result: FleetResult, grid: Grid) -> str:
    """The headline row's tCO2e/day (median, P5–P95), with the grid and its source."""
    payload = result.to_dict()
    add_fleet_footprint(payload, grid, result)
    row = payload.get("pooled") or payload["models"][-1]
    figures = row["footprint_per_day"]
    carbon, water = figures["gco2e"], figures["water_l"]
    text = (
        f"{row['model']}: {carbon['median'] / 1e6:.4g} tCO2e/day "
        f"(P5–P95 {carbon['p5'] / 1e6:.4g}–{carbon['p95'] / 1e6:.4g})"
    )
    if water is not None:
        text += f", {water['median'] / 1e3:.4g} m³ water/day"
    return f"{text}\n{footprint_caption(figures)}"


def bench_footprint(summary: dict[str, Any], grid: Grid) -> dict[str, Any]:
    """A metered bench point's carbon and water: per completed query, per million tokens and
    per day at the measured power, at the meter's boundary and basis.

    From the window whose energy is valid: the summary's (steady state when reached), else the
    whole run's (a steady state too short to meter must not set the grams); ``scope`` and
    ``energy_valid`` say which window and whether its energy counts.
    """
    whole = summary.get("whole_run_figures")
    window = summary
    if (
        summary.get("energy_valid") is False
        and isinstance(whole, dict)
        and whole.get("energy_valid")
    ):
        window = whole
    jpt = window.get("j_per_token")
    figures = footprint_figures(
        grid,
        wh_per_query=window.get("wh_per_query"),
        kwh_per_mtok=None if jpt is None else units.kwh_per_mtok(jpt),
        power_w=window.get("power_w"),
        boundary=Boundary(window["boundary"]) if window.get("boundary") else None,
        basis=Basis(window["basis"]) if window.get("basis") else None,
    )
    return {**figures, "scope": window.get("scope"), "energy_valid": window.get("energy_valid")}


def bench_footprint_line(figures: dict[str, Any]) -> str:
    """gCO2e (and litres) per query and per million tokens, then the grid line."""

    def g(value: float | None, scale: float = 1.0) -> str:
        return "—" if value is None else f"{value * scale:.4g}"

    scope = f"{figures['scope']}, " if figures.get("scope") else ""
    invalid = ", energy INVALID" if figures.get("energy_valid") is False else ""
    text = (
        f"carbon: {g(figures['gco2e_per_query'])} gCO2e/query, "
        f"{g(figures['gco2e_per_mtok'], 1e-3)} kgCO2e/Mtok ({scope}{figures['carbon_basis']}, "
        f"{figures['carbon_boundary']} boundary{invalid})"
    )
    if figures.get("water_l_per_query") is not None:
        text += f"; {g(figures['water_l_per_query'])} L water/query"
    return f"{text}\n{footprint_caption(figures)}"
