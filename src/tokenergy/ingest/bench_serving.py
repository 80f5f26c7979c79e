"""Raw client JSON of `vllm bench serve`, SGLang `bench_serving` and the InferenceX lineage.

These files carry counts, the window duration and token totals, so the mean lengths actually run
and a measured Wh/query (given a power) follow directly. Latencies are milliseconds. Hardware is
not in the content: GPU counts come from names such as ``gpus_16_ctx_8_gen_8`` or ``tp8``, or
from ``--gpu/--gpus``; nominal lengths from names such as ``8k1k`` or ``isl_1024_osl_1024``.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, known_gpu, metric_stats, model_key
from tokenergy.ingest.fields import (
    EXACT_INT_LIMIT,
    RowReader,
    nominal_number,
    per_second,
    token_rates,
)
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

_MS = 1e-3
_KK = re.compile(r"(?<![0-9a-z])(\d+)k(\d+)k(?![0-9a-z])", re.IGNORECASE)
_ISL_OSL = re.compile(r"isl[_-]?(\d+)[_-]+osl[_-]?(\d+)", re.IGNORECASE)
_PD = re.compile(r"ctx[_-]?(\d+)[_-]+gen[_-]?(\d+)", re.IGNORECASE)
_GPUS = re.compile(r"gpus[_-]?(\d+)", re.IGNORECASE)
_TP = re.compile(r"(?<![a-z])tp[_-]?(\d+)", re.IGNORECASE)
_GPU_X = re.compile(r"(?<![0-9a-z])([a-z]+\d+[a-z]*)x(\d+)(?![0-9])", re.IGNORECASE)
_RANGE_RATIO = "random_range_ratio"


@register
class BenchServing:
    name: ClassVar[str] = "bench-serving"

    def sniff(self, data: Any, document: Document) -> bool:
        return (
            isinstance(data, dict)
            and "completed" in data
            and ("duration" in data or "total_output_tokens" in data)
        )

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        return [_result(RowReader(data, document.name), document, options)]


_API_BACKENDS = {"openai", "openai-chat", "openai-audio", "openai-embeddings"}


def _engine(backend: str | None) -> str | None:
    """The serving framework: vLLM's 'openai'/'openai-chat' backends name the API spoken, not
    the engine behind it (unknown then); 'vllm', 'sglang', 'tgi'… name the engine."""
    return None if backend is None or backend in _API_BACKENDS else backend


def lengths_from_name(stem: str) -> tuple[int, int] | None:
    """Nominal ISL/OSL written in a file name: '8k1k' (k = 1024) or 'isl_1024_osl_128'."""
    match = _ISL_OSL.search(stem)
    if match:
        return int(match[1]), int(match[2])
    match = _KK.search(stem)
    if match:
        return int(match[1]) * 1024, int(match[2]) * 1024
    return None


def gpus_from_name(stem: str) -> tuple[int | None, int | None, int | None]:
    """(total, prefill, decode) GPU counts named in a file name, each None when absent."""
    prefill = decode = total = None
    match = _PD.search(stem)
    if match:
        prefill, decode = int(match[1]), int(match[2])
        total = prefill + decode
    match = _GPUS.search(stem)
    if match:
        total = int(match[1])
    elif total is None:
        tp = _TP.search(stem)
        if tp:
            total = int(tp[1])
    return total, prefill, decode


def _counts(reader: RowReader) -> Counts:
    completed = reader.integer("completed")
    attempted = reader.optional_integer("num_prompts")
    failed = reader.optional_integer("failed")
    if attempted is not None and completed > attempted:
        raise reader.error("completed", f"{completed} exceeds num_prompts {attempted}")
    if failed is None and attempted is not None:
        failed = attempted - completed
    incomplete = None
    if attempted is not None and failed is not None:
        incomplete = attempted - completed - failed
        if incomplete < 0:
            raise reader.error("failed", f"completed + failed exceeds num_prompts {attempted}")
    return Counts(
        attempted=attempted,
        completed=completed,
        failed=failed,
        incomplete=incomplete,
        failures_by_cause=_failure_causes(reader),
    )


def _array(reader: RowReader, key: str, expected: set[int]) -> list[Any] | None:
    raw = reader.data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise reader.error(key, f"expected an array, got {type(raw).__name__}")
    if len(raw) not in expected:
        sizes = " or ".join(str(n) for n in sorted(expected))
        raise reader.error(key, f"has {len(raw)} entries, expected {sizes} (one per request)")
    return raw


def _failure_causes(reader: RowReader) -> dict[str, int]:
    errors = reader.data.get("errors")
    if not isinstance(errors, list):
        return {}
    causes = Counter(str(e).strip().splitlines()[0][:80] for e in errors if e)
    return dict(causes)


def _mean_lengths(reader: RowReader, completed: int) -> tuple[float | None, float | None]:
    """Mean lengths actually run, from token totals over completed requests."""
    if completed == 0:
        return None, None
    input_total = reader.number("total_input_tokens")
    output_total = reader.number("total_output_tokens")
    sizes = {completed}
    if reader.has("num_prompts"):
        sizes.add(reader.integer("num_prompts"))
    for key in ("input_lens", "output_lens"):
        _array(reader, key, sizes)
    return input_total / completed, output_total / completed


def _per_request_intvty(reader: RowReader) -> MetricStats | None:
    """Interactivity 1/TPOT per request from the per-request ITL arrays (docs/methodology.md §4).

    TPOT_i = sum(itls_i) / (output_len_i - 1) for requests with at least two output tokens, so
    the spread is a real spread (never 1/std(TPOT)).
    """
    itls, lens = reader.data.get("itls"), reader.data.get("output_lens")
    if not isinstance(itls, list) or not isinstance(lens, list) or len(itls) != len(lens):
        return None
    rates = []
    for index, (gaps, n_out) in enumerate(zip(itls, lens, strict=True)):
        if not isinstance(gaps, list) or not isinstance(n_out, int | float):
            raise reader.error(f"itls[{index}]", "expected a list of gaps and a length")
        if n_out >= 2 and gaps and sum(gaps) > 0:
            rates.append((n_out - 1) / sum(gaps))
    if not rates:
        return None
    import numpy as np  # here: importing it cost every ingest ~60 ms, most never use it

    values = np.asarray(rates)
    p90, p95, p99 = np.percentile(values, [90, 95, 99])
    return MetricStats(
        mean=float(values.mean()),
        median=float(np.median(values)),
        std=float(values.std()),
        p90=float(p90),
        p95=float(p95),
        p99=float(p99),
    )


def _latency(reader: RowReader, completed: int) -> LatencyStats:
    if completed == 0:  # all-zero summaries of a run in which nothing finished mean nothing
        return LatencyStats()
    tpot = metric_stats(reader, "tpot", suffix="_ms", scale=_MS)
    intvty = _per_request_intvty(reader)
    if intvty is None and tpot is not None and tpot.mean:
        # InferenceX convention: interactivity = 1/TPOT of the summary (exact for the median;
        # for the mean it is 1/mean(TPOT), not mean(1/TPOT)); no spread without per-request data
        median = 1.0 / tpot.median if tpot.median else None
        intvty = MetricStats(mean=1.0 / tpot.mean, median=median)
    return LatencyStats(
        ttft_s=metric_stats(reader, "ttft", suffix="_ms", scale=_MS),
        tpot_s=tpot,
        itl_s=metric_stats(reader, "itl", suffix="_ms", scale=_MS),
        e2el_s=(  # vLLM writes {mean,...}_e2el_ms, SGLang's bench_serving {mean,...}_e2e_latency_ms
            metric_stats(reader, "e2el", suffix="_ms", scale=_MS)
            or metric_stats(reader, "e2e_latency", suffix="_ms", scale=_MS)
        ),
        intvty_tok_s=intvty,
        itl_unit=ItlUnit.CHUNK,
    )


def _label(reader: RowReader) -> str | None:
    """The run's ``label`` (vllm bench serve --label, tokenergy bench --label), for ``compare
    --by label``; vLLM writes its endpoint type there when none was given, which names no run."""
    label = reader.optional_text("label")
    defaults = {reader.optional_text("endpoint_type"), reader.optional_text("backend")}
    return None if not label or label in defaults else label


def _result(reader: RowReader, document: Document, options: IngestOptions) -> ServingResult:
    counts = _counts(reader)
    completed = counts.completed or 0
    duration_s = reader.number("duration")
    if duration_s <= 0:
        raise reader.error("duration", "must be > 0")
    mean_in, mean_out = _mean_lengths(reader, completed)
    input_total = reader.optional_number("total_input_tokens") or 0.0
    output_total = reader.optional_number("total_output_tokens") or 0.0
    stem = document.path.stem
    nominal = lengths_from_name(stem)
    named_gpus, prefill, decode = gpus_from_name(stem)
    if any(
        n >= EXACT_INT_LIMIT for n in (*(nominal or ()), named_gpus or 0, prefill or 0, decode or 0)
    ):
        raise reader.error(
            "file name", f"count out of range in {stem[:40]!r}…: must be below 2**53"
        )
    gpu_token = _GPU_X.search(stem)
    gpu = options.gpu or (known_gpu(gpu_token[1]) if gpu_token else None)
    num_gpus = options.gpus or named_gpus
    if prefill is not None and decode is not None and num_gpus != prefill + decode:
        prefill = decode = None  # the user's --gpus overrides a split it contradicts
    model_name = reader.optional_text("model_id") or reader.optional_text("model") or "unknown"
    rate = nominal_number(reader, "request_rate", reader.data.get("request_rate"))
    ratio = reader.optional_number(_RANGE_RATIO)
    workload = Workload(
        isl=nominal[0] if nominal else None,
        osl=nominal[1] if nominal else None,
        mean_input_len=mean_in,
        mean_output_len=mean_out,
        sampler=options.sampler or LengthSampler.BENCH_SERVING,
        range_ratio=options.range_ratio if options.range_ratio is not None else ratio,
        concurrency=reader.optional_integer("max_concurrency", minimum=1),
        request_rate=rate if rate is not None and rate > 0 else None,
        num_prompts=counts.attempted,
        dataset=reader.optional_text("dataset_name"),
    )
    identity = Identity(
        model=model_key(model_name),
        model_name=model_name,
        engine=_engine(reader.optional_text("backend")),
        gpu=canonical_gpu(gpu),
        num_gpus=num_gpus,
        num_prefill_gpus=prefill,
        num_decode_gpus=decode,
    )
    extras: dict[str, Any] = {}
    input_tok_s, output_tok_s = token_rates(
        reader, "duration", input_total, output_total, duration_s
    )
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    if why:
        extras["power_missing"] = why
    return ServingResult(
        identity=identity,
        workload=workload,
        counts=counts,
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            reported_total_tok_s=reader.optional_number("total_token_throughput"),
            request_per_s=per_second(reader, "duration", completed, duration_s),
        ),
        duration_s=duration_s,
        latency=_latency(reader, completed),
        energy=energy,
        provenance=Provenance(
            source=reader.source,
            source_format="bench-serving",
            date=reader.optional_text("date"),
            tool="bench_serving",
            label=_label(reader),
        ),
        extras=extras,
    )
