"""--grid/--region/--wue on estimate and fleet: the footprint is the energy × intensity, labelled
with the estimator's boundary (facility / fleet) and basis (modeled)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tokenergy.cli.app import app

MODEL = ["--model", "Llama 3.1 70B"]


def test_estimate_grams_per_query_are_wh_times_intensity() -> None:
    done = CliRunner().invoke(
        app, ["estimate", *MODEL, "--samples", "20000", "--grid", "400g/kWh", "--json"]
    )
    assert done.exit_code == 0, done.output
    row = json.loads(done.stdout)["models"][0]
    carbon = row["footprint"]
    for stat in ("median", "p5", "p95", "mean"):
        assert carbon["gco2e"][stat] == pytest.approx(row[f"{stat}_wh"] * 0.4)
    assert (carbon["carbon_boundary"], carbon["carbon_basis"]) == ("facility", "modeled")
    assert carbon["water_l"] is None  # a stated grid has no water of generation


def test_fleet_tonnes_per_day_and_onsite_water_use_the_median_pue() -> None:
    """GWh/day × 400 g/kWh = GWh × 1e6 kWh × 400 g; on-site water = E / PUE_median × 0.3 L/kWh,
    PUE median of the lognormal with P5–P95 1.05–1.40 = √(1.05 × 1.40)."""
    args = ["fleet", "--queries-per-day", "1e8", "--scenarios", "500", "--length-samples", "500"]
    done = CliRunner().invoke(app, [*args, "--grid", "400", "--wue", "0.3L/kWh", "--json"])
    assert done.exit_code == 0, done.output
    row = json.loads(done.stdout)["models"][0]
    figures = row["footprint_per_day"]
    gwh = row["gwh_per_day"]["median"]
    assert figures["gco2e"]["median"] == pytest.approx(gwh * 1e6 * 400)
    assert figures["water_l"]["median"] == pytest.approx(gwh * 1e6 / (1.05 * 1.40) ** 0.5 * 0.3)
    assert (figures["carbon_boundary"], figures["carbon_basis"]) == ("fleet", "modeled")
    table = CliRunner().invoke(app, [*args, "--region", "SE"])
    assert "tCO2e/day" in table.output and "Sweden" in table.output
