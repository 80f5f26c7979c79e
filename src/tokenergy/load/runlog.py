"""The run directory on disk: ``requests.jsonl``, ``run.json`` and a ``vllm_bench.json`` export.

``requests.jsonl`` is appended and flushed as each request ends, so an interrupted run keeps
every request it finished. ``vllm_bench.json`` uses the field names of ``vllm bench serve
--save-result --save-detailed`` (vLLM ``benchmarks/serve.py``) so existing tooling can read it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from tokenergy.errors import ConfigError, IngestError, validation_problem
from tokenergy.load.client import RequestRecord, compact_json
from tokenergy.load.metrics import metric_stats, request_latency
from tokenergy.records import ServingResult

REQUESTS_FILE = "requests.jsonl"
RUN_FILE = "run.json"
VLLM_BENCH_FILE = "vllm_bench.json"


def read_run_json(path: Path) -> ServingResult:
    """A run.json: a ServingResult, or a document with the ServingResult under ``result``."""
    try:
        document = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IngestError(f"cannot read run file: {error}", file=str(path)) from None
    if isinstance(document, dict) and isinstance(document.get("result"), dict):
        document = document["result"]
    try:
        return ServingResult.model_validate(document)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise IngestError(f"not a ServingResult: {message}", file=str(path), field=field) from None


def find_run_dirs(root: Path) -> list[Path]:
    """Every run directory at or under ``root`` (a directory holding a run.json), sorted."""
    return sorted(run.parent for run in root.rglob(RUN_FILE))


class RequestLog:
    """Appends one JSON line per finished request to an O_APPEND file.

    Lines are buffered and written together once per event-loop iteration (all requests that
    ended in it), each batch with a single ``write``: at most one loop iteration behind, never a
    torn line, and safe when several worker processes share the file. Outside an event loop
    every line is written at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lines: list[bytes] = []
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def append(self, record: RequestRecord) -> None:
        self._lines.append(compact_json(record.to_json()).encode() + b"\n")
        if self._loop is None:
            self.flush()
        elif len(self._lines) == 1:
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        if not self._lines:
            return
        data = b"".join(self._lines)
        self._lines.clear()
        written = os.write(self._fd, data)
        if written != len(data):  # regular files do not short-write; be loud if one ever does
            raise OSError(f"short write to {self.path}: {written} of {len(data)} bytes")

    def close(self) -> None:
        self.flush()
        os.close(self._fd)


def create_exclusive(path: Path) -> None:
    """Create an empty ``path``; ConfigError if it exists (a run never overwrites another's)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        raise ConfigError(
            "already holds a run; choose another output directory", file=str(path.parent)
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot create: {error.strerror}", file=str(path)) from None


def read_requests(path: Path) -> list[RequestRecord]:
    """Records of a ``requests.jsonl``; a torn last line (killed mid-write) is skipped."""
    records: list[RequestRecord] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=str(path)) from None
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(RequestRecord.from_json(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            if number == len(lines) - 1:
                break
            raise ConfigError(f"line {number + 1}: {error}", file=str(path)) from None
    return records


def write_json(path: Path, payload: dict[str, Any], *, indent: int | None = 2) -> None:
    """Strict JSON (non-finite floats become null), written atomically via a temporary file.

    ``indent=None`` writes compact JSON with the C encoder (large exports); the non-finite
    walk runs only when the payload holds such a float.
    """
    try:
        text = json.dumps(payload, indent=indent, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(payload), indent=indent, allow_nan=False)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", "utf-8")
    tmp.replace(path)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def vllm_bench_export(
    records: Sequence[RequestRecord],
    *,
    model: str,
    backend: str,
    date: str,
    request_rate: float | None,
    burstiness: float,
    max_concurrency: int | None,
    label: str | None = None,
) -> dict[str, Any]:
    """The whole measured run in the ``vllm bench serve`` result-JSON layout (ms, successes).

    As in vLLM, latency statistics cover successful requests only, ``latencies`` is send → end,
    ``itls`` are chunk gaps, and failed requests appear with zeros and their error text.
    """
    sent = [r for r in records if r.send_ns is not None]
    start_ns = min((r.send_ns for r in sent if r.send_ns is not None), default=0)
    end_ns = max((r.end_ns for r in sent if r.end_ns is not None), default=start_ns)
    duration_s = max((end_ns - start_ns) / 1e9, 1e-9)
    ok = [r for r in sent if r.ok]
    latencies = [request_latency(r) for r in sent]
    ttfts, tpots, itls, e2els = [], [], [], []
    for record, latency in zip(sent, latencies, strict=True):
        if record.ok and latency is not None:
            ttfts.append(latency.ttft_s)
            e2els.append(latency.e2el_s)
            itls.extend(latency.chunk_gaps_s.tolist())
            if latency.tpot_s is not None:
                tpots.append(latency.tpot_s)
    total_in = sum(r.prompt_tokens or r.isl for r in ok)
    total_out = sum(r.output_tokens for r in ok)
    result: dict[str, Any] = {
        "date": date,
        "endpoint_type": backend,
        "backend": backend,
        "label": label,  # bench --label (vLLM's --label), None when not given
        "model_id": model,
        "tokenizer_id": model,
        "num_prompts": len(records),
        "request_rate": "inf" if request_rate is None else request_rate,
        "burstiness": burstiness,
        "max_concurrency": max_concurrency,
        "duration": duration_s,
        "completed": len(ok),
        "failed": len(sent) - len(ok),
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
        "request_throughput": len(ok) / duration_s,
        "request_goodput": None,
        "output_throughput": total_out / duration_s,
        "total_token_throughput": (total_in + total_out) / duration_s,
        "input_lens": [r.prompt_tokens or r.isl for r in sent],
        "output_lens": [r.output_tokens if r.ok else 0 for r in sent],
        "ttfts": [
            lat.ttft_s if r.ok and lat else 0.0 for r, lat in zip(sent, latencies, strict=True)
        ],
        "itls": [
            lat.chunk_gaps_s.tolist() if r.ok and lat else []
            for r, lat in zip(sent, latencies, strict=True)
        ],
        "latencies": [
            lat.e2el_s if r.ok and lat else 0.0 for r, lat in zip(sent, latencies, strict=True)
        ],
        "start_times": [(r.send_ns or 0) / 1e9 for r in sent],
        "generated_texts": ["" for _ in sent],
        "errors": ["" if r.ok else f"{r.outcome}: {r.error or ''}" for r in sent],
        "max_output_tokens_per_s": _max_output_per_s(sent, start_ns),
        "max_concurrent_requests": _max_concurrent(sent, start_ns),
    }
    for name, values in (("ttft", ttfts), ("tpot", tpots), ("itl", itls), ("e2el", e2els)):
        stats = metric_stats(values) if values else None
        result[f"mean_{name}_ms"] = stats.mean * 1000 if stats and stats.mean is not None else 0.0
        result[f"median_{name}_ms"] = (
            stats.median * 1000 if stats and stats.median is not None else 0.0
        )
        result[f"std_{name}_ms"] = stats.std * 1000 if stats and stats.std is not None else 0.0
        for label, attr in (("90", "p90"), ("95", "p95"), ("99", "p99")):
            value = getattr(stats, attr) if stats else None
            result[f"p{label}_{name}_ms"] = value * 1000 if value is not None else 0.0
    return result


def _max_output_per_s(records: Sequence[RequestRecord], start_ns: int) -> float:
    """Largest number of output tokens streamed in any whole second of the run."""
    buckets: dict[int, int] = {}
    for record in records:
        for t, k in zip(record.chunk_ns, record.chunk_tokens, strict=True):
            second = (t - start_ns) // 1_000_000_000
            buckets[second] = buckets.get(second, 0) + k
    return float(max(buckets.values(), default=0))


def _max_concurrent(records: Sequence[RequestRecord], start_ns: int) -> int:
    """Most requests in flight at once (from send/end events)."""
    events = [(r.send_ns, 1) for r in records if r.send_ns is not None]
    events += [(r.end_ns, -1) for r in records if r.end_ns is not None]
    if not events:
        return 0
    events.sort()
    running = np.cumsum([delta for _, delta in events])
    return int(running.max())
