"""The boundary ladder: accelerator = GPUs × W/GPU × u; node adds the host; facility × PUE."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate import EstimateParams, run_estimate
from tokenergy.estimate.distributions import Point
from tokenergy.estimate.ladder import deployment_power
from tokenergy.estimate.surface import ThroughputPoint, fit_model
from tokenergy.units import Basis, Boundary

HEADER = "model,tp,quant,tps,lin,lout,source,gpu\n"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """An 8×H100 model at 1000 output tok/s and a 10×H100 one at 500 (one point each)."""
    path = tmp_path / "table.csv"
    path.write_text(HEADER + "eight,8,FP8,1000,500,500,s,H100\nten,10,FP8,500,500,500,s,H100\n")
    return path


def fixed(table: Path, **overrides: object) -> EstimateParams:
    base: dict[str, object] = {
        "table": str(table),
        "lin": Point(value=500.0),
        "lout": Point(value=300.0),
        "util": Point(value=0.5),
        "pue": Point(value=1.25),
        "samples": 100,
    }
    base.update(overrides)
    return EstimateParams(**base)  # type: ignore[arg-type]


def means(params: EstimateParams) -> dict[str, float]:
    return {m.model: m.baseline.mean_wh for m in run_estimate(params).models}


def test_accelerator_boundary_per_model_gpu_count_and_tdp(table: Path) -> None:
    """u · GPUs · 700 W · 300 tokens / TPS / 3600, no PUE: 8×H100 and 10×H100 in one run."""
    got = means(fixed(table, boundary=Boundary.ACCELERATOR))
    assert got["eight"] == pytest.approx(0.5 * 8 * 700 * 300 / 1000 / 3600, rel=1e-12)
    assert got["ten"] == pytest.approx(0.5 * 10 * 700 * 300 / 500 / 3600, rel=1e-12)
    payload = run_estimate(fixed(table, boundary=Boundary.ACCELERATOR)).to_dict()
    assert payload["boundary"] == "accelerator"
    assert payload["models"][0]["power"]["pue_applied"] is False
    assert payload["models"][1]["power"]["full_power_w"] == 7000.0
    assert payload["power_bases"] == ["nameplate"]


def test_node_with_host_overhead_and_facility_with_pue(table: Path) -> None:
    node = means(fixed(table, boundary=Boundary.NODE, host_overhead=0.3))
    assert node["eight"] == pytest.approx(0.5 * 8 * 700 * 1.3 * 300 / 1000 / 3600, rel=1e-12)
    facility = means(fixed(table, host_overhead=0.3))
    assert facility["eight"] == pytest.approx(node["eight"] * 1.25, rel=1e-12)
    default = means(fixed(table))  # facility, node P_max by GPU count: 11.3 kW / 14.1 kW
    assert default["ten"] == pytest.approx(1.25 * 0.5 * 14_100 * 300 / 500 / 3600, rel=1e-12)


def test_stated_power_per_gpu_and_gpu_override(table: Path) -> None:
    stated = means(fixed(table, boundary=Boundary.ACCELERATOR, power_per_gpu_w=400.0))
    assert stated["eight"] == pytest.approx(0.5 * 8 * 400 * 300 / 1000 / 3600, rel=1e-12)
    b200 = means(fixed(table, boundary=Boundary.ACCELERATOR, gpu="B200"))
    assert b200["eight"] == pytest.approx(0.5 * 8 * 1000 * 300 / 1000 / 3600, rel=1e-12)


def test_measured_power_is_not_scaled_by_utilisation() -> None:
    fit = fit_model("m", [ThroughputPoint("m", 4, "", 2000.0, 500, 500, "s", gpu="H100")])
    measured = replace(fit, power_per_gpu_w=450.0)
    node = deployment_power(measured, EstimateParams(boundary=Boundary.ACCELERATOR))
    assert (node.pmax_w, node.basis, node.applies_util) == (1800.0, Basis.MEASURED, False)
    with pytest.raises(ConfigError, match="add `host_overhead`"):
        deployment_power(measured, EstimateParams())


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"boundary": Boundary.ACCELERATOR, "pmax_w": 9000.0}, "pmax_w"),
        ({"boundary": Boundary.ACCELERATOR, "host_overhead": 0.2}, "host_overhead"),
        ({"pmax_w": 9000.0, "host_overhead": 0.2}, "host_overhead"),
        ({"boundary": Boundary.FLEET}, "boundary"),
    ],
)
def test_contradictions_are_refused(table: Path, overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_estimate(fixed(table, **overrides))
    assert caught.value.field == field


def test_unknown_gpu_at_the_accelerator_boundary_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text("model,tp,quant,tps,lin,lout,source\nm,8,FP8,1000,500,500,s\n")
    with pytest.raises(ConfigError, match="GPU model is unknown"):
        run_estimate(fixed(path, boundary=Boundary.ACCELERATOR))
    assert math.isfinite(means(fixed(path, boundary=Boundary.ACCELERATOR, gpu="H100"))["m"])
