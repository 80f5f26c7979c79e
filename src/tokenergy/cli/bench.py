"""``tokenergy bench``: drive an OpenAI-compatible server with an exact workload, one point or a
sweep, and print a table per point (``tokenergy.bench`` does the work; this module parses the
flags and renders).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tokenergy import units
from tokenergy.cli import metering
from tokenergy.cli.carbon import bench_footprint, bench_footprint_line
from tokenergy.cli.configfile import load_config, parse_metadata, save_config
from tokenergy.cli.flags import PARAMETER_FLAGS, as_flags, with_flags
from tokenergy.cli.options import GRID_HELP, REGION_HELP, WUE_HELP, grid_option, parse_option
from tokenergy.cli.paths import output_dir
from tokenergy.cli.progress import BenchProgress
from tokenergy.cli.render import console, err_console, fmt, print_json, warn
from tokenergy.errors import ConfigError
from tokenergy.footprint import Grid
from tokenergy.load.client import DEFAULT_REQUEST_TIMEOUT_S, Api
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.load.runlog import RUN_FILE
from tokenergy.load.schedule import parse_concurrency_list
from tokenergy.load.summary import RunResult
from tokenergy.load.workload import PromptKind
from tokenergy.measure.bench import BenchHooks, Meters, PointResult, bench_async, default_out_dir
from tokenergy.meters.meterset import MeterSet
from tokenergy.records import MetricStats
from tokenergy.store import Store

FLAGS = {
    "concurrency": "--concurrency",
    "rate_rps": "--rate",
    "burstiness": "--burstiness",
    "num_prompts": "--num-prompts",
    "duration_s": "--duration",
    "warmup": "--warmup",
    "workers": "--workers",
    "meters": "--meter",
    "idle_s": "--idle-seconds",
    "expect_gpus": "--expect-gpus",
    "min_window_s": "--min-window",
    "timeout_s": "--timeout",
    "request_timeout_s": "--request-timeout",
    "run_timeout_s": "--run-timeout",
    "seed": "--seed",
}


class _Render(BenchHooks):
    """The bench's terminal: a spinner while idle power is measured, a progress bar per point,
    then the point's tables (with ``--json``, one JSON document at the end instead)."""

    def __init__(
        self,
        as_json: bool,
        ctx: typer.Context,
        root: Path,
        layer: Grid | None = None,
        *,
        quiet: bool = False,
        progress_every_s: float = 10.0,
    ) -> None:
        self.as_json = as_json
        self.layer = layer
        self.current: Path | None = None
        self.progress: BenchProgress | None = None
        self.meters: MeterSet | None = None
        self.quiet, self.progress_every_s = quiet, progress_every_s
        self.ctx, self.root, self.saved = ctx, root, False

    def idle(self, seconds: float) -> contextlib.AbstractContextManager[Any]:
        if self.quiet:
            return contextlib.nullcontext()
        return err_console.status(f"measuring idle power for {seconds:g} s")

    def meters_ready(self, meters: MeterSet) -> None:
        self.meters = meters

    def observers(self, config: BenchConfig) -> list[RunObserver]:
        self.current = config.out_dir
        if self.quiet:
            return []
        shape = config.shape
        total = None if shape.num_prompts is None else shape.num_prompts + shape.warmup
        label = f"c={shape.concurrency or '∞'}" + (
            f" rate={shape.rate_rps:g}/s" if shape.rate_rps else ""
        )
        self.progress = BenchProgress(
            label,
            total,
            self.meters,
            terminal=err_console.is_terminal,
            line_every_s=self.progress_every_s,
        )
        return [self.progress]

    def stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress = None

    def point_done(self, point: PointResult) -> None:
        self.stop_progress()
        if not self.saved:  # once the run directory exists: an unreachable server leaves no file
            save_config(self.ctx, self.root, leave_out={"out"})
            self.saved = True
        if point.stored is not None:
            err_console.print(f"stored {point.run_dir} as {point.stored.id}", highlight=False)
        for message in point.outcome.self_check.warnings:
            warn(with_flags(message, {**PARAMETER_FLAGS, **FLAGS}))
        if not self.as_json:
            console.print(_table(point.outcome))
            if point.metered:
                console.print(metering.energy_table(point.summary))
            if point.metered and self.layer is not None:
                line = bench_footprint_line(bench_footprint(point.summary, self.layer))
                console.print(line, highlight=False)


def bench_command(
    ctx: typer.Context,
    url: str = typer.Argument(..., help="Base URL of the server, e.g. http://127.0.0.1:8000"),
    config: Path | None = typer.Option(
        None,
        "--config",
        is_eager=True,
        callback=load_config,
        help="TOML file of flags (keys: flag names, e.g. num-prompts = 200; url = ...); "
        "flags given on the command line win. Each run saves its own as bench.toml.",
    ),
    label: str | None = typer.Option(
        None, "--label", help="Name of this run, stored with it (compare --by label)."
    ),
    metadata: list[str] = typer.Option(
        [], "--metadata", help="KEY=VALUE note stored with the run (repeatable)."
    ),
    model: str | None = typer.Option(None, "--model", help="Model id (default: the first served)."),
    isl: int = typer.Option(
        1024, "--isl", "--random-input-len", help="Input tokens per request (mean when ranged)."
    ),
    osl: int = typer.Option(
        1024, "--osl", "--random-output-len", help="Output tokens per request (mean when ranged)."
    ),
    range_ratio: float = typer.Option(
        0.0,
        "--range-ratio",
        "--random-range-ratio",
        help="Uniform lengths in [L(1-r), L(1+r)] (mean L); 0 = fixed.",
    ),
    dataset: Path | None = typer.Option(
        None,
        "--dataset",
        "--dataset-path",
        help="Lengths from a JSON/JSONL file: ShareGPT conversations or rows "
        "with input_len, output_len and optionally count.",
    ),
    concurrency: str | None = typer.Option(
        None,
        "--concurrency",
        "--max-concurrency",
        help="Closed-loop concurrency; a list (1,8,64) is a sweep. With "
        "--rate: a cap on requests in flight.",
    ),
    rate: float | None = typer.Option(
        None, "--rate", "--request-rate", help="Open loop: mean requests per second."
    ),
    burstiness: float = typer.Option(1.0, "--burstiness", help="Gamma shape (1 = Poisson)."),
    num_prompts: int | None = typer.Option(
        None, "--num-prompts", help="Measured requests per point (default 200 without --duration)."
    ),
    duration: float | None = typer.Option(None, "--duration", help="Stop after S seconds."),
    warmup: int = typer.Option(0, "--warmup", help="Warm-up requests, run first and excluded."),
    api: Api = typer.Option(Api.COMPLETIONS, "--api", help="completions or chat."),
    prompt: str = typer.Option(
        "auto", "--prompt", help="auto (token ids where accepted), token-ids or text."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of lengths, prompts and arrivals."),
    timeout: float = typer.Option(
        600.0, "--timeout", help="Seconds without data before a request counts as a timeout."
    ),
    request_timeout: float = typer.Option(
        DEFAULT_REQUEST_TIMEOUT_S,
        "--request-timeout",
        help="Seconds from send to the last byte before a request counts as a timeout.",
    ),
    run_timeout: float | None = typer.Option(
        None,
        "--run-timeout",
        help="Stop each point after S seconds (warm-up included); requests in flight are "
        "kept as incomplete.",
    ),
    max_length_mismatch: str = typer.Option(
        "1%",
        "--max-length-mismatch",
        help="Fail the run above this share of requests whose "
        "server-counted lengths differ from the asked ones.",
    ),
    tokenizer: Path | None = typer.Option(
        None,
        "--tokenizer",
        help="Local tokenizer.json (extra 'tokenizers') for servers without /tokenize.",
    ),
    ignore_eos: bool = typer.Option(
        True, "--ignore-eos/--no-ignore-eos", help="Force OSL with ignore_eos + min_tokens."
    ),
    workers: int = typer.Option(
        1, "--workers", help="Client processes sharing one schedule (for loads one can't drive)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "--result-dir",
        help="Run directory (default runs/bench-TIME-RANDOM; never reused).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run.json of each point."),
    meter: list[str] = typer.Option([], "--meter", help=metering.METER_HELP),
    idle_seconds: float = typer.Option(10.0, "--idle-seconds", help=metering.IDLE_HELP),
    expect_gpus: int | None = typer.Option(None, "--expect-gpus", help=metering.EXPECT_GPUS_HELP),
    min_window: float = typer.Option(1.0, "--min-window", help=metering.MIN_WINDOW_HELP),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress display (tables, warnings and errors remain)."
    ),
    progress_every: float = typer.Option(
        10.0,
        "--progress-every",
        help="Seconds between progress lines when stderr is not a terminal (logs, CI).",
    ),
    save: bool = typer.Option(
        False,
        "--save",
        "--save-result",
        help="Also add each point's run directory to the store (tokenergy runs).",
    ),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
) -> None:
    """Measure a server under an exact workload: latency, throughput, failures, steady state."""
    mismatch = parse_option("--max-length-mismatch", units.parse_fraction, max_length_mismatch)
    try:
        prompt_kind = None if prompt == "auto" else PromptKind(prompt)
    except ValueError:
        raise ConfigError(f"unknown prompt kind {prompt!r}", field="--prompt") from None
    caps = None if concurrency is None else list(parse_concurrency_list(concurrency))
    root = output_dir(out or default_out_dir(), "--out")
    notes = parse_metadata(metadata)
    layer = grid_option(grid, region, wue)
    if not (math.isfinite(progress_every) and progress_every > 0):
        raise ConfigError("must be a finite number of seconds > 0", field="--progress-every")
    render = _Render(as_json, ctx, root, layer, quiet=quiet, progress_every_s=progress_every)
    terminated: list[bool] = []
    try:
        with as_flags(FLAGS):
            work = bench_async(
                url,
                model=model,
                isl=isl,
                osl=osl,
                range_ratio=range_ratio,
                dataset=dataset,
                concurrency=caps,
                rate_rps=rate,
                burstiness=burstiness,
                num_prompts=num_prompts,
                duration_s=duration,
                warmup=warmup,
                api=api,
                prompt_kind=prompt_kind,
                seed=seed,
                timeout_s=timeout,
                request_timeout_s=request_timeout,
                run_timeout_s=run_timeout,
                max_length_mismatch=mismatch,
                tokenizer=tokenizer,
                ignore_eos=ignore_eos,
                workers=workers,
                meters=Meters(tuple(meter), idle_seconds, expect_gpus, min_window),
                out_dir=root,
                store=Store() if save else None,
                label=label,
                metadata=notes,
                hooks=render,
            )
            points = asyncio.run(_until_signal(work, terminated))
    except (KeyboardInterrupt, asyncio.CancelledError):
        render.stop_progress()
        point_dir = render.current
        if point_dir is not None and (point_dir / RUN_FILE).exists():
            err_console.print(f"interrupted: partial results kept in {point_dir}", highlight=False)
        else:
            err_console.print("interrupted before the load started", highlight=False)
        raise typer.Exit(143 if terminated else 130) from None
    finally:
        render.stop_progress()
    if as_json:
        payloads = [point.to_dict() for point in points]
        if layer is not None:
            for payload, point in zip(payloads, points, strict=True):
                if point.metered:
                    payload["footprint"] = bench_footprint(point.summary, layer)
        print_json(payloads[0] if len(payloads) == 1 else payloads)


async def _until_signal(
    work: Coroutine[Any, Any, list[PointResult]], terminated: list[bool]
) -> list[PointResult]:
    """SIGTERM (a scheduler, ``timeout``) stops the run like Ctrl-C: results are kept."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        terminated.append(True)
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, stop)
    try:
        return await work
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _ms(stats: MetricStats | None, attr: str) -> str:
    value = getattr(stats, attr) if stats is not None else None
    return fmt(None if value is None else value * 1000)


def _table(outcome: RunResult) -> Table:
    window, whole = outcome.result, outcome.whole_run
    shape = window.workload
    title = f"{outcome.out_dir}: concurrency {shape.concurrency or '∞'}"
    if shape.request_rate:
        title += f", rate {shape.request_rate:g} req/s"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("whole run", justify="right")
    scope = "steady state" if outcome.window and outcome.window.steady else "window (= whole run)"
    table.add_column(scope, justify="right")
    for label, attr in (
        ("req/s", "request_per_s"),
        ("input tok/s", "input_tok_s"),
        ("output tok/s", "output_tok_s"),
    ):
        table.add_row(
            label, fmt(getattr(whole.throughput, attr)), fmt(getattr(window.throughput, attr))
        )
    for name, attr in (
        ("TTFT", "ttft_s"),
        ("TPOT", "tpot_s"),
        ("ITL", "itl_s"),
        ("E2EL", "e2el_s"),
    ):
        for pct in ("median", "p99"):
            a, b = getattr(whole.latency, attr), getattr(window.latency, attr)
            label = f"{name} {'p50' if pct == 'median' else pct} (ms)"
            table.add_row(label, _ms(a, pct), _ms(b, pct))
    counts = whole.counts
    table.add_row(
        "completed / attempted",
        f"{counts.completed}/{counts.attempted}",
        f"{window.counts.completed}/{window.counts.attempted}",
    )
    causes = ", ".join(f"{k} {v}" for k, v in counts.failures_by_cause.items()) or "none"
    table.add_row("failures", causes, str(window.counts.failed))
    table.add_row("incomplete", str(counts.incomplete), "")
    table.add_row("duration (s)", fmt(whole.duration_s), fmt(window.duration_s))
    share = window.extras.get("window", {}).get("share_of_run")
    captions = [
        f"ITL unit: {whole.latency.itl_unit.value}; steady-state share of run: {fmt(share)}"
    ]
    law = outcome.littles_law
    if law is not None:
        captions.append(
            f"Little's law: λ·W = {law.predicted_concurrency:.3g} vs measured in flight "
            f"{law.measured_concurrency:.3g} (nominal {law.nominal_concurrency or '—'})"
        )
    check = outcome.self_check
    captions.append(
        f"client: CPU {check.client_cpu_percent:.0f}%, schedule delay p99 "
        f"{_ms_value(check.schedule_delay_p99_s)} ms, length mismatches {outcome.length_mismatches}"
    )
    table.caption = "\n".join(captions)
    return table


def _ms_value(seconds: float | None) -> str:
    return fmt(None if seconds is None else seconds * 1000)
