"""NVIDIA AIPerf artifacts: the summary (``profile_export_aiperf.json``/``.csv``), the per-request
records (``profile_export.jsonl``) and the files that travel with them.

The summary carries AIPerf's GPU telemetry: ``nvidia_total_gpu_energy`` (J, the DCGM energy
counter's delta over the profiling phase, summed over GPUs) is kept as a **measured, accelerator**
energy over ``benchmark_duration``. Rates are token totals ÷ that duration, so J per output token =
energy ÷ ``total_osl`` exactly as AIPerf states it (``nvidia_energy_per_output_token`` in mJ/token,
checked). Token counts are AIPerf's own (its tokenizer), not the server's ``usage`` counts, which
are kept in ``extras`` when they differ.

AIPerf's ``inter_token_latency`` is per request (latency − TTFT) ÷ (OSL − 1), vLLM's TPOT; its
``inter_chunk_latency`` is the gap between streamed chunks (our ITL, per chunk). An artifact
directory holds one run: the CSV and JSONL are skipped when ``profile_export_aiperf.json`` is next
to them; telemetry, server-metric and input files are listed as holding no results.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, model_key, nvidia_stats
from tokenergy.ingest.fields import (
    EXACT_INT_LIMIT,
    FLOAT_MAX,
    RowReader,
    nominal_count,
    nominal_number,
    per_second,
    token_rates,
)
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import NotResults, register
from tokenergy.ingest.sources import Document, JsonLines
from tokenergy.records import (
    Counts,
    DeviceEnergy,
    EnergyMeasurement,
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
from tokenergy.units import Basis, Boundary

_MS = 1e-3
_SUMMARY = "profile_export_aiperf.json"
# CSV display names → summary JSON keys (only those read here)
_CSV_NAMES = {
    "Benchmark Duration (sec)": "benchmark_duration",
    "Request Count": "request_count",
    "Completed Requests (Success + Error)": "completed_request_count",
    "Error Request Count": "error_request_count",
    "Total Input Sequence Length (tokens)": "total_isl",
    "Total Output Sequence Length (tokens)": "total_osl",
    "Total Output Tokens (tokens)": "total_output_tokens",
    "Total GPU Energy (J)": "nvidia_total_gpu_energy",
    "Energy per Output Token (mJ/token)": "nvidia_energy_per_output_token",
    "Time to First Token (ms)": "time_to_first_token",
    "Inter Token Latency (ms)": "inter_token_latency",
    "Inter Chunk Latency (ms)": "inter_chunk_latency",
    "Request Latency (ms)": "request_latency",
    "Output Token Throughput Per User (tokens/sec/user)": "output_token_throughput_per_user",
    "Total Usage Prompt Tokens (tokens)": "total_usage_prompt_tokens",
    "Total Usage Completion Tokens (tokens)": "total_usage_completion_tokens",
}


def _defer_to_summary(document: Document) -> None:
    summary = document.path.with_name(_SUMMARY)
    if (
        not document.explicit
        and "!" not in document.name
        and summary.is_file()
        and document.path.name != _SUMMARY
    ):
        raise NotResults(f"AIPerf: same run as {_SUMMARY} (read from there)")


@register
class AIPerf:
    name: ClassVar[str] = "aiperf"

    def sniff(self, data: Any, document: Document) -> bool:
        if isinstance(data, JsonLines):
            first = data[0] if data else None
            return isinstance(first, dict) and (
                ("metadata" in first and "metrics" in first) or "telemetry_data" in first
            )
        if isinstance(data, dict):
            if "aiperf_version" in data or {"ready", "was_cancelled"} <= set(data):
                return True
            entries = data.get("data")
            return (
                isinstance(entries, list)
                and bool(entries)
                and isinstance(entries[0], dict)
                and {"session_id", "payloads"} <= set(entries[0])
            )
        if isinstance(data, list) and data and isinstance(data[0], dict):
            keys = set(data[0])
            return {"Metric", "avg", "p50", "std"} <= keys or any(
                k.startswith("# AIPerf") for k in keys
            )
        return False

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        if isinstance(data, JsonLines):
            if "telemetry_data" in data[0]:
                raise NotResults(
                    f"AIPerf GPU telemetry samples (the run's energy is in {_SUMMARY})"
                )
            _defer_to_summary(document)
            return [_from_records(data, document, options)]
        if isinstance(data, dict) and "ready" in data and "aiperf_version" not in data:
            raise NotResults("AIPerf completion marker, no results")
        if isinstance(data, dict) and "data" in data and "aiperf_version" not in data:
            raise NotResults("AIPerf inputs: the prompts sent, no results")
        if isinstance(data, dict):
            if "metrics_phase" in data or "request_latency" not in data:
                raise NotResults("AIPerf server metrics export, no client results")
            return [_from_summary(RowReader(data, document.name), data, options)]
        if any(k.startswith("# AIPerf") for k in data[0]):
            raise NotResults("AIPerf server metrics export, no client results")
        _defer_to_summary(document)
        summary = _csv_summary(document)
        return [_from_summary(RowReader(summary, document.name), summary, options)]


# --- summary (JSON, or the CSV turned into the same shape) ----------------------------------


def _csv_summary(document: Document) -> dict[str, Any]:
    """The CSV's two tables (statistics per metric, then 'Metric,Value') as summary JSON keys."""
    summary: dict[str, Any] = {}
    header: list[str] = []
    for row in csv.reader(io.StringIO(document.text)):
        if not row or not row[0]:
            continue
        if row[0] == "Metric":
            header = row
            continue
        key = _CSV_NAMES.get(row[0])
        if key is None:
            continue
        cells = dict(zip(header[1:], row[1:], strict=False))
        if "Value" in cells:
            cells = {"avg": cells["Value"]}
        summary[key] = {k: v for k, v in cells.items() if v != ""}
    return summary


def _stat(reader: RowReader, data: Mapping[str, Any], key: str, stat: str = "avg") -> float | None:
    entry = data.get(key)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise reader.error(key, f"expected an object with '{stat}', got {type(entry).__name__}")
    entry_reader = RowReader(entry, reader.source, from_text=True, at=key)
    return entry_reader.optional_number(stat, minimum=None)


def _stats(
    reader: RowReader, data: Mapping[str, Any], key: str, scale: float
) -> MetricStats | None:
    entry = data.get(key)
    if not isinstance(entry, Mapping):
        return None
    return nvidia_stats(RowReader(entry, reader.source, from_text=True, at=key), scale)


def _whole(reader: RowReader, data: Mapping[str, Any], key: str) -> int | None:
    value = _stat(reader, data, key)
    if value is None:
        return None
    if value < 0 or not value.is_integer():
        raise reader.error(f"{key}.avg", f"expected a whole count, got {value:g}")
    if value >= EXACT_INT_LIMIT:
        raise reader.error(f"{key}.avg", f"number out of range ({value:g}): must be below 2**53")
    return int(value)


def _counts(reader: RowReader, data: Mapping[str, Any]) -> Counts:
    completed = _whole(reader, data, "request_count")
    if completed is None:
        raise reader.error("request_count", "missing")
    attempted = _whole(reader, data, "completed_request_count")  # success + error
    failed = _whole(reader, data, "error_request_count")
    if failed is None and attempted is not None:
        failed = attempted - completed
    if attempted is None and failed is not None:
        attempted = completed + failed
    if failed is not None and failed < 0:
        raise reader.error("request_count", f"{completed} exceeds completed_request_count")
    cancelled = data.get("was_cancelled") is True
    return Counts(
        attempted=None if cancelled else attempted,
        completed=completed,
        failed=failed,
        incomplete=None if cancelled or attempted is None else 0,
    )


def _gpus(data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    endpoints = data.get("telemetry_data", {})
    endpoints = endpoints.get("endpoints") if isinstance(endpoints, Mapping) else None
    found = []
    for endpoint, body in (endpoints or {}).items():
        gpus = body.get("gpus") if isinstance(body, Mapping) else None
        for name, gpu in (gpus or {}).items():
            if isinstance(gpu, Mapping):
                found.append((f"{endpoint}/{name}", gpu))
    return found


def _energy(
    reader: RowReader, data: Mapping[str, Any], duration_s: float, output_tokens: float
) -> EnergyMeasurement | None:
    energy_j = _stat(reader, data, "nvidia_total_gpu_energy")
    if energy_j is None:
        return None
    if energy_j <= 0:
        raise reader.error("nvidia_total_gpu_energy.avg", f"must be > 0, got {energy_j:g}")
    devices = []
    for name, gpu in _gpus(data):
        metrics = gpu.get("metrics") if isinstance(gpu.get("metrics"), Mapping) else {}
        counter = metrics.get("nvidia_energy_consumption") if metrics else None
        endpoint, _, gpu_key = name.rpartition("/")  # (an endpoint has '/'s, a GPU key none)
        field = (
            f"telemetry_data.endpoints.{endpoint}.gpus.{gpu_key}"
            ".metrics.nvidia_energy_consumption.avg"
        )
        mj = nominal_number(reader, field, counter.get("avg")) if counter else None
        devices.append(
            DeviceEnergy(
                device=name,
                model=canonical_gpu(gpu.get("gpu_name")),
                uuid=gpu.get("gpu_uuid"),
                energy_j=_device_energy_j(reader, field, mj),
            )
        )
    reasons = []
    stated = _stat(reader, data, "nvidia_energy_per_output_token")  # mJ/token
    if stated is not None and output_tokens > 0:
        ours = energy_j / output_tokens * 1e3
        if abs(ours - stated) > 0.01 * stated:
            reasons.append(
                f"AIPerf states {stated:.4g} mJ/output token; energy/total_osl gives {ours:.4g}"
            )
    return EnergyMeasurement(
        energy_j=energy_j,
        avg_power_w=per_second(reader, "benchmark_duration.avg", energy_j, duration_s),
        boundary=Boundary.ACCELERATOR,
        basis=Basis.MEASURED,
        method="aiperf-gpu-telemetry",
        meter="aiperf dcgm" if devices else "aiperf",
        devices=devices,
        valid=not reasons,
        reasons=reasons,
    )


def _device_energy_j(reader: RowReader, field: str, mj: float | None) -> float | None:
    """A GPU's energy counter delta (MJ) in J, refused when the conversion leaves float range."""
    if mj is None or mj < 0:
        return None
    if mj * 1e6 > FLOAT_MAX:
        raise reader.error(field, f"energy out of range ({mj:g} MJ)")
    return mj * 1e6


def _phase(data: Mapping[str, Any]) -> Mapping[str, Any]:
    config = data.get("input_config") if isinstance(data.get("input_config"), Mapping) else {}
    phases = config.get("phases") if config else None
    for phase in phases if isinstance(phases, list) else []:
        if isinstance(phase, Mapping) and phase.get("kind") == "profiling":
            return phase
    return {}


def _config_text(data: Mapping[str, Any], *path: str | int) -> Any:
    value: Any = data.get("input_config")
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, Mapping) else None
    return value


def _from_summary(
    reader: RowReader, data: Mapping[str, Any], options: IngestOptions
) -> ServingResult:
    counts = _counts(reader, data)
    duration_s = _stat(reader, data, "benchmark_duration")
    if duration_s is None:
        raise reader.error("benchmark_duration", "missing")
    if duration_s <= 0:
        raise reader.error("benchmark_duration.avg", "must be > 0")
    input_total = _stat(reader, data, "total_isl") or 0.0
    output_total = _stat(reader, data, "total_osl")
    if output_total is None:
        output_total = _stat(reader, data, "total_output_tokens") or 0.0
    completed = counts.completed or 0
    gpus = _gpus(data)
    gpu_names = {canonical_gpu(g.get("gpu_name")) for _, g in gpus if g.get("gpu_name")}
    gpu = options.gpu or (gpu_names.pop() if len(gpu_names) == 1 else None)
    num_gpus = options.gpus or (len(gpus) or None)
    model = _config_text(data, "models", "items", 0, "name") or "unknown"
    energy = _energy(reader, data, duration_s, output_total)
    extras: dict[str, Any] = {}
    if energy is None:
        energy, why = stated_energy(options, canonical_gpu(gpu), num_gpus)
        if why:
            extras["power_missing"] = why
    usage = (
        _stat(reader, data, "total_usage_prompt_tokens"),
        _stat(reader, data, "total_usage_completion_tokens"),
    )
    if usage != (None, None) and usage != (input_total, output_total):
        extras["server_usage_tokens"] = {"prompt": usage[0], "completion": usage[1]}
    phase = _phase(data)
    phase_at = "input_config.phases[profiling]"
    concurrency = nominal_count(reader, f"{phase_at}.concurrency", phase.get("concurrency"))
    rate = nominal_number(reader, f"{phase_at}.request_rate", phase.get("request_rate"))
    prompts_at = "input_config.datasets[0].prompts"
    isl = _config_text(data, "datasets", 0, "prompts", "isl", "mean")
    osl = _config_text(data, "datasets", 0, "prompts", "osl", "mean")
    per_s = "benchmark_duration.avg"
    input_tok_s, output_tok_s = token_rates(reader, per_s, input_total, output_total, duration_s)
    return ServingResult(
        identity=Identity(
            model=model_key(str(model)),
            model_name=str(model),
            gpu=canonical_gpu(gpu),
            num_gpus=num_gpus,
        ),
        workload=Workload(
            isl=nominal_count(reader, f"{prompts_at}.isl.mean", isl),
            osl=nominal_count(reader, f"{prompts_at}.osl.mean", osl),
            mean_input_len=input_total / completed if completed else None,
            mean_output_len=output_total / completed if completed else None,
            sampler=options.sampler or LengthSampler.EMPIRICAL,
            concurrency=concurrency,
            request_rate=rate if rate is not None and rate > 0 else None,
            num_prompts=counts.attempted,
        ),
        counts=counts,
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            request_per_s=per_second(reader, per_s, completed, duration_s),
        ),
        duration_s=duration_s,
        latency=LatencyStats(
            ttft_s=_stats(reader, data, "time_to_first_token", _MS),
            tpot_s=_stats(reader, data, "inter_token_latency", _MS),
            itl_s=_stats(reader, data, "inter_chunk_latency", _MS),
            e2el_s=_stats(reader, data, "request_latency", _MS),
            intvty_tok_s=_stats(reader, data, "output_token_throughput_per_user", 1.0),
            itl_unit=ItlUnit.CHUNK,
        )
        if completed
        else LatencyStats(),
        energy=energy,
        provenance=Provenance(
            source=reader.source,
            source_format="aiperf",
            date=data.get("start_time") if isinstance(data.get("start_time"), str) else None,
            tool="aiperf",
            tool_version=str(data.get("aiperf_version")) if data.get("aiperf_version") else None,
            engine_config={"benchmark_id": data.get("benchmark_id")},
        ),
        extras=extras,
    )


# --- per-request records (profile_export.jsonl) ----------------------------------------------


def _value(reader: RowReader, metrics: Mapping[str, Any], key: str) -> Any:
    entry = metrics.get(key)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise reader.error(f"metrics.{key}", "expected an object with 'value'")
    return entry.get("value")


def _tokens(reader: RowReader, metrics: Mapping[str, Any], key: str) -> float:
    value = _value(reader, metrics, key)
    return 0.0 if value is None else reader.checked_number(f"metrics.{key}.value", value, 0.0)


def _spread(values: list[float], scale: float = 1.0) -> MetricStats | None:
    if not values:
        return None
    import numpy as np  # here: importing it cost every ingest ~60 ms, most never use it

    array = np.asarray(values) * scale
    p90, p95, p99 = np.percentile(array, [90, 95, 99])
    return MetricStats(
        mean=float(array.mean()),
        median=float(np.median(array)),
        std=float(array.std()),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
    )


def _from_records(records: JsonLines, document: Document, options: IngestOptions) -> ServingResult:
    failed = incomplete = 0
    starts: list[int] = []
    ends: list[int] = []
    in_tokens = out_tokens = 0.0
    series: dict[str, list[float]] = {k: [] for k in ("ttft", "tpot", "e2el", "intvty", "icl")}
    ok = 0
    for line, record in enumerate(records, start=1):
        reader = RowReader(record, document.name, line)
        meta = record.get("metadata")
        metrics = record.get("metrics") or {}
        if not isinstance(meta, Mapping) or not isinstance(metrics, Mapping):
            raise reader.error("metadata", "expected 'metadata' and 'metrics' objects")
        if meta.get("benchmark_phase", "profiling") != "profiling":
            continue  # warmup
        times = RowReader(meta, document.name, line)
        # Unix times in ns, kept ints (as floats, ns since 1970 lose ~100 ns of precision)
        starts.append(times.big_integer("request_start_ns"))
        ends.append(times.big_integer("request_end_ns"))
        if record.get("error"):
            failed += 1
            continue
        if meta.get("was_cancelled"):
            incomplete += 1
            continue
        ok += 1
        in_tokens += _tokens(reader, metrics, "input_sequence_length")
        out_tokens += _tokens(reader, metrics, "output_sequence_length")
        for name, key in (
            ("ttft", "time_to_first_token"),
            ("tpot", "inter_token_latency"),
            ("e2el", "request_latency"),
            ("intvty", "output_token_throughput_per_user"),
        ):
            value = _value(reader, metrics, key)
            if isinstance(value, int | float):
                series[name].append(reader.checked_number(f"metrics.{key}.value", value, None))
        chunks = _value(reader, metrics, "inter_chunk_latency")
        if isinstance(chunks, list):
            at = "metrics.inter_chunk_latency.value"
            series["icl"].extend(
                reader.checked_number(at, c, None) for c in chunks if isinstance(c, int | float)
            )
    if not starts:
        raise NotResults("AIPerf records: no profiling-phase requests")
    whole = RowReader({}, document.name)
    for key, total in (
        ("input_sequence_length", in_tokens),
        ("output_sequence_length", out_tokens),
    ):
        if total > FLOAT_MAX:
            raise whole.error(f"metrics.{key}.value", "total out of range (beyond float range)")
    duration_s = (max(ends) - min(starts)) / 1e9
    if duration_s <= 0:
        raise whole.error("request_end_ns", "run lasted no time")
    input_tok_s, output_tok_s = token_rates(
        whole, "request_end_ns", in_tokens, out_tokens, duration_s
    )
    attempted = ok + failed + incomplete
    identity = Identity(model="unknown", gpu=canonical_gpu(options.gpu), num_gpus=options.gpus)
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    return ServingResult(
        identity=identity,
        workload=Workload(
            mean_input_len=in_tokens / ok if ok else None,
            mean_output_len=out_tokens / ok if ok else None,
            sampler=options.sampler or LengthSampler.EMPIRICAL,
            num_prompts=attempted,
        ),
        counts=Counts(attempted=attempted, completed=ok, failed=failed, incomplete=incomplete),
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            request_per_s=ok / duration_s,
        ),
        duration_s=duration_s,
        latency=LatencyStats(
            ttft_s=_spread(series["ttft"], _MS),
            tpot_s=_spread(series["tpot"], _MS),
            itl_s=_spread(series["icl"], _MS),
            e2el_s=_spread(series["e2el"], _MS),
            intvty_tok_s=_spread(series["intvty"]),
            itl_unit=ItlUnit.CHUNK,
        ),
        energy=energy,
        provenance=Provenance(
            source=document.name,
            source_format="aiperf-records",
            tool="aiperf",
        ),
        extras={"power_missing": why} if why else {},
    )
