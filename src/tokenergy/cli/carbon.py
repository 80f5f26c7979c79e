"""Rendering the carbon/water layer (--grid/--region/--wue) the same way in every command."""

from __future__ import annotations

from typing import Any


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
