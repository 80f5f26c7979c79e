"""`bench --concurrency` against the simulator (issue 14 item 6): absurd values are refused before
any load, a concurrency above the prompts to send is capped at them, and SIGTERM ends a wide run
promptly with every request accounted for."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tokenergy.load.fdlimit import raise_fd_limit
from tokenergy.sim.server import SimHandle, run_in_thread

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
HANG_GUARD_S = 120  # not a timing assertion: only turns a hang into a failure
PROMPT_EXIT_S = 30  # SIGTERM to exit; generous for a busy 2-core machine (typically ~1 s)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    raise_fd_limit()  # the simulator runs in this process and holds a socket per request
    with run_in_thread("llama-3.1-8b-h100", speed=50.0) as handle:
        yield handle


def _counts(run_dir: Path) -> dict[str, Any]:
    run = json.loads((run_dir / "run.json").read_text())
    counts: dict[str, Any] = run["whole_run"]["counts"]
    assert counts["attempted"] == counts["completed"] + counts["failed"] + counts["incomplete"]
    assert len((run_dir / "requests.jsonl").read_text().splitlines()) == counts["attempted"]
    return run


def test_an_absurd_concurrency_is_refused_before_any_load(
    cli: Callable[..., Any], sim: SimHandle, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    done = cli(
        "bench", sim.url, "--concurrency", "100000000", "--num-prompts", "5", "--out", str(out)
    )
    assert done.code == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--concurrency" in lines[0] and "65535" in lines[0]
    assert not out.exists()


def test_a_concurrency_above_the_prompts_is_capped_at_them(
    cli: Callable[..., Any], sim: SimHandle, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    args = ("--isl", "16", "--osl", "4", "--concurrency", "65535", "--num-prompts", "8")
    done = cli("bench", sim.url, *args, "--out", str(out))
    assert done.code == 0, done.stderr
    run = _counts(out)
    assert run["whole_run"]["counts"]["completed"] == 8
    assert run["result"]["workload"]["concurrency"] == 8
    assert any("capped at the 8 prompts" in w for w in run["self_check"]["warnings"])


def test_sigterm_ends_a_wide_run_promptly(sim: SimHandle, tmp_path: Path) -> None:
    """A concurrency far above what the machine can serve, capped at 1,000 prompts: SIGTERM as soon
    as the first requests have ended, and the run must end within PROMPT_EXIT_S with run.json.
    Output lengths spread over 7-121 tokens, so the first requests end long before the last (of
    1,000 equal ones, a fast client and sim could finish all in the iteration that logs the
    first)."""
    out = tmp_path / "run"
    log = out / "requests.jsonl"
    bench = subprocess.Popen(
        [
            *(TOKENERGY, "bench", sim.url, "--isl", "16", "--osl", "64", "--range-ratio", "0.9"),
            *("--concurrency", "65535", "--num-prompts", "1000", "--out", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        give_up = time.monotonic() + HANG_GUARD_S
        while not (log.exists() and log.stat().st_size > 0):  # some requests have ended
            assert bench.poll() is None, bench.communicate()[1]
            assert time.monotonic() < give_up, "no request ended"
            time.sleep(0.05)
        bench.send_signal(signal.SIGTERM)
        _, stderr = bench.communicate(timeout=PROMPT_EXIT_S)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    assert bench.returncode == 143, stderr
    run = _counts(out)
    assert run["result"]["workload"]["concurrency"] == 1000
    assert run["whole_run"]["counts"]["incomplete"] > 0  # the run was cut, not finished
