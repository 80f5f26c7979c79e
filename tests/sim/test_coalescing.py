"""Behind schedule the engine runs due steps back to back and a direct stream writes the events
they held in one write: fewer writes, the same bytes, none before its step's wall deadline, and a
connection found closed still stops its sequence at once (engine.py, sinks.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from typing import Any

import aiohttp
import pytest

from tokenergy.sim.clock import SimClock
from tokenergy.sim.engine import MAX_UNYIELDED_S, Engine, Sequence
from tokenergy.sim.power import EnergyLedger
from tokenergy.sim.profiles import load_profile
from tokenergy.sim.server import run_in_thread
from tokenergy.sim.sinks import DirectStream, http_chunk
from tokenergy.sim.turnaround import HoldMode

from .conftest import PROFILE
from .helpers import post_json, sse_events

FAST = 1e9  # every step is due as soon as it starts
NEVER = 60.0  # a run of due steps no test reaches
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
# asyncio runs a timer up to its clock's resolution (1 ns for time.monotonic on Linux) early.
TIMER_SLACK_S = 1e-6


class RecordingTransport(asyncio.Transport):
    """The connection's end of a direct stream: what was written, and when (wall)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[float, bytes]] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append((time.monotonic(), bytes(data)))

    def is_closing(self) -> bool:
        return self.closing


class DeadlineClock(SimClock):
    """A real clock that also records each step's wall deadline, in step order."""

    def __init__(self, speed: float) -> None:
        super().__init__(speed)
        self.deadlines_wall_s: list[float] = []

    def begin_step(self, duration_s: float, earliest_s: float) -> tuple[float, float]:
        started = super().begin_step(duration_s, earliest_s)
        self.deadlines_wall_s.append(self._anchor_wall_s + self._step_wall_s)
        return started


def _index_frame(index: int) -> bytes:
    return b"data: %d\n\n" % index


def _dechunk(wire: bytes) -> tuple[bytes, int]:
    """The body carried by HTTP/1.1 chunks, and how many chunks carried it."""
    body, chunks = b"", 0
    while wire:
        size_hex, _, rest = wire.partition(b"\r\n")
        size = int(size_hex, 16)
        if size == 0:
            break
        body += rest[:size]
        wire = rest[size + 2 :]
        chunks += 1
    return body, chunks


async def _stream_one(
    clock: SimClock, tokens: int, max_unyielded_s: float, transport: RecordingTransport
) -> tuple[DirectStream, Sequence, Engine]:
    """One streamed prompt through the engine into a direct stream; the last token is written
    with the events still held, as the server's handler does."""
    profile = load_profile(PROFILE)
    ledger = EnergyLedger(profile.power, profile.num_gpus)
    engine = Engine(profile, clock, ledger, hold=HoldMode.OFF, max_unyielded_s=max_unyielded_s)
    runner = asyncio.create_task(engine.run())
    seqs: list[Sequence] = []
    sink = DirectStream(
        transport,
        _index_frame,
        chunked=True,
        outbox=engine.outbox,
        on_close=lambda: engine.abort(seqs[0]),
    )
    seqs.append(engine.submit(8, tokens, "length", sink))
    await sink.done
    if sink.final is not None:
        transport.write(http_chunk(sink.take() + _index_frame(sink.final.token_index)))
    await asyncio.sleep(0)  # the engine drops what it must and idles
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    return sink, seqs[0], engine


async def test_behind_schedule_one_write_carries_many_steps_with_the_same_bytes() -> None:
    tokens = 64
    per_step, coalesced = RecordingTransport(), RecordingTransport()
    await _stream_one(SimClock(FAST), tokens, 0.0, per_step)
    await _stream_one(SimClock(FAST), tokens, NEVER, coalesced)
    assert len(per_step.writes) == tokens  # yielding after every step: one write per step
    # Due steps run back to back: normally the last write carries all; a machine lagging
    # 50 ms inside the run restarts the wall schedule (a yield) but cannot make it per step.
    assert len(coalesced.writes) < tokens // 4
    per_step_body, _ = _dechunk(b"".join(data for _, data in per_step.writes))
    coalesced_body, _ = _dechunk(b"".join(data for _, data in coalesced.writes))
    assert coalesced_body == per_step_body == b"".join(_index_frame(i) for i in range(tokens))


# Speed 2: steps of ~3 ms wall, on schedule; 50: ~0.13 ms, behind after each sleep (asyncio's
# selector waits whole milliseconds) and on schedule once caught up; FAST: always behind.
@pytest.mark.parametrize(("speed", "tokens"), [(2.0, 12), (50.0, 48), (FAST, 48)])
async def test_no_event_is_written_before_its_step_ends_in_wall_time(
    speed: float, tokens: int
) -> None:
    clock, transport = DeadlineClock(speed), RecordingTransport()
    await _stream_one(clock, tokens, NEVER, transport)
    written = 0
    for wall_s, data in transport.writes:
        body, _ = _dechunk(data)
        for index in re.findall(rb"data: (\d+)\n\n", body):
            # one prompt that fits one step: token i is sampled by step i
            assert wall_s >= clock.deadlines_wall_s[int(index)] - TIMER_SLACK_S
            written += 1
    assert written == tokens


async def test_a_connection_found_closed_in_a_run_of_steps_stops_its_sequence_at_once() -> None:
    transport = RecordingTransport()
    transport.closing = True  # the client went away before its first token
    sink, seq, engine = await _stream_one(SimClock(FAST), 200, NEVER, transport)
    assert sink.closed and sink.final is None and seq.aborted
    # The first token found the connection closed; without the abort right there the run of
    # due steps would have generated all 200 before the handler could abort.
    assert seq.generated == 1 and engine.stats.generation_tokens == 1
    assert transport.writes == []


async def _raw_stream(host: str, port: int, body: dict[str, Any]) -> tuple[bytes, int]:
    """POST over a raw HTTP/1.1 connection: the de-chunked body and its number of chunks."""
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        b"POST /v1/completions HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%b" % (len(payload), payload)
    )
    wire = await reader.read()
    writer.close()
    head, _, chunked = wire.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"chunked" in head.lower()
    return _dechunk(chunked)


def _normalised(body: bytes) -> bytes:
    """A stream without what differs between two requests (id, creation time)."""
    body = re.sub(rb'"id":"cmpl-[0-9a-f]+"', b'"id":"cmpl-x"', body)
    return re.sub(rb'"created":\d+', b'"created":0', body)


@pytest.mark.parametrize("usage", [False, True])
async def test_a_sim_behind_schedule_streams_the_same_events_in_fewer_chunks(usage: bool) -> None:
    body: dict[str, Any] = {"model": MODEL, "prompt": [11] * 32, "max_tokens": 64,
                            "ignore_eos": True, "stream": True}  # fmt: skip
    if usage:
        body["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
    answers = []
    for max_unyielded_s in (0.0, NEVER):
        with run_in_thread(PROFILE, speed=1e6) as sim:
            sim.server.engine.max_unyielded_s = max_unyielded_s
            answers.append(await _raw_stream(sim.host, sim.port, body))
    (per_step, per_step_chunks), (coalesced, coalesced_chunks) = answers
    assert _normalised(coalesced) == _normalised(per_step)
    assert per_step.count(b"data: {") == 64 + usage
    assert per_step_chunks >= 64  # headers aside, one chunk per step, the last with [DONE]
    assert coalesced_chunks < 16


async def test_the_general_path_behind_schedule_delivers_every_token() -> None:
    """Several prompts, non-streamed, injected stalls and disconnects take engine.TokenStream,
    which wakes its handler once per run of due steps: still every token, in order."""
    stream = {"model": MODEL, "max_tokens": 40, "ignore_eos": True, "stream": True,
              "stream_options": {"include_usage": True}}  # fmt: skip
    with run_in_thread(PROFILE, speed=1e6, faults="stall=1:0s") as sim:
        # first, so that its text is the direct path's first request's
        general = await _raw_stream(sim.host, sim.port, {**stream, "prompt": [11] * 32})
        _, _, raw = await post_json(
            f"{sim.url}/v1/completions", {**stream, "prompt": [[1, 2, 3], [4, 5]]}
        )
        events = sse_events(raw)
        texts: dict[int, str] = {0: "", 1: ""}
        for event in events[:-2]:
            texts[event["choices"][0]["index"]] += event["choices"][0]["text"]
        assert [len(text) for text in texts.values()] == [40, 40]
        assert events[-2]["usage"]["completion_tokens"] == 80 and events[-1] == "[DONE]"
        once = {"model": MODEL, "max_tokens": 40, "ignore_eos": True, "prompt": [9] * 8}
        _, _, raw = await post_json(f"{sim.url}/v1/completions", once)
        assert json.loads(raw)["usage"]["completion_tokens"] == 40
    with run_in_thread(PROFILE, speed=1e6) as sim:
        direct = await _raw_stream(sim.host, sim.port, {**stream, "prompt": [11] * 32})
    assert _normalised(general[0]) == _normalised(direct[0])
    with run_in_thread(PROFILE, speed=1e6, faults="disconnect=1") as sim:
        async with aiohttp.ClientSession() as session:
            body = {**stream, "prompt": [7] * 20, "max_tokens": 3000}
            with pytest.raises(aiohttp.ClientPayloadError):
                async with session.post(f"{sim.url}/v1/completions", json=body) as response:
                    await response.read()
        for _ in range(500):
            if sim.server.engine.num_running == 0:
                break
            await asyncio.sleep(0.01)
        assert sim.server.engine.num_running == 0
        assert sim.server.engine.stats.generation_tokens < 3000  # cut, not finished


async def test_a_run_of_due_steps_spans_at_most_its_budget_of_wall_schedule() -> None:
    """After the host stalls (here: 30 ms with the event loop blocked), the steps it delayed are
    due at once; each write still covers at most MAX_UNYIELDED_S of their wall schedule, so
    simulated time and energy advance in wall time in steps no coarser than that."""
    clock, transport = DeadlineClock(40.0), RecordingTransport()  # steps of ~0.17 ms wall

    async def stall() -> None:
        while len(transport.writes) < 3:
            await asyncio.sleep(0.001)
        time.sleep(0.03)  # blocks the loop: the host stalls

    staller = asyncio.create_task(stall())
    await _stream_one(clock, 120, MAX_UNYIELDED_S, transport)
    await staller
    deadlines_s = clock.deadlines_wall_s
    step_wall_s = max(later - earlier for earlier, later in itertools.pairwise(deadlines_s))
    spans_s = []
    for _, data in transport.writes:
        indices = [int(i) for i in re.findall(rb"data: (\d+)\n\n", _dechunk(data)[0])]
        spans_s.append(deadlines_s[indices[-1]] - deadlines_s[indices[0]])
    # the handler's last write adds the last step to the events still held
    assert max(spans_s) <= MAX_UNYIELDED_S + step_wall_s
    assert len(transport.writes) < 120  # the stalled steps did run back to back
