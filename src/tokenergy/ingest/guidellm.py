"""guidellm benchmark reports (``guidellm benchmark --outputs json,yaml,csv``), every benchmark.

One report holds one benchmark per strategy run (synchronous, concurrent@N, constant@R, …). Each
carries request totals split into successful/errored/incomplete, the benchmark duration, token
counts and latency distributions over successful requests. Rates are recovered as token totals ÷
duration (as for bench_serving files), never from guidellm's per-iteration rate distributions.

guidellm's ``inter_token_latency_ms`` is per request (last − first token) ÷ (output tokens − 1),
i.e. vLLM's TPOT, so it becomes ``tpot_s``; its ``time_per_output_token_ms`` includes the first
token and is not kept. The JSON and YAML outputs share one schema; the CSV has a three-row header
(group, metric, statistic) and one row per benchmark. The three outputs of one run usually sit
side by side: the YAML and CSV are skipped when the same-named JSON (or YAML) is next to them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from tokenergy.ingest.common import model_key
from tokenergy.ingest.fields import (
    RowReader,
    nominal_count,
    nominal_number,
    per_second,
    token_rates,
    unix_date,
)
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import NotResults, register
from tokenergy.ingest.sources import STREAM_BYTES, Document
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
_CSV_GROUPS = {"Run Info", "Benchmark", "Request Counts"}
# the CSV's "Percentiles" cell lists these, in this order (guidellm's Percentiles model)
_CSV_PERCENTILES = ("p001", "p01", "p05", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "p999")
_PREFERRED_SIBLINGS = {".yaml": (".json",), ".yml": (".json",), ".csv": (".json", ".yaml", ".yml")}


# A larger JSON twin is not read ahead (the document is parsed): within the size that is parsed
# whole anyway (sources.STREAM_BYTES), so the look-ahead never holds more than a parse would.
_TWIN_MAX_BYTES = STREAM_BYTES


def _looks_like_guidellm(document: Document) -> bool:
    """Whether a YAML/CSV document's own text is a guidellm export (told without parsing it): a
    CSV's first line holds guidellm's column groups; a YAML has its benchmarks' request totals."""
    if document.suffix == ".csv":
        header = document.text.partition("\n")[0]
        return all(group in header for group in _CSV_GROUPS)
    return "benchmarks" in document.text and "request_totals" in document.text


def _defer_to_sibling(document: Document) -> None:
    """The YAML/CSV twin of a report whose JSON sits next to it holds the same benchmarks."""
    for suffix in _PREFERRED_SIBLINGS.get(document.suffix, ()):
        twin = document.path.with_suffix(suffix)
        if not document.explicit and "!" not in document.name and twin.is_file():
            raise NotResults(f"guidellm: same benchmarks as {twin.name} (read from there)")


def _is_report(data: Any) -> bool:
    """A parsed guidellm JSON/YAML report (its first benchmark has request totals) or CSV."""
    if isinstance(data, dict):
        benchmarks = data.get("benchmarks")
        return (
            isinstance(benchmarks, list)
            and bool(benchmarks)
            and isinstance(benchmarks[0], dict)
            and isinstance(benchmarks[0].get("metrics"), dict)
            and "request_totals" in benchmarks[0]["metrics"]
        )
    return (
        isinstance(data, list)
        and bool(data)
        and isinstance(data[0], dict)
        and set(data[0]) >= _CSV_GROUPS
    )


@lru_cache(maxsize=64)
def _report_file(path: str, size: int, mtime_ns: int) -> bool:
    """Whether the JSON file ``path`` (of this size and time: a rewritten file is read again) is
    a guidellm report. Remembered: a report's YAML and CSV twins both ask, and parsing it again
    was ~2.5 ms of the shared data."""
    try:
        report = json.loads(Path(path).read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return _is_report(report)


@register
class GuideLLM:
    name: ClassVar[str] = "guidellm"

    def reads_yaml(self, document: Document) -> bool:
        """Whether a YAML document's text could be a guidellm report (every one names its
        benchmarks' request totals), told without parsing it."""
        return _looks_like_guidellm(document)

    def skip_unparsed(self, document: Document) -> str | None:
        """The YAML/CSV twin of a guidellm JSON report beside it, told before parsing it: the
        reason to skip it, else None. The JSON parses ~30× faster than the YAML (whose parsing
        was a quarter of ingesting the shared data), and is read on its own anyway."""
        if ".json" not in _PREFERRED_SIBLINGS.get(document.suffix, ()):
            return None
        if document.explicit or "!" in document.name or not _looks_like_guidellm(document):
            return None
        twin = document.path.with_suffix(".json")
        try:
            if not twin.is_file():
                return None
            stat = twin.stat()
        except OSError:
            return None
        if stat.st_size > _TWIN_MAX_BYTES or not _report_file(
            str(twin), stat.st_size, stat.st_mtime_ns
        ):
            return None  # the document itself is parsed (and a broken twin reports its error)
        return f"guidellm: same benchmarks as {twin.name} (read from there)"

    def sniff(self, data: Any, document: Document) -> bool:
        return _is_report(data)

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        _defer_to_sibling(document)
        if isinstance(data, list):
            return _from_csv(document, options)
        top = RowReader(data, document.name)
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        version = meta.get("guidellm_version") if isinstance(meta, dict) else None
        spec = _dig(data, "config", "spec")
        return [
            _from_object(
                RowReader(bench, document.name, index),
                spec,
                str(version) if version else None,
                options,
            )
            for index, bench in enumerate(top.data["benchmarks"])
        ]


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _distribution(
    reader: RowReader, metrics: Mapping[str, Any], name: str, scale: float
) -> MetricStats | None:
    """The successful-requests distribution of one metric, scaled (ms → s)."""
    dist = _dig(metrics, name, "successful")
    if not isinstance(dist, Mapping) or not dist.get("count"):
        return None
    at = f"metrics.{name}.successful"
    stats = RowReader(dist, reader.source, reader.row, at=at)
    pct = dist.get("percentiles") if isinstance(dist.get("percentiles"), Mapping) else {}
    pcts = RowReader(pct, reader.source, reader.row, at=f"{at}.percentiles")

    def value(source: RowReader, key: str) -> float | None:
        number = source.optional_number(key, minimum=None)
        return None if number is None else number * scale

    return MetricStats(
        mean=value(stats, "mean"),
        median=value(stats, "median"),
        std=value(stats, "std_dev"),
        p90=value(pcts, "p90"),
        p95=value(pcts, "p95"),
        p99=value(pcts, "p99"),
    )


def _total(reader: RowReader, metrics: Mapping[str, Any], name: str) -> float:
    dist = _dig(metrics, name, "successful")
    if not isinstance(dist, Mapping):
        raise reader.error(f"metrics.{name}.successful", "missing")
    at = f"metrics.{name}.successful"
    return RowReader(dist, reader.source, reader.row, at=at).number("total_sum")


def _request_model(bench: Mapping[str, Any]) -> str | None:
    """The model named in the body of the first successful request (what was actually sent)."""
    successful = _dig(bench, "requests", "successful")
    if not isinstance(successful, list) or not successful:
        return None
    args = successful[0].get("request_args") if isinstance(successful[0], dict) else None
    try:
        body = json.loads(args).get("body") if isinstance(args, str) else None
    except (json.JSONDecodeError, AttributeError):
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return model if isinstance(model, str) and model else None


def _load_shape(reader: RowReader, strategy: Any) -> tuple[int | None, float | None]:
    """(concurrency cap, request rate) of a guidellm scheduling strategy."""
    if not isinstance(strategy, Mapping):
        return None, None
    kind = strategy.get("type_")
    if kind == "synchronous":
        return 1, None
    at = "config.strategy"
    if kind in ("concurrent", "throughput"):
        key = "streams" if strategy.get("streams") else "max_concurrency"
        return nominal_count(reader, f"{at}.{key}", strategy.get(key), minimum=1), None
    rate = nominal_number(reader, f"{at}.rate", strategy.get("rate"))
    return None, rate if rate is not None and rate > 0 else None


def _counts(reader: RowReader, totals: Mapping[str, Any]) -> Counts:
    counts = RowReader(totals, reader.source, reader.row, at="metrics.request_totals")
    completed = counts.integer("successful")
    failed = counts.integer("errored")
    incomplete = counts.integer("incomplete")
    attempted = counts.optional_integer("total")
    if attempted is None:
        attempted = completed + failed + incomplete
    if attempted != completed + failed + incomplete:
        raise reader.error(
            "metrics.request_totals.total",
            f"{attempted} is not successful + errored + incomplete "
            f"({completed} + {failed} + {incomplete})",
        )
    return Counts(attempted=attempted, completed=completed, failed=failed, incomplete=incomplete)


def _nominal_lengths(reader: RowReader, spec: Any) -> tuple[int | None, int | None]:
    data = _dig(spec, "data")
    first = data[0] if isinstance(data, list) and data else None
    if not isinstance(first, Mapping):
        return None, None
    at = "config.spec.data[0]"
    return (
        nominal_count(reader, f"{at}.prompt_tokens", first.get("prompt_tokens")),
        nominal_count(reader, f"{at}.output_tokens", first.get("output_tokens")),
    )


def _from_object(
    reader: RowReader, spec: Any, version: str | None, options: IngestOptions
) -> ServingResult:
    metrics = reader.data.get("metrics")
    if not isinstance(metrics, Mapping) or not isinstance(metrics.get("request_totals"), Mapping):
        raise reader.error("metrics.request_totals", "missing")
    counts = _counts(reader, metrics["request_totals"])
    duration_s = reader.number("duration")
    if duration_s <= 0:
        raise reader.error("duration", "must be > 0")
    config = reader.data.get("config") if isinstance(reader.data.get("config"), Mapping) else {}
    model = (
        _dig(config, "backend", "model")
        or _dig(spec, "backend", "model")
        or _request_model(reader.data)
        or "unknown"
    )
    concurrency, rate = _load_shape(reader, _dig(config, "strategy"))
    isl, osl = _nominal_lengths(reader, spec)
    completed = counts.completed or 0
    input_total = _total(reader, metrics, "prompt_token_count") if completed else 0.0
    output_total = _total(reader, metrics, "output_token_count") if completed else 0.0
    latency = LatencyStats(
        ttft_s=_distribution(reader, metrics, "time_to_first_token_ms", _MS),
        tpot_s=_distribution(reader, metrics, "inter_token_latency_ms", _MS),
        e2el_s=_distribution(reader, metrics, "request_latency", 1.0),
        itl_unit=ItlUnit.UNKNOWN,
    )
    start = reader.optional_number("start_time")
    return _result(
        model=str(model),
        counts=counts,
        duration_s=duration_s,
        totals=(input_total, output_total),
        latency=latency,
        shape=(concurrency, rate, isl, osl),
        provenance=Provenance(
            source=reader.source,
            source_format="guidellm",
            row=reader.row,
            date=unix_date(reader, "start_time", start),
            tool="guidellm",
            tool_version=version,
            engine_config={"strategy": _dig(config, "strategy")},
        ),
        options=options,
        reader=reader,
        duration_key="duration",
    )


def _result(
    *,
    model: str,
    counts: Counts,
    duration_s: float,
    totals: tuple[float, float],
    latency: LatencyStats,
    shape: tuple[int | None, float | None, int | None, int | None],
    provenance: Provenance,
    options: IngestOptions,
    reader: RowReader,
    duration_key: str,
) -> ServingResult:
    concurrency, rate, isl, osl = shape
    input_total, output_total = totals
    completed = counts.completed or 0
    identity = Identity(
        model=model_key(model), model_name=model, gpu=options.gpu, num_gpus=options.gpus
    )
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    input_tok_s, output_tok_s = token_rates(
        reader, duration_key, input_total, output_total, duration_s
    )
    return ServingResult(
        identity=identity,
        workload=Workload(
            isl=isl,
            osl=osl,
            mean_input_len=input_total / completed if completed else None,
            mean_output_len=output_total / completed if completed else None,
            sampler=options.sampler or LengthSampler.EMPIRICAL,
            concurrency=concurrency,
            request_rate=rate,
            num_prompts=counts.attempted,
        ),
        counts=counts,
        throughput=Throughput(
            input_tok_s=input_tok_s,
            output_tok_s=output_tok_s,
            request_per_s=per_second(reader, duration_key, completed, duration_s),
        ),
        duration_s=duration_s,
        latency=latency if completed else LatencyStats(),
        energy=energy,
        provenance=provenance,
        extras={"power_missing": why} if why else {},
    )


# --- CSV -----------------------------------------------------------------------------------


def _csv_columns(document: Document) -> list[dict[str, str]]:
    """Rows keyed 'Group|Metric|Statistic' from the three header rows."""
    rows = list(csv.reader(io.StringIO(document.text)))
    if len(rows) < 4:
        raise NotResults("guidellm CSV: header only, no benchmarks")
    names = ["|".join(part for part in parts if part) for parts in zip(*rows[:3], strict=False)]
    return [dict(zip(names, row, strict=False)) for row in rows[3:] if any(row)]


def _csv_stats(reader: RowReader, prefix: str, scale: float) -> MetricStats | None:
    mean = reader.optional_number(f"{prefix}|Mean", minimum=None)
    if mean is None:
        return None
    cell = reader.data.get(f"{prefix}|Percentiles") or "[]"
    try:
        values = json.loads(cell)
    except json.JSONDecodeError:
        raise reader.error(f"{prefix}|Percentiles", f"expected a list, got {cell[:40]!r}") from None
    if not isinstance(values, list) or len(values) != len(_CSV_PERCENTILES):
        raise reader.error(f"{prefix}|Percentiles", f"expected {len(_CSV_PERCENTILES)} values")
    pct = dict(zip(_CSV_PERCENTILES, values, strict=True))
    median = reader.optional_number(f"{prefix}|Median", minimum=None)
    std = reader.optional_number(f"{prefix}|Std Dev", minimum=None)
    return MetricStats(
        mean=mean * scale,
        median=None if median is None else median * scale,
        std=None if std is None else std * scale,
        p90=float(pct["p90"]) * scale,
        p95=float(pct["p95"]) * scale,
        p99=float(pct["p99"]) * scale,
    )


def _csv_shape(reader: RowReader) -> tuple[int | None, float | None]:
    """'concurrent@4' → cap 4; 'constant@5.00'/'poisson@2' → rate; 'synchronous' → cap 1."""
    key = "Benchmark|Strategy"
    strategy = reader.optional_text(key)
    if not strategy:
        return None, None
    kind, _, value = strategy.partition("@")
    if kind == "synchronous":
        return 1, None
    try:
        number = float(value)
    except ValueError:
        return None, None
    if kind in ("concurrent", "throughput"):
        return nominal_count(reader, key, number), None
    return None, nominal_number(reader, key, number)


def _from_csv(document: Document, options: IngestOptions) -> list[ServingResult]:
    results = []
    for index, row in enumerate(_csv_columns(document)):
        reader = RowReader(row, document.name, index, from_text=True)
        counts = Counts(
            attempted=reader.integer("Request Counts|Total"),
            completed=reader.integer("Request Counts|Successful"),
            failed=reader.integer("Request Counts|Errored"),
            incomplete=reader.integer("Request Counts|Incomplete"),
        )
        completed = counts.completed or 0
        duration_s = reader.number("Timings|Duration|Sec")
        if duration_s <= 0:
            raise reader.error("Timings|Duration|Sec", "must be > 0")
        mean_in = reader.optional_number("Token Metrics|Successful Input Tokens|Mean") or 0.0
        mean_out = reader.optional_number("Token Metrics|Successful Output Tokens|Mean") or 0.0
        backend = _json_cell(reader, "Run Info|Backend")
        concurrency, rate = _csv_shape(reader)
        results.append(
            _result(
                model=str(backend.get("model") or "unknown"),
                counts=counts,
                duration_s=duration_s,
                totals=(mean_in * completed, mean_out * completed),
                latency=LatencyStats(
                    ttft_s=_csv_stats(reader, "Time to First Token|Successful ms", _MS),
                    tpot_s=_csv_stats(reader, "Inter Token Latency|Successful ms", _MS),
                    e2el_s=_csv_stats(reader, "Request Latency|Successful Sec", 1.0),
                ),
                shape=(concurrency, rate, None, None),
                provenance=Provenance(
                    source=document.name,
                    source_format="guidellm",
                    row=index,
                    date=reader.optional_text("Timings|Start Time"),
                    tool="guidellm",
                    engine_config={"strategy": reader.optional_text("Benchmark|Strategy")},
                ),
                options=options,
                reader=reader,
                duration_key="Timings|Duration|Sec",
            )
        )
    return results


def _json_cell(reader: RowReader, key: str) -> dict[str, Any]:
    cell = reader.data.get(key)
    if not cell:
        return {}
    try:
        value = json.loads(cell)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
