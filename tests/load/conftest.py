"""A simulator on a background thread for load tests (real HTTP on 127.0.0.1, stopped after)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tokenergy.sim.server import SimHandle, run_in_thread

PROFILE = "llama-3.1-8b-h100"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    """A fault-free simulator at 50× speed."""
    with run_in_thread(PROFILE, speed=50.0) as handle:
        yield handle
