"""Seeded fault injection: HTTP errors, mid-stream disconnects, stalls, a slow start.

Syntax (``--faults``): comma-separated ``key=value``::

    error_rate=0.05,status=500|429,disconnect=0.01,stall=0.01:5s,slow_start=2s

- ``error_rate``: probability that a request is answered with an HTTP error at once;
  ``status``: the statuses to draw from uniformly (default 500).
- ``disconnect``: probability that a request's connection is cut mid-response (streaming: after
  a uniformly drawn number of tokens, before ``[DONE]``; non-streaming: no response at all).
- ``stall=P:D``: probability P that a response pauses D simulated seconds at a random token.
- ``slow_start=D``: the engine serves nothing for D simulated seconds after start (/health 503).

Durations take ``ms``/``s``/``min`` suffixes (bare numbers are seconds) and are simulated time,
so ``--speed`` shortens them too. Each request's faults derive from (seed, request index).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from tokenergy.errors import ConfigError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|min)?\s*$")
_SCALE_S = {"ms": 1e-3, "s": 1.0, "min": 60.0, None: 1.0}
_FAULT_STREAM = 0xFA17


@dataclass(frozen=True)
class FaultSpec:
    error_rate: float = 0.0
    statuses: tuple[int, ...] = (500,)
    disconnect_rate: float = 0.0
    stall_rate: float = 0.0
    stall_s: float = 0.0
    slow_start_s: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.error_rate or self.disconnect_rate or self.stall_rate or self.slow_start_s)


@dataclass(frozen=True)
class RequestFaults:
    """What happens to one request: an error status, or where to cut or stall its output."""

    error_status: int | None = None
    disconnect_after: int | None = None  # tokens delivered before the cut
    stall_after: int | None = None  # tokens delivered before the pause

    @property
    def mid_response(self) -> bool:
        """The response is cut or paused part-way (the general, per-token path handles it)."""
        return self.disconnect_after is not None or self.stall_after is not None


def parse_duration_s(text: str, field: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise ConfigError(f"cannot parse duration {text!r} (e.g. 5s, 500ms)", field=field)
    return float(match.group(1)) * _SCALE_S[match.group(2)]


def _probability(text: str, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"cannot parse probability {text!r}", field=field) from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"probability must be in [0, 1], got {text!r}", field=field)
    return value


def parse_faults(text: str) -> FaultSpec:
    """Parse the ``--faults`` syntax; unknown keys and bad values name the key."""
    values: dict[str, object] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip()
        field = f"faults {key}"
        if not sep:
            raise ConfigError(f"expected key=value, got {part!r}", field="faults")
        if key == "error_rate":
            values["error_rate"] = _probability(value, field)
        elif key == "status":
            values["statuses"] = _statuses(value, field)
        elif key == "disconnect":
            values["disconnect_rate"] = _probability(value, field)
        elif key == "stall":
            rate, colon, duration = value.partition(":")
            if not colon:
                raise ConfigError("stall needs PROBABILITY:DURATION, e.g. 0.01:5s", field=field)
            values["stall_rate"] = _probability(rate, field)
            values["stall_s"] = parse_duration_s(duration, field)
        elif key == "slow_start":
            values["slow_start_s"] = parse_duration_s(value, field)
        else:
            raise ConfigError(
                f"unknown fault {key!r}; use error_rate, status, disconnect, stall, slow_start",
                field="faults",
            )
    return FaultSpec(**values)  # type: ignore[arg-type]


def _statuses(text: str, field: str) -> tuple[int, ...]:
    try:
        statuses = tuple(int(piece) for piece in text.split("|"))
    except ValueError:
        raise ConfigError(
            f"statuses must be integers like 500|429, got {text!r}", field=field
        ) from None
    if not all(400 <= status <= 599 for status in statuses):
        raise ConfigError(f"statuses must be HTTP errors (4xx/5xx), got {text!r}", field=field)
    return statuses


def draw_faults(
    spec: FaultSpec, seed: int, request_index: int, output_tokens: int
) -> RequestFaults:
    """The faults of one request, reproducible from (seed, request index)."""
    if not spec.any:
        return RequestFaults()
    rng = np.random.default_rng([seed, _FAULT_STREAM, request_index])
    draws = rng.random(3)
    if draws[0] < spec.error_rate:
        return RequestFaults(error_status=int(rng.choice(spec.statuses)))
    disconnect_after = None
    if draws[1] < spec.disconnect_rate:
        disconnect_after = int(rng.integers(0, max(1, output_tokens)))
    stall_after = None
    if draws[2] < spec.stall_rate:
        stall_after = int(rng.integers(0, max(1, output_tokens)))
    return RequestFaults(disconnect_after=disconnect_after, stall_after=stall_after)
