"""Client overhead: tokenergy's load client vs a bare aiohttp loop vs ``vllm bench serve``.

All three drive the same simulator (its own process, ``--speed`` huge so model delays are ~0,
loopback) closed loop at concurrency 1, 32 and 256, one after the other in one run. Whatever
the server costs is common to all three, so differences in achieved req/s and TTFT are the
clients' own overhead. Targets (issue 4): ≥ 90 % of the bare loop's req/s; p99 added TTFT
< 2 ms at concurrency 32.

    .venv/bin/python benchmarks/client_overhead.py [--vllm /work/.vllm-venv/bin/vllm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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

ISL, OSL = 128, 16
SPEED = 1e6  # simulated seconds per wall second: model step times vanish
CONCURRENCIES = (1, 32, 256)


@dataclass(frozen=True)
class Point:
    client: str
    concurrency: int
    requests: int
    req_s: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    cpu_us_per_req: float | None  # client CPU during the load phase (None: not measured)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sim(port: int) -> subprocess.Popen[bytes]:
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    process = subprocess.Popen(
        [tokenergy, "sim", "serve", "--port", str(port), "--speed", str(SPEED)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("simulator did not start")


def model_of(url: str) -> str:
    with urllib.request.urlopen(url + "/v1/models") as response:
        return str(json.load(response)["data"][0]["id"])


async def bare_loop(url: str, model: str, concurrency: int, total: int) -> Point:
    """The least a streaming client can do: post, read lines, stamp the first data line."""
    rng = np.random.default_rng(0)
    options = RequestOptions(model)  # the very bodies tokenergy sends: only the client differs
    bodies = [options.body(rng.integers(0, 256, ISL).tolist(), OSL) for _ in range(total)]
    ttfts: list[float] = []
    queue = iter(bodies)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for body in queue:
                start = time.perf_counter()
                first = None
                async with session.post(
                    url + "/v1/completions", data=body, headers={"Content-Type": "application/json"}
                ) as response:
                    async for line in response.content:
                        if first is None and line.startswith(b"data:"):
                            first = time.perf_counter()
                assert first is not None
                ttfts.append(first - start)

        began, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed, cpu_s = time.perf_counter() - began, time.process_time() - cpu0
    p50, p99 = np.percentile(ttfts, [50, 99]) * 1000
    cpu_us = cpu_s / total * 1e6
    return Point("bare aiohttp loop", concurrency, total, total / elapsed, p50, p99, cpu_us)


async def tokenergy_client(url: str, concurrency: int, total: int, out: Path) -> Point:
    config = BenchConfig(
        base_url=url,
        model="",
        lengths=LengthSpec(LengthKind.FIXED, isl=ISL, osl=OSL),
        shape=LoadShape(concurrency=concurrency, num_prompts=total),
        out_dir=out,
    )
    outcome = await run_point(config)
    whole = outcome.whole_run
    ttft = whole.latency.ttft_s
    assert ttft is not None and ttft.median is not None and ttft.p99 is not None
    assert whole.throughput.request_per_s is not None
    return Point(
        "tokenergy bench",
        concurrency,
        total,
        whole.throughput.request_per_s,
        ttft.median * 1000,
        ttft.p99 * 1000,
        # the runner's own CPU accounting covers exactly the load phase
        outcome.self_check.client_cpu_s / total * 1e6,
    )


def vllm_bench(vllm: str, url: str, model: str, concurrency: int, total: int, out: Path) -> Point:
    tokenizer = os.environ.get("TOKENERGY_VLLM_MODEL_DIR", "/work/.vllm-tiny-llama")
    args = [
        vllm, "bench", "serve", "--backend", "openai", "--base-url", url, "--model", model,
        "--tokenizer", tokenizer, "--dataset-name", "random", "--random-input-len", str(ISL),
        "--random-output-len", str(OSL), "--ignore-eos", "--num-prompts", str(total),
        "--max-concurrency", str(concurrency), "--request-rate", "inf",
        "--percentile-metrics", "ttft,e2el", "--metric-percentiles", "50,99",
        "--save-result", "--result-dir", str(out), "--result-filename", "r.json",
        "--num-warmups", "0",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    data = json.loads((out / "r.json").read_text())
    return Point(
        "vllm bench serve",
        concurrency,
        total,
        float(data["request_throughput"]),
        float(data["p50_ttft_ms"]),
        float(data["p99_ttft_ms"]),
        None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vllm", default="/work/.vllm-venv/bin/vllm", help="vllm executable")
    parser.add_argument("--requests-per-slot", type=int, default=4)
    parser.add_argument("--min-requests", type=int, default=500)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (median)")
    args = parser.parse_args()
    port = free_port()
    sim = start_sim(port)
    url = f"http://127.0.0.1:{port}"
    model = model_of(url)
    points: list[Point] = []
    notes: list[str] = []
    use_vllm = Path(args.vllm).exists()
    if not use_vllm:
        notes.append(f"vllm bench serve not run: {args.vllm} not found")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for concurrency in CONCURRENCIES:
                total = max(args.min_requests, args.requests_per_slot * concurrency)
                asyncio.run(bare_loop(url, model, concurrency, min(total, 64)))  # warm the sim
                runs: list[Point] = []
                for rep in range(args.reps):  # interleaved, so drifts in machine load hit all
                    runs.append(asyncio.run(bare_loop(url, model, concurrency, total)))
                    out = Path(tmp) / f"ours-{concurrency}-{rep}"
                    runs.append(asyncio.run(tokenergy_client(url, concurrency, total, out)))
                    if use_vllm:
                        out = Path(tmp) / f"vllm-{concurrency}-{rep}"
                        try:
                            runs.append(vllm_bench(args.vllm, url, model, concurrency, total, out))
                        except (RuntimeError, KeyError, FileNotFoundError) as error:
                            notes.append(f"vllm bench serve at {concurrency}: {error}")
                points.extend(median_points(runs))
    finally:
        os.killpg(sim.pid, signal.SIGTERM)
        sim.wait(timeout=10)
    report(points, notes, args.reps)


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
                float(np.median([p.ttft_p50_ms for p in mine])),
                float(np.median([p.ttft_p99_ms for p in mine])),
                None
                if mine[0].cpu_us_per_req is None
                else float(np.median([p.cpu_us_per_req or 0.0 for p in mine])),
            )
        )
    return merged


def report(points: list[Point], notes: list[str], reps: int) -> None:
    header = f"{'client':<18} {'conc':>5} {'reqs':>5} {'req/s':>9} {'vs bare':>8} "
    header += f"{'TTFT p50 ms':>12} {'TTFT p99 ms':>12} {'added p50':>10} {'added p99':>10}"
    header += f" {'CPU us/req':>10}"
    print(
        f"simulator at speed {SPEED:g} (model delays ~0), loopback, ISL {ISL}, OSL {OSL}; "
        f"medians of {reps} interleaved repetitions; added = minus the bare loop's figure"
    )
    print(header)
    bare = {p.concurrency: p for p in points if p.client == "bare aiohttp loop"}
    for p in points:
        ref = bare[p.concurrency]
        print(
            f"{p.client:<18} {p.concurrency:>5} {p.requests:>5} {p.req_s:>9.1f} "
            f"{p.req_s / ref.req_s:>8.1%} {p.ttft_p50_ms:>12.2f} {p.ttft_p99_ms:>12.2f} "
            f"{p.ttft_p50_ms - ref.ttft_p50_ms:>10.2f} {p.ttft_p99_ms - ref.ttft_p99_ms:>10.2f}"
            f" {'—' if p.cpu_us_per_req is None else f'{p.cpu_us_per_req:.0f}':>10}"
        )
    for note in notes:
        print("note:", note)


if __name__ == "__main__":
    main()
