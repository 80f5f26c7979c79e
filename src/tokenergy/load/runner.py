"""The runner: checks the server, prepares the workload, drives it (in one process or several
``--workers`` sharing one schedule), then summarises and writes the run directory.

Meters and progress displays plug in through :class:`tokenergy.load.driver.RunObserver`.
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import json
import multiprocessing
import multiprocessing.process
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from tokenergy.errors import ConfigError, ServerError
from tokenergy.load.client import (
    Api,
    ClockAnchor,
    Outcome,
    RequestOptions,
    RequestRecord,
    ServerTokenCounter,
    model_ids,
    server_info,
    stream_request,
)
from tokenergy.load.config import BenchConfig, Capabilities
from tokenergy.load.driver import (
    Deadlines,
    DriveOutcome,
    PreparedRequest,
    RunObserver,
    Source,
    drive,
)
from tokenergy.load.fdlimit import check_fd_limit, raise_fd_limit
from tokenergy.load.runlog import (
    REQUESTS_FILE,
    RUN_FILE,
    VLLM_BENCH_FILE,
    create_exclusive,
    read_requests,
)
from tokenergy.load.schedule import LoadShape, Schedule, ScheduledRequest
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
    TokenIdPrompts,
    conversation_lengths,
)

__all__ = ["BenchConfig", "LengthMismatchError", "RunObserver", "RunResult", "run_point"]

_BUILD_AHEAD = 32  # request bodies built together (bounded: ~30 µs each at ISL 128)
DATASET_SAMPLE = 1000  # conversations tokenized to build the empirical length distribution
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_UINT32_LIMIT = 1 << 32  # numpy's SeedSequence splits larger ints into 32-bit words


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
        body = options.body(prompt, 2)
        await stream_request(
            session, url, config.api, body, record, anchor, config.request_timeout_s
        )
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


def _prompt_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of request ``index``'s prompt: seeded by the index alone, so prompts are
    reproducible, unique per request, and each can be built without the ones before it.

    ``default_rng([seed, 3, index])``; below 2^32 each int is one 32-bit word of the seed
    sequence's entropy, so a uint32 array gives the very same generator without numpy's
    Python-level conversion of a list of ints (a third of the generator's cost)."""
    if seed < _UINT32_LIMIT and index < _UINT32_LIMIT:
        entropy = np.array((seed, 3, index), np.uint32)
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
    return np.random.default_rng([seed, 3, index])


@dataclass(frozen=True)
class _Bodies:
    """Token-id request bodies, built as the load takes them (picklable: each ``--workers``
    process builds its own share)."""

    prompts: TokenIdPrompts
    options: RequestOptions
    seed: int

    def __call__(self, item: ScheduledRequest) -> PreparedRequest:
        prompt = self.prompts.json(_prompt_rng(self.seed, item.index), item.isl)
        return PreparedRequest(item, self.options.body_json(prompt, item.osl))

    def built(self, plan: Iterator[ScheduledRequest]) -> Iterator[PreparedRequest]:
        """The plan's requests, built ``_BUILD_AHEAD`` at a time as they are taken: one at a
        time between requests, numpy's per-call overhead ran on cold caches (a prompt cost
        ~4x its cost in a batch at concurrency 1)."""
        while batch := list(itertools.islice(plan, _BUILD_AHEAD)):
            yield from [self(item) for item in batch]


def _builder(
    builder: PromptBuilder, options: RequestOptions, seed: int
) -> Callable[[ScheduledRequest], Awaitable[PreparedRequest]]:
    """Body of one request with a text prompt (calibrated through the token counter)."""

    async def build(item: ScheduledRequest) -> PreparedRequest:
        prompt = await builder.build(_prompt_rng(seed, item.index), item.isl)
        return PreparedRequest(item, options.body(prompt, item.osl))

    return build


async def _prepare(
    items: Sequence[ScheduledRequest],
    build: Callable[[ScheduledRequest], Awaitable[PreparedRequest]],
) -> list[PreparedRequest]:
    """Bodies built before the run (bounded fan-out when calibrating over HTTP)."""
    prepared: list[PreparedRequest] = []
    step = 64
    for start in range(0, len(items), step):
        prepared.extend(await asyncio.gather(*(build(i) for i in items[start : start + step])))
    return prepared


@dataclass
class _Requests:
    """What the load sends: the warm-up (built now) and the measured requests' source; for
    ``--workers``, either ``bodies`` (each worker builds its share of the plan) or the measured
    requests built before the run."""

    warm: list[PreparedRequest]
    source: Source
    bodies: _Bodies | None = None
    measured: list[PreparedRequest] = field(default_factory=list)


async def _requests(
    config: BenchConfig,
    builder: PromptBuilder,
    options: RequestOptions,
    local_counter: bool,
) -> _Requests:
    """Prompts are built as the load takes them, so the first request goes out as soon for a
    million prompts as for ten, in memory that does not grow with them. Token-id prompts are
    built on the spot; text prompts calibrated by a local tokenizer, and those of a run with no
    prompt count, by a producer a bounded queue ahead. Text prompts calibrated with the server's
    ``/tokenize`` for a counted run are built before it, so no calibration traffic falls in the
    measured window (nor in ``--workers`` runs, which cannot share a calibrating producer)."""
    shape = config.shape
    plan = Schedule(shape, config.lengths, config.seed).requests()
    if builder.kind is PromptKind.TOKEN_IDS:
        bodies = _Bodies(await builder.token_id_prompts(), options, config.seed)
        if config.workers > 1:
            return _Requests([], Source(iter(())), bodies)
        warm = [bodies(item) for item in itertools.islice(plan, shape.warmup)]
        return _Requests(warm, Source(bodies.built(plan)), bodies)
    build = _builder(builder, options, config.seed)
    endless = shape.num_prompts is None
    if config.workers == 1 and (local_counter or endless):
        warm = await _prepare(list(itertools.islice(plan, shape.warmup)), build)
        depth = 2 * (shape.concurrency or 0) + 16
        source = Source.ahead(plan, build, depth)
        await source.prime()
        return _Requests(warm, source)
    prepared = await _prepare(list(plan), build)
    measured = [p for p in prepared if not p.planned.warmup]
    warm = [p for p in prepared if p.planned.warmup]
    return _Requests(warm, Source(iter(measured)), measured=measured)


# --- the run -------------------------------------------------------------------------------------


async def run_point(config: BenchConfig, observers: Sequence[RunObserver] = ()) -> RunResult:
    """Run one load point and write its run directory.

    Raises ServerError before any load if the server is unreachable or unusable, and
    LengthMismatchError (after writing everything) above the mismatch threshold. Cancelled
    (Ctrl-C), it cuts the requests in flight, still writes run.json, then re-raises.
    """
    if config.workers < 1:
        raise ConfigError("workers must be >= 1", field="workers")
    _check_free(config.out_dir)
    notes: list[str] = []
    capped = _capped_shape(config.shape)
    if capped != config.shape:
        notes.append(
            f"concurrency {config.shape.concurrency} capped at the {capped.concurrency} "
            "prompts to send"
        )
        config = replace(config, shape=capped)
    fd_limit = raise_fd_limit()
    check_fd_limit(_slots_per_process(config.shape, config.workers), fd_limit)
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
        endless = shape.num_prompts is None and shape.closed_loop
        if endless and config.workers > 1:
            raise ConfigError("`workers` needs `num_prompts` with a closed loop", field="workers")
        requests = await _requests(config, builder, options, config.tokenizer is not None)
        source = requests.source
        requests_path = config.out_dir / REQUESTS_FILE
        try:
            _create_run_dir(config.out_dir, requests_path)
            anchor = ClockAnchor.now()
            for observer in observers:
                observer.on_start(anchor)
            if config.workers == 1:
                done = await drive(
                    config.base_url.rstrip("/") + config.api.path,
                    config.api,
                    shape,
                    _deadlines(config),
                    requests_path,
                    anchor,
                    requests.warm,
                    source,
                    observers,
                    slots=shape.concurrency,
                )
            else:
                done = await _run_workers(config, anchor, requests, observers)
        finally:
            source.close()
    for observer in observers:
        observer.on_stop(done.stop_ns)
    outcome = summarise(config, info, caps, kind, anchor, done.records, observers, done.interrupted)
    if done.run_timed_out:
        notes.append(
            f"the run deadline ({config.run_timeout_s:g} s) passed: requests in flight were cut "
            "(incomplete) and the rest not sent"
        )
    notes.extend(_fd_notes(done.records, fd_limit))
    outcome.self_check = check_client(config, done.records, done.cpu_s, done.wall_s, notes)
    write_run(config, outcome, anchor, observers)
    if done.interrupted:
        raise asyncio.CancelledError
    enforce_lengths(config, outcome)
    return outcome


def _first_model(info: dict[str, Any], base_url: str) -> str:
    ids = model_ids(info.get("models"))
    if not ids:
        raise ServerError(f"{base_url}/v1/models lists no model; pass `model`")
    return ids[0]


def _create_run_dir(out_dir: Path, requests_path: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"cannot create the run directory: {error.strerror}", file=str(out_dir)
        ) from None
    create_exclusive(requests_path)  # two runs never share (or delete) each other's files


def _check_free(out_dir: Path) -> None:
    """Refuse a directory that already holds a run (its files are never overwritten)."""
    for name in (REQUESTS_FILE, RUN_FILE, VLLM_BENCH_FILE):
        if (out_dir / name).exists():
            raise ConfigError(
                f"already holds a run ({name}); choose another output directory",
                file=str(out_dir),
            )


def _capped_shape(shape: LoadShape) -> LoadShape:
    """More slots than prompts to send only costs memory: cap the concurrency at the prompts."""
    if shape.num_prompts is None or shape.concurrency is None:
        return shape
    if shape.concurrency <= shape.num_prompts:
        return shape
    return replace(shape, concurrency=shape.num_prompts)


def _slots_per_process(shape: LoadShape, workers: int) -> int | None:
    """Connections one process may hold at once (None: an uncapped open loop)."""
    if shape.concurrency is None:
        return None
    return -(-shape.concurrency // workers)


def _deadlines(config: BenchConfig) -> Deadlines:
    return Deadlines(config.timeout_s, config.request_timeout_s, config.run_timeout_s)


def _fd_notes(records: Sequence[RequestRecord], fd_limit: int) -> list[str]:
    lost = sum(1 for r in records if r.outcome == Outcome.CLIENT_FD_LIMIT)
    if not lost:
        return []
    return [
        f"{lost} requests failed because the client ran out of file descriptors (limit "
        f"{fd_limit}): they measure the client, not the server; lower `concurrency` or use "
        "more `workers`"
    ]


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
    requests: _Requests,
    observers: Sequence[RunObserver],
) -> DriveOutcome:
    """``config.workers`` processes, each sending its share of the plan: the requests whose
    index is k modulo N, built by the worker as it sends them (token ids), or positions k, k+N, …
    of the requests built before the run (text).

    All share the parent's clock anchor (``perf_counter_ns`` is CLOCK_MONOTONIC, common to the
    host's processes) and append to the same ``requests.jsonl`` (whole-line batches, one
    ``write`` each, on an O_APPEND file). They start the measured phase together after a
    barrier, and exit when the parent dies. The parent tails the log to feed observers live,
    and on cancellation asks each worker to stop (SIGTERM). CPU time is each worker's load
    phase (its start-up imports excluded) plus the parent's own.
    """
    workers = config.workers
    shape = config.shape
    if shape.concurrency is not None and shape.concurrency < workers:
        raise ConfigError("`workers` must not exceed `concurrency`", field="workers")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    reports = context.SimpleQueue()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    processes = []
    for k in range(workers):
        args = (
            config,
            anchor,
            _Share(requests.bodies, requests.warm[k::workers], requests.measured[k::workers]),
            _share(shape.concurrency, workers, k),
            k,
            barrier,
            reports,
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
    cpu_s = time.process_time() - cpu0
    timed_out = False
    while not reports.empty():
        worker_cpu_s, worker_timed_out = reports.get()
        cpu_s += worker_cpu_s
        timed_out = timed_out or worker_timed_out
    records = read_requests(path) if path.exists() else []
    interrupted = interrupted or any(
        r.outcome == "incomplete"
        for r in records
        if not r.warmup and shape.duration_s is None and not timed_out
    )
    wall_s = time.perf_counter() - wall0
    return DriveOutcome(records, interrupted, stop_ns, cpu_s, wall_s, timed_out)


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


@dataclass(frozen=True)
class _Share:
    """A worker's requests: built by the worker from ``bodies``, or given (``warm``,
    ``measured``)."""

    bodies: _Bodies | None
    warm: list[PreparedRequest]
    measured: list[PreparedRequest]

    def requests(self, config: BenchConfig, worker: int) -> tuple[list[PreparedRequest], Source]:
        if self.bodies is None:
            return self.warm, Source(iter(self.measured))
        workers, shape = config.workers, config.shape
        plan = Schedule(shape, config.lengths, config.seed).requests(worker, workers)
        warm_count = len(range(worker, shape.warmup, workers))  # the plan's first (index order)
        warm = [self.bodies(item) for item in itertools.islice(plan, warm_count)]
        return warm, Source(self.bodies.built(plan))


def _worker_main(
    config: BenchConfig,
    anchor: ClockAnchor,
    share: _Share,
    slots: int | None,
    worker: int,
    barrier: Any,
    reports: Any,
) -> None:
    """Entry point of a worker process: its slice, its own event loop; SIGTERM stops it, and so
    does the parent's death (an orphan must never keep sending load)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    parent = multiprocessing.parent_process()
    _die_with_parent(None if parent is None else parent.pid)
    done = asyncio.run(_worker(config, anchor, share, slots, worker, barrier, parent))
    reports.put((done.cpu_s, done.run_timed_out))


def _die_with_parent(parent_pid: int | None) -> None:
    """Linux: have the kernel send SIGTERM when the parent dies (PR_SET_PDEATHSIG), then check
    the parent did not die before the call. Elsewhere the sentinel watch in ``_worker`` does it."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


async def _worker(
    config: BenchConfig,
    anchor: ClockAnchor,
    share: _Share,
    slots: int | None,
    worker: int,
    barrier: Any,
    parent: multiprocessing.process.BaseProcess | None,
) -> DriveOutcome:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    if parent is not None:  # the parent's sentinel turns readable (EOF) when it dies
        sentinel = parent.sentinel

        def orphaned() -> None:
            loop.remove_reader(sentinel)
            task.cancel()

        loop.add_reader(sentinel, orphaned)

    async def gate() -> None:
        wait_s = 600.0 if config.run_timeout_s is None else config.run_timeout_s
        try:
            await asyncio.to_thread(barrier.wait, wait_s)
        except threading.BrokenBarrierError:
            pass  # a worker passed the run deadline or was stopped: drive() sees the deadline
        except asyncio.CancelledError:
            barrier.abort()  # release this worker's waiting thread (and the others') now
            raise

    warm, source = share.requests(config, worker)
    return await drive(
        config.base_url.rstrip("/") + config.api.path,
        config.api,
        config.shape,
        _deadlines(config),
        config.out_dir / REQUESTS_FILE,
        anchor,
        warm,
        source,
        slots=slots,
        worker=worker,
        gate=gate,
    )
