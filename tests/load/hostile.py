"""A real aiohttp server that misbehaves on purpose (the hostile-server suite's counterpart).

Its base URL carries the misbehaviour: ``http://127.0.0.1:PORT/<mode>``. Metadata, ``/tokenize``
and the two probe requests (``max_tokens`` 2) are always well-formed, so the run reaches its
load; of the load requests every other one (the 2nd, 4th, …) gets the misbehaviour, so a run has
both successes and failures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .local_app import serving

MIB = 1 << 20


def sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


@dataclass
class Stats:
    """What the server saw and sent (bytes of the oversized bodies, load requests)."""

    load_requests: int = 0
    body_bytes_sent: dict[str, int] = field(default_factory=dict)


async def _stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    return response


async def _big_body(response: web.StreamResponse, stats: Stats, mode: str, total: int) -> None:
    """Send ``total`` bytes in 1 MiB writes until the client hangs up."""
    block = b"x" * MIB
    stats.body_bytes_sent[mode] = 0
    with contextlib.suppress(ConnectionError, RuntimeError):
        while stats.body_bytes_sent[mode] < total:
            await response.write(block)
            stats.body_bytes_sent[mode] += MIB


class HostileServer:
    def __init__(self) -> None:
        self.stats = Stats()
        self.models: dict[str, Any] = {"data": [{"id": "m", "object": "model"}]}

    async def v1_models(self, request: web.Request) -> web.Response:
        if request.match_info["mode"] == "models_dict":
            return web.json_response({"object": "list", "data": {"id": "m"}})
        return web.json_response(self.models)

    async def tokenize(self, request: web.Request) -> web.Response:
        payload = await request.json()
        text = payload.get("prompt")
        if text is None:
            text = " ".join(m["content"] for m in payload["messages"])
        tokens = [100 + i for i, _ in enumerate(str(text).split())]
        return web.json_response({"count": len(tokens), "tokens": tokens})

    async def completions(self, request: web.Request) -> web.StreamResponse:
        mode = request.match_info["mode"]
        payload = await request.json()
        osl = int(payload["max_tokens"])
        prompt = payload["prompt"]
        isl = len(prompt) if isinstance(prompt, list) else len(str(prompt).split())
        if osl != 2 and mode in CAUSES:  # a load request to a misbehaving URL
            self.stats.load_requests += 1
            if self.stats.load_requests % 2 == 0:
                return await self.misbehave(mode, request, isl, osl)
        return await good_stream(request, isl, osl)

    async def misbehave(
        self, mode: str, request: web.Request, isl: int, osl: int
    ) -> web.StreamResponse:
        if mode == "http500_huge":  # an error page of 300 MB
            response = web.StreamResponse(status=500)
            await response.prepare(request)
            await _big_body(response, self.stats, mode, 300 * MIB)
            return response
        if mode == "html200":
            return web.Response(text="<html>gateway says hi</html>", content_type="text/html")
        if mode == "json200":  # a non-streamed answer to a streamed request
            return web.json_response({"choices": [{"text": "abc"}], "usage": {"prompt_tokens": 1}})
        if mode == "huge_header":
            return web.Response(text="x", headers={"X-Big": "y" * 200_000})
        response = await _stream(request)
        if mode == "huge_line":  # one 100 MB line, never a newline
            await response.write(b"data: ")
            await _big_body(response, self.stats, mode, 100 * MIB)
            return response
        if mode == "trickle":  # comments forever: every read gets data, no token ever comes
            with contextlib.suppress(ConnectionError, RuntimeError):
                while True:
                    await response.write(b": keepalive\n\n")
                    await asyncio.sleep(0.05)
        if mode == "stall":  # headers, then nothing until the client gives up
            await asyncio.Event().wait()
        if mode == "early_close":
            await response.write(sse({"choices": [{"text": "a"}]}))
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(BAD_EVENTS[mode])
        with contextlib.suppress(ConnectionError, RuntimeError):
            await response.write(sse({"choices": [], "usage": usage(isl, osl)}))
            await response.write(b"data: [DONE]\n\n")
        return response

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_get("/{mode}/v1/models", self.v1_models)
        app.router.add_post("/{mode}/tokenize", self.tokenize)
        app.router.add_post("/{mode}/v1/completions", self.completions)
        async with serving(app) as url:
            yield url


def usage(isl: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": isl, "completion_tokens": completion, "total_tokens": isl + completion}


async def good_stream(request: web.Request, isl: int, osl: int) -> web.StreamResponse:
    response = await _stream(request)
    for k in range(1, osl + 1):
        await response.write(sse({"choices": [{"index": 0, "text": "w"}], "usage": usage(isl, k)}))
    await response.write(sse({"choices": [], "usage": usage(isl, osl)}))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


# One malformed event, then the stream goes on as if nothing happened.
BAD_EVENTS: dict[str, bytes] = {
    "data_int": b"data: 42\n\n",
    "choices_str": sse({"choices": "abc"}),
    "usage_list": sse({"choices": [{"text": "a"}], "usage": [1, 2]}),
    "usage_str_count": sse({"choices": [{"text": "a"}], "usage": {"completion_tokens": "x"}}),
    "usage_negative": sse({"choices": [{"text": "a"}], "usage": {"completion_tokens": -3}}),
    "usage_huge": b'data: {"choices":[{"text":"a"}],"usage":{"completion_tokens":1'
    + b"0" * 400
    + b"}}\n\n",
    "choice_int": sse({"choices": [7]}),
    "deep": b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n",
    "not_utf8": b"data: \xff\xfe\x00garbage\n\n",
    "not_json": b"data: hello world\n\n",
    "error_event": sse({"error": {"message": "engine died"}}),
}

# Each misbehaviour and the one cause its requests must be counted under.
CAUSES: dict[str, str] = {
    **dict.fromkeys(BAD_EVENTS, "stream_error"),
    "huge_line": "response_too_large",
    "trickle": "timeout",
    "stall": "timeout",
    "http500_huge": "http_500",
    "html200": "bad_response",
    "json200": "bad_response",
    "huge_header": "bad_response",
    "early_close": "disconnect",
}


@contextlib.contextmanager
def in_thread() -> Iterator[tuple[HostileServer, str]]:
    """The server on its own event loop in a background thread (for synchronous callers, like
    the CLI, that run their own loop); stopped on exit."""
    server = HostileServer()
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[str] = concurrent.futures.Future()
    stop = asyncio.Event()

    async def main() -> None:
        async with server.running() as url:
            started.set_result(url)
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        yield server, started.result(timeout=30)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        loop.close()
