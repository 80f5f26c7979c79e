"""The ML.ENERGY Leaderboard: v3 task and per-model files, v2 per-config files, 2023 CSVs.

All three are *measured* GPU energy (accelerator boundary, summed over the GPUs serving). v3/v2
report energy over a steady-state window per output token and per request; no input-token rate is
published, so J per total token is unknown and Wh/query comes from the stated energy per request
(``extras['energy_per_query_j']``). The batch cap (``max_num_seqs``) and the achieved mean batch
are kept apart (``concurrency`` vs ``achieved_concurrency``).
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, present_stats, validated_result
from tokenergy.ingest.fields import RowReader
from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.registry import NotResults, register
from tokenergy.ingest.sources import Document
from tokenergy.records import EnergyMeasurement, LengthSampler, ServingResult
from tokenergy.units import Basis, Boundary

_MS = 1e-3
_V2_ENERGY = "Energy/req (J)"
_LEGACY_HEADER = {"model", "throughput", "response_length", "latency", "energy"}
_LEGACY_NAME = re.compile(r"^(?P<gpu>[A-Za-z0-9]+)_(?P<task>[a-z-]+)_benchmark$")


def _measured(power_w: float, method: str) -> EnergyMeasurement:
    return EnergyMeasurement(
        avg_power_w=power_w,
        boundary=Boundary.ACCELERATOR,
        basis=Basis.MEASURED,
        method=method,
        reasons=[],
    )


@register
class MlEnergy:
    name: ClassVar[str] = "mlenergy"

    def sniff(self, data: Any, document: Document) -> bool:
        if not isinstance(data, dict):
            return False
        return ("configurations" in data and "task" in data) or _V2_ENERGY in data

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        if _V2_ENERGY in data:
            return [_v2(RowReader(data, document.name), document)]
        top = RowReader(data, document.name)
        task = top.text("task")
        if top.optional_text("architecture") == "diffusion":
            raise NotResults(f"diffusion task '{task}': energy per image/video, not per token")
        configs = data["configurations"]
        if not isinstance(configs, list):
            raise top.error("configurations", f"expected an array, got {type(configs).__name__}")
        if not configs:
            raise NotResults("empty 'configurations': no rows")
        shared = {k: v for k, v in data.items() if k != "configurations"}  # once, not per row
        return [
            _v3(RowReader(config, document.name, index), shared, task)
            for index, config in enumerate(configs)
        ]


_V3_METHOD = "ml.energy steady-state NVML energy, summed over GPUs"
_V3_ITL_KEYS = (("median", "median_itl_ms"), ("p90", "p90_itl_ms"), ("p95", "p95_itl_ms"),
                ("p99", "p99_itl_ms"))  # fmt: skip


def _v3(reader: RowReader, shared: dict[str, Any], task: str) -> ServingResult:
    """One configuration, its parts gathered as plain values and validated by pydantic in one
    call (a record per part cost ~10 µs a row more)."""
    if not isinstance(reader.data.get("parallelization", {}), dict):
        raise reader.error("parallelization", "expected an object")
    # per-model files keep identity at the top level and parallelism in a nested object
    merged = RowReader(
        {**shared, **reader.data, **reader.data.get("parallelization", {})},
        reader.source,
        reader.row,
    )
    output_tok_s = merged.number("output_throughput_tokens_per_sec")
    mean_output = merged.number("avg_output_len")
    power_w = merged.number("avg_power_watts")
    model = merged.text("model_id")
    identity = {
        "model": model,
        "model_name": model,
        "precision": merged.optional_text("weight_precision"),
        "engine": "vllm",
        "gpu": canonical_gpu(merged.text("gpu_model")),
        "num_gpus": merged.integer("num_gpus", minimum=1),
        "tp": merged.optional_integer("tensor_parallel", minimum=1),
        "ep": merged.optional_integer("expert_parallel", minimum=1),
    }
    itl = present_stats(merged, _V3_ITL_KEYS, _MS) or {}  # (a record even when all are absent)
    extras: dict[str, Any] = {
        "energy_per_query_j": merged.number("energy_per_request_joules"),
        "stated_j_per_output_token": merged.number("energy_per_token_joules"),
        "nickname": merged.optional_text("nickname"),
        "architecture": merged.optional_text("architecture"),
        "data_parallel": merged.optional_integer("data_parallel", minimum=1),
    }
    return validated_result(
        {
            "identity": identity,
            "workload": {
                "task": task,
                "mean_output_len": mean_output,
                "sampler": LengthSampler.EMPIRICAL,
                "concurrency": merged.optional_integer("max_num_seqs", minimum=1),
                "achieved_concurrency": merged.optional_number("avg_batch_size"),
                "dataset": task,
            },
            "counts": {},  # (the default factory's Counts() costs ~0.4 µs more)
            "throughput": {
                "output_tok_s": output_tok_s,
                "request_per_s": output_tok_s / mean_output if mean_output else None,
            },
            "latency": {"itl_s": itl},
            "energy": {
                "avg_power_w": power_w,
                "boundary": Boundary.ACCELERATOR,
                "basis": Basis.MEASURED,
                "method": _V3_METHOD,
            },
            "provenance": {
                "source": reader.source,
                "source_format": "mlenergy-v3",
                "row": reader.row,
                "tool": "ML.ENERGY benchmark v3",
            },
            "extras": extras,
        }
    )


def _task_from_path(path: PurePath) -> str | None:
    parts = path.parts
    for index, part in enumerate(parts[:-1]):
        if part.endswith("text_generation"):
            return f"{part}/{parts[index + 1]}"
    return None


def _v2(reader: RowReader, document: Document) -> ServingResult:
    """One per-config file, its parts gathered as plain values and validated by pydantic in one
    call (a record per part cost ~10 µs a file more)."""
    energy_per_request_j = reader.number(_V2_ENERGY)
    mean_output = reader.number("Avg Output Tokens")
    output_tok_s = reader.number("Token tput (tok/s)")
    if mean_output <= 0:
        raise reader.error("Avg Output Tokens", "must be > 0")
    request_per_s = output_tok_s / mean_output
    tp = reader.integer("TP", minimum=1)
    pp = reader.integer("PP", minimum=1)
    tpot_s = reader.optional_number("Avg TPOT (s)")
    return validated_result(
        {
            "identity": {
                "model": reader.text("Model"),
                "gpu": canonical_gpu(reader.text("GPU")),
                "num_gpus": tp * pp,
                "tp": tp,
                "pp": pp,
            },
            "workload": {
                "task": _task_from_path(document.path.parent)
                or _task_from_path(PurePath(document.name)),
                "mean_output_len": mean_output,
                "sampler": LengthSampler.EMPIRICAL,
                "concurrency": reader.optional_integer("Max BS (reqs)", minimum=1),
                "achieved_concurrency": reader.optional_number("Avg BS (reqs)"),
            },
            "counts": {},
            "throughput": {"output_tok_s": output_tok_s, "request_per_s": request_per_s},
            "latency": {
                "tpot_s": {"mean": tpot_s} if tpot_s is not None else None,
                "intvty_tok_s": {"mean": 1.0 / tpot_s} if tpot_s else None,
            },
            # power = energy per request × requests per second (steady state, all GPUs); a
            # record of its own so that 0 J × an infinite rate (nan) is refused naming
            # avg_power_w, as before the parts were validated in one call
            "energy": _measured(
                energy_per_request_j * request_per_s, "ml.energy-v2 energy per request"
            ),
            "provenance": {
                "source": reader.source,
                "source_format": "mlenergy-v2",
                "tool": "ML.ENERGY benchmark v2",
            },
            "extras": {"energy_per_query_j": energy_per_request_j},
        }
    )


@register
class MlEnergyLegacy:
    """2023 leaderboard CSVs: one request at a time, energy per response (an older method)."""

    name: ClassVar[str] = "mlenergy-legacy"

    def sniff(self, data: Any, document: Document) -> bool:
        return (
            isinstance(data, list)
            and bool(data)
            and isinstance(data[0], dict)  # ([1, 2] has no header: set(1) would raise)
            and set(data[0]) == _LEGACY_HEADER
        )

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        named = _LEGACY_NAME.match(document.path.stem)
        gpu = options.gpu or (named["gpu"] if named else None)
        task = named["task"] if named else None
        return [
            _legacy(RowReader(row, document.name, index, from_text=True), gpu, task)
            for index, row in enumerate(data)
        ]


def _legacy(reader: RowReader, gpu: str | None, task: str | None) -> ServingResult:
    """One row, validated in one call as :func:`_v2`."""
    energy_j = reader.number("energy")
    latency_s = reader.number("latency")
    if latency_s <= 0:
        raise reader.error("latency", "must be > 0")
    return validated_result(
        {
            "identity": {"model": reader.text("model"), "gpu": canonical_gpu(gpu)},
            "workload": {
                "task": task,
                "mean_output_len": reader.number("response_length"),
                "sampler": LengthSampler.EMPIRICAL,
                "concurrency": 1,
            },
            "counts": {},
            "throughput": {
                "output_tok_s": reader.number("throughput"),
                "request_per_s": 1 / latency_s,
            },
            "latency": {"e2el_s": {"mean": latency_s}},
            "energy": {
                "avg_power_w": energy_j / latency_s,
                "boundary": Boundary.ACCELERATOR,
                "basis": Basis.MEASURED,
                "method": "ml.energy-2023 energy per response",
                "reasons": [
                    "2023 method: single request at a time; not comparable with v2/v3 batched runs"
                ],
            },
            "provenance": {
                "source": reader.source,
                "source_format": "mlenergy-legacy",
                "row": reader.row,
                "tool": "ML.ENERGY leaderboard (2023)",
                "notes": ["one request at a time (throughput ≈ response_length / latency)"],
            },
            "extras": {"energy_per_query_j": energy_j},
        }
    )
