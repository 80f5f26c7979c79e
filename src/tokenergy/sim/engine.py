"""Continuous-batching engine model, stepped in simulated time.

Like vLLM V1, every running sequence is scheduled the tokens it still needs (its whole prompt,
chunked by the per-step token budget, or one token when decoding); a step that completes a
sequence's scheduled tokens samples its next token. Requests wait in a FIFO queue while the batch
is at ``max_num_seqs`` or the KV cache is full; when a running sequence cannot grow, the latest
admitted one is preempted and recomputed later (vLLM's recompute preemption).

Step time = base + per_seq·(decoding seqs) + per_context_token·(their context tokens)
          + per_prefill_token·(prefill tokens in the step).

Client turnaround: when sequences finish and a closed-loop client owes follow-ups, the engine
holds the next step (no simulated time passes) until they arrive (see turnaround.py), so that
the client's own wall time does not become ``speed``× simulated time with the batch one short.

Behind schedule (a step's wall deadline has passed: always at ``--speed 1e6``, and whenever this
machine cannot keep up), due steps run back to back without yielding to the event loop, for up
to ``MAX_UNYIELDED_S`` wall, and sinks that buffer (sim/sinks.py) write each connection once
for all of them; the engine flushes them before it yields. No token leaves before its step's
wall deadline, and simulated time is unchanged: the steps are the same.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from tokenergy.sim.clock import SimClock
from tokenergy.sim.power import EnergyLedger
from tokenergy.sim.profiles import Profile
from tokenergy.sim.turnaround import HOLD_WAIT_S, ClosedLoopHold, HoldMode

# Wall seconds the engine may run due steps without yielding: arrivals wait at most this long
# to be admitted (methodology §8).
MAX_UNYIELDED_S = 0.002


class TokenEvent(NamedTuple):
    """One generated token of prompt ``choice``, emitted at the simulated end of its step."""

    choice: int
    token_index: int
    time_s: float
    finish_reason: str | None  # "length" or "stop" on the last token


class TokenSink(Protocol):
    """Where the engine delivers a sequence's tokens, at the simulated end of their step."""

    def put(self, event: TokenEvent) -> None: ...


class Buffered(Protocol):
    """A sink holding written-but-unsent bytes until the engine yields (``Engine.outbox``)."""

    def flush(self) -> None: ...


class TokenStream:
    """The tokens of one request's prompts: the engine appends each step's tokens, the reader
    takes everything pending at once (one wake-up and one write per step on schedule, per run
    of due steps behind it; never per token). The general path; sim/sinks.py has the fast ones."""

    __slots__ = ("_pending", "_waiter")

    def __init__(self) -> None:
        self._pending: list[TokenEvent] = []
        self._waiter: asyncio.Future[None] | None = None

    def put(self, event: TokenEvent) -> None:
        self._pending.append(event)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def take(self) -> list[TokenEvent]:
        """Every token delivered since the last call (waits for at least one)."""
        while not self._pending:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        events, self._pending = self._pending, []
        return events


@dataclass(eq=False)
class Sequence:
    """One prompt in flight. ``stop_at`` is its final output length, decided at submission."""

    prompt_len: int
    stop_at: int
    finish_reason: str
    arrival_s: float
    events: TokenSink
    choice: int = 0
    generated: int = 0
    computed: int = 0  # tokens whose KV is in the cache
    aborted: bool = False
    first_token_s: float | None = None

    @property
    def target(self) -> int:
        """Tokens that must be computed before the next token can be sampled."""
        return self.prompt_len + self.generated


_Planned = tuple[Sequence, int]  # a sequence and the tokens it computes in the step


@dataclass
class EngineStats:
    """Totals exposed at /metrics (vLLM counter semantics)."""

    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished_by_reason: dict[str, int] = field(default_factory=dict)
    preemptions: int = 0
    steps: int = 0


class Engine:
    def __init__(
        self,
        profile: Profile,
        clock: SimClock,
        ledger: EnergyLedger,
        hold: HoldMode = HoldMode.AUTO,
        max_unyielded_s: float = MAX_UNYIELDED_S,
    ) -> None:
        self.profile = profile
        self.max_unyielded_s = max_unyielded_s  # 0: yield after every step
        self.clock = clock
        self.ledger = ledger
        self.stats = EngineStats()
        self._waiting: deque[Sequence] = deque()
        self._running: list[Sequence] = []
        self._kv_used = 0  # tokens in the KV cache of running sequences
        self._aborts = 0  # aborted sequences not yet dropped
        self._hold = ClosedLoopHold(hold)
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self.on_finish: Callable[[Sequence, float], None] | None = None
        self.outbox: list[Buffered] = []  # sinks with bytes to send before the engine yields
        self._yielded_wall_s = time.monotonic()

    # --- state for metrics ----------------------------------------------------------------

    @property
    def num_running(self) -> int:
        return len(self._running)

    @property
    def num_waiting(self) -> int:
        return len(self._waiting)

    @property
    def kv_used_tokens(self) -> int:
        return self._kv_used

    # --- requests ---------------------------------------------------------------------------

    def submit(
        self,
        prompt_len: int,
        stop_at: int,
        finish_reason: str,
        events: TokenSink,
        choice: int = 0,
    ) -> Sequence:
        """Queue a prompt; its tokens arrive on ``events`` (shared by a request's prompts)."""
        if stop_at < 1 or prompt_len < 1:
            raise ValueError("a sequence needs a prompt token and at least one output token")
        seq = Sequence(
            prompt_len=prompt_len,
            stop_at=stop_at,
            finish_reason=finish_reason,
            arrival_s=self.clock.now_s(),
            events=events,
            choice=choice,
        )
        self._waiting.append(seq)
        self._hold.arrived()
        self._wake.set()
        return seq

    def abort(self, seq: Sequence) -> None:
        """The client went away: drop the sequence at the next step."""
        if not seq.aborted and seq.generated < seq.stop_at:
            seq.aborted = True
            self._aborts += 1

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, start_delay_s: float = 0.0) -> None:
        """Step forever; ``start_delay_s`` (simulated) models a slow start before serving."""
        if start_delay_s > 0:
            await asyncio.sleep(self.clock.wall_delay_s(start_delay_s))
        self._ready.set()
        while True:
            idle_since_wall_s = (
                await self._wait_for_turnaround() if self._hold.should_hold else None
            )
            plan = self._schedule()
            if not plan:
                if self._running or self._waiting:
                    raise RuntimeError("scheduler stalled: a sequence needs more KV than exists")
                self.ledger.set_running(self.clock.go_idle(idle_since_wall_s), 0)
                self._hold.idle()
                self._wake.clear()
                self.flush()
                await self._wake.wait()
                self._yielded_wall_s = time.monotonic()
                continue
            duration_s = self.step_time_s(plan)
            earliest_s = 0.0 if self.clock.busy else min(seq.arrival_s for seq, _ in plan)
            start_s, sleep_s = self.clock.begin_step(duration_s, earliest_s)
            self.ledger.set_running(start_s, len(plan))
            if sleep_s > 0 or time.monotonic() - self._yielded_wall_s >= self.max_unyielded_s:
                self.flush()
                await asyncio.sleep(sleep_s)  # a step's tokens leave at its end, never before
                self._yielded_wall_s = time.monotonic()
            self._complete(plan, self.clock.end_step())

    def flush(self) -> None:
        """Send what the steps since the engine last yielded left in buffering sinks."""
        outbox = self.outbox
        for sink in outbox:
            sink.flush()
        outbox.clear()

    async def _wait_for_turnaround(self) -> float | None:
        """Hold (no simulated time) while freed slots are owed follow-ups and the batch has room.

        Returns None, or the wall time the hold began if it expired, so that idling counts from
        then and a client that has stopped sending leaves the idle time unchanged.
        """
        cap = self.profile.scheduler.max_num_seqs
        started_wall_s = time.monotonic()
        deadline_s = started_wall_s + HOLD_WAIT_S
        while self._hold.should_hold and len(self._running) + len(self._waiting) < cap:
            self._wake.clear()
            remaining_s = deadline_s - time.monotonic()
            if remaining_s <= 0:
                self._hold.expired()
                return started_wall_s
            self.flush()  # running sequences' events (finished ones' go with their last token)
            try:
                async with asyncio.timeout(remaining_s):
                    await self._wake.wait()
            except TimeoutError:
                continue
            finally:
                self._yielded_wall_s = time.monotonic()
        return None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def step_time_s(self, plan: list[_Planned]) -> float:
        timing = self.profile.step
        decoding = prefill_tokens = context_tokens = 0
        for seq, tokens in plan:
            if tokens == 1 and seq.computed > 0:
                decoding += 1
                context_tokens += seq.computed + 1
            else:
                prefill_tokens += tokens
        return (
            timing.base_s
            + timing.per_seq_s * decoding
            + timing.per_context_token_s * context_tokens
            + timing.per_prefill_token_s * prefill_tokens
        )

    def _drop_aborted(self) -> None:
        running: list[Sequence] = []
        for seq in self._running:
            if seq.aborted:
                self._kv_used -= seq.computed
                self._hold.freed()
            else:
                running.append(seq)
        self._running = running
        self._waiting = deque(seq for seq in self._waiting if not seq.aborted)
        self._aborts = 0

    def _schedule(self) -> list[_Planned]:
        """Running sequences first (preempting the newest when KV runs out), then admissions."""
        limits = self.profile.scheduler
        if self._aborts:
            self._drop_aborted()
        budget = limits.max_num_batched_tokens
        kv_free = limits.kv_cache_tokens - self._kv_used
        plan: list[_Planned] = []
        running = self._running
        index = 0
        while index < len(running) and budget > 0:  # per sequence per step: kept lean
            seq = running[index]
            tokens = seq.prompt_len + seq.generated - seq.computed
            if tokens > budget:
                tokens = budget
            if tokens > kv_free:
                while tokens > kv_free and running[-1] is not seq:
                    kv_free += self._preempt(running[-1])
                if tokens > kv_free:
                    kv_free += self._preempt(seq)
                    break
            plan.append((seq, tokens))
            budget -= tokens
            kv_free -= tokens
            index += 1
        while self._waiting and budget > 0 and len(running) < limits.max_num_seqs:
            seq = self._waiting[0]
            tokens = min(seq.target - seq.computed, budget)
            if tokens > kv_free:
                break
            self._waiting.popleft()
            running.append(seq)
            plan.append((seq, tokens))
            budget -= tokens
            kv_free -= tokens
        return plan

    def _preempt(self, seq: Sequence) -> int:
        """Free a sequence's KV and requeue it at the front; returns the tokens freed."""
        freed = seq.computed
        self._running.remove(seq)
        self._kv_used -= freed
        seq.computed = 0
        self._waiting.appendleft(seq)
        self.stats.preemptions += 1
        return freed

    def _complete(self, plan: list[_Planned], end_s: float) -> None:
        """Apply a finished step: KV grows, sequences at their target sample a token."""
        stats = self.stats
        stats.steps += 1
        finished = 0
        for seq, tokens in plan:
            seq.computed += tokens
            self._kv_used += tokens
            if seq.computed < seq.prompt_len + seq.generated or seq.aborted:
                continue
            if seq.first_token_s is None:
                seq.first_token_s = end_s
                stats.prompt_tokens += seq.prompt_len
            seq.generated += 1
            stats.generation_tokens += 1
            if seq.generated < seq.stop_at:
                seq.events.put(TokenEvent(seq.choice, seq.generated - 1, end_s, None))
                continue
            seq.events.put(TokenEvent(seq.choice, seq.generated - 1, end_s, seq.finish_reason))
            finished += 1
            self._kv_used -= seq.computed
            self._hold.freed()
            reasons = stats.finished_by_reason
            reasons[seq.finish_reason] = reasons.get(seq.finish_reason, 0) + 1
            if self.on_finish is not None:
                self.on_finish(seq, end_s)
        if finished:
            self._running = [seq for seq in self._running if seq.generated < seq.stop_at]
