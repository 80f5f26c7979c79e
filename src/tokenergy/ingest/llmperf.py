"""ray-project llmperf ``*_summary.json`` (``token_benchmark_ray.py``).

A summary states counts (``results_num_requests_started``, ``results_num_completed_requests``,
``results_number_errors``), mean lengths actually run, the output token rate and completed requests
per minute, both over the same test window. The window is not written, so it is recovered as
completed ÷ (completed per minute / 60); the input rate is then mean input length × completed ÷
that window. Latencies are in seconds. llmperf's inter-token latency is a per-request mean of the
gaps between streamed chunks, so it is kept as ITL with an unknown unit (not as TPOT).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tokenergy.ingest.common import model_key
from tokenergy.ingest.fields import FLOAT_MAX, RowReader, per_second, unix_date
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import register
from tokenergy.ingest.sources import Document
from tokenergy.records import (
    Counts,
    Identity,
    ItlUnit,
    LatencyStats,
    LengthSampler,
    MetricStats,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
)

_PER_MIN = "results_num_completed_requests_per_min"  # the run's duration is derived from it
_MEAN_IN = "results_number_input_tokens_mean"
_OUTPUT_RATE = "results_mean_output_throughput_token_per_s"
_SNIFF = {"results_num_completed_requests", "results_mean_output_throughput_token_per_s"}


@register
class LLMPerf:
    name: ClassVar[str] = "llmperf"

    def sniff(self, data: Any, document: Document) -> bool:
        return isinstance(data, dict) and set(data) >= _SNIFF

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        return [_result(RowReader(data, document.name), options)]


def _stats(reader: RowReader, metric: str) -> MetricStats | None:
    def get(suffix: str) -> float | None:
        return reader.optional_number(f"results_{metric}_{suffix}")

    values = {
        "mean": get("mean"),
        "median": get("quantiles_p50"),
        "std": get("stddev"),
        "p90": get("quantiles_p90"),
        "p95": get("quantiles_p95"),
        "p99": get("quantiles_p99"),
    }
    return None if all(v is None for v in values.values()) else MetricStats(**values)


def _counts(reader: RowReader) -> Counts:
    completed = reader.integer("results_num_completed_requests")
    attempted = reader.optional_integer("results_num_requests_started")
    failed = reader.optional_integer("results_number_errors")
    incomplete = None
    if attempted is not None:
        if failed is None:
            failed = attempted - completed
        incomplete = attempted - completed - failed
        if incomplete < 0:
            raise reader.error(
                "results_num_requests_started",
                f"{attempted} is less than completed + errors ({completed} + {failed})",
            )
    return Counts(attempted=attempted, completed=completed, failed=failed, incomplete=incomplete)


def _result(reader: RowReader, options: IngestOptions) -> ServingResult:
    counts = _counts(reader)
    completed = counts.completed or 0
    per_min = reader.number(_PER_MIN)
    output_tok_s = reader.number(_OUTPUT_RATE)
    mean_in = reader.optional_number(_MEAN_IN)
    mean_out = reader.optional_number("results_number_output_tokens_mean")
    duration_s = (
        per_second(reader, _PER_MIN, completed * 60.0, per_min)
        if completed and per_min > 0
        else None
    )
    model = reader.optional_text("model") or "unknown"
    identity = Identity(
        model=model_key(model), model_name=model, gpu=options.gpu, num_gpus=options.gpus
    )
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    nominal_in = reader.optional_number("mean_input_tokens")
    nominal_out = reader.optional_number("mean_output_tokens")
    stamp = reader.optional_number("timestamp")
    input_tok_s = None
    if mean_in is not None and duration_s:
        if mean_in * completed > FLOAT_MAX:
            raise reader.error(_MEAN_IN, f"out of range: {mean_in:g} tokens × {completed} requests")
        input_tok_s = per_second(reader, _PER_MIN, mean_in * completed, duration_s)
        if input_tok_s + output_tok_s > FLOAT_MAX:  # the total rate J/token divides by
            raise reader.error(
                _OUTPUT_RATE, "out of range: input + output tok/s is beyond float range"
            )
    return ServingResult(
        identity=identity,
        workload=Workload(
            isl=int(nominal_in) if nominal_in is not None else None,
            osl=int(nominal_out) if nominal_out is not None else None,
            mean_input_len=mean_in if completed else None,
            mean_output_len=mean_out if completed else None,
            sampler=options.sampler or LengthSampler.EMPIRICAL,
            concurrency=reader.optional_integer("num_concurrent_requests", minimum=1),
            num_prompts=counts.attempted,
        ),
        counts=counts,
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            request_per_s=per_min / 60.0,
        ),
        duration_s=duration_s,
        latency=LatencyStats(
            ttft_s=_stats(reader, "ttft_s"),
            itl_s=_stats(reader, "inter_token_latency_s"),
            e2el_s=_stats(reader, "end_to_end_latency_s"),
            itl_unit=ItlUnit.UNKNOWN,
        )
        if completed
        else LatencyStats(),
        energy=energy,
        provenance=Provenance(
            source=reader.source,
            source_format="llmperf",
            date=unix_date(reader, "timestamp", stamp or None),
            tool="llmperf",
            tool_version=reader.optional_text("version"),
        ),
        extras={"power_missing": why} if why else {},
    )
