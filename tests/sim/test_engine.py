"""Engine timing and scheduling, driven directly in simulated time (no HTTP)."""

from __future__ import annotations

import asyncio

import pytest

from tokenergy.sim.clock import SimClock
from tokenergy.sim.engine import Engine, Sequence, TokenEvent, TokenStream
from tokenergy.sim.power import EnergyLedger, gpu_power_w
from tokenergy.sim.profiles import Profile, load_profile

FAST = 1e9


def _profile(**scheduler: int) -> Profile:
    base = load_profile("llama-3.1-8b-h100")
    merged = base.scheduler.model_copy(update=scheduler)
    return base.model_copy(update={"scheduler": merged})


async def _run(
    profile: Profile, prompts: list[tuple[int, int]]
) -> tuple[list[list[TokenEvent]], Engine, list[Sequence]]:
    """Submit all (prompt_len, output_len) at t=0 and collect each one's token events."""
    clock = SimClock(FAST)
    engine = Engine(profile, clock, EnergyLedger(profile.power, profile.num_gpus))
    runner = asyncio.create_task(engine.run())
    queues, seqs = [], []
    for prompt_len, output_len in prompts:
        queue = TokenStream()
        seqs.append(engine.submit(prompt_len, output_len, "length", queue))
        queues.append(queue)

    async def drain(queue: TokenStream) -> list[TokenEvent]:
        events = await queue.take()
        while events[-1].finish_reason is None:
            events += await queue.take()
        return events

    results = await asyncio.gather(*(drain(q) for q in queues))
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    return list(results), engine, seqs


def _itl_s(events: list[TokenEvent]) -> float:
    return (events[-1].time_s - events[1].time_s) / (len(events) - 2)


async def test_decode_step_time_grows_with_batch() -> None:
    profile = _profile()
    single, _, _ = await _run(profile, [(100, 50)])
    batch, _, _ = await _run(profile, [(100, 50)] * 64)
    step = profile.step
    expected_1 = step.base_s + step.per_seq_s + step.per_context_token_s * (100 + 25)
    assert _itl_s(single[0]) == pytest.approx(expected_1, rel=0.02)
    assert _itl_s(batch[0]) > _itl_s(single[0]) + 60 * step.per_seq_s


async def test_prefill_cost_grows_with_prompt_tokens() -> None:
    profile = _profile()
    short, _, short_seqs = await _run(profile, [(100, 2)])
    long, _, long_seqs = await _run(profile, [(4000, 2)])
    short_ttft_s = short[0][0].time_s - short_seqs[0].arrival_s
    long_ttft_s = long[0][0].time_s - long_seqs[0].arrival_s
    step = profile.step
    assert short_ttft_s == pytest.approx(step.base_s + 100 * step.per_prefill_token_s, rel=1e-6)
    assert long_ttft_s - short_ttft_s == pytest.approx(3900 * step.per_prefill_token_s, rel=1e-6)


async def test_long_prompt_is_chunked_by_token_budget() -> None:
    profile = _profile(max_num_batched_tokens=1000)
    events, engine, _ = await _run(profile, [(3500, 1)])
    assert engine.stats.steps == 4  # ceil(3500 / 1000) prefill chunks, the last one samples
    assert len(events[0]) == 1


async def test_max_num_seqs_caps_the_batch_and_queues_the_rest() -> None:
    profile = _profile(max_num_seqs=4)
    results, engine, _ = await _run(profile, [(10, 20)] * 8)
    firsts = sorted(events[0].time_s for events in results)
    finishes = sorted(events[-1].time_s for events in results)
    assert firsts[4] >= finishes[3]  # the 5th starts only when a slot frees
    assert engine.stats.generation_tokens == 8 * 20


async def test_kv_budget_preempts_and_recomputes_without_losing_tokens() -> None:
    profile = _profile(max_num_seqs=8, kv_cache_tokens=8192)
    results, engine, _ = await _run(profile, [(1000, 400)] * 8)
    assert engine.stats.preemptions > 0
    assert [len(events) for events in results] == [400] * 8
    assert all([e.token_index for e in events] == list(range(400)) for events in results)


async def test_energy_equals_step_power_times_step_time() -> None:
    profile = _profile()
    clock = SimClock(FAST)
    ledger = EnergyLedger(profile.power, 1)
    engine = Engine(profile, clock, ledger)
    runner = asyncio.create_task(engine.run())
    queue = TokenStream()
    seq = engine.submit(50, 10, "length", queue)
    events = await queue.take()
    while len(events) < 10:
        events += await queue.take()
    busy_s, _ = ledger.busy_idle_s(events[-1].time_s)
    energy_j = ledger.energy_j(events[-1].time_s)
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    idle_s = events[-1].time_s - busy_s
    expected_j = gpu_power_w(profile.power, 1) * busy_s + profile.power.idle_w * idle_s
    assert energy_j == pytest.approx(expected_j, rel=1e-9)
    assert busy_s == pytest.approx(events[-1].time_s - seq.arrival_s, rel=1e-9)
