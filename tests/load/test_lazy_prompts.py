"""Prompts are built as the load needs them (issue 15), and a seed still sends the very prompts,
in the same order, that it sent when every prompt was built before the run."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from tokenergy.load.client import ClockAnchor, RequestOptions, RequestRecord
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.load.runner import _prompt_rng, run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec, PromptKind

from .hostile import HostileServer

HANG_GUARD_S = 120  # not a timing assertion: only turns a hang into a failure
LENGTHS = LengthSpec(LengthKind.UNIFORM, isl=40, osl=6, range_ratio=0.5)

# sha256 of the load bodies (warm-up included, in send order) that commit d85cb61 sent, when all
# prompts were built before the run: seed 7, LENGTHS, 2 warm-up + 30 measured, concurrency 1.
GOLDEN = {
    PromptKind.TOKEN_IDS: "1166ea006f50b565a285628dd81dbb69e957197117fa86490fc8355ee581c332",
    PromptKind.TEXT: "51641b99cc370a661fee71e059df04f391831d866580ed8a22d817cb96d12211",
}


class Recorder(HostileServer):
    """A well-behaved server (the hostile server's ``ok`` mode) that keeps every load body."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if json.loads(body)["max_tokens"] != 2:  # not one of the two probe requests
            self.bodies.append(body)
        return await super().completions(request)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    server = Recorder()
    async with server.running() as url:
        yield server, f"{url}/ok"


def config(url: str, out: Path, **overrides: Any) -> BenchConfig:
    base: dict[str, Any] = {
        "base_url": url,
        "model": "",
        "lengths": LENGTHS,
        "shape": LoadShape(concurrency=1, num_prompts=30, warmup=2),
        "out_dir": out,
        "seed": 7,
    }
    base.update(overrides)
    return BenchConfig(**base)


def digest(bodies: list[bytes]) -> str:
    return hashlib.sha256(b"\n".join(bodies)).hexdigest()


@pytest.mark.parametrize("kind", [PromptKind.TOKEN_IDS, PromptKind.TEXT])
async def test_a_seed_sends_the_same_prompts_in_the_same_order_as_before(
    recorder: tuple[Recorder, str], tmp_path: Path, kind: PromptKind
) -> None:
    server, url = recorder
    await asyncio.wait_for(run_point(config(url, tmp_path, prompt_kind=kind)), HANG_GUARD_S)
    assert len(server.bodies) == 32
    assert digest(server.bodies) == GOLDEN[kind]


async def test_workers_send_the_same_prompts(
    recorder: tuple[Recorder, str], tmp_path: Path
) -> None:
    server, url = recorder
    shape = LoadShape(concurrency=2, num_prompts=30, warmup=2)
    await asyncio.wait_for(run_point(config(url, tmp_path, shape=shape, workers=2)), HANG_GUARD_S)
    alone = Recorder()
    async with alone.running() as base:
        await run_point(config(f"{base}/ok", tmp_path / "alone"))
    assert sorted(server.bodies) == sorted(alone.bodies) and len(alone.bodies) == 32


@pytest.mark.parametrize("kind", [PromptKind.TOKEN_IDS, PromptKind.TEXT])
async def test_an_open_loop_sends_the_closed_loops_prompts(
    recorder: tuple[Recorder, str], tmp_path: Path, kind: PromptKind
) -> None:
    server, url = recorder
    shape = LoadShape(concurrency=None, rate_rps=500.0, num_prompts=30, warmup=2)
    run = config(url, tmp_path, shape=shape, prompt_kind=kind)
    await asyncio.wait_for(run_point(run), HANG_GUARD_S)
    closed = Recorder()
    async with closed.running() as base:
        await run_point(config(f"{base}/ok", tmp_path / "closed", prompt_kind=kind))
    assert sorted(server.bodies) == sorted(closed.bodies) and len(closed.bodies) == 32


@pytest.mark.parametrize("kind", [PromptKind.TOKEN_IDS, PromptKind.TEXT])
async def test_a_run_limited_by_duration_only_builds_prompts_as_it_goes(
    recorder: tuple[Recorder, str], tmp_path: Path, kind: PromptKind
) -> None:
    server, url = recorder
    for name, shape in (
        ("closed", LoadShape(concurrency=2, duration_s=0.5, warmup=1)),
        ("open", LoadShape(concurrency=None, rate_rps=40.0, duration_s=0.5)),
    ):
        out = tmp_path / name
        server.bodies.clear()
        await asyncio.wait_for(run_point(config(url, out, shape=shape, prompt_kind=kind)), 60)
        counts = json.loads((out / "run.json").read_text())["whole_run"]["counts"]
        lines = (out / "requests.jsonl").read_text().splitlines()
        measured = [line for line in lines if not json.loads(line)["warmup"]]
        assert counts["attempted"] == len(measured) >= 2
        assert len(set(server.bodies)) == len(server.bodies)  # every prompt unique


async def test_prompts_are_built_as_the_load_needs_them(
    recorder: tuple[Recorder, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies built by the time the first measured request ends: a batch, not the 200,000."""
    _, url = recorder
    built = 0
    body = RequestOptions.body

    def counting(self: RequestOptions, prompt: list[int] | str, osl: int) -> bytes:
        nonlocal built
        built += 1
        return body(self, prompt, osl)

    monkeypatch.setattr(RequestOptions, "body", counting)
    at_first_end: list[int] = []
    run: asyncio.Task[Any] | None = None

    class StopAtFirst(RunObserver):
        def on_start(self, anchor: ClockAnchor) -> None:
            at_first_end.append(built)

        def on_request_done(self, record: RequestRecord) -> None:
            if len(at_first_end) == 1 and not record.warmup:
                at_first_end.append(built)
                assert run is not None
                run.cancel()

    shape = LoadShape(concurrency=4, num_prompts=200_000, warmup=3)
    run = asyncio.ensure_future(run_point(config(url, tmp_path, shape=shape), [StopAtFirst()]))
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, HANG_GUARD_S)
    probes = 2
    assert at_first_end[0] <= probes + 3  # at the start of the load: the warm-up at most
    assert at_first_end[1] <= probes + 3 + 2 * 32  # then as the slots take them (32 at a time)


@pytest.mark.parametrize("seed", [0, 7, 2**32 - 1, 2**32, 2**62])
@pytest.mark.parametrize("index", [0, 1, 10**6, 2**32 - 1, 2**32, 2**40])
def test_prompt_generator_is_default_rng_of_seed_3_index(seed: int, index: int) -> None:
    """The uint32 shortcut below 2^32 and the general case draw what default_rng draws."""
    want = np.random.default_rng([seed, 3, index]).integers(0, 50_000, 256)
    assert (_prompt_rng(seed, index).integers(0, 50_000, 256) == want).all()
