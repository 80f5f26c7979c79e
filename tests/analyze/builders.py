"""Builders for analysis tests: hand-made ServingResults, and ML.ENERGY v3 tasks read twice —
raw (for expected values computed by hand) and through the ingest adapter (what the code sees)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tokenergy.ingest import load_results
from tokenergy.records import (
    EnergyMeasurement,
    Identity,
    LatencyStats,
    MetricStats,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
)
from tokenergy.units import Basis, Boundary


def make_result(
    *,
    model: str = "m",
    task: str | None = "chat",
    gpu: str = "H100",
    num_gpus: int = 1,
    batch_cap: int = 8,
    power_w: float = 700.0,
    output_tok_s: float = 1000.0,
    median_itl_s: float | None = 0.03,
    p90_itl_s: float | None = None,
    median_tpot_s: float | None = None,
    mean_output_len: float | None = 500.0,
    source: str = "hand",
) -> ServingResult:
    return ServingResult(
        identity=Identity(model=model, gpu=gpu, num_gpus=num_gpus, precision="bfloat16"),
        workload=Workload(task=task, concurrency=batch_cap, mean_output_len=mean_output_len),
        throughput=Throughput(output_tok_s=output_tok_s),
        latency=LatencyStats(
            itl_s=MetricStats(median=median_itl_s, p90=p90_itl_s),
            tpot_s=None if median_tpot_s is None else MetricStats(median=median_tpot_s),
        ),
        energy=EnergyMeasurement(
            avg_power_w=power_w, boundary=Boundary.ACCELERATOR, basis=Basis.MEASURED, method="hand"
        ),
        provenance=Provenance(source=source, source_format="hand"),
    )


def load_mlenergy_task(path: Path) -> tuple[list[dict[str, Any]], list[ServingResult]]:
    """Raw configurations (for values computed by hand) and the ingest adapter's results."""
    configs = json.loads(path.read_text())["configurations"]
    results = load_results([path]).results
    assert len(results) == len(configs)
    return configs, results
