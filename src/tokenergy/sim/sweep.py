"""Engine-level closed-loop batch sweep in simulated time (no HTTP), ML.ENERGY style.

Used to check a profile against the records it was calibrated on: for a batch cap B, N requests
are kept B at a time in flight; the steady-state window starts when B requests have produced their
first token and ends at the (N − B)-th completion (after which the batch drains). Energy and
tokens are counted inside the window only.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass

import numpy as np

from tokenergy.sim.clock import SimClock
from tokenergy.sim.engine import Engine, TokenStream
from tokenergy.sim.power import EnergyLedger
from tokenergy.sim.profiles import Profile, with_max_num_seqs
from tokenergy.sim.turnaround import HoldMode

_AS_FAST_AS_POSSIBLE = 1e9  # simulated seconds per wall second: steps never sleep


@dataclass(frozen=True)
class SweepPoint:
    """Steady-state figures of one batch cap, over all GPUs (as ML.ENERGY reports them)."""

    max_num_seqs: int
    avg_batch_size: float
    energy_per_output_token_j: float
    avg_power_w: float
    output_tok_s: float
    median_itl_s: float
    window_s: float


def output_lengths(osl: int, count: int, seed: int) -> list[int]:
    """Uniform integers in [OSL/2, 3·OSL/2] (mean OSL) so completions do not come in waves."""
    rng = np.random.default_rng(seed)
    return [int(n) for n in rng.integers(max(1, osl // 2), osl + osl // 2 + 1, size=count)]


async def _sweep(
    profile: Profile, max_num_seqs: int, isl: int, osl: int, num_requests: int, seed: int
) -> SweepPoint:
    if num_requests < 2 * max_num_seqs:
        raise ValueError("a steady-state window needs num_requests >= 2 × max_num_seqs")
    capped = with_max_num_seqs(profile, max_num_seqs)
    clock = SimClock(_AS_FAST_AS_POSSIBLE)
    ledger = EnergyLedger(capped.power, capped.num_gpus)
    # Its clients are a closed loop, and they read the ledger at each token's time, which only
    # holds while that step is the engine's latest: so it yields after every step.
    engine = Engine(capped, clock, ledger, hold=HoldMode.ON, max_unyielded_s=0.0)
    runner = asyncio.create_task(engine.run())
    lengths = iter(output_lengths(osl, num_requests, seed))
    first_tokens: list[float] = []
    completions: list[float] = []
    token_times: list[float] = []
    gaps: list[tuple[float, float]] = []  # (time, gap) pairs to filter by window
    window: dict[str, float] = {}

    async def client() -> None:
        for stop_at in lengths:
            events = TokenStream()
            engine.submit(isl, stop_at, "length", events)
            previous: float | None = None
            finish: str | None = None
            while finish is None:
                for event in await events.take():
                    token_times.append(event.time_s)
                    if previous is None:
                        first_tokens.append(event.time_s)
                        if len(first_tokens) == max_num_seqs:
                            window["start_s"] = event.time_s
                            window["start_j"] = ledger.energy_j(event.time_s)
                    else:
                        gaps.append((event.time_s, event.time_s - previous))
                    previous, finish = event.time_s, event.finish_reason
            assert previous is not None
            completions.append(previous)
            if len(completions) == num_requests - max_num_seqs:
                window["end_s"] = previous
                window["end_j"] = ledger.energy_j(previous)

    await asyncio.gather(*(client() for _ in range(max_num_seqs)))
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    start_s, end_s = window["start_s"], window["end_s"]
    duration_s = end_s - start_s
    tokens = sum(1 for t in token_times if start_s < t <= end_s)
    energy_j = (window["end_j"] - window["start_j"]) * capped.num_gpus
    running = [gap for t, gap in gaps if start_s < t <= end_s]
    # Little's law on tokens: mean batch = output rate × mean inter-token time of a sequence.
    return SweepPoint(
        max_num_seqs=max_num_seqs,
        avg_batch_size=tokens / duration_s * statistics.fmean(running),
        energy_per_output_token_j=energy_j / tokens,
        avg_power_w=energy_j / duration_s,
        output_tok_s=tokens / duration_s,
        median_itl_s=statistics.median(running),
        window_s=duration_s,
    )


def sweep_point(
    profile: Profile,
    max_num_seqs: int,
    *,
    isl: int,
    osl: int,
    num_requests: int | None = None,
    seed: int = 0,
) -> SweepPoint:
    """Run one closed-loop point (default N = 3·B requests) and measure its steady state."""
    count = num_requests if num_requests is not None else 3 * max_num_seqs
    return asyncio.run(_sweep(profile, max_num_seqs, isl, osl, count, seed))
