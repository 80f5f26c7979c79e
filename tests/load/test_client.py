"""The streaming client against a real local HTTP server that replays hand-written SSE streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tokenergy.load.client import Api, RequestOptions, RequestRecord, stream_request

from .local_app import serving


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def text_chunk(text: str, usage: dict[str, int] | None = None) -> bytes:
    event: dict[str, Any] = {"choices": [{"index": 0, "text": text}]}
    if usage is not None:
        event["usage"] = usage
    return sse(event)


USAGE = {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}


async def stream_handler(request: web.Request) -> web.StreamResponse:
    mode = request.match_info["mode"]
    if mode == "http500":
        return web.Response(status=500, text="boom")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    if mode == "continuous":  # per-chunk usage: 1 token, then 3 tokens in one chunk
        await response.write(text_chunk("a", {"prompt_tokens": 5, "completion_tokens": 1}))
        await asyncio.sleep(0.02)
        await response.write(text_chunk("bcd", {"prompt_tokens": 5, "completion_tokens": 4}))
    elif mode == "tricky":  # generated text that mimics the usage keys (escaped in JSON)
        text = 'x "completion_tokens": 99, "choices": [] "error"'
        await response.write(text_chunk(text, {"prompt_tokens": 5, "completion_tokens": 2}))
        await response.write(text_chunk("y", {"prompt_tokens": 5, "completion_tokens": 4}))
    elif mode in ("plain", "merged", "done_bare"):
        texts = ["a", "bcd"] if mode == "merged" else ["a", "b", "c", "d"]
        for text in texts:
            await response.write(text_chunk(text))
            await asyncio.sleep(0.01)
    elif mode == "error_event":
        await response.write(text_chunk("a"))
        await response.write(sse({"error": {"message": "engine died", "code": 500}}))
        return response
    elif mode == "cut":
        await response.write(text_chunk("a"))
        assert request.transport is not None
        request.transport.close()  # drop the connection mid-stream
        return response
    elif mode == "no_done":
        await response.write(text_chunk("a"))
        await response.write_eof()
        return response
    await response.write(sse({"choices": [], "usage": USAGE}))
    # done_bare: the stream ends right after "data: [DONE]", no newline (a line ends at EOF too)
    await response.write(b"data: [DONE]" if mode == "done_bare" else b"data: [DONE]\n\n")
    await response.write_eof()
    return response


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{mode}/v1/completions", stream_handler)
    async with serving(app, handler_cancellation=False) as url:
        yield url


async def send(base: str, mode: str) -> RequestRecord:
    record = RequestRecord(index=0, warmup=False, isl=5, osl=4, target_ns=None)
    body = RequestOptions("m").body([1, 2, 3, 4, 5], 4)
    async with aiohttp.ClientSession() as session:
        await stream_request(
            session, f"{base}/{mode}/v1/completions", Api.COMPLETIONS, body, record, 0
        )
    return record


def test_request_body_forces_lengths() -> None:
    body = json.loads(RequestOptions("m").body([7, 8], 16))
    assert body["max_tokens"] == body["min_tokens"] == 16 and body["ignore_eos"] is True
    assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    chat = json.loads(RequestOptions("m", Api.CHAT, continuous_usage=False).body("hi", 3))
    assert chat["messages"] == [{"role": "user", "content": "hi"}]
    assert chat["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize(
    "options",
    [
        RequestOptions("m"),
        RequestOptions("m", ignore_eos=False, min_tokens=False, continuous_usage=False),
        RequestOptions("m\u0000", extra_body={"temperature": 0.5, "x": "\x00prompt\x00"}),
        RequestOptions("m", extra_body={"prompt": [1]}),  # the prompt replaced: encoded whole
        RequestOptions("m", Api.CHAT),
    ],
)
def test_a_pre_encoded_prompt_gives_the_same_body(options: RequestOptions) -> None:
    for ids, osl in (([5, 17, 123456], 4), ([9], 4), ([0, 1], 300)):
        assert options.body_json(json.dumps(ids).replace(" ", "").encode(), osl) == options.body(
            ids, osl
        )


async def test_continuous_usage_gives_exact_chunk_tokens(server: str) -> None:
    record = await send(server, "continuous")
    assert record.outcome == "ok" and record.chunk_tokens == [1, 3]
    assert record.chunk_tokens_exact and not record.length_mismatch
    assert record.chunk_ns[1] > record.chunk_ns[0]  # each stamped by its own read (20 ms apart)
    assert record.first_token_ns == record.chunk_ns[0]


async def test_one_token_per_chunk_confirmed_by_usage(server: str) -> None:
    record = await send(server, "plain")
    assert record.chunk_tokens == [1, 1, 1, 1] and record.chunk_tokens_exact


async def test_done_without_its_newline_still_completes(server: str) -> None:
    """A stream whose last bytes are ``data: [DONE]`` (then EOF) is complete, not cut."""
    record = await send(server, "done_bare")
    assert record.outcome == "ok" and record.ok and record.chunk_tokens == [1, 1, 1, 1]


async def test_merged_chunks_detected_against_usage(server: str) -> None:
    record = await send(server, "merged")
    assert record.outcome == "ok" and record.completion_tokens == 4
    assert len(record.chunk_ns) == 2 and not record.chunk_tokens_exact


@pytest.mark.parametrize(
    ("mode", "outcome"),
    [
        ("http500", "http_500"),
        ("error_event", "stream_error"),
        ("cut", "disconnect"),
        ("no_done", "disconnect"),
    ],
)
async def test_failures_are_classified(server: str, mode: str, outcome: str) -> None:
    record = await send(server, mode)
    assert record.outcome == outcome
    assert record.failed and not record.ok and record.end_ns is not None


async def test_unreachable_is_a_connect_error() -> None:
    record = await send("http://127.0.0.1:9", "plain")
    assert record.outcome == "connect_error"


def test_record_json_round_trip() -> None:
    record = RequestRecord(
        index=3,
        warmup=False,
        isl=5,
        osl=4,
        target_ns=1_500,
        send_ns=2_000,
        chunk_ns=[3_000],
        chunk_tokens=[4],
        prompt_tokens=5,
        completion_tokens=4,
        outcome="ok",
        end_ns=4_000,
    )
    again = RequestRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert again == record


async def test_text_that_looks_like_usage_keys_is_not_mistaken(server: str) -> None:
    record = await send(server, "tricky")
    assert record.outcome == "ok" and record.chunk_tokens == [2, 2]
    assert (record.prompt_tokens, record.completion_tokens) == (5, 4)
