"""The simulator's event loop: asyncio's by default, or uvloop (the optional ``uvloop`` extra).

uvloop's transports and loop iterations are C, which leaves ~5 % more of the sim's one core to
the per-token writes (benchmarks/sim_capacity.py), but its timers count whole milliseconds of a
cached loop time, so a sleep can end up to ~1 ms early: a token may leave that much before its
step's wall deadline (asyncio's sleeps end late, never early). Hence opt-in."""

from __future__ import annotations

import asyncio
import importlib
from enum import StrEnum

from tokenergy.errors import ConfigError


class LoopKind(StrEnum):
    AUTO = "auto"  # uvloop if installed, else asyncio
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"


def new_event_loop(kind: LoopKind = LoopKind.ASYNCIO) -> asyncio.AbstractEventLoop:
    """A fresh loop of ``kind``; ``uvloop`` when it is not installed is an error naming it."""
    if kind is LoopKind.ASYNCIO:
        return asyncio.new_event_loop()
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        if kind is LoopKind.UVLOOP:
            raise ConfigError(
                "uvloop is not installed (pip install 'tokenergy[uvloop]')", field="event_loop"
            ) from None
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """``uvloop`` or ``asyncio``: what a run actually used."""
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
