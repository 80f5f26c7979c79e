"""Each distribution's parameterisation, pinned analytically and by large seeded samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import (
    Z95,
    Distribution,
    Empirical,
    Exponential,
    LogNormal,
    Point,
    Uniform,
)

N = 400_000


def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def test_z95_is_the_normal_95th_percentile() -> None:
    assert pytest.approx(1.6448536269514722, rel=1e-12) == Z95


def test_lognormal_from_p5_p95_closed_form() -> None:
    dist = LogNormal.from_p5_p95(0.4, 0.9)
    assert dist.mu == pytest.approx((math.log(0.4) + math.log(0.9)) / 2)
    assert dist.sigma == pytest.approx((math.log(0.9) - math.log(0.4)) / (2 * 1.6449), rel=1e-4)
    assert dist.p5 == pytest.approx(0.4, rel=1e-12)
    assert dist.p95 == pytest.approx(0.9, rel=1e-12)
    assert dist.median == pytest.approx(math.sqrt(0.4 * 0.9))


@given(
    st.floats(min_value=1e-3, max_value=1e4),
    st.floats(min_value=1.0, max_value=100.0),
)
def test_lognormal_quantiles_recover_any_p5_p95(p5: float, ratio: float) -> None:
    dist = LogNormal.from_p5_p95(p5, p5 * ratio)
    assert dist.quantile(0.05) == pytest.approx(p5, rel=1e-9)
    assert dist.quantile(0.95) == pytest.approx(p5 * ratio, rel=1e-9)
    assert dist.median == pytest.approx(p5 * math.sqrt(ratio), rel=1e-9)


def test_lognormal_samples_recover_p5_p95() -> None:
    draws = LogNormal.from_p5_p95(1.05, 1.40).sample(rng(), N)
    p5, p95 = np.quantile(draws, [0.05, 0.95])
    assert p5 == pytest.approx(1.05, rel=2e-3)
    assert p95 == pytest.approx(1.40, rel=2e-3)


def test_lognormal_from_median_p95() -> None:
    dist = LogNormal.from_median_p95(300.0, 1200.0)
    assert dist.median == pytest.approx(300.0)
    assert dist.p95 == pytest.approx(1200.0)
    assert dist.sigma == pytest.approx(math.log(4) / Z95)


def test_lognormal_mean_matches_samples() -> None:
    dist = LogNormal.from_p5_p95(1.5, 10.0)
    assert np.mean(dist.sample(rng(), N)) == pytest.approx(dist.mean, rel=1e-2)


@pytest.mark.parametrize(
    ("p5", "p95", "message"),
    [(0.9, 0.4, "P5 0.9 > P95 0.4"), (-1.0, 0.4, "P5 must be a positive"), (0.1, 0.0, "P95")],
)
def test_lognormal_rejects_bad_ranges(p5: float, p95: float, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LogNormal.from_p5_p95(p5, p95, name="--util-p5/--util-p95")


def test_exponential_median_and_mean() -> None:
    dist = Exponential.from_median(300.0)
    assert dist.mean == pytest.approx(300.0 / math.log(2))
    assert dist.quantile(0.5) == pytest.approx(300.0)
    draws = dist.sample(rng(), N)
    assert np.median(draws) == pytest.approx(300.0, rel=1e-2)
    assert np.mean(draws) == pytest.approx(300.0 / math.log(2), rel=1e-2)


def test_exponential_rejects_negative_median() -> None:
    with pytest.raises(ConfigError, match="median must be a positive number, got -5"):
        Exponential.from_median(-5.0, "--lout-median")


def test_point_and_uniform() -> None:
    assert np.all(Point(value=7.0).sample(rng(), 10) == 7.0)
    draws = Uniform(low=2.0, high=4.0).sample(rng(), N)
    assert draws.min() >= 2.0 and draws.max() <= 4.0
    assert np.mean(draws) == pytest.approx(3.0, rel=1e-2)
    with pytest.raises(ValueError, match="low 4 > high 2"):
        Uniform(low=4.0, high=2.0)


def test_empirical_values_resample_the_observations() -> None:
    dist = Empirical(values=[10.0, 20.0, 30.0])
    draws = dist.sample(rng(), N)
    assert set(np.unique(draws)) == {10.0, 20.0, 30.0}
    assert np.mean(draws) == pytest.approx(20.0, rel=1e-2)
    assert dist.quantile(0.5) == 20.0


def test_empirical_histogram_draws_within_bins_by_weight() -> None:
    dist = Empirical(bins=[0.0, 10.0, 30.0], counts=[1.0, 3.0])
    draws = dist.sample(rng(), N)
    assert draws.min() >= 0.0 and draws.max() <= 30.0
    assert np.mean(draws < 10.0) == pytest.approx(0.25, abs=5e-3)
    assert dist.mean == pytest.approx(0.25 * 5 + 0.75 * 20)
    assert np.mean(draws) == pytest.approx(dist.mean, rel=1e-2)
    assert dist.quantile(0.25) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": []}, "no values"),
        ({"bins": [0.0, 1.0], "counts": [1.0, 2.0]}, "len\\(bins\\)"),
        ({"bins": [2.0, 1.0], "counts": [1.0]}, "increasing"),
        ({"bins": [0.0, 1.0], "counts": [0.0]}, "positive total"),
    ],
)
def test_empirical_rejects_malformed(kwargs: dict[str, list[float]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Empirical(**kwargs)  # type: ignore[arg-type]


def test_distributions_round_trip_through_json_with_their_kind() -> None:
    adapter: TypeAdapter[Distribution] = TypeAdapter(Distribution)
    for dist in (
        Point(value=1.0),
        Uniform(low=1.0, high=2.0),
        LogNormal.from_p5_p95(0.4, 0.9),
        Exponential(median=300.0),
        Empirical(bins=[0.0, 1.0], counts=[3.0]),
    ):
        dumped = dist.model_dump(mode="json")
        assert dumped["kind"] == dist.kind
        assert adapter.validate_python(dumped) == dist
