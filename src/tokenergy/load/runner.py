"""The runner: checks the server, prepares the workload, drives it (in one process or several
``--workers`` sharing one schedule), then summarises and writes the run directory.

Meters and progress displays plug in through :class:`tokenergy.load.driver.RunObserver`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import resource
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from tokenergy.errors import ConfigError, ServerError
from tokenergy.load.client import (
    Api,
    ClockAnchor,
    RequestOptions,
    RequestRecord,
    ServerTokenCounter,
    server_info,
    stream_request,
)
from tokenergy.load.config import BenchConfig, Capabilities
from tokenergy.load.driver import DriveOutcome, PreparedRequest, RunObserver, Source, drive
from tokenergy.load.runlog import REQUESTS_FILE, RUN_FILE, VLLM_BENCH_FILE, read_requests
from tokenergy.load.schedule import Schedule, ScheduledRequest
from tokenergy.load.summary import (
    LengthMismatchError,
    RunResult,
    check_client,
    enforce_lengths,
    summarise,
    write_run,
)
from tokenergy.load.tokenizer import LocalTokenCounter
from tokenergy.load.workload import (
    PromptBuilder,
    PromptKind,
    TokenCounter,
    conversation_lengths,
)

__all__ = ["BenchConfig", "LengthMismatchError", "RunObserver", "RunResult", "run_point"]

DATASET_SAMPLE = 1000  # conversations tokenized to build the empirical length distribution


# --- preparation ---------------------------------------------------------------------------------


async def _probe(
    session: aiohttp.ClientSession, config: BenchConfig, counter: TokenCounter
) -> Capabilities:
    """Two tiny requests (not part of the run): continuous usage, then token-id prompts."""
    url = config.base_url.rstrip("/") + config.api.path
    anchor = time.perf_counter_ns()

    async def attempt(prompt: list[int] | str, continuous: bool) -> RequestRecord:
        options = RequestOptions(config.model, config.api, continuous_usage=continuous)
        record = RequestRecord(index=-1, warmup=True, isl=0, osl=2, target_ns=None)
        await stream_request(session, url, config.api, options.body(prompt, 2), record, anchor)
        return record

    text_probe = await attempt("Hello there", True)
    continuous = text_probe.ok
    if not continuous:
        fallback = await attempt("Hello there", False)
        if not fallback.ok:
            raise ServerError(
                f"{url} refused a streaming request: {fallback.outcome} {fallback.error or ''}"
            )
    token_ids = False
    if config.api is Api.COMPLETIONS:
        ids = (await counter.token_ids("Hello there"))[:4]
        token_ids = bool(ids) and (await attempt(ids, continuous)).ok
    return Capabilities(token_ids=token_ids, continuous_usage=continuous)


def _builder(
    builder: PromptBuilder, options: RequestOptions, seed: int
) -> Callable[[ScheduledRequest], Awaitable[PreparedRequest]]:
    """Body of one request; each prompt seeded by its index (reproducible, unique per request)."""

    async def build(item: ScheduledRequest) -> PreparedRequest:
        rng = np.random.default_rng([seed, 3, item.index])
        return PreparedRequest(item, options.body(await builder.build(rng, item.isl), item.osl))

    return build


async def _prepare(
    items: Sequence[ScheduledRequest],
    build: Callable[[ScheduledRequest], Awaitable[PreparedRequest]],
) -> list[PreparedRequest]:
    """All bodies, built before the run starts (bounded fan-out when calibrating over HTTP)."""
    prepared: list[PreparedRequest] = []
    step = 64
    for start in range(0, len(items), step):
        prepared.extend(await asyncio.gather(*(build(i) for i in items[start : start + step])))
    return prepared


# --- the run -------------------------------------------------------------------------------------


async def run_point(config: BenchConfig, observers: Sequence[RunObserver] = ()) -> RunResult:
    """Run one load point and write its run directory.

    Raises ServerError before any load if the server is unreachable or unusable, and
    LengthMismatchError (after writing everything) above the mismatch threshold. Cancelled
    (Ctrl-C), it cuts the requests in flight, still writes run.json, then re-raises.
    """
    if config.workers < 1:
        raise ConfigError("workers must be >= 1", field="--workers")
    meta_timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=meta_timeout) as meta:
        info = await server_info(meta, config.base_url)
        if not config.model:
            config = replace(config, model=_first_model(info, config.base_url))
        counter: TokenCounter = (
            LocalTokenCounter(config.tokenizer)
            if config.tokenizer is not None
            else ServerTokenCounter(meta, config.base_url, config.model)
        )
        if config.conversations:
            config = await _with_dataset_lengths(config, counter)
        shape = config.shape
        caps = await _probe(meta, config, counter)
        kind = config.prompt_kind or (PromptKind.TOKEN_IDS if caps.token_ids else PromptKind.TEXT)
        if kind is PromptKind.TOKEN_IDS and not caps.token_ids:
            raise ServerError(f"{config.base_url} does not accept token-id prompts; use text")
        builder = PromptBuilder(counter, kind, chat=config.api is Api.CHAT)
        options = RequestOptions(
            config.model,
            config.api,
            ignore_eos=config.ignore_eos,
            min_tokens=config.ignore_eos,
            continuous_usage=caps.continuous_usage,
            extra_body=config.extra_body,
        )
        build = _builder(builder, options, config.seed)
        schedule = Schedule(shape, config.lengths, config.seed)
        endless = shape.num_prompts is None and shape.closed_loop
        measured: list[PreparedRequest] = []
        if endless:
            if config.workers > 1:
                raise ConfigError(
                    "--workers needs --num-prompts with a closed loop", field="--workers"
                )
            assert shape.concurrency is not None
            plan = schedule.requests()
            warm = await _prepare([next(plan) for _ in range(shape.warmup)], build)
            source = Source.ahead(plan, build, depth=2 * shape.concurrency + 16)
            await source.prime()
        else:
            prepared = await _prepare(list(schedule), build)
            warm = [p for p in prepared if p.planned.warmup]
            measured = [p for p in prepared if not p.planned.warmup]
            source = Source(iter(measured))
        requests_path = config.out_dir / REQUESTS_FILE
        config.out_dir.mkdir(parents=True, exist_ok=True)
        for stale in (REQUESTS_FILE, RUN_FILE, VLLM_BENCH_FILE):  # never mix two runs' files
            (config.out_dir / stale).unlink(missing_ok=True)
        anchor = ClockAnchor.now()
        for observer in observers:
            observer.on_start(anchor)
        try:
            if config.workers == 1:
                done = await drive(
                    config.base_url.rstrip("/") + config.api.path,
                    config.api,
                    shape,
                    config.timeout_s,
                    requests_path,
                    anchor,
                    warm,
                    source,
                    observers,
                    slots=shape.concurrency,
                )
            else:
                done = await _run_workers(config, anchor, warm, measured, observers)
        finally:
            source.close()
    for observer in observers:
        observer.on_stop(done.stop_ns)
    outcome = summarise(config, info, caps, kind, anchor, done.records, observers, done.interrupted)
    outcome.self_check = check_client(config, done.records, done.cpu_s, done.wall_s)
    write_run(config, outcome, anchor, observers)
    if done.interrupted:
        raise asyncio.CancelledError
    enforce_lengths(config, outcome)
    return outcome


def _first_model(info: dict[str, Any], base_url: str) -> str:
    models = info.get("models") or {}
    data = models.get("data", []) if isinstance(models, dict) else []
    if not data or not isinstance(data[0], dict) or "id" not in data[0]:
        raise ServerError(f"{base_url}/v1/models lists no model; pass --model")
    return str(data[0]["id"])


async def _with_dataset_lengths(config: BenchConfig, counter: TokenCounter) -> BenchConfig:
    """Token lengths of (a seeded sample of) the dataset's conversations, counted by the server."""
    rng = np.random.default_rng([config.seed, 4])
    pool = list(config.conversations)
    if len(pool) > DATASET_SAMPLE:
        pool = [pool[i] for i in rng.choice(len(pool), DATASET_SAMPLE, replace=False)]
    lengths = await conversation_lengths(pool, counter, config.dataset or "dataset")
    return replace(config, lengths=lengths, conversations=())


# --- several worker processes sharing one schedule ----------------------------------------------


def _share(total: int | None, workers: int, worker: int) -> int | None:
    """Worker ``worker``'s part of a concurrency (or cap) split as evenly as possible."""
    if total is None:
        return None
    return total // workers + (1 if worker < total % workers else 0)


async def _run_workers(
    config: BenchConfig,
    anchor: ClockAnchor,
    warm: list[PreparedRequest],
    measured: list[PreparedRequest],
    observers: Sequence[RunObserver],
) -> DriveOutcome:
    """``config.workers`` processes, each sending its slice (position k, k+N, …) of the plan.

    All share the parent's clock anchor (``perf_counter_ns`` is CLOCK_MONOTONIC, common to the
    host's processes) and append to the same ``requests.jsonl`` (one ``write`` per line on an
    O_APPEND file). They start the measured phase together after a barrier. The parent tails the
    log to feed observers live, and on cancellation asks each worker to stop (SIGTERM).
    """
    workers = config.workers
    shape = config.shape
    if shape.concurrency is not None and shape.concurrency < workers:
        raise ConfigError("--workers must not exceed --concurrency", field="--workers")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    children_cpu0 = _children_cpu_s()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    processes = []
    for k in range(workers):
        args = (
            config,
            anchor,
            warm[k::workers],
            measured[k::workers],
            _share(shape.concurrency, workers, k),
            k,
            barrier,
        )
        process = context.Process(target=_worker_main, args=args, daemon=True)
        process.start()
        processes.append(process)
    path = config.out_dir / REQUESTS_FILE
    offset, interrupted = 0, False
    try:
        while any(p.is_alive() for p in processes):
            await asyncio.sleep(0.2)
            offset = _tail(path, offset, observers)
    except asyncio.CancelledError:
        interrupted = True
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        await asyncio.to_thread(process.join, 60)
    _tail(path, offset, observers)
    stop_ns = time.perf_counter_ns() - anchor.perf_ns
    cpu_s = time.process_time() - cpu0 + _children_cpu_s() - children_cpu0
    records = read_requests(path) if path.exists() else []
    interrupted = interrupted or any(
        r.outcome == "incomplete" for r in records if not r.warmup and shape.duration_s is None
    )
    return DriveOutcome(records, interrupted, stop_ns, cpu_s, time.perf_counter() - wall0)


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tail(path: Path, offset: int, observers: Sequence[RunObserver]) -> int:
    """Feed observers the complete lines appended since ``offset``; return the new offset."""
    if not observers or not path.exists():
        return offset
    with path.open("rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    for line in data[:end].splitlines():
        record = RequestRecord.from_json(json.loads(line))
        for observer in observers:
            observer.on_request_done(record)
    return offset + end


def _worker_main(
    config: BenchConfig,
    anchor: ClockAnchor,
    warm: list[PreparedRequest],
    measured: list[PreparedRequest],
    slots: int | None,
    worker: int,
    barrier: Any,
) -> None:
    """Entry point of a worker process: its slice, its own event loop; SIGTERM stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    asyncio.run(_worker(config, anchor, warm, measured, slots, worker, barrier))


async def _worker(
    config: BenchConfig,
    anchor: ClockAnchor,
    warm: list[PreparedRequest],
    measured: list[PreparedRequest],
    slots: int | None,
    worker: int,
    barrier: Any,
) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)

    async def gate() -> None:
        await asyncio.to_thread(barrier.wait, 600)

    await drive(
        config.base_url.rstrip("/") + config.api.path,
        config.api,
        config.shape,
        config.timeout_s,
        config.out_dir / REQUESTS_FILE,
        anchor,
        warm,
        Source(iter(measured)),
        slots=slots,
        worker=worker,
        gate=gate,
    )
