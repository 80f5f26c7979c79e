"""Builders for analysis tests: hand-made ServingResults and a tiny ML.ENERGY v3 task reader.

The reader exists only until the ingest adapter for ML.ENERGY lands; it maps the raw fields one to
one so the hand checks compare against the raw JSON numbers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def mlenergy_result(config: dict[str, Any], task: str, source: str, row: int) -> ServingResult:
    return ServingResult(
        identity=Identity(
            model=config["model_id"],
            gpu=config["gpu_model"],
            num_gpus=config["num_gpus"],
            tp=config["tensor_parallel"],
            precision=config["weight_precision"],
            engine="vllm",
        ),
        workload=Workload(
            task=task,
            concurrency=config["max_num_seqs"],
            mean_output_len=config["avg_output_len"],
        ),
        throughput=Throughput(output_tok_s=config["output_throughput_tokens_per_sec"]),
        latency=LatencyStats(
            itl_s=MetricStats(
                median=config["median_itl_ms"] / 1000, p90=config["p90_itl_ms"] / 1000
            )
        ),
        energy=EnergyMeasurement(
            avg_power_w=config["avg_power_watts"],
            boundary=Boundary.ACCELERATOR,
            basis=Basis.MEASURED,
            method="nvml-counter",
        ),
        provenance=Provenance(source=source, source_format="mlenergy-v3", row=row),
    )


def load_mlenergy_task(path: Path) -> tuple[list[dict[str, Any]], list[ServingResult]]:
    """Raw configurations and their ServingResults, for hand checks against the raw fields."""
    document = json.loads(path.read_text())
    configs = document["configurations"]
    results = [
        mlenergy_result(config, document["task"], str(path), index)
        for index, config in enumerate(configs)
    ]
    return configs, results
