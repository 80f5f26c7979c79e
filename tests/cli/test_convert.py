"""`tokenergy convert` end to end through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import run_cli
from typer.testing import CliRunner

from tokenergy.cli.app import app

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def test_power_brackets_reproduce_hand_calculation() -> None:
    done = run(
        "convert",
        "--throughput",
        "41.8",
        "--power",
        "1.5kW",
        "--power",
        "3.0 kW",
        "--isl",
        "500",
        "--osl",
        "300",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    low, high = json.loads(done.stdout)
    assert low["j_per_token"] == pytest.approx(1500 / 41.8)
    assert high["j_per_token"] == pytest.approx(3000 / 41.8)
    assert low["kwh_per_mtok"] == pytest.approx(1500 / 41.8 / 3.6)
    assert low["wh_per_query"] == pytest.approx(1500 / 41.8 * 800 / 3600)
    assert (low["boundary"], low["basis"], low["power_w"]) == ("node", "provisioned", 1500.0)
    assert low["equivalents"]["minutes of PS5 gaming"] == pytest.approx(
        1500 / 41.8 * 800 / 3600 / 200 * 60
    )


def test_gpu_catalog_basis() -> None:
    done = run(
        "convert",
        "--throughput",
        "1000",
        "--gpu",
        "H100",
        "--gpus",
        "4",
        "--basis",
        "tdp",
        "--host-overhead",
        "10%",
        "--pue",
        "1.2",
        "--isl",
        "1000",
        "--osl",
        "1000",
        "--queries",
        "1e6",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    power_w = 4 * 700 * 1.1 * 1.2
    assert out["power_w"] == pytest.approx(power_w)
    assert out["j_per_token"] == pytest.approx(power_w / 1000)
    assert out["wh_per_query"] == pytest.approx(power_w / 1000 * 2000 / 3600)
    assert out["total_kwh"] == pytest.approx(power_w / 1000 * 2000 / 3600 * 1e6 / 1000)
    assert (out["boundary"], out["basis"]) == ("facility", "nameplate")


def test_output_throughput_kind_uses_osl_only() -> None:
    done = run(
        "convert",
        "--throughput",
        "100",
        "--throughput-kind",
        "output",
        "--power",
        "1kW",
        "--isl",
        "1000",
        "--osl",
        "200",
        "--json",
    )
    out = json.loads(done.stdout)
    assert out["wh_per_query"] == pytest.approx(10 * 200 / 3600)


def test_table_output_names_boundary_and_basis() -> None:
    done = run(
        "convert", "--throughput", "41.8", "--power", "1.5kW", "--isl", "500", "--osl", "300"
    )
    assert done.returncode == 0
    assert "35.89" in done.stdout and "node" in done.stdout and "provisioned" in done.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--power", "abc"], "--power"),
        (["--power", "-3W"], "negative"),
        (["--gpu", "X100", "--gpus", "2", "--basis", "tdp"], "unknown GPU 'X100'"),
        ([], "no power given"),
        (["--power", "1kW", "--basis", "bogus"], "unknown basis"),
        (["--gpu", "B200", "--gpus", "1", "--basis", "allin", "--pue", "1.2"], "twice"),
        (["--power", "1kW", "--isl", "x"], "--isl"),
        (["--power", "0"], "positive"),
        (["--power", "1kW", "--pue", "inf"], "--pue"),
        (["--power", "1kW", "--boundary", "facility", "--pue", "1.2"], "--pue"),
        (["--power", "1kW", "--isl", "500"], "--osl"),
        (["--power", "1kW", "--osl", "5", "--isl", "5", "--queries", "inf"], "--queries"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], needle: str) -> None:
    done = run("convert", "--throughput", "41.8", *args)
    assert done.returncode == 2
    assert needle in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_negative_throughput_and_version() -> None:
    done = run("convert", "--throughput", "-5", "--power", "1kW")
    assert done.returncode == 2 and "positive" in done.stderr
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("tokenergy ")
    assert run("convert", "--help").returncode == 0


def test_grid_carbon_is_wh_per_query_times_intensity() -> None:
    """Done-when: 41.8 tok/s at 1.5 kW, 500/300 → Wh/query = 1500/41.8 × 800/3600 = 7.9745;
    at 400 g/kWh: gCO2e/query = 7.9745 × 0.4 = 3.1898 g; kgCO2e/Mtok = 1500/41.8/3.6 × 0.4."""
    args = ["convert", "--throughput", "41.8", "--power", "1.5kW", "--isl", "500", "--osl", "300"]
    result = CliRunner().invoke(app, [*args, "--grid", "400g/kWh", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    carbon = payload["footprint"]
    assert carbon["gco2e_per_query"] == pytest.approx(payload["wh_per_query"] * 0.4)
    assert carbon["gco2e_per_query"] == pytest.approx(1500 / 41.8 * 800 / 3600 * 0.4)
    assert carbon["gco2e_per_mtok"] == pytest.approx(1500 / 41.8 / 3.6 * 400)
    assert carbon["gco2e_per_day"] == pytest.approx(1.5 * 24 * 400)
    assert (carbon["carbon_boundary"], carbon["carbon_basis"]) == ("node", "provisioned")
    region = CliRunner().invoke(app, [*args, "--region", "DE", "--wue", "0.3L/kWh", "--json"])
    carbon = json.loads(region.output)["footprint"]
    assert carbon["gco2e_per_query"] == pytest.approx(1500 / 41.8 * 800 / 3600 / 1000 * 380.95)
    assert "Our World in Data" in carbon["grid_source"] and carbon["grid_year"] == 2023
    assert carbon["water_l_per_query"] == pytest.approx(1500 / 41.8 * 800 / 3.6e6 * (1.947 + 0.3))
    table = CliRunner().invoke(app, [*args, "--region", "DE"])
    assert "gCO2e/query" in table.output and "Germany 2023" in table.output
    for bad, field in ((["--region", "Atlantis"], "--region"), (["--wue", "0.3"], "--wue")):
        done = run(*args, *bad)
        assert done.returncode == 2 and field in done.stderr and "Traceback" not in done.stderr
