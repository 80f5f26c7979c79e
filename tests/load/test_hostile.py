"""The hostile-server suite: whatever a server does, every run ends within its deadline with
run.json written and attempted = completed + failed + incomplete; each misbehaving response is
one failed request with its cause, and the run goes on."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tokenergy.errors import ConfigError, ServerError
from tokenergy.load.client import Api, RequestOptions, RequestRecord, stream_request
from tokenergy.load.config import BenchConfig
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec

from .hostile import CAUSES, MIB, HostileServer, in_thread

HANG_GUARD_S = 120  # not a timing assertion: only turns a hang into a failure


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[HostileServer, str]]:
    server = HostileServer()
    async with server.running() as url:
        yield server, url


def config(url: str, out: Path, **overrides: Any) -> BenchConfig:
    base: dict[str, Any] = {
        "base_url": url,
        "model": "",
        "lengths": LengthSpec(LengthKind.FIXED, isl=4, osl=8),
        "shape": LoadShape(concurrency=2, num_prompts=6),
        "out_dir": out,
        "request_timeout_s": 1.0,
    }
    base.update(overrides)
    return BenchConfig(**base)


def accounted(out: Path) -> dict[str, Any]:
    """The whole-run counts of run.json, after checking that every request is accounted for."""
    run = json.loads((out / "run.json").read_text())
    counts: dict[str, Any] = run["whole_run"]["counts"]
    assert counts["attempted"] == counts["completed"] + counts["failed"] + counts["incomplete"]
    lines = (out / "requests.jsonl").read_text().splitlines()
    assert len(lines) == counts["attempted"]
    return counts


@pytest.mark.parametrize("mode", sorted(CAUSES))
async def test_each_bad_response_is_one_failed_request(
    hostile: tuple[HostileServer, str], tmp_path: Path, mode: str
) -> None:
    server, url = hostile
    out = tmp_path / mode
    await asyncio.wait_for(run_point(config(f"{url}/{mode}", out)), HANG_GUARD_S)
    counts = accounted(out)
    assert counts["attempted"] == 6 and counts["completed"] == 3
    assert counts["failures_by_cause"] == {CAUSES[mode]: 3}
    if mode in server.stats.body_bytes_sent:  # the client stopped reading long before the end
        assert server.stats.body_bytes_sent[mode] < 64 * MIB


async def test_run_deadline_cuts_a_trickling_server(
    hostile: tuple[HostileServer, str], tmp_path: Path
) -> None:
    _, url = hostile
    slow = config(
        f"{url}/trickle",
        tmp_path,
        request_timeout_s=3600.0,
        run_timeout_s=1.0,
        shape=LoadShape(concurrency=2, num_prompts=50),
    )
    outcome = await asyncio.wait_for(run_point(slow), HANG_GUARD_S)
    counts = accounted(tmp_path)
    assert counts["incomplete"] >= 1 and counts["attempted"] < 50
    assert any("run deadline" in w for w in outcome.self_check.warnings)


async def test_models_data_as_a_dict_is_a_clear_error(
    hostile: tuple[HostileServer, str], tmp_path: Path
) -> None:
    _, url = hostile
    with pytest.raises(ServerError, match="lists no model; pass `model`"):
        await run_point(config(f"{url}/models_dict", tmp_path / "a"))
    await run_point(config(f"{url}/models_dict", tmp_path / "b", model="m"))
    assert accounted(tmp_path / "b")["completed"] == 6


async def test_concurrency_is_capped_at_the_prompts_to_send(
    hostile: tuple[HostileServer, str], tmp_path: Path
) -> None:
    _, url = hostile
    wide = config(f"{url}/ok", tmp_path, shape=LoadShape(concurrency=50_000, num_prompts=4))
    outcome = await asyncio.wait_for(run_point(wide), HANG_GUARD_S)
    assert outcome.result.workload.concurrency == 4
    assert any("capped" in w for w in outcome.self_check.warnings)
    assert accounted(tmp_path)["completed"] == 4


def test_absurd_concurrency_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"must be in \[1, 65535\]"):
        LoadShape(concurrency=10**8, num_prompts=10)


async def test_a_second_run_never_touches_the_first_runs_files(
    hostile: tuple[HostileServer, str], tmp_path: Path
) -> None:
    _, url = hostile
    (tmp_path / "notes.txt").write_text("mine")
    await run_point(config(f"{url}/ok", tmp_path))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(ConfigError, match="already holds a run"):
        await run_point(config(f"{url}/ok", tmp_path))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert (tmp_path / "notes.txt").read_text() == "mine"


async def test_not_http_at_all_is_a_failed_request() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"\x00\x01 not http at all\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    record = RequestRecord(index=0, warmup=False, isl=1, osl=1, target_ns=None)
    async with server, aiohttp.ClientSession() as session:
        body = RequestOptions("m").body([1], 1)
        url = f"http://127.0.0.1:{port}/v1/completions"
        await stream_request(session, url, Api.COMPLETIONS, body, record, 0, 5.0)
    assert record.failed and record.outcome in ("bad_response", "disconnect")


def test_the_cli_survives_a_hostile_server(tmp_path: Path) -> None:
    """End to end through the console script: exit 0, every request accounted for."""
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    with in_thread() as (_, url):
        done = subprocess.run(
            [
                *(tokenergy, "bench", f"{url}/trickle", "--isl", "4", "--osl", "8"),
                *("--concurrency", "2", "--num-prompts", "6", "--request-timeout", "1"),
                *("--out", str(tmp_path / "run")),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=HANG_GUARD_S,
        )
    assert done.returncode == 0, done.stderr
    assert accounted(tmp_path / "run")["failures_by_cause"] == {"timeout": 3}


def test_sigterm_ends_a_wide_stalled_run_promptly(tmp_path: Path) -> None:
    """Hundreds of requests stuck on a silent server: SIGTERM still ends the run, run.json kept."""
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    with in_thread() as (server, url):
        bench = subprocess.Popen(
            [
                *(tokenergy, "bench", f"{url}/stall", "--isl", "4", "--osl", "8"),
                *("--concurrency", "400", "--num-prompts", "400"),
                *("--out", str(tmp_path / "run")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            for _ in range(1200):  # until the stalled requests are in flight
                if server.stats.load_requests >= 300 or bench.poll() is not None:
                    break
                time.sleep(0.05)
            bench.send_signal(signal.SIGTERM)
            _, stderr = bench.communicate(timeout=HANG_GUARD_S)
        finally:
            if bench.poll() is None:
                bench.kill()
    assert bench.returncode == 143, stderr
    counts = accounted(tmp_path / "run")
    assert counts["incomplete"] >= 150
