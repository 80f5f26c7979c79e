"""Throughput surface: the fit recovers known coefficients, the cap binds, reduced fits warn."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tokenergy.catalog import DEFAULT_THROUGHPUT_TABLE, catalog_path
from tokenergy.errors import ConfigError
from tokenergy.estimate.surface import (
    FitKind,
    ThroughputPoint,
    fit_model,
    fit_surfaces,
    load_throughput_table,
    points_from_results,
    select,
)
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.records import RateBasis

HEADER = "model,tp,quant,tps,lin,lout,source\n"


def synthetic(
    b0: float, b1: float, b2: float, grid: list[tuple[float, float]]
) -> list[ThroughputPoint]:
    return [
        ThroughputPoint(
            "m", 8, "FP8", math.exp(b0 + b1 * math.log(i) + b2 * math.log(o)), i, o, "s"
        )
        for i, o in grid
    ]


GRID = [(128, 128), (128, 2048), (500, 2000), (1000, 1000), (2048, 128), (5000, 500), (20000, 2000)]


def test_fit_recovers_known_coefficients_exactly() -> None:
    fit = fit_model("m", synthetic(10.0, -0.5, 0.25, GRID))
    assert fit.kind is FitKind.FULL
    assert (fit.b0, fit.b1, fit.b2) == pytest.approx((10.0, -0.5, 0.25), abs=1e-10)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.warning is None
    assert fit.n_points == len(GRID)


def test_fit_with_noise_is_close_and_r2_below_one() -> None:
    points = synthetic(9.0, -0.4, 0.3, GRID * 20)
    noise = np.random.default_rng(1).normal(0, 0.05, len(points))
    noisy = [
        ThroughputPoint(p.model, p.tp, p.quant, p.tps * math.exp(e), p.lin, p.lout, p.source)
        for p, e in zip(points, noise, strict=True)
    ]
    fit = fit_model("m", noisy)
    assert (fit.b0, fit.b1, fit.b2) == pytest.approx((9.0, -0.4, 0.3), abs=0.05)
    assert fit.r2 is not None and 0.9 < fit.r2 < 1.0


def test_prediction_is_capped_at_max_observed_tps() -> None:
    fit = fit_model("m", synthetic(8.0, -0.5, 0.5, GRID))
    cap = max(p.tps for p in synthetic(8.0, -0.5, 0.5, GRID))
    assert fit.cap_tps == pytest.approx(cap)
    # short input, very long output: the raw surface exceeds the cap by far
    raw = math.exp(8.0 - 0.5 * math.log(10) + 0.5 * math.log(1e6))
    assert raw > 10 * cap
    assert float(fit.tps(10.0, 1e6)) == pytest.approx(cap)
    # inside the table the prediction is the surface itself
    assert float(fit.tps(1000.0, 1000.0)) == pytest.approx(math.exp(8.0))


def test_two_points_give_a_reduced_fit_with_a_warning_naming_the_model() -> None:
    points = [
        ThroughputPoint("Nemo", 8, "FP8", 5200.0, 500, 2000, "s"),
        ThroughputPoint("Nemo", 8, "FP8", 720.0, 5000, 500, "s"),
    ]
    fit = fit_model("Nemo", points)
    assert fit.kind is FitKind.INPUT_ONLY  # both one-slope fits are exact; smaller |slope| wins
    assert fit.b1 == pytest.approx(math.log(720 / 5200) / math.log(10))
    assert fit.b2 == 0.0
    assert fit.warning is not None and "Nemo" in fit.warning and "input-only" in fit.warning
    assert float(fit.tps(500.0, 123.0)) == pytest.approx(5200.0)


def test_output_only_when_only_output_varies() -> None:
    points = synthetic(7.0, 0.0, 0.3, [(500, 100), (500, 1000), (500, 3000)])
    fit = fit_model("m", points)
    assert fit.kind is FitKind.OUTPUT_ONLY
    assert fit.b2 == pytest.approx(0.3)


def test_single_point_is_a_constant() -> None:
    fit = fit_model("m", [ThroughputPoint("m", 8, "FP8", 886.0, 1024, 1024, "s")])
    assert fit.kind is FitKind.CONSTANT
    assert fit.r2 is None
    assert float(fit.tps(10.0, 99999.0)) == pytest.approx(886.0)


def test_packaged_table_fits_every_model_and_node_sizes() -> None:
    fits = fit_surfaces(load_throughput_table(catalog_path(DEFAULT_THROUGHPUT_TABLE)))
    assert len(fits) == 5
    assert fits["DeepSeek-R1"].gpus == 10
    assert fits["Llama 3.1 70B"].gpus == 8
    assert fits["Llama 3.1 70B"].kind is FitKind.FULL
    assert fits["Llama 3.1 70B"].cap_tps == pytest.approx(17463.99)
    assert fits["Llama-3.1 Nemotron Ultra 253B"].kind is FitKind.INPUT_ONLY


def test_shared_data_table_equals_packaged_copy(shared_data: Path) -> None:
    shared = load_throughput_table(shared_data / "throughput" / "h100x8_fp8_trtllm.csv")
    assert shared == load_throughput_table(catalog_path(DEFAULT_THROUGHPUT_TABLE))


def test_select_is_case_insensitive_and_lists_known_models_when_unknown() -> None:
    fits = fit_surfaces(synthetic(8.0, -0.5, 0.2, GRID))
    assert select(fits, ["M"], "t.csv")[0].model == "m"
    assert select(fits, [], "t.csv") == list(fits.values())
    with pytest.raises(ConfigError, match=r"unknown model 'gpt' in t.csv; known: m"):
        select(fits, ["gpt"], "t.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (HEADER, "no rows"),
        ("model,tp,tps\nm,8,1\n", "missing column"),
        (HEADER + "m,8,FP8,fast,500,300,s\n", "line 2: 'fast' is not a number"),
        (HEADER + "m,8,FP8,-3,500,300,s\n", "must be positive"),
    ],
)
def test_bad_tables_are_errors_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "table.csv"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_throughput_table(path)
    assert str(path) in str(caught.value)


def test_one_model_on_two_node_sizes_is_refused() -> None:
    points = synthetic(8.0, -0.5, 0.2, GRID)
    points.append(ThroughputPoint("m", 4, "FP8", 100.0, 500, 500, "s"))
    with pytest.raises(ConfigError, match="nodes of \\[4, 8\\] GPUs"):
        fit_model("m", points)


def test_points_from_ingested_results_fit_like_the_csv() -> None:
    path = catalog_path(DEFAULT_THROUGHPUT_TABLE)
    ingested = load_results([path], IngestOptions())
    from_results = fit_surfaces(points_from_results(ingested.results))
    from_csv = fit_surfaces(load_throughput_table(path))
    assert list(from_results) == list(from_csv)
    for model, fit in from_csv.items():
        other = from_results[model]
        assert (other.kind, other.gpus, other.cap_tps) == (fit.kind, fit.gpus, fit.cap_tps)
        assert (other.b0, other.b1, other.b2) == pytest.approx((fit.b0, fit.b1, fit.b2))


def test_ingested_sweeps_keep_the_saturated_point_per_deployment(shared_data: Path) -> None:
    from tokenergy.estimate.montecarlo import load_fits

    path = shared_data / "inferencex" / "agg" / "run_20218553330.json"
    ingested = load_results([path], IngestOptions())
    fits = {fit.model: fit for fit in load_fits(str(path), [])}
    deployments = {(r.identity.gpu, r.identity.num_gpus) for r in ingested.results}
    assert set(fits) == {f"gptoss ({n}×{gpu})" for gpu, n in deployments}
    one_b200 = [
        r.throughput.output_tok_s or 0.0
        for r in ingested.results
        if (r.identity.gpu, r.identity.num_gpus) == ("B200", 1)
    ]
    fit = fits["gptoss (1×B200)"]
    assert fit.cap_tps == pytest.approx(max(one_b200))
    assert (fit.gpu, fit.gpus, fit.rate) == ("B200", 1, RateBasis.OUTPUT)
    assert fit.n_points == 3  # one saturated point per (ISL, OSL)


def test_inferencex_surface_charges_output_tokens_against_output_rates(shared_data: Path) -> None:
    """DeepSeek-R1 FP8 on 8×H200 (SGLang, run 20286929996), 8k/1k, best conc 64:
    output 143.05192361749397 tok/s/GPU × 8 = 1 144.4154 tok/s; benchmarked lengths at R = 0.8:
    (6553 + 8192)/2 = 7 372.5 in, (819 + 1024)/2 = 921.5 out. At 5.6 kW (8 × 700 W), u = PUE = 1:
    5 600 × 921.5 / 1 144.4154 / 3600 = 1.252556 Wh/query. Charging the same tokens against the
    total rate (1 289.4382785162218 × 8 = 10 315.506 tok/s) gave 0.139 — 9× low.
    """
    from tokenergy.estimate import EstimateParams, run_estimate
    from tokenergy.estimate.distributions import Point

    path = shared_data / "inferencex" / "agg" / "run_20286929996.json"
    params = EstimateParams(
        models=["dsr1 (8×H200)"],
        table=str(path),
        lin=Point(value=7372.5),
        lout=Point(value=921.5),
        util=Point(value=1.0),
        pue=Point(value=1.0),
        pmax_w=5600.0,
        samples=10,
    )
    estimate = run_estimate(params).models[0]
    assert estimate.fit.n_points == 3 and estimate.fit.rate is RateBasis.OUTPUT
    expected = 5600 * 921.5 / (143.05192361749397 * 8) / 3600
    assert estimate.baseline.mean_wh == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(1.252556, rel=1e-6)
