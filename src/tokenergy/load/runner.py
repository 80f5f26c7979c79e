"""The runner: prepares the workload, drives the schedule, logs each request, summarises the run.

Energy meters (and the CLI's progress bar) plug in through :class:`RunObserver`: they are told
the clock anchor at the start, each request as it ends, the stop time, and finally the
measurement window, for which a meter returns its ``EnergyMeasurement``. Observer calls run on the
event loop, so they must be quick (a sampling meter runs its own thread).
"""

from __future__ import annotations

import asyncio
import platform
import resource
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from tokenergy import __version__
from tokenergy.errors import ConfigError, ServerError
from tokenergy.load.client import (
    Api,
    ClockAnchor,
    Outcome,
    RequestOptions,
    RequestRecord,
    ServerTokenCounter,
    server_info,
    stream_request,
)
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
from tokenergy.load.runlog import (
    REQUESTS_FILE,
    RUN_FILE,
    VLLM_BENCH_FILE,
    RequestLog,
    vllm_bench_export,
    write_json,
)
from tokenergy.load.schedule import LoadShape, Schedule, ScheduledRequest
from tokenergy.load.workload import (
    Conversation,
    LengthSpec,
    PromptBuilder,
    PromptKind,
    TokenCounter,
    conversation_lengths,
)
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
DATASET_SAMPLE = 1000  # conversations tokenized to build the empirical length distribution


class LengthMismatchError(ServerError):
    """Too many requests came back with other lengths than asked (the run is not what it claims)."""


class RunObserver:
    """Hook for meters and progress displays; override what you need (all default to no-ops)."""

    def on_start(self, anchor: ClockAnchor) -> None:
        """Measured load is about to start; ``anchor`` maps run-relative ns to wall-clock time."""

    def on_request_done(self, record: RequestRecord) -> None:
        """A request ended (any outcome, warm-up included: check ``record.warmup``)."""

    def on_stop(self, stop_ns: int) -> None:
        """The load stopped (run-relative ns); nothing more will be sent."""

    def on_window(self, window: Window) -> EnergyMeasurement | None:
        """The window the result covers; a meter returns the energy measured over it."""
        return None


@dataclass(frozen=True)
class BenchConfig:
    """One load point: where, what, how much. ``prompt_kind`` None = token ids when accepted."""

    base_url: str
    model: str
    lengths: LengthSpec
    shape: LoadShape
    out_dir: Path
    api: Api = Api.COMPLETIONS
    seed: int = 0
    prompt_kind: PromptKind | None = None
    timeout_s: float = 600.0
    max_length_mismatch: float = 0.01
    dataset: str | None = None
    conversations: tuple[Conversation, ...] = ()
    extra_body: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        shape = self.shape
        return {
            "base_url": self.base_url,
            "model": self.model,
            "api": self.api.value,
            "lengths": {
                "kind": self.lengths.kind.value,
                "isl": self.lengths.isl,
                "osl": self.lengths.osl,
                "range_ratio": self.lengths.range_ratio,
                "source": self.lengths.source,
            },
            "concurrency": shape.concurrency,
            "rate_rps": shape.rate_rps,
            "burstiness": shape.burstiness,
            "num_prompts": shape.num_prompts,
            "duration_s": shape.duration_s,
            "warmup": shape.warmup,
            "seed": self.seed,
            "prompt_kind": None if self.prompt_kind is None else self.prompt_kind.value,
            "timeout_s": self.timeout_s,
            "max_length_mismatch": self.max_length_mismatch,
            "dataset": self.dataset,
            "extra_body": self.extra_body,
        }


@dataclass(frozen=True)
class SelfCheck:
    """Is the client keeping up? Schedule delay, achieved vs requested rate, client CPU."""

    schedule_delay_p99_s: float | None
    requested_rate_rps: float | None
    achieved_send_rate_rps: float | None
    client_cpu_percent: float
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
    records: list[RequestRecord]
    interrupted: bool


# --- preparation ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capabilities:
    """What the server accepted in the probe requests."""

    token_ids: bool
    continuous_usage: bool


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


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    planned: ScheduledRequest
    body: bytes


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


class _Driver:
    """Sends the prepared requests, closed or open loop, and keeps every record."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        api: Api,
        anchor: ClockAnchor,
        log: RequestLog,
        observers: Sequence[RunObserver],
    ) -> None:
        self.session = session
        self.url = url
        self.api = api
        self.anchor = anchor
        self.log = log
        self.observers = observers
        self.records: list[RequestRecord] = []
        self.in_flight: set[asyncio.Task[None]] = set()

    def now_ns(self) -> int:
        return time.perf_counter_ns() - self.anchor.perf_ns

    async def send(self, item: PreparedRequest, slot_free_ns: int | None) -> None:
        planned = item.planned
        target = None if planned.target_s is None else round(planned.target_s * 1e9)
        record = RequestRecord(
            planned.index, planned.warmup, planned.isl, planned.osl, target, slot_free_ns
        )
        self.records.append(record)
        try:
            await stream_request(
                self.session, self.url, self.api, item.body, record, self.anchor.perf_ns
            )
        except asyncio.CancelledError:
            record.outcome = Outcome.INCOMPLETE
            record.error = "stopped before the request ended"
            record.end_ns = self.now_ns()
            if record.chunk_ns:
                record.first_token_ns = record.chunk_ns[0]
            raise
        finally:
            self.log.append(record)
            for observer in self.observers:
                observer.on_request_done(record)

    def spawn(self, item: PreparedRequest, slot_free_ns: int | None) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self.send(item, slot_free_ns))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)
        return task

    async def closed_loop(self, source: _Source, slots: int, deadline_ns: int | None) -> None:
        async def slot() -> None:
            free_ns = self.now_ns()
            while deadline_ns is None or free_ns < deadline_ns:
                item = await source.get()
                if item is None:
                    return
                await self.spawn(item, free_ns)
                free_ns = self.now_ns()

        await self.until(asyncio.gather(*(slot() for _ in range(slots))), deadline_ns)

    async def open_loop(self, items: list[PreparedRequest], cap: int | None, start_ns: int) -> None:
        limit = asyncio.Semaphore(cap) if cap else None

        async def release_after(task: asyncio.Task[None]) -> None:
            try:
                await task
            finally:
                if limit is not None:
                    limit.release()

        waiters: list[asyncio.Task[None]] = []
        for item in items:
            assert item.planned.target_s is not None
            due_ns = start_ns + round(item.planned.target_s * 1e9)
            wait_s = (due_ns - self.now_ns()) / 1e9
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            if limit is not None:
                await limit.acquire()
            waiters.append(asyncio.ensure_future(release_after(self.spawn(item, None))))
        await asyncio.gather(*waiters, return_exceptions=True)

    async def until(self, work: asyncio.Future[Any], deadline_ns: int | None) -> None:
        """Await ``work``; at the deadline, cut whatever is in flight (→ incomplete)."""
        if deadline_ns is None:
            await work
            return
        try:
            remaining_s = max(0.0, (deadline_ns - self.now_ns()) / 1e9)
            await asyncio.wait_for(asyncio.shield(work), remaining_s)
        except TimeoutError:
            await self.cancel_in_flight()
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)

    async def cancel_in_flight(self) -> None:
        tasks = list(self.in_flight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Source:
    """Hands out prepared requests: a list built before the run, or (a closed loop stopped only
    by duration, whose count is unknown) a producer that builds ahead into a bounded queue.
    """

    def __init__(self, items: Iterator[PreparedRequest]) -> None:
        self._items = items
        self._queue: asyncio.Queue[PreparedRequest | None] | None = None
        self._producer: asyncio.Task[None] | None = None

    @classmethod
    def ahead(
        cls,
        plan: Iterator[ScheduledRequest],
        build: Callable[[ScheduledRequest], Awaitable[PreparedRequest]],
        depth: int,
    ) -> _Source:
        source = cls(iter(()))
        queue: asyncio.Queue[PreparedRequest | None] = asyncio.Queue(maxsize=depth)

        async def produce() -> None:
            for planned in plan:
                await queue.put(await build(planned))
            await queue.put(None)

        source._queue = queue
        source._producer = asyncio.ensure_future(produce())
        return source

    async def prime(self) -> None:
        """Wait until the queue is full, so the first sends do not wait for prompt building."""
        if self._queue is not None and self._producer is not None:
            while not self._queue.full() and not self._producer.done():
                await asyncio.sleep(0.005)

    def items(self) -> Iterator[PreparedRequest]:
        if self._queue is not None:
            raise ConfigError("an open-loop plan must be finite")
        return self._items

    async def get(self) -> PreparedRequest | None:
        if self._queue is None:
            return next(self._items, None)
        item = await self._queue.get()
        if item is None:
            self._queue.put_nowait(None)  # let the other slots see the end too
        return item

    def close(self) -> None:
        if self._producer is not None:
            self._producer.cancel()


async def run_point(config: BenchConfig, observers: Sequence[RunObserver] = ()) -> RunResult:
    """Run one load point and write its run directory.

    Raises ServerError before any load if the server is unreachable or unusable, and
    LengthMismatchError (after writing everything) above the mismatch threshold. Cancelled
    (Ctrl-C), it cuts the requests in flight, still writes run.json, then re-raises.
    """
    meta_timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=meta_timeout) as meta:
        info = await server_info(meta, config.base_url)
        if not config.model:
            config = replace(config, model=_first_model(info, config.base_url))
        counter = ServerTokenCounter(meta, config.base_url, config.model)
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
            continuous_usage=caps.continuous_usage,
            extra_body=config.extra_body,
        )
        build = _builder(builder, options, config.seed)
        schedule = Schedule(shape, config.lengths, config.seed)
        endless = shape.num_prompts is None and shape.closed_loop
        if endless:
            assert shape.concurrency is not None
            plan = schedule.requests()
            warm = await _prepare([next(plan) for _ in range(shape.warmup)], build)
            source = _Source.ahead(plan, build, depth=2 * shape.concurrency + 16)
            await source.prime()
        else:
            prepared = await _prepare(list(schedule), build)
            warm = [p for p in prepared if p.planned.warmup]
            measured = [p for p in prepared if not p.planned.warmup]
            source = _Source(iter(measured))
        try:
            records, interrupted, cpu_s, wall_s, anchor = await _drive(
                config, warm, source, observers
            )
        finally:
            source.close()
    outcome = _summarise(config, info, caps, kind, anchor, records, observers, interrupted)
    outcome.self_check = _self_check(config, records, cpu_s, wall_s)
    _write(config, outcome, anchor)
    if interrupted:
        raise asyncio.CancelledError
    _enforce_lengths(config, outcome)
    return outcome


async def _drive(
    config: BenchConfig,
    warm: list[PreparedRequest],
    source: _Source,
    observers: Sequence[RunObserver],
) -> tuple[list[RequestRecord], bool, float, float, ClockAnchor]:
    """Warm-up (to completion, excluded), then the measured load; returns records and clocks."""
    shape = config.shape
    out_dir = config.out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / REQUESTS_FILE).unlink(missing_ok=True)
    log = RequestLog(out_dir / REQUESTS_FILE)
    connector = aiohttp.TCPConnector(limit=shape.concurrency or 0, limit_per_host=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=config.timeout_s)
    session = aiohttp.ClientSession(connector=connector, timeout=timeout)
    anchor = ClockAnchor.now()
    url = config.base_url.rstrip("/") + config.api.path
    driver = _Driver(session, url, config.api, anchor, log, observers)
    for observer in observers:
        observer.on_start(anchor)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    interrupted = False
    try:
        if warm:
            await driver.closed_loop(_Source(iter(warm)), shape.concurrency or 1, None)
        start_ns = driver.now_ns()
        deadline = None if shape.duration_s is None else start_ns + round(shape.duration_s * 1e9)
        if shape.closed_loop:
            assert shape.concurrency is not None
            await driver.closed_loop(source, shape.concurrency, deadline)
        else:
            items = list(source_items(source))
            load = asyncio.ensure_future(driver.open_loop(items, shape.concurrency, start_ns))
            await driver.until(load, deadline)
    except asyncio.CancelledError:
        interrupted = True
        await driver.cancel_in_flight()
    finally:
        stop_ns = driver.now_ns()
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
        await session.close()
        log.close()
        for observer in observers:
            observer.on_stop(stop_ns)
    return driver.records, interrupted, cpu_s, wall_s, anchor


def source_items(source: _Source) -> Iterator[PreparedRequest]:
    """The items of a list-backed source (open loop plans are always finite)."""
    return source.items()


def _enforce_lengths(config: BenchConfig, outcome: RunResult) -> None:
    ok = [r for r in outcome.records if r.ok and not r.warmup]
    if not ok or outcome.length_mismatches / len(ok) <= config.max_length_mismatch:
        return
    first = next(r for r in ok if r.length_mismatch)
    raise LengthMismatchError(
        f"{outcome.length_mismatches} of {len(ok)} requests came back with other lengths than "
        f"asked (e.g. request {first.index}: asked {first.isl}/{first.osl}, server counted "
        f"{first.prompt_tokens}/{first.completion_tokens}); above --max-length-mismatch "
        f"{config.max_length_mismatch:.1%}; results kept in {outcome.out_dir}"
    )


def _self_check(
    config: BenchConfig, records: Sequence[RequestRecord], cpu_s: float, wall_s: float
) -> SelfCheck:
    measured = [r for r in records if not r.warmup and r.send_ns is not None]
    delays = [d / 1e9 for r in measured if (d := r.schedule_delay_ns) is not None]
    delay_stats = metric_stats(delays)
    p99 = delay_stats.p99 if delay_stats else None
    requested = config.shape.rate_rps
    achieved = None
    sends = sorted(r.send_ns for r in measured if r.send_ns is not None)
    if len(sends) > 1 and sends[-1] > sends[0]:
        achieved = (len(sends) - 1) / ((sends[-1] - sends[0]) / 1e9)
    cpu_percent = 100.0 * cpu_s / wall_s if wall_s > 0 else 0.0
    warnings = []
    if cpu_percent > CLIENT_CPU_WARN_PERCENT:
        warnings.append(
            f"client used {cpu_percent:.0f}% of a CPU core: it may be the bottleneck "
            "(try --workers N)"
        )
    if p99 is not None and p99 > SCHEDULE_DELAY_WARN_S:
        warnings.append(f"schedule delay p99 {p99 * 1000:.1f} ms: the client sent late")
    if requested and achieved and achieved < 0.9 * requested:
        warnings.append(
            f"achieved send rate {achieved:.3g} req/s is below the requested {requested:.3g}"
        )
    return SelfCheck(p99, requested, achieved, cpu_percent, warnings)


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


def _served_model(info: dict[str, Any], model: str) -> dict[str, Any]:
    models = info.get("models") or {}
    for entry in models.get("data", []) if isinstance(models, dict) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return entry
    return {}


def _summarise(
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
    energy = None
    if window is not None:
        for observer in observers:
            energy = observer.on_window(window) or energy
    served = _served_model(info, config.model)
    simulated = bool(served.get("simulated")) or "sim" in str(served.get("owned_by", ""))
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
        },
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
    whole_result = _result(identity, workload, provenance, measured, whole, None, whole=True)
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
        self_check=SelfCheck(None, None, None, 0.0, []),
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


def _write(config: BenchConfig, outcome: RunResult, anchor: ClockAnchor) -> None:
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
            "achieved_send_rate_rps": check.achieved_send_rate_rps,
            "client_cpu_percent": check.client_cpu_percent,
            "warnings": check.warnings,
        },
        "length_mismatches": outcome.length_mismatches,
        "interrupted": outcome.interrupted,
    }
    write_json(config.out_dir / RUN_FILE, payload)
    export = vllm_bench_export(
        [r for r in outcome.records if not r.warmup],
        model=config.model,
        backend="openai" if config.api is Api.COMPLETIONS else "openai-chat",
        date=datetime.fromtimestamp(anchor.wall_ns / 1e9).strftime("%Y%m%d-%H%M%S"),
        request_rate=config.shape.rate_rps,
        burstiness=config.shape.burstiness,
        max_concurrency=config.shape.concurrency,
    )
    write_json(config.out_dir / VLLM_BENCH_FILE, export)
