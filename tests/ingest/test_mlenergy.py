"""ML.ENERGY v3 task/model files, v2 per-config files and 2023 CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.ingest import load_results, measured_wh_per_query
from tokenergy.units import Basis, Boundary

V2 = "mlenergy/leaderboard_v2/llm_text_generation/chat/H100_80GB_HBM3/meta-llama"


def test_v3_task_record_hand_computed(shared_data: Path) -> None:
    """lm-arena-chat configuration 0: Qwen3-14B on 1×B200, batch cap 8.

    759.9467920298994 W / 1086.7107231801174 output tok/s = 0.699309 J/output token (the file
    states 0.6993091867226764); 430.1127103864672 J/request / 3600 = 0.119476 Wh/query.
    """
    path = shared_data / "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"
    row = load_results([path]).results[0]
    assert row.identity.model == "Qwen/Qwen3-14B" and row.identity.gpu == "B200"
    assert row.j_per_output_token == pytest.approx(0.6993091867226764, rel=1e-9)
    assert row.j_per_token is None  # no input rate is published: J per total token is unknown
    # the output rate pairs with output tokens: J/output token × mean output length = J/request
    assert row.workload.mean_output_len is not None
    assert row.j_per_output_token * row.workload.mean_output_len == pytest.approx(
        430.1127103864672, rel=1e-9
    )
    assert measured_wh_per_query(row) == pytest.approx(0.119476, rel=1e-5)
    assert row.energy is not None
    assert (row.energy.basis, row.energy.boundary) == (Basis.MEASURED, Boundary.ACCELERATOR)
    assert row.workload.concurrency == 8
    assert row.workload.achieved_concurrency == pytest.approx(7.935087719298245)


def test_v3_model_detail_file_reads_nested_parallelism(shared_data: Path) -> None:
    path = shared_data / "mlenergy/leaderboard_v3/models/Qwen__Qwen3-14B__gpqa.json"
    results = load_results([path]).results
    assert len(results) == 9
    assert all(r.identity.model == "Qwen/Qwen3-14B" and r.identity.tp for r in results)
    assert all(r.workload.task == "gpqa" for r in results)


def test_v2_per_config_hand_computed(shared_data: Path) -> None:
    """Llama 3.1 70B, 4×H100 (TP 4), batch cap 128.

    requests/s = 1158.9559021413895 / 462.212 = 2.507412; power = 443.2108658477833 J × that
    = 1111.312 W; J/output token = 443.2108658477833 / 462.212 = 0.958891;
    Wh/query = 443.2108658477833 / 3600 = 0.123114.
    """
    path = shared_data / V2 / "Meta-Llama-3.1-70B-Instruct/bs128+tp4+pp1.json"
    row = load_results([path]).results[0]
    assert (row.identity.num_gpus, row.identity.gpu) == (4, "H100")
    assert row.power_w == pytest.approx(1111.312, rel=1e-6)
    assert row.j_per_output_token == pytest.approx(0.958891, rel=1e-6)
    assert measured_wh_per_query(row) == pytest.approx(0.123114, rel=1e-5)
    assert row.workload.task == "llm_text_generation/chat"


def test_diffusion_tasks_are_skipped_with_a_reason(shared_data: Path) -> None:
    path = shared_data / "mlenergy/leaderboard_v3/tasks/text-to-image.json"
    ingested = load_results([path])
    assert ingested.results == []
    (skipped,) = ingested.skipped
    assert not skipped.failed and "diffusion" in skipped.reason


def test_legacy_csv_rows_carry_the_method_note(shared_data: Path) -> None:
    """A100 chat, koala-13b: 2144.8338435191445 J per response → 0.595787 Wh/query."""
    path = shared_data / "mlenergy/leaderboard_v2/legacy/A100_chat_benchmark.csv"
    row = load_results([path]).results[0]
    assert row.identity.gpu == "A100" and row.identity.model == "BAIR/koala-13b"
    assert measured_wh_per_query(row) == pytest.approx(2144.8338435191445 / 3600)
    assert row.energy is not None and "2023 method" in row.energy.reasons[0]
