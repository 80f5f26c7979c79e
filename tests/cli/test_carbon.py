"""--grid/--region/--wue on estimate and fleet: the footprint is the energy × intensity, labelled
with the estimator's boundary (facility / fleet) and basis (modeled)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tokenergy.cli.app import app
from tokenergy.cli.carbon import bench_footprint, bench_footprint_line
from tokenergy.footprint import stated_grid

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


def _window(scope: str, wh_per_query: float, valid: bool) -> dict[str, object]:
    return {
        "scope": scope,
        "wh_per_query": wh_per_query,
        "j_per_token": 0.1,
        "power_w": 1000.0,
        "energy_valid": valid,
        "boundary": "accelerator",
        "basis": "simulated",
    }


def test_bench_carbon_comes_from_the_window_whose_energy_is_valid() -> None:
    """A steady state too short to meter (energy INVALID) must not set the bench's grams: the
    valid whole run does, and the line says so; when no window is valid the line says INVALID."""
    grid = stated_grid(400.0)
    whole = _window("whole run", 0.0173, valid=True)
    summary = {**_window("steady state", 0.0139, valid=False), "whole_run_figures": whole}
    figures = bench_footprint(summary, grid)
    assert figures["gco2e_per_query"] == pytest.approx(0.0173 * 0.4)
    assert (figures["scope"], figures["energy_valid"]) == ("whole run", True)
    assert "(whole run, simulated, accelerator boundary)" in bench_footprint_line(figures)
    valid = bench_footprint({**summary, "energy_valid": True}, grid)
    assert valid["gco2e_per_query"] == pytest.approx(0.0139 * 0.4)  # steady state when valid
    neither = {**summary, "whole_run_figures": {**whole, "energy_valid": False}}
    line = bench_footprint_line(bench_footprint(neither, grid))
    assert "(steady state, simulated, accelerator boundary, energy INVALID)" in line
