"""TensorRT-LLM style throughput tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import RateBasis


def test_throughput_row_hand_computed(shared_data: Path) -> None:
    """Llama 3.1 70B, 8×H100 FP8, 1000/1000, 11 082.48 OUTPUT tok/s (GPU from 'h100x8').

    The input rate is implied by the fixed lengths: 11 082.48 × 1000/1000, total 22 164.96 tok/s.
    all-in 1.73 kW × 8 = 13 840 W → 13 840 / 22 164.96 = 0.624409 J/token;
    13 840 / 11 082.48 = 1.248818 J/output token × 1000 / 3600 = 0.346894 Wh/query (both kinds).
    """
    path = shared_data / "throughput/h100x8_fp8_trtllm.csv"
    results = load_results([path], IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN)))
    assert len(results.results) == 38
    (row,) = [
        r
        for r in results.results
        if r.identity.model == "Llama 3.1 70B" and (r.workload.isl, r.workload.osl) == (1000, 1000)
    ]
    assert (row.identity.gpu, row.identity.num_gpus, row.identity.precision) == ("H100", 8, "FP8")
    assert row.j_per_token == pytest.approx(0.624409, rel=1e-6)
    assert row.j_per_output_token == pytest.approx(1.248818, rel=1e-6)
    assert row.wh_per_query_nominal == pytest.approx(0.346894, rel=1e-6)
    assert row.wh_per_query_benchmarked == pytest.approx(row.wh_per_query_nominal)
    assert row.throughput.stated_rate is RateBasis.OUTPUT


def test_405b_2048_128_at_5_6_kw_pairs_output_rate_with_output_tokens(shared_data: Path) -> None:
    """The issue-10 row: 5 600 W × 128 output tokens / 448.89 output tok/s / 3600 = 0.443563 Wh.

    Read as a total rate it was 5 600 / 448.89 × (2048 + 128) / 3600 = 7.54 Wh — 17× too high.
    """
    path = shared_data / "throughput/h100x8_fp8_trtllm.csv"
    results = load_results([path], IngestOptions(power=PowerSpec(power_w=5600.0))).results
    (row,) = [
        r
        for r in results
        if r.identity.model == "Llama 3.1 405B" and (r.workload.isl, r.workload.osl) == (2048, 128)
    ]
    assert row.throughput.output_tok_s == 448.89
    assert row.throughput.input_tok_s == pytest.approx(448.89 * 16)
    assert row.wh_per_query_nominal == pytest.approx(5600 * 128 / 448.89 / 3600, rel=1e-12)
    assert row.wh_per_query_nominal == pytest.approx(0.4436, abs=5e-5)


def test_rate_column_total_pairs_with_input_plus_output(tmp_path: Path) -> None:
    """tps 3000 total at 1000/500: output 1000, input 2000; 3 kW × 1500 / 3000 / 3600 Wh."""
    path = tmp_path / "h100x8_mixed.csv"
    path.write_text(
        "model,tp,quant,tps,lin,lout,source,rate\n"
        "a,8,FP8,3000,1000,500,s,total\n"
        "b,8,FP8,3000,1000,500,s,\n"
    )
    a, b = load_results([path], IngestOptions(power=PowerSpec(power_w=3000.0))).results
    assert (a.throughput.output_tok_s, a.throughput.input_tok_s) == pytest.approx((1000, 2000))
    assert a.throughput.stated_rate is RateBasis.TOTAL
    assert a.wh_per_query_nominal == pytest.approx(3000 * 1500 / 3000 / 3600)
    assert b.throughput.output_tok_s == 3000  # an empty cell is the default: output
    assert b.wh_per_query_nominal == pytest.approx(3000 * 500 / 3000 / 3600)


def test_unknown_rate_is_an_error_naming_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("model,tp,quant,tps,lin,lout,source,rate\na,8,FP8,3000,1000,500,s,input\n")
    with pytest.raises(IngestError, match="row 0 rate: expected output or total"):
        load_results([path], IngestOptions(), keep_going=False)
