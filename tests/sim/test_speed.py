"""``--speed`` must not change the physics: the same closed loop gives the same J/output-token
at speed 1, 10 and 100 (issue 15: it drifted 0.179 → 0.203 → 0.211 with the clients' wall-time
turnaround becoming speed× simulated time)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tokenergy.sim import engine as engine_module
from tokenergy.sim.clock import SimClock
from tokenergy.sim.engine import Engine, TokenStream
from tokenergy.sim.power import EnergyLedger
from tokenergy.sim.profiles import load_profile
from tokenergy.sim.server import run_in_thread
from tokenergy.sim.turnaround import ClosedLoopHold, HoldMode

from .conftest import PROFILE
from .helpers import closed_loop_j_per_output_token

MODEL = "meta-llama/Llama-3.1-8B-Instruct"


async def _j_per_token(speed: float) -> float:
    with run_in_thread(PROFILE, speed=speed, hold=HoldMode.ON) as sim:
        return await closed_loop_j_per_output_token(
            sim.url, concurrency=8, waves=3, isl=64, osl=32, model=MODEL
        )


async def test_j_per_output_token_is_the_same_at_speed_1_10_100() -> None:
    reference = await _j_per_token(1.0)
    for speed in (10.0, 100.0):
        assert await _j_per_token(speed) == pytest.approx(reference, rel=0.01), speed


def test_an_arrival_no_freed_slot_owes_marks_an_open_loop() -> None:
    hold = ClosedLoopHold()
    for _ in range(4):  # the start-up ramp owes nothing and is not an open loop
        hold.arrived()
    assert not hold.should_hold and not hold.open_loop
    hold.freed()
    assert hold.should_hold
    hold.arrived()  # the follow-up
    assert not hold.should_hold and not hold.open_loop
    hold.arrived()  # unsolicited: an open loop's own schedule, never pulled forward
    hold.freed()
    assert hold.open_loop and not hold.should_hold
    hold.idle()
    assert not hold.open_loop


def test_hold_modes_on_and_off() -> None:
    trusting, never = ClosedLoopHold(HoldMode.ON), ClosedLoopHold(HoldMode.OFF)
    for hold in (trusting, never):
        hold.arrived()
        hold.freed()
        hold.arrived()
        hold.arrived()  # would mark an open loop in auto mode
        hold.freed()
    assert trusting.should_hold and not trusting.open_loop
    assert not never.should_hold


def test_an_expired_hold_waits_for_the_owed_follow_ups() -> None:
    hold = ClosedLoopHold()
    hold.freed()
    hold.freed()
    hold.expired()
    assert not hold.should_hold
    hold.arrived()
    hold.freed()
    assert not hold.should_hold  # still one owed from before
    hold.arrived()
    hold.arrived()
    hold.freed()
    assert hold.should_hold


async def test_a_client_that_stops_leaves_idle_time_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hold after the last request expires; idling then counts from the hold's start."""
    monkeypatch.setattr(engine_module, "HOLD_WAIT_S", 0.05)
    profile = load_profile(PROFILE)
    speed = 100.0
    clock = SimClock(speed)
    ledger = EnergyLedger(profile.power, 1)
    engine = Engine(profile, clock, ledger)
    runner = asyncio.create_task(engine.run())
    stream = TokenStream()
    engine.submit(16, 4, "length", stream)
    events = await stream.take()
    while events[-1].finish_reason is None:
        events += await stream.take()
    finished_wall_s = time.monotonic()
    await asyncio.sleep(0.2)
    now_s = clock.now_s()
    idle_wall_s = time.monotonic() - finished_wall_s
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    _, idle_s = ledger.busy_idle_s(now_s)
    assert now_s - events[-1].time_s == pytest.approx(idle_wall_s * speed, rel=0.1)
    assert idle_s >= now_s - events[-1].time_s - 1e-9
