"""Stream parsing: however a stream is cut into reads, the batched scan gives what parsing every
``data:`` line with ``json.loads`` gives, each token chunk stamped with the read that completed
its line; oddities (errors, ``[DONE]`` mid-read, over-long lines) keep their outcomes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tokenergy.load.client import (
    MAX_EVENT_BYTES,
    PARSE_BYTES,
    Api,
    Outcome,
    RequestRecord,
    _BadStream,
    _Events,
)


def vllm_event(text: str, completion: int, *, compact: bool = True) -> bytes:
    """A vLLM-shaped completion chunk with continuous usage."""
    event: dict[str, Any] = {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]
        if text
        else [],
        "usage": {"prompt_tokens": 7, "total_tokens": 7 + completion},
    }
    event["usage"]["completion_tokens"] = completion
    separators = (",", ":") if compact else (", ", ": ")
    return b"data: " + json.dumps(event, separators=separators).encode() + b"\n\n"


def stream(events: list[bytes], newline: bytes = b"\n") -> bytes:
    data = b"".join(events) + b"data: [DONE]\n\n"
    return data.replace(b"\n", newline)


def reads(data: bytes, seed: int, longest: int) -> list[bytes]:
    """``data`` cut at random places into reads of 1 to ``longest`` bytes."""
    rng = random.Random(seed)
    out, at = [], 0
    while at < len(data):
        step = rng.randint(1, longest)
        out.append(data[at : at + step])
        at += step
    return out


def fast(chunks: list[bytes]) -> RequestRecord:
    """What the client records, reading ``chunks`` (read k at time k)."""
    record = RequestRecord(index=0, warmup=False, isl=7, osl=0, target_ns=None)
    events = _Events(Api.COMPLETIONS, record)
    for now, chunk in enumerate(chunks):
        events.feed(chunk, now)
        assert events.kept_bytes < PARSE_BYTES  # memory per request stays bounded
        if events.done:
            break
    else:
        events.end(len(chunks))
    events.finish()
    return record


def reference(chunks: list[bytes]) -> RequestRecord:
    """Every ``data:`` line through ``json.loads`` (the client's slow path), stamped with the
    read that brought its newline, up to ``[DONE]``."""
    record = RequestRecord(index=0, warmup=False, isl=7, osl=0, target_ns=None)
    events = _Events(Api.COMPLETIONS, record)
    line = b""
    for now, chunk in enumerate(chunks):
        for byte in chunk:
            if byte != ord("\n"):
                line += bytes([byte])
                continue
            if line.startswith(b"data:"):
                if line[5:].strip() == b"[DONE]":
                    return record
                events._slow(line[5:].strip(), now)
            line = b""
    return record


def same(chunks: list[bytes]) -> RequestRecord:
    got, want = fast(chunks), reference(chunks)
    assert got.chunk_ns == want.chunk_ns
    assert got.chunk_tokens == want.chunk_tokens
    assert (got.prompt_tokens, got.completion_tokens) == (
        want.prompt_tokens,
        want.completion_tokens,
    )
    return got


VLLM = [vllm_event(" w", k) for k in range(1, 65)] + [vllm_event("", 64)]


@pytest.mark.parametrize("longest", [1, 7, 300, 5000, 100_000])
@pytest.mark.parametrize("seed", range(4))
def test_any_cut_of_a_vllm_stream_gives_the_json_parse(seed: int, longest: int) -> None:
    record = same(reads(stream(VLLM), seed, longest))
    assert record.chunk_tokens == [1] * 64
    assert (record.prompt_tokens, record.completion_tokens) == (7, 64)


def test_one_read_per_event_stamps_each_event_with_its_read() -> None:
    record = same([*VLLM, b"data: [DONE]\n\n"])
    assert record.chunk_ns == list(range(64))


@pytest.mark.parametrize(
    "events",
    [
        pytest.param([vllm_event("ab", k, compact=False) for k in (1, 3, 3, 6)], id="spaces"),
        pytest.param(  # several tokens per event, and events that add none
            [vllm_event("a", 2), vllm_event("", 2), vllm_event("b", 2), vllm_event("c", 5)],
            id="uneven",
        ),
        pytest.param(  # generated text that looks like keys, [DONE] and data lines
            [
                vllm_event('"completion_tokens": 99, "usage": {', 1),
                vllm_event("data: [DONE]\n\ndata: x", 2),
                vllm_event('"choices": [] "error', 3),
            ],
            id="tricky-text",
        ),
        pytest.param(  # one event without usage: the whole batch goes through json.loads
            [vllm_event("a", 1), b'data: {"choices":[{"text":"b"}]}\n\n', vllm_event("c", 3)],
            id="missing-usage",
        ),
        pytest.param(  # comments and other SSE fields between events
            [b": ping\n\n", vllm_event("a", 1), b"event: x\nid: 3\n", vllm_event("b", 2)],
            id="comments",
        ),
    ],
)
@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_unusual_streams_give_the_json_parse(events: list[bytes], newline: bytes) -> None:
    data = stream(events, newline)
    for seed in range(6):
        same(reads(data, seed, 40))
    same([data])


def test_a_long_stream_is_parsed_in_bounded_batches() -> None:
    events = [vllm_event(" word" * 20, k) for k in range(1, 3001)]
    data = stream(events)
    assert len(data) > 10 * PARSE_BYTES
    record = same(reads(data, 0, 3000))
    assert record.chunk_tokens == [1] * 3000


def test_lines_after_done_in_the_same_read_do_not_count() -> None:
    data = vllm_event("a", 1) + b"data: [DONE]\n\n" + vllm_event("b", 2)
    record = fast([data])
    assert record.chunk_tokens == [1] and record.completion_tokens == 1


def test_an_error_event_fails_the_request_when_it_arrives() -> None:
    record = RequestRecord(index=0, warmup=False, isl=7, osl=0, target_ns=None)
    events = _Events(Api.COMPLETIONS, record)
    events.feed(vllm_event("a", 1), 0)
    with pytest.raises(_BadStream) as error:
        events.feed(b'data: {"error": {"message": "engine died"}}\n\n', 1)
    assert error.value.outcome is Outcome.STREAM_ERROR and "engine died" in str(error.value)
    assert record.chunk_tokens == [1]  # what came before the error is kept


def test_a_line_that_never_ends_is_too_large() -> None:
    events = _Events(Api.COMPLETIONS, RequestRecord(0, False, 7, 0, None))
    piece = b"data: " + b"x" * (64 << 10)
    with pytest.raises(_BadStream) as error:
        for now in range(MAX_EVENT_BYTES // len(piece) + 2):
            events.feed(piece, now)
    assert error.value.outcome is Outcome.RESPONSE_TOO_LARGE


def test_a_last_line_without_its_newline_counts_at_the_end() -> None:
    record = RequestRecord(0, False, 7, 0, None)
    events = _Events(Api.COMPLETIONS, record)
    events.feed(vllm_event("a", 1) + vllm_event("b", 2).rstrip(), 0)
    assert record.chunk_tokens == []  # nothing parsed before [DONE] or the end
    events.end(1)
    assert record.chunk_ns == [0, 1] and record.chunk_tokens == [1, 1]
    assert not events.done
