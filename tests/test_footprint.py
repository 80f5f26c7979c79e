"""The carbon/water layer: hand-checked arithmetic, the packaged snapshot, labels kept."""

from __future__ import annotations

import pytest

from tokenergy import units
from tokenergy.catalog.grid import grid_region, grid_regions
from tokenergy.errors import CatalogError, ConfigError, UnitError
from tokenergy.footprint import footprint, footprint_figures, region_grid, stated_grid
from tokenergy.units import Basis, Boundary


def test_one_kwh_at_400_g_is_400_g_and_water_splits_on_and_off_site() -> None:
    """1 kWh facility energy with PUE 1.2: IT energy 1/1.2 kWh.
    water = 1 × 1.947 (off-site, DE) + (1/1.2) × 0.3 (on-site) = 1.947 + 0.25 = 2.197 L."""
    assert footprint(3.6e6, stated_grid(400.0)).gco2e == pytest.approx(400.0)
    assert footprint(3.6e6, stated_grid(400.0)).water_l is None  # no water assumed
    grid = region_grid("DE", wue_onsite_l_per_kwh=0.3)
    result = footprint(3.6e6, grid, boundary=Boundary.FACILITY, basis=Basis.MEASURED, pue=1.2)
    assert result.gco2e == pytest.approx(380.95)
    assert result.water_l == pytest.approx(1.947 + 0.3 / 1.2)
    assert (result.boundary, result.basis) == (Boundary.FACILITY, Basis.MEASURED)


def test_figures_per_query_mtok_day_and_accelerator_label() -> None:
    """0.5 Wh/query × 400 g/kWh = 0.2 g; 2 kWh/Mtok × 400 = 800 g; 1 kW for a day = 24 kWh →
    9600 g."""
    figures = footprint_figures(
        stated_grid(400.0),
        wh_per_query=0.5,
        kwh_per_mtok=2.0,
        power_w=1000.0,
        boundary=Boundary.ACCELERATOR,
        basis=Basis.MEASURED,
    )
    assert figures["gco2e_per_query"] == pytest.approx(0.2)
    assert figures["gco2e_per_mtok"] == pytest.approx(800.0)
    assert figures["gco2e_per_day"] == pytest.approx(9600.0)
    assert figures["carbon_boundary"] == "accelerator" and "host" in figures["carbon_note"]
    assert figures["grid_source"] == "stated" and figures["water_l_per_query"] is None


def test_snapshot_has_sources_years_and_iso_codes() -> None:
    regions = grid_regions()
    assert len(regions) > 200
    assert all(2009 <= r.carbon_year <= 2024 and 0 <= r.gco2e_per_kwh < 1500 for r in regions)
    germany = grid_region("DE")
    assert germany is grid_region("deu") is grid_region("Germany")
    assert (germany.gco2e_per_kwh, germany.carbon_year) == (380.95, 2023)
    grid = region_grid("FR")
    assert "Our World in Data" in grid.source and "2023" in grid.source
    assert grid.water_source is not None and "EcoLogits" in grid.water_source
    assert "world average" in (region_grid("SGP").water_source or "")
    with pytest.raises(CatalogError, match="did you mean DE"):
        grid_region("Germny")


@pytest.mark.parametrize(
    ("text", "g"),
    [("380g/kWh", 380.0), ("0.38 kgCO2e/kWh", 380.0), ("380 gCO2eq/kWh", 380.0), ("380", 380.0)],
)
def test_carbon_intensity_parsing(text: str, g: float) -> None:
    assert units.parse_g_per_kwh(text) == pytest.approx(g)


def test_bad_intensities_are_refused() -> None:
    for text in ("lots", "-3g/kWh", "380 W"):
        with pytest.raises(UnitError):
            units.parse_g_per_kwh(text)
    assert units.parse_l_per_kwh("300 mL/kWh") == pytest.approx(0.3)
    with pytest.raises(ConfigError):
        footprint(float("nan"), stated_grid(1.0))
