"""An HTTP 500 with a 300 MB body is one failed request read in bounded memory (issue 14 item 7):
the client reads at most MAX_ERROR_BODY_BYTES of it and drops the connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path

from aiohttp import web

from tokenergy.load.client import MAX_ERROR_BODY_BYTES

from .local_app import serving

MIB = 1 << 20
BODY_BYTES = 300 * MIB
RSS_BOUND_MB = 32  # client growth allowed; the unfixed client grew by > 1.5 GB
HANG_GUARD_S = 120  # not a timing assertion: only turns a hang into a failure

# One request from a fresh interpreter: its outcome, the body bytes the client took off the
# socket (aiohttp's StreamReader.total_bytes) and its peak RSS growth over the RSS just before it
# (the peak is reset there, so import-time peaks do not count).
_PEAK_RSS = (Path(__file__).parents[1] / "peak_rss.py").read_text()
_CLIENT = (
    _PEAK_RSS
    + """
import asyncio, json, sys
import aiohttp
from tokenergy.load.client import Api, RequestOptions, RequestRecord, stream_request


async def main():
    responses = []
    async def keep(session, context, params):
        responses.append(params.response)
    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(keep)
    record = RequestRecord(index=0, warmup=False, isl=1, osl=1, target_ns=None)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        body = RequestOptions("m").body([1], 1)
        warm = RequestRecord(index=0, warmup=True, isl=1, osl=1, target_ns=None)
        await stream_request(session, sys.argv[1] + "/small", Api.COMPLETIONS, body, warm, 0, 60.0)
        before = status_kib("VmRSS:")  # after imports and a first request (lazy set-up)
        reset_peak()
        await stream_request(session, sys.argv[1] + "/huge", Api.COMPLETIONS, body, record, 0, 60.0)
        received = responses[-1].content.total_bytes
    peak = status_kib("VmHWM:")
    print(json.dumps({"outcome": record.outcome, "error": record.error,
                      "received": received, "growth_mb": (peak - before) / 1024}))

asyncio.run(main())
"""
)


async def test_a_300mb_error_body_is_read_at_most_64kib() -> None:
    sent = 0

    async def huge_500(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(status=500)
        await response.prepare(request)
        block = b"x" * MIB
        with contextlib.suppress(ConnectionError, RuntimeError):
            while sent < BODY_BYTES:
                await response.write(block)
                sent += MIB
        return response

    app = web.Application()

    async def small_500(request: web.Request) -> web.Response:
        return web.Response(status=500, text="overloaded")

    app.router.add_post("/huge", huge_500)
    app.router.add_post("/small", small_500)
    async with serving(app) as url:
        client = await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", _CLIENT, url), stdout=asyncio.subprocess.PIPE
        )
        stdout, _ = await asyncio.wait_for(client.communicate(), HANG_GUARD_S)
    assert client.returncode == 0
    result = json.loads(stdout)
    assert result["outcome"] == "http_500"
    assert result["growth_mb"] < RSS_BOUND_MB
    assert result["received"] <= 4 * MAX_ERROR_BODY_BYTES  # read 64 KiB (+ one socket read)
    assert sent < BODY_BYTES  # the connection was dropped, not drained
    assert MAX_ERROR_BODY_BYTES == 64 * 1024
    assert f"larger than {MAX_ERROR_BODY_BYTES} bytes" in result["error"]
