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
    # output rate 1 310 720 / 156.629553565057 s = 8 368.2803 tok/s pairs with output tokens:
    # 16 000 / 8 368.2803 × 1024 / 3600 = the total-rate figure × 2048 tokens
    assert row.throughput.output_tok_s == pytest.approx(8368.28025, rel=1e-8)
    assert row.j_per_output_token == pytest.approx(1.911982, rel=1e-6)
    assert row.wh_per_query_benchmarked == pytest.approx(1.911982 * 1024 / 3600, rel=1e-6)
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


def test_interactivity_spread_from_per_request_arrays(tmp_path: Path) -> None:
    """Two requests: 4 tokens in 0.3 s of gaps (10 tok/s) and 3 tokens in 0.1 s (20 tok/s).

    mean 15, std 5 (population) — a true spread, unlike 1/std(TPOT).
    """
    path = tmp_path / "run.json"
    record = _raw(
        num_prompts=2,
        completed=2,
        output_lens=[4, 3],
        input_lens=[10, 10],
        itls=[[0.1, 0.1, 0.1], [0.05, 0.05]],
    )
    path.write_text(json.dumps(record))
    intvty = load_results([path]).results[0].latency.intvty_tok_s
    assert intvty is not None
    assert (intvty.mean, intvty.median, intvty.std) == pytest.approx((15.0, 15.0, 5.0))


def test_raw_file_and_its_processed_row_agree(shared_data: Path) -> None:
    """The MI355X Kimi-K2.5 pair: the raw client file and InferenceX's processed row of it.

    processed: tput_per_gpu 55.62670336516291 × tp 8 = 445.0136 tok/s;
    raw: (37 068 + 36 709) tokens / 165.7859344901517 s = 445.0136 tok/s.
    """
    folder = shared_data / "inferencex/raw/pr1633_kimik2.5_mi355x_fixed_ar_mtp"
    stem = (
        "kimik2.5_1k1k_int4_vllm_tp8-ep1-dpafalse_disagg-false_spec-mtp_conc4"
        "_MI355-gbt350-odcdh5-wbb3"
    )
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN), gpu="MI355X")
    raw = load_results([folder / f"{stem}.json"], options).results[0]
    processed = load_results([folder / f"agg_{stem}.json"], options).results[0]
    assert raw.throughput.total_tok_s == pytest.approx(445.0136, rel=1e-6)
    assert processed.throughput.total_tok_s == pytest.approx(raw.throughput.total_tok_s, rel=1e-9)
    assert processed.j_per_token == pytest.approx(raw.j_per_token, rel=1e-9)
    assert raw.identity.num_gpus == processed.identity.num_gpus == 8
    # measured lengths (926.7/917.7) vs the sampler's expectation for 1k1k at R = 0.8 (921.5)
    assert raw.workload.benchmarked_lengths() == pytest.approx((37068 / 40, 36709 / 40))
    assert processed.workload.benchmarked_lengths() == (921.5, 921.5)


def test_the_label_names_the_run_unless_it_is_vllms_default(tmp_path: Path) -> None:
    """bench --label (and vllm bench serve --label) is written as ``label`` in vllm_bench.json and
    read back for ``compare --by label``; vLLM's default label is the endpoint type, no name."""
    run = {"completed": 2, "duration": 1.0, "total_input_tokens": 8, "total_output_tokens": 4}
    named = dict(run, label="fp8-tp2", endpoint_type="openai", backend="openai")
    default = dict(run, label="openai-chat", endpoint_type="openai-chat", backend="openai-chat")
    labels = []
    for index, document in enumerate((named, default, run)):
        path = tmp_path / f"run{index}.json"
        path.write_text(json.dumps(document))
        labels.append(load_results([path]).results[0].provenance.label)
    assert labels == ["fp8-tp2", None, None]
