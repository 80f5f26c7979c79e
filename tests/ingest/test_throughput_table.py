"""TensorRT-LLM style throughput tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.ingest import IngestOptions, load_results
from tokenergy.power import GpuBasis, PowerSpec


def test_throughput_row_hand_computed(shared_data: Path) -> None:
    """Llama 3.1 70B, 8×H100 FP8, 1000/1000, 11 082.48 tok/s (GPU from the name 'h100x8').

    all-in 1.73 kW × 8 = 13 840 W → 13 840 / 11 082.48 = 1.248818 J/token;
    fixed lengths 1000 + 1000 → 1.248818 × 2000 / 3600 = 0.693788 Wh/query (both kinds).
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
    assert row.j_per_token == pytest.approx(1.248818, rel=1e-6)
    assert row.wh_per_query_nominal == pytest.approx(0.693788, rel=1e-6)
    assert row.wh_per_query_benchmarked == row.wh_per_query_nominal
