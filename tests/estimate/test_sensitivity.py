"""Sobol indices of the estimator's inputs (SALib), checked against the analytic split."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tokenergy.estimate import EstimateParams
from tokenergy.estimate.distributions import Empirical, Exponential, LogNormal, Point
from tokenergy.estimate.lengthfiles import INPUT, load_lengths
from tokenergy.estimate.sensitivity import sensitivity
from tokenergy.estimate.sensitivity_plot import plot_sensitivity


def test_lognormal_factors_split_log_variance_analytically() -> None:
    """log E = log u + log PUE + const: S1(u) = σu² / (σu² + σp²) exactly, no interactions."""
    util, pue = LogNormal.from_p5_p95(0.4, 0.9), LogNormal.from_p5_p95(1.05, 1.40)
    params = EstimateParams(models=["Llama 3.1 70B"], lout=Point(value=300.0), util=util, pue=pue)
    row = sensitivity(params).rows[0]
    assert [i.name for i in row.ranked()] == ["utilisation", "PUE"]
    share = util.sigma**2 / (util.sigma**2 + pue.sigma**2)
    by_name = {i.name: i for i in row.indices}
    assert by_name["utilisation"].s1_log == pytest.approx(share, abs=0.02)
    assert by_name["utilisation"].st_log == pytest.approx(share, abs=0.02)
    assert by_name["PUE"].s1_log == pytest.approx(1 - share, abs=0.02)


def test_pooled_traditional_ranks_output_length_first() -> None:
    result = sensitivity(EstimateParams(pool=True))
    pooled = result.rows[-1]
    assert pooled.target == "pooled"
    names = [i.name for i in pooled.ranked()]
    assert names[0] == "output length"
    assert names[1] == "model"
    assert {"utilisation", "PUE"} <= set(names)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["rows"][-1]["indices"][0]["input"] == "output length"


def test_input_length_and_levers_become_inputs(tmp_path: Path) -> None:
    from tokenergy.estimate.levers import parse_lever

    params = EstimateParams(
        models=["Llama 3.1 405B"],
        lin=Exponential(median=500.0),
        levers=[parse_lever("serving")],
    )
    row = sensitivity(params, base_samples=1024).rows[0]
    names = {i.name for i in row.indices}
    assert names == {"output length", "input length", "utilisation", "PUE", "lever serving"}
    assert all(math.isfinite(i.st) for i in row.indices)
    path = tmp_path / "s.svg"
    plot_sensitivity(sensitivity(params, base_samples=256), path)
    assert "<svg" in path.read_text()


def test_base_samples_must_be_a_power_of_two() -> None:
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity(EstimateParams(models=["Llama 3.1 70B"]), base_samples=1000)


def test_ppf_inverts_each_distribution() -> None:
    q = np.array([0.05, 0.5, 0.95])
    lognormal = LogNormal.from_p5_p95(0.4, 0.9)
    assert lognormal.ppf(q) == pytest.approx([0.4, lognormal.median, 0.9])
    assert Exponential(median=300.0).ppf(q)[1] == pytest.approx(300.0)
    histogram = Empirical(bins=[0.0, 10.0, 20.0], counts=[1.0, 1.0])
    assert histogram.ppf(q) == pytest.approx([1.0, 10.0, 19.0])
    values = Empirical(values=[3.0, 1.0, 2.0, 4.0])
    assert values.ppf(np.array([0.1, 0.3, 0.6, 0.99])) == pytest.approx([1.0, 2.0, 3.0, 4.0])


def test_input_lengths_from_files(tmp_path: Path) -> None:
    raw = tmp_path / "bench.json"
    raw.write_text(json.dumps({"input_lens": [100, 200], "output_lens": [5, 6]}))
    assert load_lengths(raw, "lin", INPUT).values == [100.0, 200.0]
    log = tmp_path / "requests.jsonl"
    log.write_text('{"usage": {"prompt_tokens": 7, "completion_tokens": 3}}\n')
    assert load_lengths(log, "lin", INPUT).values == [7.0]
    assert load_lengths(log).values == [3.0]


def test_fit_noise_is_an_input_and_the_ladder_drops_pue_below_the_facility() -> None:
    from tokenergy.units import Boundary

    params = EstimateParams(
        models=["Llama 3.1 405B"], fit_noise=True, boundary=Boundary.ACCELERATOR, gpu="H100"
    )
    row = sensitivity(params, base_samples=1024).rows[0]
    names = {i.name for i in row.indices}
    assert names == {"output length", "utilisation", "fit noise"}
    assert {i.name: i for i in row.indices}["fit noise"].st_log > 0.01
