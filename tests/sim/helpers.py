"""SSE and HTTP helpers shared by the simulator tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp


def sse_events(raw: bytes) -> list[Any]:
    """Parse an SSE body strictly: every event is ``data: …`` + blank line; [DONE] kept as str."""
    text = raw.decode()
    assert text.endswith("\n\n"), "stream must end with a blank line"
    events: list[Any] = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: "), block
        payload = block[len("data: ") :]
        events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


async def post_json(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, dict(response.headers), await response.read()


async def dcgm_energy_mj(session: aiohttp.ClientSession, url: str) -> int:
    """Sum of DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION over GPUs, parsed from exporter text."""
    async with session.get(url) as response:
        text = await response.text()
    return sum(
        int(sample_value(line))
        for line in text.splitlines()
        if line.startswith("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{")
    )


def sample_value(line: str) -> str:
    """The value of an exposition line ``name{labels} value [timestamp_ms]``."""
    return line.rsplit("}", 1)[1].split()[0]


async def http_steady_state(
    base_url: str, dcgm_url: str, *, cap: int, isl: int, lengths: list[int], model: str
) -> tuple[float, int]:
    """ML.ENERGY-style point over HTTP: all requests queued at once against a server capped at
    ``cap``; window from the cap-th first token to the (N − cap)-th completion; energy from the
    DCGM counter. Returns (J per output token, tokens in window)."""
    total = len(lengths)
    state = {"first": 0, "done": 0, "tokens": 0}
    marks: dict[str, tuple[int, int]] = {}
    connector = aiohttp.TCPConnector(limit=total)
    # The meter has its own connection: behind the load's pool it would read late.
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        aiohttp.ClientSession() as meter,
    ):

        async def mark(name: str) -> None:
            tokens = state["tokens"]
            marks[name] = (await dcgm_energy_mj(meter, dcgm_url), tokens)

        async def one(max_tokens: int) -> None:
            body = {
                "model": model,
                "prompt": [11] * isl,
                "max_tokens": max_tokens,
                "ignore_eos": True,
                "stream": True,
            }
            seen = 0
            async with session.post(f"{base_url}/v1/completions", json=body) as response:
                assert response.status == 200
                async for line in response.content:
                    if not line.startswith(b"data: {"):
                        continue
                    seen += 1
                    state["tokens"] += 1
                    if seen == 1:
                        state["first"] += 1
                        if state["first"] == cap:
                            await mark("start")
            assert seen == max_tokens
            state["done"] += 1
            if state["done"] == total - cap:
                await mark("end")

        await asyncio.gather(*(one(n) for n in lengths))
    (start_mj, start_tokens), (end_mj, end_tokens) = marks["start"], marks["end"]
    tokens = end_tokens - start_tokens
    return (end_mj - start_mj) / 1000.0 / tokens, tokens


async def sim_ledger(session: aiohttp.ClientSession, base_url: str) -> tuple[float, float]:
    """(total energy J, generation tokens) at one instant of the sim (GET /sim/energy)."""
    async with session.get(f"{base_url}/sim/energy") as response:
        doc = json.loads(await response.text())
    return float(doc["total_energy_j"]), float(doc["generation_tokens"])


async def closed_loop_j_per_output_token(
    base_url: str, *, concurrency: int, waves: int, isl: int, osl: int, model: str
) -> float:
    """Closed loop of equal streamed requests, ``waves`` per slot; J/output-token from the
    sim's ledger between the c-th and the (N − c)-th completion (whole waves, no ramps)."""
    body = {"model": model, "prompt": [11] * isl, "max_tokens": osl, "ignore_eos": True,
            "stream": True}  # fmt: skip
    total = concurrency * waves
    done = 0
    marks: dict[str, tuple[float, float]] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as load, aiohttp.ClientSession() as meter:

        async def worker() -> None:
            nonlocal done
            for _ in range(waves):
                async with load.post(f"{base_url}/v1/completions", json=body) as response:
                    assert response.status == 200
                    await response.read()
                done += 1
                if done in (concurrency, total - concurrency):
                    key = "start" if done == concurrency else "end"
                    marks[key] = await sim_ledger(meter, base_url)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    (start_j, start_tokens), (end_j, end_tokens) = marks["start"], marks["end"]
    return (end_j - start_j) / (end_tokens - start_tokens)
