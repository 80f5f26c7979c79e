"""tokenergy.reconcile on the embedded data: every figure of a model, ratios split into factors."""

from __future__ import annotations

import math

import pytest

from tokenergy.analyze.modelkey import model_key
from tokenergy.analyze.reconcile import (
    Method,
    Reconciliation,
    embedded_results,
    reconcilable_models,
    reconcile,
)
from tokenergy.catalog import DEFAULT_THROUGHPUT_TABLE, catalog_path
from tokenergy.errors import ConfigError
from tokenergy.estimate.montecarlo import load_fits
from tokenergy.records import ServingResult
from tokenergy.units import Basis, Boundary


@pytest.fixture(scope="module")
def embedded() -> list[ServingResult]:
    return embedded_results()


@pytest.fixture(scope="module")
def llama405(embedded: list[ServingResult]) -> Reconciliation:
    return reconcile("Llama-3.1-405B", embedded, gpu="H100", precision="fp8")


def test_405b_fp8_h100_has_measured_converted_and_estimated_at_one_boundary(
    llama405: Reconciliation,
) -> None:
    methods = {row.figure.method for row in llama405.rows}
    assert methods == {Method.MEASURED, Method.CONVERTED, Method.ESTIMATED}
    assert {row.figure.boundary for row in llama405.rows} == {Boundary.ACCELERATOR}
    assert llama405.reference.figure.method is Method.MEASURED
    for row in llama405.rows:
        product = math.prod(factor.ratio for factor in row.factors)
        assert product == pytest.approx(row.ratio, rel=1e-3)  # the 0.1 %
        assert product == pytest.approx(row.ratio, rel=1e-12)  # in fact exact


def test_405b_figures_by_hand(llama405: Reconciliation) -> None:
    """ML.ENERGY cap 256: 4875 W / 2363 tok/s; the table row 1000/1000 at TDP 700 W per GPU."""
    by_method = {row.figure.method: row for row in llama405.rows}
    measured = by_method[Method.MEASURED]
    assert "batch 256" in measured.figure.config  # the saturated point of the sweep
    assert measured.figure.j_per_output_token == pytest.approx(2.0631, rel=1e-3)
    out_len = llama405.workload.output_len
    assert out_len == pytest.approx(367.15, rel=1e-3)
    assert measured.wh_per_query == pytest.approx(2.0631 * out_len / 3600, rel=1e-3)
    assert measured.figure.utilisation == pytest.approx(4875 / 8 / 700, rel=1e-3)

    fit = next(
        f
        for f in load_fits(str(catalog_path(DEFAULT_THROUGHPUT_TABLE)), [])
        if f.model == "Llama 3.1 405B"
    )
    converted = by_method[Method.CONVERTED]
    assert converted.figure.basis is Basis.NAMEPLATE
    assert "1000/1000" in converted.figure.config  # the table row nearest 500/367
    own_j = 700 / (2963.36 / 8)
    length = float(fit.tps(1000, 1000) / fit.tps(500, out_len))
    assert converted.figure.j_per_output_token == pytest.approx(own_j * length, rel=1e-6)
    factors = {f.name: f.ratio for f in converted.factors}
    assert factors["throughput per GPU"] == pytest.approx(2363.0 / 2963.36, rel=1e-3)
    assert factors["lengths"] == pytest.approx(length, rel=1e-9)

    estimated = next(r for r in llama405.rows if r.figure.source.startswith("estimator: h100x8"))
    assert estimated.figure.basis is Basis.MODELED
    residual = estimated.figure.residual
    assert abs(residual - 1) < 0.01  # Monte Carlo noise of 2e5 draws on the mean
    tps = float(fit.tps(500, out_len))
    sigma = math.log(0.9 / 0.4) / 3.29
    util_mean = math.exp((math.log(0.4) + math.log(0.9)) / 2 + sigma**2 / 2)
    expected = 700 * util_mean / (tps / 8) * residual
    assert estimated.figure.j_per_output_token == pytest.approx(expected, rel=1e-3)


def test_node_and_facility_need_a_host_share_and_move_figures_outward(
    embedded: list[ServingResult],
) -> None:
    with pytest.raises(ConfigError, match="host"):
        reconcile("Llama-3.1-405B", embedded, gpu="H100", boundary=Boundary.NODE)
    accelerator = reconcile("Llama-3.1-405B", embedded, gpu="H100", precision="fp8", estimate=False)
    node = reconcile(
        "Llama-3.1-405B",
        embedded,
        gpu="H100",
        precision="fp8",
        boundary=Boundary.NODE,
        host_overhead=0.15,
        estimate=False,
    )
    assert node.reference.wh_per_query == pytest.approx(
        accelerator.reference.wh_per_query * 1.15, rel=1e-9
    )
    facility = reconcile(
        "Llama-3.1-405B",
        embedded,
        gpu="H100",
        precision="fp8",
        boundary=Boundary.FACILITY,
        host_overhead=0.15,
        pue=1.3,
    )
    by_method = {
        row.figure.method: row for row in facility.rows if "calibrated" not in row.figure.source
    }
    assert facility.reference.figure.pue == 1.3
    converted = by_method[Method.CONVERTED]
    assert converted.figure.basis is Basis.PROVISIONED  # all-in kW/GPU at the facility
    assert converted.figure.power_per_gpu_w == 1730.0
    assert {f.name: f.ratio for f in converted.factors}["PUE"] == pytest.approx(1 / 1.3)
    assert by_method[Method.ESTIMATED].figure.pue > 1.0  # the estimator's PUE distribution
    for row in facility.rows:
        assert math.prod(f.ratio for f in row.factors) == pytest.approx(row.ratio, rel=1e-12)


def test_given_workload_moves_every_figure_by_the_surface(embedded: list[ServingResult]) -> None:
    short = reconcile("Llama-3.1-405B", embedded, gpu="H100", precision="fp8", isl=2048, osl=128)
    assert (short.workload.input_len, short.workload.output_len) == (2048, 128)
    converted = next(r for r in short.rows if r.figure.method is Method.CONVERTED)
    assert "2048/128" in converted.figure.config
    assert converted.figure.lengths == pytest.approx(1.0)  # the row is at the workload
    assert converted.wh_per_query == pytest.approx(5600 * 128 / 448.89 / 3600, rel=1e-6)


def test_reconcilable_models_of_the_embedded_data(embedded: list[ServingResult]) -> None:
    names = reconcilable_models(embedded)
    keys = [model_key(name).family for name in names]
    assert model_key("Llama-3.1-405B").family in keys
    assert model_key("Llama 3.1 70B").family in keys
    assert model_key("DeepSeek-R1").family in keys
    assert model_key("gpt-oss-120b").family in keys
    assert model_key("gpt-oss-20b").family not in keys  # measured only
    assert model_key("Mixtral 8x22B").family not in keys  # never measured
    for name in names:
        result = reconcile(name, embedded, estimate=False, all_points=False)
        assert result.reference.figure.method is Method.MEASURED
        assert any(r.figure.method is not Method.MEASURED for r in result.rows)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("dsr1", "deepseek-ai/DeepSeek-R1-0528", True),
        ("gptoss", "openai/gpt-oss-120b", True),
        ("Llama 3.1 405B", "meta-llama/Llama-3.1-405B-Instruct-FP8", True),
        ("Llama-3.1-70B", "meta-llama/Llama-3.3-70B-Instruct", False),
        ("Qwen3-235B-A22B-Instruct-2507", "Qwen/Qwen3-235B-A22B-Thinking-2507", False),
        ("gpt-oss-20b", "gptoss", False),
    ],
)
def test_model_spellings(a: str, b: str, same: bool) -> None:
    assert model_key(a).matches(model_key(b)) is same


def test_unknown_model_is_an_error(embedded: list[ServingResult]) -> None:
    with pytest.raises(ConfigError, match="no figure"):
        reconcile("Nonexistent-7B", embedded)


def test_calibrated_estimate_leaves_the_reference_out(embedded: list[ServingResult]) -> None:
    result = reconcile("Llama-3.1-405B", embedded, gpu="H100", precision="fp8", calibrated=True)
    assert result.reference.figure.batch == 256
    calibrated = [r for r in result.rows if "calibrated" in r.figure.source]
    assert len(calibrated) == 1
    row = calibrated[0]
    assert "7 other points" in row.figure.source  # 8 caps on 8×H100, the reference left out
    assert row.figure.batch == 256
    assert 0.7 < row.ratio < 1.4
    assert math.prod(f.ratio for f in row.factors) == pytest.approx(row.ratio, rel=1e-12)
