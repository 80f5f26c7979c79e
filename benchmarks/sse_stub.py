"""A zero-delay OpenAI-compatible streaming stub, cheap enough never to be the bottleneck.

Raw asyncio protocol (no web framework): it answers ``GET /v1/models``, ``POST /tokenize`` and
streamed ``POST /v1/completions`` with vLLM-shaped events (continuous usage, a final usage
event, ``[DONE]``) built once and reused. Streams advance like a continuous-batching engine with
zero step time: each event-loop iteration writes the next token event of every active stream,
so a client that keeps up receives one event per read, and one that falls behind finds them
coalesced. Used by ``benchmarks/client_overhead.py``; not part of the package.

    python benchmarks/sse_stub.py PORT ISL
"""

from __future__ import annotations

import asyncio
import json
import sys

MODEL = "stub"


def _chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (Transfer-Encoding: chunked)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(payload: dict[str, object]) -> bytes:
    return _chunk(b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n")


class Events:
    """Pre-serialised chunks per ``max_tokens``: k token events, then usage and ``[DONE]``."""

    def __init__(self, isl: int) -> None:
        self.isl = isl
        self._cache: dict[int, list[bytes]] = {}

    def __call__(self, osl: int) -> list[bytes]:
        if osl not in self._cache:
            events = []
            for k in range(1, osl + 1):
                usage = {"prompt_tokens": self.isl, "total_tokens": self.isl + k}
                usage["completion_tokens"] = k
                choice = {"index": 0, "text": " w", "logprobs": None, "finish_reason": None}
                events.append(
                    _event(
                        {
                            "id": "cmpl-stub",
                            "object": "text_completion",
                            "created": 0,
                            "model": MODEL,
                            "choices": [choice],
                            "usage": usage,
                        }
                    )
                )
            final = {"prompt_tokens": self.isl, "total_tokens": self.isl + osl}
            final["completion_tokens"] = osl
            events.append(_event({"id": "cmpl-stub", "choices": [], "usage": final}))
            events.append(_chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            self._cache[osl] = events
        return self._cache[osl]


STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def _json_response(payload: object) -> bytes:
    body = json.dumps(payload).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    return head % len(body) + body


class Engine:
    """The active streams, advanced one event each per loop iteration."""

    def __init__(self) -> None:
        self.active: list[tuple[asyncio.Transport, list[bytes], int]] = []
        self.scheduled = False

    def start(self, transport: asyncio.Transport, events: list[bytes]) -> None:
        transport.write(STREAM_HEAD)
        self.active.append((transport, events, 0))
        if not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self.step)

    def step(self) -> None:
        still = []
        for transport, events, at in self.active:
            if transport.is_closing():
                continue
            transport.write(events[at])
            if at + 1 < len(events):
                still.append((transport, events, at + 1))
        self.active = still
        self.scheduled = bool(still)
        if still:
            asyncio.get_running_loop().call_soon(self.step)


class Connection(asyncio.Protocol):
    def __init__(self, engine: Engine, events: Events) -> None:
        self.engine = engine
        self.events = events
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self.handle(head.split(" ", 2), body)

    def handle(self, request_line: list[str], body: bytes) -> None:
        assert self.transport is not None
        method, path = request_line[0], request_line[1]
        if method == "GET" and path == "/v1/models":
            self.transport.write(_json_response({"object": "list", "data": [{"id": MODEL}]}))
        elif method == "POST" and path == "/tokenize":
            payload = json.loads(body)
            tokens = [100 + i for i, _ in enumerate(str(payload.get("prompt", "")).split())]
            self.transport.write(_json_response({"count": len(tokens), "tokens": tokens}))
        elif method == "POST" and path == "/v1/completions":
            at = body.find(b'"max_tokens":') + len(b'"max_tokens":')
            while body[at : at + 1] == b" ":  # json.dumps's default separators (vllm bench)
                at += 1
            end = at
            while body[end : end + 1].isdigit():
                end += 1
            self.engine.start(self.transport, self.events(int(body[at:end])))
        else:
            self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")


async def serve(port: int, isl: int) -> None:
    engine, events = Engine(), Events(isl)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(engine, events), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))
