"""The fast paths (sim/sinks.py) send what the general per-token path sends, byte for byte."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tokenergy.errors import ConfigError
from tokenergy.sim import eventloop, tokenizer
from tokenergy.sim.engine import TokenEvent
from tokenergy.sim.eventloop import LoopKind, new_event_loop
from tokenergy.sim.protocol import Generation
from tokenergy.sim.responses import TokenChunks, chunk_builder, sse, stream_choice
from tokenergy.sim.server import run_in_thread
from tokenergy.sim.sinks import TOKEN_JSON, http_chunk, token_frames_with_usage

from .helpers import post_json, sse_events

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
# stall=1:0s gives every request a zero-length pause: the general path, with no other effect.
GENERAL_PATH = "stall=1:0s"


def test_every_generated_token_is_one_json_byte() -> None:
    assert {len(token) for token in TOKEN_JSON} == {1}
    assert len(TOKEN_JSON) == tokenizer.GENERATED_PERIOD


@pytest.mark.parametrize(("count", "offset"), [(0, 3), (5, 0), (400, 139), (1000, 7 * 12345)])
def test_generated_text_is_the_generated_tokens(count: int, offset: int) -> None:
    expected = "".join(chr(tokenizer.generated_token(i, offset)) for i in range(count))
    assert tokenizer.generated_text(count, offset) == expected


def test_held_events_leave_as_one_http_chunk() -> None:
    frame = http_chunk(b'data: {"text":"x"}\n\ndata: {"text":"y"}\n\n')
    size, _, rest = frame.partition(b"\r\n")
    assert int(size, 16) == len(rest) - 2 and rest.endswith(b"\r\n")


def _strip(event: Any) -> Any:
    """An event without the fields that differ between any two requests."""
    if isinstance(event, dict):
        return {key: value for key, value in event.items() if key not in ("id", "created")}
    return event


async def _both_paths(path: str, body: dict[str, Any]) -> list[tuple[int, bytes]]:
    """The first request of a fresh sim, on the fast path and on the general path."""
    answers = []
    for faults in ("", GENERAL_PATH):
        with run_in_thread("llama-3.1-8b-h100", speed=1000.0, seed=3, faults=faults) as sim:
            status, _, raw = await post_json(f"{sim.url}{path}", body)
            answers.append((status, raw))
    return answers


@pytest.mark.parametrize("chat", [False, True])
@pytest.mark.parametrize("usage", ["", "include_usage", "continuous_usage_stats"])
async def test_direct_stream_sends_what_the_general_path_sends(chat: bool, usage: str) -> None:
    body: dict[str, Any] = {"model": MODEL, "stream": True, "max_tokens": 9, "seed": 1}
    if usage:
        body["stream_options"] = {"include_usage": True, usage: True}
    if chat:
        body["messages"] = [{"role": "user", "content": "hello"}]
    else:
        body["prompt"] = "hello"
    path = "/v1/chat/completions" if chat else "/v1/completions"
    (fast_status, fast), (general_status, general) = await _both_paths(path, body)
    assert fast_status == general_status == 200
    fast_events, general_events = sse_events(fast), sse_events(general)
    assert [_strip(e) for e in fast_events] == [_strip(e) for e in general_events]
    assert len({e["id"] for e in fast_events[:-1]}) == 1


@pytest.mark.parametrize("chat", [False, True])
async def test_non_streamed_answer_is_what_the_general_path_answers(chat: bool) -> None:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 40}
    if chat:
        body["messages"] = [{"role": "user", "content": "hello"}]
    else:
        body["prompt"] = ["hello", "bye"]  # two prompts, two choices
    path = "/v1/chat/completions" if chat else "/v1/completions"
    (fast_status, fast), (general_status, general) = await _both_paths(path, body)
    assert fast_status == general_status == 200
    assert _strip(json.loads(fast)) == _strip(json.loads(general))


async def test_http_1_0_client_gets_an_unchunked_stream() -> None:
    payload = json.dumps({"model": MODEL, "prompt": "hi", "max_tokens": 5, "stream": True})
    with run_in_thread("llama-3.1-8b-h100", speed=1000.0) as sim:
        reader, writer = await asyncio.open_connection(sim.host, sim.port)
        writer.write(
            f"POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n{payload}".encode()
        )
        raw = await asyncio.wait_for(reader.read(), timeout=30)  # until the server closes
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") and b"chunked" not in head.lower()
    events = sse_events(body)
    assert events[-1] == "[DONE]" and len(events) == 6


def test_event_loop_kinds() -> None:
    loop = new_event_loop()  # asyncio's by default: its sleeps never end early
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
    auto = new_event_loop(LoopKind.AUTO)  # uvloop when installed, never an error
    auto.close()


def test_uvloop_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> object:
        raise ImportError(name)

    monkeypatch.setattr(eventloop.importlib, "import_module", missing)
    with pytest.raises(ConfigError, match="uvloop is not installed") as caught:
        new_event_loop(LoopKind.UVLOOP)
    assert caught.value.field == "event_loop"
    loop = new_event_loop(LoopKind.AUTO)  # falls back to asyncio's
    try:
        assert eventloop.loop_name(loop) == "asyncio"
    finally:
        loop.close()


@pytest.mark.parametrize("chat", [False, True])
@pytest.mark.parametrize("include_usage", [False, True])
def test_token_chunks_are_byte_identical_to_json_dumps(chat: bool, include_usage: bool) -> None:
    gen = Generation([[1]], 4, 0, True, True, include_usage, False, None)
    base = {"id": "cmpl-\u00e9x", "object": "text_completion", "created": 17, "model": 'm"1'}
    templated = TokenChunks(base, chat, gen)
    build = chunk_builder(base, chat, gen, dict)
    for event in (TokenEvent(0, 3, 1.0, None), TokenEvent(1, 4, 2.0, "stop")):
        for text in ("a", '"', "\u00e9"):
            assert templated(event, text) == build(stream_choice(chat, event, text))
    usage = {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert templated.usage(usage) == sse({**base, "choices": [], "usage": usage})
    running = Generation([[1]], 4, 0, True, True, include_usage, True, None)
    build_running = chunk_builder(base, chat, running, lambda: usage)
    for event in (TokenEvent(0, 3, 1.0, None), TokenEvent(0, 3, 1.0, "length")):
        expected = build_running(stream_choice(chat, event, "x"))
        assert templated.with_usage(event, "x", 3, 4) == expected
        before, middle = templated.usage_template(0, event.finish_reason, 3)
        render = token_frames_with_usage(before, middle, 3, 0)
        if event.finish_reason is None:  # token index 3: the fourth completion token
            assert render(3) == build_running(stream_choice(chat, event, chr(TOKEN_JSON[3][0])))
