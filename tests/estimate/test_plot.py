"""Plots of the distributions are real PNG/SVG files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate import EstimateParams, EstimateResult, run_estimate
from tokenergy.estimate.levers import parse_lever
from tokenergy.estimate.plot import plot_estimate


@pytest.fixture(scope="module")
def result() -> EstimateResult:
    params = EstimateParams(
        models=["Llama 3.1 70B", "Mixtral 8x22B"],
        samples=20_000,
        pool=True,
        levers=[parse_lever("serving")],
    )
    return run_estimate(params)


def test_png_and_svg(result: EstimateResult, tmp_path: Path) -> None:
    png, svg = tmp_path / "d.png", tmp_path / "d.svg"
    plot_estimate(result, png)
    plot_estimate(result, svg)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert "Llama 3.1 70B (levers)" in text and "pooled" in text


def test_unknown_suffix_is_refused(result: EstimateResult, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"must end in \.png or \.svg"):
        plot_estimate(result, tmp_path / "d.pdf")
