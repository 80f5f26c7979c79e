"""An aiohttp application served on a free loopback port for the length of a test."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web


@contextlib.asynccontextmanager
async def serving(app: web.Application, handler_cancellation: bool = True) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a port the kernel picks) and give its base URL; stopped on
    exit. ``handler_cancellation``: a handler is cancelled when its client hangs up."""
    runner = web.AppRunner(app, handler_cancellation=handler_cancellation)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
