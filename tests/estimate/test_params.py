"""Parameter sets: node defaults by GPU count, regimes, mix normalisation, JSON round trip."""

from __future__ import annotations

from typing import Literal

import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Exponential, LogNormal, Point
from tokenergy.estimate.levers import parse_lever
from tokenergy.estimate.params import (
    EstimateParams,
    FleetParams,
    Regime,
    default_p_idle_w,
    default_pmax_w,
    p5_p95,
)


def test_node_power_defaults_follow_the_gpu_count() -> None:
    assert default_pmax_w(8) == 11_300.0
    assert default_pmax_w(10) == 14_100.0  # the DeepSeek-R1 rows of the default table
    assert default_pmax_w(4) == 5_650.0
    assert default_p_idle_w(11_300.0) == 2_700.0
    assert default_p_idle_w(14_100.0) == pytest.approx(2_700.0 * 14.1 / 11.3)


def test_regimes_and_default_lengths() -> None:
    assert Regime.TRADITIONAL.lout_median == 300.0
    assert Regime.TEST_TIME.lout_median == 5000.0
    params = EstimateParams()
    assert params.lin == Point(value=500.0)
    assert params.lout_distribution() == Exponential(median=300.0)
    assert isinstance(params.util, LogNormal)
    assert (params.util.p5, params.util.p95) == pytest.approx((0.4, 0.9))
    assert isinstance(params.pue, LogNormal)
    assert (params.pue.p5, params.pue.p95) == pytest.approx((1.05, 1.40))


def test_mix_is_normalised_and_zero_shares_dropped() -> None:
    params = FleetParams(queries_per_day=1.0, mix={Regime.TRADITIONAL: 9, Regime.TEST_TIME: 0})
    assert params.mix_weights() == {Regime.TRADITIONAL: 1.0}
    default = FleetParams(queries_per_day=1.0).mix_weights()
    assert default == pytest.approx({Regime.TRADITIONAL: 0.9, Regime.TEST_TIME: 0.1})


def test_fleet_params_round_trip_through_json() -> None:
    params = FleetParams(queries_per_day=1e9, levers=[parse_lever("model")], beta=1.4, seed=3)
    assert FleetParams.model_validate_json(params.model_dump_json()) == params


@pytest.mark.parametrize(
    ("name", "p5", "p95", "fragment"),
    [
        ("util", 0.9, 0.4, "P5 0.9 > P95 0.4"),
        ("util", 0.4, 1.5, "utilisation is a fraction of P_max, P95 1.5 > 1"),
        ("pue", 0.5, 1.2, "a PUE is at least 1, P5 0.5 < 1"),
        ("pue", -1.0, 1.2, "P5 must be a positive"),
    ],
)
def test_p5_p95_refuses_impossible_ranges_naming_the_parameter(
    name: Literal["util", "pue"], p5: float, p95: float, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        p5_p95(name, p5, p95)
    assert caught.value.field == name


def test_p5_p95_is_a_point_when_equal_else_a_lognormal() -> None:
    assert p5_p95("pue", 1.2, 1.2) == Point(value=1.2)
    spread = p5_p95("util", 0.4, 0.9)
    assert isinstance(spread, LogNormal) and spread == LogNormal.from_p5_p95(0.4, 0.9)


def test_beta_excludes_the_load_profile_it_replaces() -> None:
    with pytest.raises(ConfigError, match=r"^beta replaces min_load, network; give one or the"):
        FleetParams(queries_per_day=1e6, beta=1.3, min_load=0.6, network=1.2)
    # an explicit None (no idle power given) is not a profile value
    assert FleetParams(queries_per_day=1e6, beta=1.3, p_idle_w=None).beta == 1.3
    assert FleetParams(queries_per_day=1e6, min_load=0.6).beta is None
