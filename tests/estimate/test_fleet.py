"""Fleet: β from the load profile equals the closed form; two-level uncertainty; comparisons."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate import EstimateParams, FleetParams, Regime, fleet, run_estimate
from tokenergy.estimate.distributions import LogNormal, Point
from tokenergy.estimate.fleet import (
    DrawsDone,
    LengthMoments,
    beta_util,
    diurnal_load,
    fleet_beta,
    length_moments,
    mean_load,
    run_fleet,
)
from tokenergy.estimate.levers import parse_lever
from tokenergy.estimate.montecarlo import NodePower, load_fits
from tokenergy.estimate.surface import SurfaceFit
from tokenergy.progress import Progress

HEADER = "model,tp,quant,tps,lin,lout,source\n"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """'flat' runs at 2000 tok/s whatever the lengths; 'big' on a 10-GPU node at 1000 tok/s."""
    path = tmp_path / "table.csv"
    path.write_text(HEADER + "flat,8,FP8,2000,500,500,s\nbig,10,FP8,1000,500,500,s\n")
    return path


@pytest.mark.parametrize(("low", "high"), [(0.5, 1.0), (0.2, 0.9), (0.7, 0.7)])
def test_mean_load_of_the_sinusoid_is_the_midpoint(low: float, high: float) -> None:
    assert mean_load(low, high) == pytest.approx((low + high) / 2, abs=1e-12)
    hours = np.linspace(0, 24, 1000)
    load = diurnal_load(hours, low, high)
    assert load.min() == pytest.approx(low, abs=1e-4) and load.max() == pytest.approx(
        high, abs=1e-4
    )


def test_beta_from_the_load_profile_equals_the_closed_form() -> None:
    params = FleetParams(queries_per_day=1.0)
    beta = fleet_beta(params, NodePower(11_300.0, 2_700.0))
    f = (0.5 + 1.0) / 2
    closed = (2_700 + (11_300 - 2_700) * f) / (f * 11_300) * 1.10 * 1.12
    assert beta.value == pytest.approx(closed, rel=1e-12)
    assert beta.value == pytest.approx(1.33, abs=0.005)  # the issue's --beta 1.33 example
    assert beta.mean_load == pytest.approx(0.75)
    assert beta_util(2_700, 11_300, 1.0) == pytest.approx(1.0)  # always at full load: no overhead


def test_beta_given_directly() -> None:
    beta = fleet_beta(FleetParams(queries_per_day=1.0, beta=1.5), NodePower(11_300.0, 2_700.0))
    assert (beta.value, beta.beta_util, beta.to_dict()["given"]) == (1.5, None, True)


def fixed(table: Path, **overrides: object) -> FleetParams:
    base: dict[str, object] = {
        "queries_per_day": 1e9,
        "models": ["flat"],
        "table": str(table),
        "util": Point(value=0.5),
        "pue": Point(value=1.2),
        "scenarios": 200,
        "length_samples": 200_000,
    }
    base.update(overrides)
    return FleetParams(**base)  # type: ignore[arg-type]


def test_fixed_scenario_reproduces_the_daily_formula(table: Path) -> None:
    params = fixed(table, mix={Regime.TRADITIONAL: 1.0}, lin=Point(value=500.0))
    result = run_fleet(params)
    row = result.models[0]
    beta = fleet_beta(params, NodePower(11_300.0, 2_700.0)).value
    # mean L_out of the exponential (median 300), ≥ 1 token: mean + E[(1 − X)⁺], tiny
    mean_lout = 300 / math.log(2)
    expected_gwh = 1e9 * 1.2 * 0.5 * 11_300 * mean_lout / 2000 / 3600 * beta / 1e9
    assert float(np.median(row.gwh_per_day)) == pytest.approx(expected_gwh, rel=5e-3)
    assert result.to_dict()["beta"] == pytest.approx(beta)
    # a billion queries: the per-query length noise in a day's mean is negligible
    assert np.std(row.gwh_per_day) / np.mean(row.gwh_per_day) < 1e-3


def test_mix_weights_the_regime_means(table: Path) -> None:
    params = fixed(table, mix={Regime.TRADITIONAL: 0.9, Regime.TEST_TIME: 0.1})
    moments = length_moments(load_fits(str(table), ["flat"])[0], params)
    mean_lout = (0.9 * 300 + 0.1 * 5000) / math.log(2)
    standard_error = math.sqrt(moments.cov[1, 1] / moments.draws)
    assert moments.mean[1] == pytest.approx(mean_lout, abs=4 * standard_error)
    assert moments.mean[0] == pytest.approx(moments.mean[1] / 2000, rel=1e-12)


def test_few_queries_per_day_show_per_query_spread(table: Path) -> None:
    many = run_fleet(fixed(table, queries_per_day=1e9)).models[0].gwh_per_day
    few = run_fleet(fixed(table, queries_per_day=10.0)).models[0].gwh_per_day
    assert np.std(few) / np.mean(few) > 100 * np.std(many) / np.mean(many)


def test_a_handful_of_queries_is_drawn_exactly_never_negative(table: Path) -> None:
    # with one query a day the normal approximation of the day mean went negative; now each
    # query is drawn, so every scenario's day is a real (positive) query energy
    one = run_fleet(fixed(table, queries_per_day=1.0, scenarios=2000)).models[0].gwh_per_day
    assert np.all(one > 0)
    # and the exact path (999/day) agrees with the CLT path (1000/day) per query
    exact = run_fleet(fixed(table, queries_per_day=999.0)).models[0].gwh_per_day / 999
    approx = run_fleet(fixed(table, queries_per_day=1000.0)).models[0].gwh_per_day / 1000
    assert np.mean(exact) == pytest.approx(np.mean(approx), rel=0.02)
    assert np.std(exact) == pytest.approx(np.std(approx), rel=0.25)


def test_a_non_positive_normal_day_mean_is_an_error(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = length_moments

    def skewed(fit: SurfaceFit, params: FleetParams, progress: DrawsDone) -> LengthMoments:
        moments = real(fit, params, progress)
        return replace(moments, cov=moments.cov * 1e6)  # a spread no built-in regime has

    monkeypatch.setattr(fleet, "length_moments", skewed)
    with pytest.raises(ConfigError, match="non-positive value at 1000 queries/day"):
        run_fleet(fixed(table, queries_per_day=1000.0))


@pytest.mark.parametrize(
    "overrides",
    [{"queries_per_day": 0.5}, {"beta": math.inf}, {"network": math.nan}, {"redundancy": math.inf}],
)
def test_non_finite_or_sub_unit_fleet_parameters_are_refused(
    table: Path, overrides: dict[str, object]
) -> None:
    with pytest.raises(ValueError):
        fixed(table, **overrides)


def test_scenario_uncertainty_follows_util_and_pue(table: Path) -> None:
    params = fixed(
        table,
        util=LogNormal.from_p5_p95(0.4, 0.9),
        pue=LogNormal.from_p5_p95(1.05, 1.40),
        scenarios=20_000,
    )
    gwh = run_fleet(params).models[0].gwh_per_day
    # daily energy ∝ u·PUE: its log spread is the two log spreads combined
    sigma = math.hypot(params.util.sigma, params.pue.sigma)  # type: ignore[union-attr]
    assert np.std(np.log(gwh)) == pytest.approx(sigma, rel=3e-2)
    p5, p95 = np.quantile(gwh, [0.05, 0.95])
    assert p95 / p5 == pytest.approx(math.exp(2 * 1.6449 * sigma), rel=5e-2)


def test_levers_and_pooled_row(table: Path) -> None:
    result = run_fleet(fixed(table, models=["flat", "big"], levers=[parse_lever("custom:4,4")]))
    flat, big = result.models
    assert flat.improved_gwh_per_day is not None
    np.testing.assert_allclose(flat.improved_gwh_per_day, flat.gwh_per_day / 4.0)
    assert result.pooled is not None
    np.testing.assert_allclose(result.pooled.gwh_per_day, (flat.gwh_per_day + big.gwh_per_day) / 2)
    payload = result.to_dict()
    assert payload["pooled"]["improved_gwh_per_day"]["median"] == pytest.approx(
        float(np.median(result.pooled.gwh_per_day)) / 4.0, rel=1e-9
    )
    assert {"median", "q1", "q3", "p5", "p95", "mean"} <= set(payload["models"][0]["gwh_per_day"])
    assert payload["boundary"] == "fleet" and payload["basis"] == "modeled"


def test_comparisons_are_consistent(table: Path) -> None:
    result = run_fleet(fixed(table))
    c = result.comparisons(result.models[0])
    median = float(np.median(result.models[0].gwh_per_day))
    assert c["continuous_mw"] == pytest.approx(median * 1000 / 24)
    assert c["data_centre_mw"] == pytest.approx(c["continuous_mw"] / 0.75)
    assert c["wh_per_query"] == pytest.approx(median)  # 1e9 queries: GWh/day = Wh/query
    assert c["web_searches_per_query"] == pytest.approx(median / 0.3)


def test_correlated_power_at_the_cap_is_full_draw(table: Path) -> None:
    # 'flat' always runs at its cap, so correlated power equals u·P_max: same result
    plain = run_fleet(fixed(table)).models[0].gwh_per_day
    correlated = run_fleet(fixed(table, correlate_power=True)).models[0].gwh_per_day
    np.testing.assert_allclose(correlated, plain, rtol=1e-10)


def test_effective_beta_when_models_differ(table: Path) -> None:
    result = run_fleet(fixed(table, models=["flat", "big"], p_idle_w=2700.0))
    betas = [m.beta.value for m in result.models if m.beta is not None]
    assert betas[0] != betas[1]
    assert min(betas) < result.beta < max(betas)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_load": 0.9, "max_load": 0.5}, "min load 0.9 > max load 0.5"),
        ({"mix": {Regime.TRADITIONAL: 0.0}}, "positive total"),
    ],
)
def test_bad_fleet_parameters(table: Path, overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        fixed(table, **overrides)


@pytest.mark.parametrize("correlate", [False, True])
def test_fleet_day_mean_agrees_with_the_per_query_monte_carlo(
    tmp_path: Path, correlate: bool
) -> None:
    rows = [(100, 100), (100, 10000), (10000, 100), (1000, 1000), (400, 2500)]
    path = tmp_path / "toy.csv"
    path.write_text(
        HEADER
        + "".join(f"toy,8,FP8,{math.exp(8.0) * i**-0.5 * o**0.25!r},{i},{o},s\n" for i, o in rows)
    )
    common: dict[str, object] = {
        "models": ["toy"],
        "table": str(path),
        "util": Point(value=0.6),
        "pue": Point(value=1.2),
        "correlate_power": correlate,
    }
    fleet = run_fleet(
        FleetParams(
            queries_per_day=1e9,
            mix={Regime.TRADITIONAL: 1.0},
            beta=1.0,
            scenarios=50,
            length_samples=400_000,
            **common,  # type: ignore[arg-type]
        )
    )
    per_query = run_estimate(EstimateParams(samples=400_000, seed=3, **common))  # type: ignore[arg-type]
    day_gwh = float(np.median(fleet.models[0].gwh_per_day))
    assert day_gwh == pytest.approx(per_query.models[0].baseline.mean_wh, rel=1e-2)


@pytest.mark.parametrize(
    ("queries_per_day", "per_model"),
    [(1e9, 2_500_000), (50.0, 50 * 200)],  # chunks of length draws; exact: one call per scenario
)
def test_progress_counts_length_draws_up_to_the_total(
    table: Path, queries_per_day: float, per_model: int
) -> None:
    params = fixed(
        table, models=["flat", "big"], queries_per_day=queries_per_day, length_samples=2_500_000
    )
    seen: list[Progress] = []
    told = run_fleet(params, progress=seen.append)
    assert len(seen) > 2 and [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1] == Progress(2 * per_model, 2 * per_model, "draws")
    assert told.to_dict() == run_fleet(params).to_dict()
