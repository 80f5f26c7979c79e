"""The sender: drives prepared requests closed or open loop and logs each one as it ends.

Observers (energy meters, progress bars) plug in through :class:`RunObserver`: they are told the
clock anchor at the start, each request as it ends, the stop time, and finally the measurement
window, for which a meter returns its ``EnergyMeasurement``. Observer calls run on the event
loop, so they must be quick (a sampling meter runs its own thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tokenergy.load.client import (
    DEFAULT_REQUEST_TIMEOUT_S,
    Api,
    ClockAnchor,
    Outcome,
    RequestRecord,
    stream_request,
)
from tokenergy.load.metrics import Window
from tokenergy.load.runlog import RequestLog
from tokenergy.load.schedule import LoadShape, ScheduledRequest
from tokenergy.records import EnergyMeasurement, ServingResult


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

    def on_whole_run(self, window: Window) -> EnergyMeasurement | None:
        """The whole run's span (first send → last end); a meter returns its energy too."""
        return None

    def run_sections(self, result: ServingResult, whole_run: ServingResult) -> dict[str, Any]:
        """Sections this observer adds to run.json, which is written once, after the run
        (``result`` covers the window energy is attributed to, ``whole_run`` the whole run)."""
        return {}


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    planned: ScheduledRequest
    body: bytes


class Driver:
    """Sends the prepared requests, closed or open loop, and keeps every record."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        api: Api,
        anchor: ClockAnchor,
        log: RequestLog,
        observers: Sequence[RunObserver],
        worker: int = 0,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        read_timeout_s: float | None = None,
    ) -> None:
        self.session = session
        self.request_timeout_s = request_timeout_s
        self.read_timeout_s = read_timeout_s
        self.url = url
        self.api = api
        self.anchor = anchor
        self.log = log
        self.observers = observers
        self.worker = worker
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
        record.worker = self.worker
        self.records.append(record)
        try:
            await stream_request(
                self.session,
                self.url,
                self.api,
                item.body,
                record,
                self.anchor.perf_ns,
                self.request_timeout_s,
                self.read_timeout_s,
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

    async def closed_loop(self, source: Source, slots: int, deadline_ns: int | None) -> None:
        """``slots`` coroutines, each sending its next request when its previous one ended.

        Requests run inside their slot's task (no task per request: less overhead per
        request); cancelling the slots cuts the requests in flight.
        """

        async def slot() -> None:
            free_ns = self.now_ns()
            while deadline_ns is None or free_ns < deadline_ns:
                item = await source.get()
                if item is None:
                    return
                await self.send(item, free_ns)
                free_ns = self.now_ns()

        tasks = [asyncio.ensure_future(slot()) for _ in range(slots)]
        for task in tasks:
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)
        await self.until(asyncio.gather(*tasks), deadline_ns)

    async def open_loop(self, source: Source, cap: int | None, start_ns: int) -> None:
        """Each request at its target time (built just before its wait), at most ``cap`` in
        flight."""
        limit = asyncio.Semaphore(cap) if cap else None

        async def release_after(task: asyncio.Task[None]) -> None:
            try:
                await task
            finally:
                if limit is not None:
                    limit.release()

        waiters: list[asyncio.Task[None]] = []
        while (item := await source.get()) is not None:
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


class Source:
    """Hands out prepared requests: from an iterator (built before the run, or built as each is
    taken), or from a producer that builds ahead into a bounded queue (prompts whose building
    awaits a tokenizer).
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
    ) -> Source:
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


@dataclass(frozen=True)
class DriveOutcome:
    records: list[RequestRecord]
    interrupted: bool
    stop_ns: int
    cpu_s: float
    wall_s: float
    run_timed_out: bool = False


@dataclass(frozen=True)
class Deadlines:
    """Per read (longest silence), per request (send to last byte), and the whole run from the
    clock anchor (None = none)."""

    read_s: float
    request_s: float = DEFAULT_REQUEST_TIMEOUT_S
    run_s: float | None = None


# The cyclic collector's first threshold during a load phase. The load makes almost no cyclic
# garbage (~0.5 object per request, measured at c = 256: refcounting frees the rest), but short
# bursts of allocations (a batch's regex matches, aiohttp's per-request objects) pushed the
# default count (700) over its threshold every ~15 requests: 30-60 µs of collections per request.
LOAD_GC_THRESHOLD = 50_000
_loads_running = 0  # drive() calls in progress in this process (the first sets, the last restores)
_thresholds = gc.get_threshold()


@contextlib.asynccontextmanager
async def _few_collections() -> AsyncIterator[None]:
    """Collect cyclic garbage rarely while load runs (at most LOAD_GC_THRESHOLD net container
    allocations pending), and restore the process's thresholds when the last load ends."""
    global _loads_running, _thresholds
    if _loads_running == 0:
        _thresholds = gc.get_threshold()
        gc.set_threshold(LOAD_GC_THRESHOLD, *_thresholds[1:])
    _loads_running += 1
    try:
        yield
    finally:
        _loads_running -= 1
        if _loads_running == 0:
            gc.set_threshold(*_thresholds)


@_few_collections()
async def drive(
    url: str,
    api: Api,
    shape: LoadShape,
    deadlines: Deadlines,
    requests_path: Path,
    anchor: ClockAnchor,
    warm: list[PreparedRequest],
    source: Source,
    observers: Sequence[RunObserver] = (),
    *,
    slots: int | None,
    worker: int = 0,
    gate: Callable[[], Awaitable[None]] | None = None,
) -> DriveOutcome:
    """Warm-up (to completion, excluded), then the measured load, in this process.

    ``slots`` is this process's closed-loop concurrency or open-loop cap (None = uncapped);
    ``gate`` is awaited between warm-up and measured load (worker processes start together).
    Cancellation (Ctrl-C) and the run deadline cut the requests in flight, which are logged as
    incomplete. CPU and wall time cover this call only (not a worker's start-up imports).
    """
    cpu0, wall0 = time.process_time(), time.perf_counter()
    log = RequestLog(requests_path)
    connector = aiohttp.TCPConnector(limit=slots or 0, limit_per_host=0)
    # The read timeout is the client's own (stream_request), not aiohttp's sock_read, which
    # re-arms a timer on every socket read.
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    session = aiohttp.ClientSession(connector=connector, timeout=timeout)
    driver = Driver(
        session, url, api, anchor, log, observers, worker, deadlines.request_s, deadlines.read_s
    )
    # The run deadline counts from the anchor, so worker processes share it.
    run_deadline = None if deadlines.run_s is None else round(deadlines.run_s * 1e9)
    interrupted = False
    try:
        if warm:
            warm_slots = min(slots or 1, len(warm))
            await driver.closed_loop(Source(iter(warm)), warm_slots, run_deadline)
        if gate is not None and not _passed(driver, run_deadline):
            await gate()
        start_ns = driver.now_ns()
        deadline = None if shape.duration_s is None else start_ns + round(shape.duration_s * 1e9)
        if run_deadline is not None:
            deadline = run_deadline if deadline is None else min(deadline, run_deadline)
        if _passed(driver, run_deadline):
            pass  # the warm-up used the whole run deadline: nothing measured is sent
        elif shape.closed_loop:
            assert slots is not None
            await driver.closed_loop(source, slots, deadline)
        else:
            load = asyncio.ensure_future(driver.open_loop(source, slots, start_ns))
            await driver.until(load, deadline)
    except asyncio.CancelledError:
        interrupted = True
        await driver.cancel_in_flight()
    finally:
        stop_ns = driver.now_ns()
        await session.close()
        log.close()
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
    timed_out = run_deadline is not None and stop_ns >= run_deadline
    return DriveOutcome(driver.records, interrupted, stop_ns, cpu_s, wall_s, timed_out)


def _passed(driver: Driver, deadline_ns: int | None) -> bool:
    return deadline_ns is not None and driver.now_ns() >= deadline_ns
