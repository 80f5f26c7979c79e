from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

from tokenergy.errors import ConfigError
from tokenergy.sim.faults import FaultSpec, draw_faults, parse_faults
from tokenergy.sim.server import run_in_thread

from .helpers import sse_events

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
BODY = {
    "model": MODEL,
    "prompt": [7] * 20,
    "max_tokens": 30,
    "ignore_eos": True,
    "stream": True,
    "stream_options": {"include_usage": True},
}


def test_parse_full_syntax() -> None:
    spec = parse_faults(
        "error_rate=0.05,status=500|429,disconnect=0.01,stall=0.01:5s,slow_start=2s"
    )
    assert spec == FaultSpec(
        error_rate=0.05,
        statuses=(500, 429),
        disconnect_rate=0.01,
        stall_rate=0.01,
        stall_s=5.0,
        slow_start_s=2.0,
    )
    assert parse_faults("stall=1:250ms").stall_s == 0.25
    assert parse_faults("") == FaultSpec()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("error_rate=2", "probability"),
        ("nonsense=1", "unknown fault"),
        ("stall=0.1", "PROBABILITY:DURATION"),
        ("status=200", "HTTP errors"),
        ("slow_start=soon", "duration"),
        ("error_rate", "key=value"),
    ],
)
def test_parse_errors_name_the_key(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment) as caught:
        parse_faults(text)
    assert caught.value.field is not None and caught.value.field.split()[0] == "faults"


def test_draws_are_seeded_and_rates_hold() -> None:
    spec = FaultSpec(error_rate=0.1, statuses=(500, 429), disconnect_rate=0.2)
    first = [draw_faults(spec, 1, i, 100) for i in range(2000)]
    assert first == [draw_faults(spec, 1, i, 100) for i in range(2000)]
    assert first != [draw_faults(spec, 2, i, 100) for i in range(2000)]
    errors = [f.error_status for f in first if f.error_status is not None]
    assert 150 < len(errors) < 250 and set(errors) == {500, 429}
    cuts = [f.disconnect_after for f in first if f.disconnect_after is not None]
    assert 300 < len(cuts) < 420 and all(0 <= c < 100 for c in cuts)


async def _outcome(session: aiohttp.ClientSession, url: str) -> str:
    try:
        async with session.post(f"{url}/v1/completions", json=BODY) as response:
            if response.status != 200:
                return str(response.status)
            raw = await response.read()
    except aiohttp.ClientPayloadError:
        return "disconnect"
    events = sse_events(raw)
    assert events[-1] == "[DONE]" and events[-2]["usage"]["completion_tokens"] == 30
    return "ok"


async def test_error_and_disconnect_faults_are_visible_to_clients() -> None:
    with run_in_thread(
        "llama-3.1-8b-h100", speed=200, faults="error_rate=0.3,status=500|429,disconnect=0.3"
    ) as sim:
        async with aiohttp.ClientSession() as session:
            outcomes = await asyncio.gather(*(_outcome(session, sim.url) for _ in range(60)))
    counts = {kind: outcomes.count(kind) for kind in set(outcomes)}
    assert set(counts) == {"ok", "500", "429", "disconnect"}
    assert counts["500"] + counts["429"] == sum(
        draw_faults(sim.server.faults, 0, i, 30).error_status is not None for i in range(60)
    )


async def test_error_bodies_are_openai_errors() -> None:
    with run_in_thread("llama-3.1-8b-h100", speed=200, faults="error_rate=1,status=429") as sim:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{sim.url}/v1/completions", json=BODY) as response,
        ):
            assert response.status == 429
            assert json.loads(await response.read())["error"]["code"] == 429


async def test_stall_pauses_the_stream_for_its_simulated_duration() -> None:
    speed = 10.0
    with run_in_thread("llama-3.1-8b-h100", speed=speed, faults="stall=1:5s") as sim:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{sim.url}/v1/completions", json=BODY) as response,
        ):
            gaps, last = [], time.perf_counter()
            async for _ in response.content:
                now = time.perf_counter()
                gaps.append(now - last)
                last = now
    assert max(gaps) >= 5.0 / speed  # a lower bound: sleeps never end early


async def test_slow_start_reports_unhealthy_then_serves() -> None:
    with run_in_thread("llama-3.1-8b-h100", speed=10, faults="slow_start=3s") as sim:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{sim.url}/health") as response:
                assert response.status == 503
            async with session.post(f"{sim.url}/v1/completions", json=BODY) as response:
                assert response.status == 200
                await response.read()
            async with session.get(f"{sim.url}/health") as response:
                assert response.status == 200
