"""NVIDIA GenAI-Perf ``profile_export_genai_perf.json`` (the ``JsonExporter`` output).

The documented field set: one object per metric at the top level (``{"unit", "avg", "p25" …
"p99", "min", "max", "std"}``: ``request_throughput``, ``request_latency``,
``time_to_first_token``, ``inter_token_latency``, ``output_token_throughput``,
``output_token_throughput_per_user`` (``…_per_request`` in older releases),
``input_sequence_length``, ``output_sequence_length``), the ``input_config`` it ran with, and,
with ``--server-metrics-url``, ``telemetry_stats`` (``gpu_power_usage`` in W per GPU,
``energy_consumption`` in MJ per GPU …).

GenAI-Perf writes no request counts and no window duration, so Wh/query comes from J/token ×
the mean lengths run. The input rate is request rate × mean input length (an identity over the
completed requests). GPU power is the sum over GPUs of the mean of DCGM's power samples:
measured, accelerator boundary. GenAI-Perf's ``inter_token_latency`` is per request (latency −
TTFT) ÷ (OSL − 1), vLLM's TPOT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from tokenergy.ingest.common import model_key, nvidia_stats
from tokenergy.ingest.fields import FLOAT_MAX, RowReader, nominal_count, nominal_number
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import register
from tokenergy.ingest.sources import Document
from tokenergy.records import (
    EnergyMeasurement,
    Identity,
    LatencyStats,
    LengthSampler,
    MetricStats,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
)
from tokenergy.units import Basis, Boundary

_MS = 1e-3


@register
class GenAIPerf:
    name: ClassVar[str] = "genai-perf"

    def sniff(self, data: Any, document: Document) -> bool:
        return (
            isinstance(data, dict)
            and isinstance(data.get("input_config"), dict)
            and isinstance(data.get("request_throughput"), dict)
            and "aiperf_version" not in data
        )

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        return [_result(RowReader(data, document.name), options)]


def _entry(reader: RowReader, key: str) -> RowReader | None:
    entry = reader.data.get(key)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise reader.error(key, f"expected an object, got {type(entry).__name__}")
    return RowReader(entry, reader.source, reader.row, at=key)


def _avg(reader: RowReader, key: str) -> float | None:
    entry = _entry(reader, key)
    return None if entry is None else entry.optional_number("avg")


def _stats(reader: RowReader, key: str, scale: float) -> MetricStats | None:
    entry = _entry(reader, key)
    return None if entry is None else nvidia_stats(entry, scale)


def _gpu_power(reader: RowReader) -> tuple[float | None, int]:
    """Sum over GPUs of the mean sampled power (W), and the GPU count."""
    telemetry = reader.data.get("telemetry_stats")
    power = telemetry.get("gpu_power_usage") if isinstance(telemetry, Mapping) else None
    if not isinstance(power, Mapping):
        return None, 0
    unit = power.get("unit", "W")
    if unit != "W":
        raise reader.error("telemetry_stats.gpu_power_usage.unit", f"expected 'W', got {unit!r}")
    total, count = 0.0, 0
    for gpu, stats in power.items():
        if gpu == "unit":
            continue
        if not isinstance(stats, Mapping):
            raise reader.error(f"telemetry_stats.gpu_power_usage.{gpu}", "expected an object")
        field = f"telemetry_stats.gpu_power_usage.{gpu}.avg"
        if stats.get("avg") is None:
            raise reader.error(field, "missing")
        total += reader.checked_number(field, stats["avg"], 0.0)
        count += 1
        if total > FLOAT_MAX:
            raise reader.error(field, "power out of range (the GPUs' sum is beyond float range)")
    return (total if count else None), count


def _config_int(reader: RowReader, config: Mapping[str, Any], key: str) -> int | None:
    return nominal_count(reader, f"input_config.{key}", config.get(key), minimum=1)


def _input_rate(reader: RowReader, request_s: float | None, mean_in: float | None) -> float | None:
    """Input tok/s = requests/s × mean input length, refused when beyond float range."""
    if request_s is None or not mean_in:
        return None
    if request_s * mean_in > FLOAT_MAX:
        field = "request_throughput.avg × input_sequence_length.avg"
        raise reader.error(field, "input rate out of range (beyond float range)")
    return request_s * mean_in


def _result(reader: RowReader, options: IngestOptions) -> ServingResult:
    config = reader.data["input_config"]
    models = config.get("model")
    model = models[0] if isinstance(models, list) and models else models
    model = model if isinstance(model, str) and model else "unknown"
    request_s = _avg(reader, "request_throughput")
    mean_in = _avg(reader, "input_sequence_length")
    mean_out = _avg(reader, "output_sequence_length")
    power_w, gpus = _gpu_power(reader)
    engine = config.get("backend") if config.get("service_kind") == "triton" else None
    identity = Identity(
        model=model_key(model),
        model_name=model,
        engine=engine if isinstance(engine, str) else None,
        gpu=options.gpu,
        num_gpus=options.gpus or (gpus or None),
    )
    extras: dict[str, Any] = {}
    energy: EnergyMeasurement | None
    if power_w is not None:
        energy = EnergyMeasurement(
            avg_power_w=power_w,
            boundary=Boundary.ACCELERATOR,
            basis=Basis.MEASURED,
            method="genai-perf-dcgm-power-mean",
            meter="genai-perf telemetry",
        )
    else:
        energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
        if why:
            extras["power_missing"] = why
    input_tok_s = _input_rate(reader, request_s, mean_in)
    output_tok_s = _avg(reader, "output_token_throughput")
    if (input_tok_s or 0.0) + (
        output_tok_s or 0.0
    ) > FLOAT_MAX:  # the total rate J/token divides by
        raise reader.error("output_token_throughput.avg", "out of range: input + output tok/s")
    rate = nominal_number(reader, "input_config.request_rate", config.get("request_rate"))
    return ServingResult(
        identity=identity,
        workload=Workload(
            isl=_config_int(reader, config, "synthetic_input_tokens_mean"),
            osl=_config_int(reader, config, "output_tokens_mean"),
            mean_input_len=mean_in,
            mean_output_len=mean_out,
            sampler=options.sampler or LengthSampler.EMPIRICAL,
            concurrency=_config_int(reader, config, "concurrency"),
            request_rate=rate if rate is not None and rate > 0 else None,
        ),
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            request_per_s=request_s,
        ),
        latency=LatencyStats(
            ttft_s=_stats(reader, "time_to_first_token", _MS),
            tpot_s=_stats(reader, "inter_token_latency", _MS),
            e2el_s=_stats(reader, "request_latency", _MS),
            intvty_tok_s=_stats(reader, "output_token_throughput_per_user", 1.0)
            or _stats(reader, "output_token_throughput_per_request", 1.0),
        ),
        energy=energy,
        provenance=Provenance(source=reader.source, source_format="genai-perf", tool="genai-perf"),
        extras=extras,
    )
