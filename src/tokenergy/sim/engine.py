"""Continuous-batching engine model, stepped in simulated time.

Like vLLM V1, every running sequence is scheduled the tokens it still needs (its whole prompt,
chunked by the per-step token budget, or one token when decoding); a step that completes a
sequence's scheduled tokens samples its next token. Requests wait in a FIFO queue while the batch
is at ``max_num_seqs`` or the KV cache is full; when a running sequence cannot grow, the latest
admitted one is preempted and recomputed later (vLLM's recompute preemption).

Step time = base + per_seq·(decoding seqs) + per_context_token·(their context tokens)
          + per_prefill_token·(prefill tokens in the step).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from tokenergy.sim.clock import SimClock
from tokenergy.sim.power import EnergyLedger
from tokenergy.sim.profiles import Profile


@dataclass(frozen=True)
class TokenEvent:
    """One generated token of prompt ``choice``, emitted at the simulated end of its step."""

    choice: int
    token_index: int
    time_s: float
    finish_reason: str | None  # "length" or "stop" on the last token


@dataclass(eq=False)
class Sequence:
    """One prompt in flight. ``stop_at`` is its final output length, decided at submission."""

    prompt_len: int
    stop_at: int
    finish_reason: str
    arrival_s: float
    events: asyncio.Queue[TokenEvent]
    choice: int = 0
    generated: int = 0
    computed: int = 0  # tokens whose KV is in the cache
    aborted: bool = False
    counted_prompt: bool = False

    @property
    def target(self) -> int:
        """Tokens that must be computed before the next token can be sampled."""
        return self.prompt_len + self.generated


@dataclass
class _Planned:
    seq: Sequence
    tokens: int


@dataclass
class EngineStats:
    """Totals exposed at /metrics (vLLM counter semantics)."""

    prompt_tokens: int = 0
    generation_tokens: int = 0
    finished_by_reason: dict[str, int] = field(default_factory=dict)
    preemptions: int = 0
    steps: int = 0


class Engine:
    def __init__(self, profile: Profile, clock: SimClock, ledger: EnergyLedger) -> None:
        self.profile = profile
        self.clock = clock
        self.ledger = ledger
        self.stats = EngineStats()
        self._waiting: deque[Sequence] = deque()
        self._running: list[Sequence] = []
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()

    # --- state for metrics ----------------------------------------------------------------

    @property
    def num_running(self) -> int:
        return len(self._running)

    @property
    def num_waiting(self) -> int:
        return len(self._waiting)

    @property
    def kv_used_tokens(self) -> int:
        return sum(seq.computed for seq in self._running)

    # --- requests ---------------------------------------------------------------------------

    def submit(
        self,
        prompt_len: int,
        stop_at: int,
        finish_reason: str,
        events: asyncio.Queue[TokenEvent],
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
        self._wake.set()
        return seq

    def abort(self, seq: Sequence) -> None:
        """The client went away: drop the sequence at the next step."""
        seq.aborted = True

    # --- the loop ---------------------------------------------------------------------------

    async def run(self, start_delay_s: float = 0.0) -> None:
        """Step forever; ``start_delay_s`` (simulated) models a slow start before serving."""
        if start_delay_s > 0:
            await asyncio.sleep(self.clock.wall_delay_s(start_delay_s))
        self._ready.set()
        while True:
            plan = self._schedule()
            if not plan:
                if self._running or self._waiting:
                    raise RuntimeError("scheduler stalled: a sequence needs more KV than exists")
                self.ledger.set_running(self.clock.go_idle(), 0)
                self._wake.clear()
                await self._wake.wait()
                continue
            duration_s = self.step_time_s(plan)
            earliest_s = min(item.seq.arrival_s for item in plan)
            start_s, sleep_s = self.clock.begin_step(duration_s, earliest_s)
            self.ledger.set_running(start_s, len(plan))
            await asyncio.sleep(sleep_s)
            self._complete(plan, self.clock.end_step())

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    def step_time_s(self, plan: list[_Planned]) -> float:
        timing = self.profile.step
        decode = [p for p in plan if p.tokens == 1 and p.seq.computed > 0]
        prefill_tokens = sum(p.tokens for p in plan) - len(decode)
        context_tokens = sum(p.seq.computed + 1 for p in decode)
        return (
            timing.base_s
            + timing.per_seq_s * len(decode)
            + timing.per_context_token_s * context_tokens
            + timing.per_prefill_token_s * prefill_tokens
        )

    def _schedule(self) -> list[_Planned]:
        """Running sequences first (preempting the newest when KV runs out), then admissions."""
        limits = self.profile.scheduler
        self._running = [seq for seq in self._running if not seq.aborted]
        self._waiting = deque(seq for seq in self._waiting if not seq.aborted)
        budget = limits.max_num_batched_tokens
        kv_free = limits.kv_cache_tokens - self.kv_used_tokens
        plan: list[_Planned] = []
        index = 0
        while index < len(self._running) and budget > 0:
            seq = self._running[index]
            tokens = min(seq.target - seq.computed, budget)
            while tokens > kv_free and self._running[-1] is not seq:
                kv_free += self._preempt(self._running[-1])
            if tokens > kv_free:
                kv_free += self._preempt(seq)
                break
            plan.append(_Planned(seq, tokens))
            budget -= tokens
            kv_free -= tokens
            index += 1
        while self._waiting and budget > 0 and len(self._running) < limits.max_num_seqs:
            seq = self._waiting[0]
            tokens = min(seq.target - seq.computed, budget)
            if tokens > kv_free:
                break
            self._waiting.popleft()
            self._running.append(seq)
            plan.append(_Planned(seq, tokens))
            budget -= tokens
            kv_free -= tokens
        return plan

    def _preempt(self, seq: Sequence) -> int:
        """Free a sequence's KV and requeue it at the front; returns the tokens freed."""
        freed = seq.computed
        self._running.remove(seq)
        seq.computed = 0
        self._waiting.appendleft(seq)
        self.stats.preemptions += 1
        return freed

    def _complete(self, plan: list[_Planned], end_s: float) -> None:
        """Apply a finished step: KV grows, sequences at their target sample a token."""
        self.stats.steps += 1
        for item in plan:
            seq = item.seq
            seq.computed += item.tokens
            if seq.computed < seq.target or seq.aborted:
                continue
            if not seq.counted_prompt:
                seq.counted_prompt = True
                self.stats.prompt_tokens += seq.prompt_len
            seq.generated += 1
            self.stats.generation_tokens += 1
            done = seq.generated >= seq.stop_at
            seq.events.put_nowait(
                TokenEvent(
                    seq.choice, seq.generated - 1, end_s, seq.finish_reason if done else None
                )
            )
            if done:
                self._running.remove(seq)
                reasons = self.stats.finished_by_reason
                reasons[seq.finish_reason] = reasons.get(seq.finish_reason, 0) + 1
