"""Client overhead: tokenergy's load client vs a bare aiohttp loop, against a zero-delay stub.

The server is ``benchmarks/sse_stub.py`` (pre-serialised vLLM-shaped events, one per engine step
of zero duration) in its own process, so it is never the bottleneck; with ≥ 2 cores it is pinned
to one core and this script (and any ``--workers`` it starts) to another, so client and server
never share a core. Closed loop at each concurrency, ISL 128 / OSL 64, token-id prompts; the
clients run interleaved, ``--reps`` times, and the medians are printed side by side:

- req/s: completed requests over first send → last end (the same definition for every client);
- CPU µs/request: the client's CPU time over its load phase (process + workers; the workers'
  start-up imports excluded), per request;
- the ``tokenergy bench`` CLI row (``--cli``) adds the whole process: imports, probes, prompt
  building, summary and files.

Targets (issue 15): tokenergy ≥ 0.95× the bare loop's req/s at c = 32 and 256, CPU/request
≤ 1.1× the bare loop's. guidellm and ``vllm bench serve`` are reported only when installed.

    .venv/bin/python benchmarks/client_overhead.py [--concurrency 1,32,256,1024] [--reps 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import numpy as np

from tokenergy.load.client import RequestOptions
from tokenergy.load.config import BenchConfig
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec

ISL, OSL = 128, 64
HERE = Path(__file__).resolve().parent
TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
BARE = "bare aiohttp"


@dataclass(frozen=True)
class Point:
    client: str
    concurrency: int
    requests: int
    req_s: float
    cpu_us_per_req: float


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, client cores): disjoint when there are ≥ 2, else no pinning."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return None, None
    half = len(available) // 2
    return set(available[half:]), set(available[:half])


def start_stub(port: int, server_cores: set[int] | None) -> subprocess.Popen[bytes]:
    def pin() -> None:
        if server_cores is not None:
            os.sched_setaffinity(0, server_cores)

    process = subprocess.Popen(
        [sys.executable, str(HERE / "sse_stub.py"), str(port), str(ISL)], preexec_fn=pin
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the stub server did not start")


async def bare_loop(url: str, concurrency: int, total: int) -> Point:
    """The least a streaming client can do: post, iterate lines, stamp the first data line."""
    rng = np.random.default_rng(0)
    options = RequestOptions("stub")  # the very bodies tokenergy sends: only the client differs
    bodies = [options.body(rng.integers(100, 150, ISL).tolist(), OSL) for _ in range(total)]
    queue = iter(bodies)
    sends: list[float] = []
    ends: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    cpu0 = time.process_time()
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in queue:
                sends.append(time.perf_counter())
                first = None
                async with session.post(
                    url + "/v1/completions", data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    async for line in response.content:
                        if first is None and line.startswith(b"data:"):
                            first = time.perf_counter()
                assert first is not None
                ends.append(time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    cpu_s = time.process_time() - cpu0
    req_s = total / (max(ends) - min(sends))
    return Point(BARE, concurrency, total, req_s, cpu_s / total * 1e6)


def bench_config(url: str, concurrency: int, total: int, out: Path, workers: int) -> BenchConfig:
    return BenchConfig(
        base_url=url,
        model="",
        lengths=LengthSpec(LengthKind.FIXED, isl=ISL, osl=OSL),
        shape=LoadShape(concurrency=concurrency, num_prompts=total),
        out_dir=out,
        workers=workers,
    )


async def tokenergy_library(
    url: str, concurrency: int, total: int, out: Path, workers: int
) -> Point:
    outcome = await run_point(bench_config(url, concurrency, total, out, workers))
    whole = outcome.whole_run
    assert whole.counts.completed == total, whole.counts
    assert whole.throughput.request_per_s is not None
    label = "tokenergy" if workers == 1 else f"tokenergy {workers} workers"
    cpu_us = outcome.self_check.client_cpu_s / total * 1e6  # the load phase (drive) only
    return Point(label, concurrency, total, whole.throughput.request_per_s, cpu_us)


def tokenergy_cli(url: str, concurrency: int, total: int, out: Path) -> Point:
    """The console script end to end; CPU is the whole child process (imports included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    args = [TOKENERGY, "bench", url, "--isl", str(ISL), "--osl", str(OSL)]
    args += ["--concurrency", str(concurrency), "--num-prompts", str(total), "--out", str(out)]
    subprocess.run(args, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run = json.loads((out / "run.json").read_text())
    req_s = float(run["whole_run"]["throughput"]["request_per_s"])
    return Point("tokenergy CLI (whole process)", concurrency, total, req_s, cpu_s / total * 1e6)


def median_points(runs: list[Point]) -> list[Point]:
    """One point per client: the median of each figure over the repetitions."""
    merged = []
    for client in dict.fromkeys(p.client for p in runs):
        mine = [p for p in runs if p.client == client]
        merged.append(
            Point(
                client,
                mine[0].concurrency,
                mine[0].requests,
                float(np.median([p.req_s for p in mine])),
                float(np.median([p.cpu_us_per_req for p in mine])),
            )
        )
    return merged


def report(points: list[Point], notes: list[str], reps: int, pinned: str) -> None:
    print(
        f"zero-delay SSE stub (benchmarks/sse_stub.py), loopback, ISL {ISL}, OSL {OSL}; {pinned}; "
        f"medians of {reps} interleaved repetitions"
    )
    print(
        f"{'client':<30} {'conc':>5} {'reqs':>6} {'req/s':>9} {'vs bare':>8} "
        f"{'CPU us/req':>11} {'CPU vs bare':>12}"
    )
    bare = {p.concurrency: p for p in points if p.client == BARE}
    for p in points:
        ref = bare[p.concurrency]
        print(
            f"{p.client:<30} {p.concurrency:>5} {p.requests:>6} {p.req_s:>9.1f} "
            f"{p.req_s / ref.req_s:>8.2f} {p.cpu_us_per_req:>11.0f} "
            f"{p.cpu_us_per_req / ref.cpu_us_per_req:>12.2f}"
        )
    for note in notes:
        print("note:", note)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", default="1,32,256,1024")
    parser.add_argument("--workers", default="2", help="worker counts besides 1 (comma list)")
    parser.add_argument("--requests-per-slot", type=int, default=4)
    parser.add_argument("--min-requests", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (median)")
    parser.add_argument("--cli", action="store_true", help="also run the tokenergy console script")
    args = parser.parse_args()
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    worker_counts = [int(w) for w in args.workers.split(",") if w]
    server_cores, client_cores = cores()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)  # inherited by the --workers processes
    pinned = (
        f"server on cores {sorted(server_cores)}, client on {sorted(client_cores)}"
        if server_cores is not None and client_cores is not None
        else "one core: client and server share it"
    )
    notes = [
        f"{tool} not installed: not run" for tool in ("guidellm", "vllm") if not shutil.which(tool)
    ]
    port = free_port()
    stub = start_stub(port, server_cores)
    url = f"http://127.0.0.1:{port}"
    points: list[Point] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for concurrency in concurrencies:
                total = max(args.min_requests, args.requests_per_slot * concurrency)
                asyncio.run(bare_loop(url, concurrency, min(total, 2 * concurrency)))  # warm up
                runs: list[Point] = []
                for rep in range(args.reps):  # interleaved, so drifts in machine load hit all
                    runs.append(asyncio.run(bare_loop(url, concurrency, total)))
                    for workers in [1, *worker_counts]:
                        if workers > concurrency:
                            continue
                        out = Path(tmp) / f"lib-{concurrency}-{workers}-{rep}"
                        point = tokenergy_library(url, concurrency, total, out, workers)
                        runs.append(asyncio.run(point))
                    if args.cli:
                        out = Path(tmp) / f"cli-{concurrency}-{rep}"
                        runs.append(tokenergy_cli(url, concurrency, total, out))
                points.extend(median_points(runs))
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    report(points, notes, args.reps, pinned)


if __name__ == "__main__":
    main()
