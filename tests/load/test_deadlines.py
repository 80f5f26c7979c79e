"""A request's deadlines (the whole request, the longest silence) on the client's own timer: data
keeps a slow stream alive past the read timeout, silence and the request deadline end it as a
timeout, another cancellation stays a cancellation, and nothing fires after the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from tokenergy.load.client import Api, RequestOptions, RequestRecord, stream_request

from .local_app import serving

GAP_S = 0.25  # between events of the slow stream
EVENTS = 8  # the slow stream lasts EVENTS × GAP_S = 2 s, longer than READ_S
READ_S = 1.5  # longest silence allowed: well above GAP_S, so only a stall trips it


def sse(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


async def handler(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    mode = request.match_info["mode"]
    if mode == "silent":
        await asyncio.sleep(3600)
    for k in range(1, EVENTS + 1):
        usage = {"prompt_tokens": 1, "completion_tokens": k}
        await response.write(sse({"choices": [{"text": "a"}], "usage": usage}))
        if mode == "slow":
            await asyncio.sleep(GAP_S)
    await response.write(
        sse({"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 8}})
    )
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{mode}", handler)
    async with serving(app) as url:
        yield url


async def send(url: str, request_s: float, read_s: float | None) -> RequestRecord:
    record = RequestRecord(index=0, warmup=False, isl=1, osl=EVENTS, target_ns=None)
    body = RequestOptions("m").body([1], EVENTS)
    async with aiohttp.ClientSession() as session:
        await stream_request(session, url, Api.COMPLETIONS, body, record, 0, request_s, read_s)
    return record


async def test_a_stream_that_keeps_sending_outlives_the_read_timeout(server: str) -> None:
    record = await send(f"{server}/slow", 60.0, READ_S)
    assert record.ok, record.error
    assert record.completion_tokens == EVENTS and len(record.chunk_ns) == EVENTS


async def test_silence_is_a_read_timeout(server: str) -> None:
    record = await send(f"{server}/silent", 60.0, 0.3)
    assert record.outcome == "timeout" and record.error == "no data within the read timeout"


async def test_the_request_deadline_cuts_a_stream_that_keeps_sending(server: str) -> None:
    record = await send(f"{server}/slow", 0.5, READ_S)
    assert record.outcome == "timeout"
    assert record.error == "request not finished within 0.5 s"
    assert 1 <= len(record.chunk_ns) < EVENTS  # what came before the deadline is kept


async def test_no_deadline_fires_after_the_request(server: str) -> None:
    record = await send(f"{server}/quick", 1.0, 0.5)
    assert record.ok, record.error
    await asyncio.sleep(1.5)  # past both deadlines: this task must not be cancelled


async def test_another_cancellation_is_not_a_timeout(server: str) -> None:
    request = asyncio.ensure_future(send(f"{server}/silent", 60.0, 30.0))
    await asyncio.sleep(0.3)
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request
