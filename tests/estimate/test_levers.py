"""Efficiency levers: named ranges, custom ranges, multiplication."""

from __future__ import annotations

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate.levers import NAMED_LEVERS, parse_lever, sample_alpha


@pytest.mark.parametrize("name", sorted(NAMED_LEVERS))
def test_named_levers_have_their_p5_p95(name: str) -> None:
    lever = parse_lever(name)
    p5, p95 = NAMED_LEVERS[name]
    assert lever.alpha.p5 == pytest.approx(p5)
    assert lever.alpha.p95 == pytest.approx(p95)


def test_named_ranges_are_the_design_values() -> None:
    assert NAMED_LEVERS == {"model": (1.5, 10.0), "serving": (1.5, 5.0), "hardware": (1.5, 2.5)}


def test_custom_lever() -> None:
    lever = parse_lever("custom:1.5,3")
    assert lever.name == "custom:1.5,3"
    assert (lever.alpha.p5, lever.alpha.p95) == pytest.approx((1.5, 3.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("magic", "unknown lever 'magic'; use model, serving, hardware or custom:P5,P95"),
        ("custom:2", "write custom:P5,P95"),
        ("custom:3,1.5", "P5 3 > P95 1.5"),
        ("custom:-1,2", "P5 must be a positive"),
    ],
)
def test_bad_levers(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_lever(text)


def test_levers_multiply() -> None:
    rng = np.random.default_rng(5)
    alpha = sample_alpha([parse_lever("custom:2,2"), parse_lever("custom:5,5")], rng, 10)
    assert alpha is not None
    np.testing.assert_allclose(alpha, 10.0)
    assert sample_alpha([], rng, 10) is None


def test_product_of_lognormal_levers_has_summed_log_parameters() -> None:
    levers = [parse_lever("serving"), parse_lever("hardware")]
    alpha = sample_alpha(levers, np.random.default_rng(6), 400_000)
    assert alpha is not None
    mu = sum(lever.alpha.mu for lever in levers)
    sigma = float(np.hypot(*(lever.alpha.sigma for lever in levers)))
    assert np.mean(np.log(alpha)) == pytest.approx(mu, abs=3e-3)
    assert np.std(np.log(alpha)) == pytest.approx(sigma, rel=5e-3)
