"""Raw client JSON (vllm bench serve / bench_serving lineage)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.ingest.bench_serving import gpus_from_name, lengths_from_name
from tokenergy.power import GpuBasis, PowerSpec

DISAGG = "inferencex/raw/pr1208_gptoss120b_disagg_raw"


def test_disaggregated_raw_file_hand_computed(shared_data: Path) -> None:
    """concurrency_128_…_gpus_16_ctx_8_gen_8.json with B200 TDP (1000 W) × 16 GPUs = 16 kW.

    duration 156.629553565057 s, 1280 of 1280 completed, 1 310 720 input + 1 310 720 output
    tokens → total 2 621 440 / 156.629553565057 = 16 736.5605 tok/s;
    J/token = 16 000 / 16 736.5605 = 0.955991;
    measured Wh/query = 16 000 W × 156.629553565057 s / 1280 / 3600 = 0.543853;
    mean lengths 1024/1024 from the counts (range ratio 1.0 in that run).
    """
    path = shared_data / DISAGG / "concurrency_128_req_rate_inf_gpus_16_ctx_8_gen_8.json"
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.TDP), gpu="B200")
    row = load_results([path], options).results[0]
    assert (row.identity.num_gpus, row.identity.num_prefill_gpus) == (16, 8)
    assert row.identity.model == "openai/gpt-oss-120b"
    assert row.throughput.total_tok_s == pytest.approx(16736.5605, rel=1e-8)
    assert row.j_per_token == pytest.approx(0.955991, rel=1e-6)
    assert row.wh_per_query_measured == pytest.approx(0.543853, rel=1e-6)
    assert row.workload.benchmarked_lengths() == (1024.0, 1024.0)
    assert row.counts.failure_rate == 0.0
    assert row.latency.e2el_s is not None
    assert row.latency.e2el_s.mean == pytest.approx(15.535346396989553)


def test_all_failed_run_is_reported_not_dropped(shared_data: Path) -> None:
    path = shared_data / "inferencex/raw/pr1633_local_results"
    path = path / "minimax-eagle3-conc64__minimaxm2.5_8k1k_conc64.json"
    ingested = load_results([path], IngestOptions(power=PowerSpec(power_w=8000.0)))
    assert ingested.skipped == []
    row = ingested.results[0]
    assert (row.counts.completed, row.counts.attempted, row.counts.failed) == (0, 640, 640)
    assert row.wh_per_query_measured is None and row.j_per_token is None
    failure = {f.name: f for f in ingested.checks[0]}["failure_rate"]
    assert failure.status == "fail" and "0 of 640" in failure.detail


def test_names_carry_lengths_and_gpu_split() -> None:
    assert lengths_from_name("kimik2.5_8k1k_int4_vllm_tp8") == (8192, 1024)
    assert lengths_from_name("bench_isl_1024_osl_128") == (1024, 128)
    assert lengths_from_name("concurrency_128_req_rate_inf") is None
    assert gpus_from_name("concurrency_4_req_rate_inf_gpus_16_ctx_8_gen_8") == (16, 8, 8)
    assert gpus_from_name("kimik2.5_1k1k_int4_vllm_tp8-ep1") == (8, None, None)


def _raw(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "backend": "vllm",
        "model_id": "m",
        "num_prompts": 10,
        "max_concurrency": 2,
        "duration": 10.0,
        "completed": 9,
        "total_input_tokens": 900,
        "total_output_tokens": 90,
        "mean_e2el_ms": 2000.0,
        "mean_tpot_ms": 10.0,
        "mean_itl_ms": 10.0,
    }
    base.update(overrides)
    return base


def test_failed_requests_count(tmp_path: Path) -> None:
    """9 of 10 completed: 10 % failure rate fails the default 5 % gate, passes a 20 % gate."""
    path = tmp_path / "run_1k1k.json"
    path.write_text(json.dumps(_raw()))
    strict = {f.name: f for f in load_results([path]).checks[0]}
    assert strict["failure_rate"].status == "fail"
    loose = load_results([path], IngestOptions(failure_gate=0.2)).checks[0]
    assert {f.name: f for f in loose}["failure_rate"].status == "pass"


def test_per_request_arrays_must_match_counts(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_raw(output_lens=[])))
    with pytest.raises(IngestError, match="output_lens"):
        load_results([path], keep_going=False)


def test_errors_are_grouped_by_cause(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    errors = [""] * 9 + ["ClientConnectorError: refused"]
    path.write_text(json.dumps(_raw(errors=errors)))
    row = load_results([path]).results[0]
    assert row.counts.failures_by_cause == {"ClientConnectorError: refused": 1}
