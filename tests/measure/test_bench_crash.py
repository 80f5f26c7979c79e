"""Crash safety of a bench: SIGKILL ``tokenergy bench`` (the CLI in a forked child) at random
moments, 20 times; every run directory it leaves stays readable (complete lines in
requests.jsonl, at most a torn last line)."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenergy.cli.app import run
from tokenergy.load.runlog import read_requests
from tokenergy.sim.server import SimHandle, run_in_thread

# A forked child runs the CLI in-process: the console script's code path without paying its
# imports 20 times (seconds each on a busy 2-core machine).
_FORK = multiprocessing.get_context("fork")


def _quiet_run(argv: list[str]) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os._exit(run(argv))


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_in_thread("llama-3.1-8b-h100", speed=20.0) as handle:
        yield handle


@pytest.mark.slow
def test_sigkill_at_random_moments_never_leaves_an_unreadable_run(
    sim: SimHandle, tmp_path: Path
) -> None:
    rng = random.Random(1128)
    kept = 0
    for attempt in range(20):
        out = tmp_path / f"run{attempt}"
        argv = ["bench", sim.url, "--isl", "32", "--osl", "8", "--concurrency", "4"]
        bench = _FORK.Process(
            target=_quiet_run, args=([*argv, "--num-prompts", "5000", "--out", str(out)],)
        )
        bench.start()
        requests = out / "requests.jsonl"
        if attempt % 4 == 0:  # while starting up
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # during the load, at a random moment after the first requests ended
            deadline = time.monotonic() + 120
            while not (requests.exists() and requests.stat().st_size > 0):
                assert bench.is_alive() and time.monotonic() < deadline, "bench never ran"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.0))
        assert bench.pid is not None
        os.kill(bench.pid, signal.SIGKILL)
        bench.join()
        if not requests.exists():
            continue
        records = read_requests(requests)  # raises on any damage but a torn last line
        lines = requests.read_bytes().split(b"\n")
        for line in lines[:-2]:  # every line but a possibly torn last one is complete JSON
            json.loads(line)
        assert len(records) >= len(lines) - 2
        kept += len(records)
    assert kept > 0, "no kill ever landed during the load"
