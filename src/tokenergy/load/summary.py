"""From records to results: the window, the two ServingResults, the self-check, run.json."""

from __future__ import annotations

import platform
import resource
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tokenergy._version import __version__
from tokenergy.errors import ServerError
from tokenergy.load.client import Api, ClockAnchor, RequestRecord
from tokenergy.load.config import BenchConfig, Capabilities
from tokenergy.load.driver import RunObserver
from tokenergy.load.metrics import (
    LittlesLaw,
    Window,
    latency_summary,
    littles_law,
    metric_stats,
    run_counts,
    steady_state_window,
    whole_run_window,
    window_totals,
)
from tokenergy.load.runlog import RUN_FILE, VLLM_BENCH_FILE, vllm_bench_export, write_json
from tokenergy.load.workload import PromptKind
from tokenergy.records import (
    EnergyMeasurement,
    Identity,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
)

CLIENT_CPU_WARN_PERCENT = 85.0
SCHEDULE_DELAY_WARN_S = 0.010


class LengthMismatchError(ServerError):
    """Too many requests came back with other lengths than asked (the run is not what it claims)."""


@dataclass(frozen=True)
class SelfCheck:
    """Is the client keeping up? Schedule delay, achieved vs requested rate, client CPU."""

    schedule_delay_p99_s: float | None
    requested_rate_rps: float | None
    planned_rate_rps: float | None
    achieved_send_rate_rps: float | None
    client_cpu_percent: float
    client_cpu_s: float
    workers: int
    warnings: list[str]


@dataclass
class RunResult:
    """Everything one load point produced; ``result`` covers the window energy is attributed to."""

    out_dir: Path
    result: ServingResult
    whole_run: ServingResult
    window: Window | None
    littles_law: LittlesLaw | None
    self_check: SelfCheck
    length_mismatches: int
    # Not in the repr: Python 3.11's asyncio.run formats the repr of its main task's result
    # when it restores the SIGINT handler (signal.getsignal → a partial holding the task), so
    # a repr of every record made `bench` spend seconds (1.6 s at 8k requests) after the run.
    records: list[RequestRecord] = field(repr=False)
    interrupted: bool


def enforce_lengths(config: BenchConfig, outcome: RunResult) -> None:
    ok = [r for r in outcome.records if r.ok and not r.warmup]
    if not ok or outcome.length_mismatches / len(ok) <= config.max_length_mismatch:
        return
    first = next(r for r in ok if r.length_mismatch)
    raise LengthMismatchError(
        f"{outcome.length_mismatches} of {len(ok)} requests came back with other lengths than "
        f"asked (e.g. request {first.index}: asked {first.isl}/{first.osl}, server counted "
        f"{first.prompt_tokens}/{first.completion_tokens}); above `max_length_mismatch` "
        f"{config.max_length_mismatch:.1%}; results kept in {outcome.out_dir}"
    )


def _rate(times_ns: list[int]) -> float | None:
    """Events per second over the span of ``times_ns`` ((n − 1) gaps)."""
    times = sorted(times_ns)
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / ((times[-1] - times[0]) / 1e9)


def check_client(
    config: BenchConfig,
    records: Sequence[RequestRecord],
    cpu_s: float,
    wall_s: float,
    notes: Sequence[str] = (),
) -> SelfCheck:
    """Warn when the client, not the server, may have shaped the result.

    Open loop: the achieved send rate is compared with the rate the seeded plan itself realised
    (a short Poisson plan rarely hits the nominal rate exactly), and the nominal rate is kept.
    CPU % is process (+ worker) CPU time over wall time; 100 % = one core.
    """
    measured = [r for r in records if not r.warmup and r.send_ns is not None]
    delays = [d / 1e9 for r in measured if (d := r.schedule_delay_ns) is not None]
    delay_stats = metric_stats(delays)
    p99 = delay_stats.p99 if delay_stats else None
    requested = config.shape.rate_rps
    planned = _rate([r.target_ns for r in measured if r.target_ns is not None])
    achieved = _rate([r.send_ns for r in measured if r.send_ns is not None])
    cpu_percent = 100.0 * cpu_s / wall_s if wall_s > 0 else 0.0
    warnings = list(notes)
    if cpu_percent > CLIENT_CPU_WARN_PERCENT * config.workers:
        warnings.append(
            f"client used {cpu_percent:.0f}% CPU ({config.workers} process(es)): it may be the "
            "bottleneck (try more `workers`)"
        )
    if p99 is not None and p99 > SCHEDULE_DELAY_WARN_S:
        warnings.append(f"schedule delay p99 {p99 * 1000:.1f} ms: the client sent late")
    if planned and achieved and achieved < 0.9 * planned:
        warnings.append(
            f"achieved send rate {achieved:.3g} req/s is below the planned {planned:.3g} "
            f"(requested {requested:.3g})"
        )
    return SelfCheck(
        p99, requested, planned, achieved, cpu_percent, cpu_s, config.workers, warnings
    )


def _served_model(info: dict[str, Any], model: str) -> dict[str, Any]:
    models = info.get("models") or {}
    for entry in models.get("data", []) if isinstance(models, dict) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return entry
    return {}


def summarise(
    config: BenchConfig,
    info: dict[str, Any],
    caps: Capabilities,
    kind: PromptKind,
    anchor: ClockAnchor,
    records: list[RequestRecord],
    observers: Sequence[RunObserver],
    interrupted: bool,
) -> RunResult:
    shape = config.shape
    measured = [r for r in records if not r.warmup]
    whole = whole_run_window(measured)
    window = None
    if shape.closed_loop and shape.concurrency is not None and not interrupted:
        window = steady_state_window(measured, shape.concurrency)
    if window is None:
        window = whole
    energy = whole_energy = None
    if window is not None:
        for observer in observers:
            energy = observer.on_window(window) or energy
    if whole is not None:
        for observer in observers:
            whole_energy = observer.on_whole_run(whole) or whole_energy
    served = _served_model(info, config.model)
    simulated = bool(info.get("simulated"))
    version = info.get("version") or {}
    provenance = Provenance(
        source=config.base_url,
        source_format="tokenergy-bench",
        date=datetime.fromtimestamp(anchor.wall_ns / 1e9, UTC).isoformat(),
        tool="tokenergy",
        tool_version=__version__,
        hardware=f"client host {socket.gethostname()} ({platform.machine()})",
        engine_config={
            "models": info.get("models"),
            "version": version,
            "prompt_kind": kind.value,
            "continuous_usage": caps.continuous_usage,
            "ignore_eos": config.ignore_eos,
        },
        label=config.label,
        metadata=dict(config.metadata),
        simulated=simulated,
    )
    identity = Identity(
        model=config.model,
        model_name=config.model,
        engine=str(served.get("owned_by")) if served.get("owned_by") else None,
        engine_version=str(version.get("version")) if version.get("version") else None,
    )
    ok = [r for r in measured if r.ok]
    mismatches = sum(1 for r in ok if r.length_mismatch)
    workload = Workload(
        isl=config.lengths.isl or None,
        osl=config.lengths.osl or None,
        mean_input_len=float(np.mean([r.prompt_tokens or r.isl for r in ok])) if ok else None,
        mean_output_len=float(np.mean([r.output_tokens for r in ok])) if ok else None,
        sampler=config.lengths.sampler,
        range_ratio=config.lengths.range_ratio if config.lengths.range_ratio else None,
        concurrency=shape.concurrency,
        request_rate=shape.rate_rps,
        num_prompts=len(measured),
        dataset=config.dataset,
    )
    littles = None if window is None else littles_law(measured, window, shape.concurrency)
    whole_result = _result(
        identity, workload, provenance, measured, whole, whole_energy, whole=True
    )
    window_result = _result(identity, workload, provenance, measured, window, energy, whole=False)
    if window is not None:
        window_result.extras["window"] = {
            "start_s": window.start_ns / 1e9,
            "end_s": window.end_ns / 1e9,
            "steady": window.steady,
            "reason": window.reason,
            "share_of_run": (window.duration_s / whole.duration_s) if whole else None,
        }
    if littles is not None:
        window_result.extras["littles_law"] = {
            "completed_req_s": littles.completed_req_s,
            "mean_e2el_s": littles.mean_e2el_s,
            "predicted_concurrency": littles.predicted_concurrency,
            "measured_concurrency": littles.measured_concurrency,
            "nominal_concurrency": littles.nominal_concurrency,
            "relative_error": littles.relative_error,
        }
    return RunResult(
        out_dir=config.out_dir,
        result=window_result,
        whole_run=whole_result,
        window=window,
        littles_law=littles,
        self_check=SelfCheck(None, None, None, None, 0.0, 0.0, 1, []),
        length_mismatches=mismatches,
        records=records,
        interrupted=interrupted,
    )


def _result(
    identity: Identity,
    workload: Workload,
    provenance: Provenance,
    measured: list[RequestRecord],
    window: Window | None,
    energy: EnergyMeasurement | None,
    *,
    whole: bool,
) -> ServingResult:
    """A ServingResult over ``window``: whole-run counts/rates, or window-only tokens and counts."""
    counts = run_counts(measured)
    throughput = Throughput()
    in_window = measured
    if window is not None and window.duration_s > 0:
        if whole:
            ok = [r for r in measured if r.ok]
            t = window.duration_s
            throughput = Throughput(
                input_tok_s=sum(r.prompt_tokens or r.isl for r in ok) / t,
                output_tok_s=sum(r.output_tokens for r in ok) / t,
                request_per_s=len(ok) / t,
            )
        else:
            totals = window_totals(measured, window)
            input_tok_s, output_tok_s, req_s = totals.rates(window)
            throughput = Throughput(
                input_tok_s=input_tok_s, output_tok_s=output_tok_s, request_per_s=req_s
            )
            counts = totals.counts
            in_window = [r for r in measured if r.end_ns is not None and window.contains(r.end_ns)]
    successes = latency_summary(in_window, failures_as_inf=False)
    with_failures = latency_summary(in_window, failures_as_inf=True)
    extras: dict[str, Any] = {
        "scope": "whole run" if whole else "window",
        "latency_failures_as_inf": with_failures.stats.model_dump(mode="json"),
    }
    if successes.itl_per_token_s is not None:
        extras["itl_per_token_s"] = successes.itl_per_token_s.model_dump(mode="json")
    return ServingResult(
        identity=identity,
        workload=workload,
        counts=counts,
        throughput=throughput,
        duration_s=window.duration_s if window is not None and window.duration_s > 0 else None,
        latency=successes.stats,
        energy=energy,
        provenance=provenance,
        extras=extras,
    )


def write_run(
    config: BenchConfig,
    outcome: RunResult,
    anchor: ClockAnchor,
    observers: Sequence[RunObserver] = (),
) -> None:
    """Write run.json (once: the observers add their sections first) and vllm_bench.json."""
    check = outcome.self_check
    usage = resource.getrusage(resource.RUSAGE_SELF)
    payload: dict[str, Any] = {
        "result": outcome.result.model_dump(mode="json"),
        "whole_run": outcome.whole_run.model_dump(mode="json"),
        "config": config.to_json(),
        "provenance": {
            "client": {"tool": "tokenergy", "version": __version__},
            "host": {
                "hostname": socket.gethostname(),
                "platform": platform.platform(),
                "python": platform.python_version(),
                "max_rss_kib": usage.ru_maxrss,
            },
            "server": outcome.result.provenance.engine_config,
            "simulated": outcome.result.provenance.simulated,
        },
        "clock_anchor": {"wall_ns": anchor.wall_ns, "perf_ns": anchor.perf_ns},
        "self_check": {
            "schedule_delay_p99_s": check.schedule_delay_p99_s,
            "requested_rate_rps": check.requested_rate_rps,
            "planned_rate_rps": check.planned_rate_rps,
            "workers": check.workers,
            "achieved_send_rate_rps": check.achieved_send_rate_rps,
            "client_cpu_percent": check.client_cpu_percent,
            "client_cpu_s": check.client_cpu_s,
            "warnings": check.warnings,
        },
        "length_mismatches": outcome.length_mismatches,
        "interrupted": outcome.interrupted,
    }
    for observer in observers:
        payload.update(observer.run_sections(outcome.result, outcome.whole_run))
    write_json(config.out_dir / RUN_FILE, payload)
    export = vllm_bench_export(
        [r for r in outcome.records if not r.warmup],
        model=outcome.result.identity.model,  # the served model when --model was not given
        backend="openai" if config.api is Api.COMPLETIONS else "openai-chat",
        date=datetime.fromtimestamp(anchor.wall_ns / 1e9).strftime("%Y%m%d-%H%M%S"),
        request_rate=config.shape.rate_rps,
        burstiness=config.shape.burstiness,
        max_concurrency=config.shape.concurrency,
        label=config.label,
    )
    write_json(config.out_dir / VLLM_BENCH_FILE, export, indent=None)
