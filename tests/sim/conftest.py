"""Simulator test helpers: a real sim on 127.0.0.1 in a background thread, and an SSE reader."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenergy.sim.server import SimHandle, run_in_thread

PROFILE = "llama-3.1-8b-h100"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_in_thread(PROFILE, speed=100.0, seed=7) as handle:
        yield handle
