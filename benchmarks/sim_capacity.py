"""How fast the simulator can run on this machine, and whether ``--speed`` changes its physics.

Runs the simulator of this tree ("now"; also on uvloop with ``--uvloop``) and of baseline
git revisions (their ``src/`` exported to a temp dir: by default the sim when issue 15 was
filed, and the one after the first fast path) side by side in one run, each ``tokenergy sim
serve`` in its own process, and drives closed loops of streaming requests (token-id prompts,
``ignore_eos``, equal lengths) with a lean client (chunked reads, events counted, not parsed).

First the capacity at ``--speed 1e6`` per concurrency (median of ``--reps``, trees interleaved):
the server's CPU ms per request (scheduler run time of its threads, user + system; its one-core
req/s ceiling is 1000 / that), baseline/now ratios (target ≥ 5 against the first baseline), the
req/s this client reached, the server's busy share of a core, and this lean client's own CPU
per request: when the sim needs less CPU per request than the client, the client (any Python
client: tokenergy's costs more than this one) is what limits a benchmark, not the sim.

Then this tree's engine alone, in this process (no HTTP, no kernel): CPU ms per request of a
closed loop of direct streams into counting transports, and the writes per request left by the
coalescing behind schedule; the sim's CPU above minus this is aiohttp and the kernel. With
``--bench``, ``tokenergy bench`` itself against now at speed 10: the sim's CPU per request and
busy share beside the bench process's (is our own client or the sim what limits a benchmark?).

Then per speed and concurrency, the first baseline beside now:

- effective speed / requested speed (simulated seconds per wall second while loaded; target
  ≥ 0.95 at speed ≤ 10 unless the client is what limits);
- steady-state J per output token from the sim's ledger (first wave done → last wave done) and
  its drift from speed 1 (target: within 1 %); req/s, sim and client CPU per request.

    .venv/bin/python benchmarks/sim_capacity.py
    .venv/bin/python benchmarks/sim_capacity.py --skip-speeds --concurrency 32 --uvloop
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
REPO = Path(__file__).resolve().parent.parent
Tree = tuple[str | None, list[str]]  # (PYTHONPATH of an exported src/ or None, sim serve flags)
BASELINES = (
    "90b4316",  # the simulator when issue 15 was filed (before any fast path): the 5× reference
    "6b1e0f4",  # after the first fast path (token streams, templates), before the direct writes
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def ledger(session: aiohttp.ClientSession, url: str) -> tuple[float, float, float]:
    """(total energy J, simulated s, generation tokens) at one instant of the sim."""
    async with session.get(f"{url}/sim/energy") as response:
        doc = json.loads(await response.text())
    tokens = doc.get("generation_tokens")
    if tokens is None:  # older sims: the vLLM counter, read just after
        async with session.get(f"{url}/metrics") as response:
            text = await response.text()
        line = next(t for t in text.splitlines() if t.startswith("vllm:generation_tokens_total"))
        tokens = float(line.rsplit(" ", 1)[1])
    return float(doc["total_energy_j"]), float(doc["sim_time_s"]), float(tokens)


async def point(
    url: str, concurrency: int, waves: int, isl: int, osl: int, usage: bool
) -> dict[str, float]:
    """Closed loop of ``waves`` requests per slot; the window spans whole waves of equal
    requests, from the c-th to the (N − c)-th completion, so ramps are outside it. ``usage``:
    request running usage in every event and a final usage event, as tokenergy bench does."""
    fields = {"model": MODEL, "prompt": [11] * isl, "max_tokens": osl, "ignore_eos": True,
              "stream": True}  # fmt: skip
    if usage:
        fields["stream_options"] = {"include_usage": True, "continuous_usage_stats": True}
    body = json.dumps(fields).encode()
    expected = osl + usage
    total = concurrency * waves
    done = 0
    marks: dict[str, tuple[float, float, float, float]] = {}
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector) as load, aiohttp.ClientSession() as meter:

        async def worker() -> None:
            nonlocal done
            for _ in range(waves):
                events = 0
                async with load.post(f"{url}/v1/completions", data=body, headers=headers) as r:
                    async for data in r.content.iter_any():
                        events += data.count(b"data: {")
                assert events == expected, f"{events} events"
                done += 1
                if done in (concurrency, total - concurrency):
                    key, wall_s = "start" if done == concurrency else "end", time.perf_counter()
                    marks[key] = (*await ledger(meter, url), wall_s)

        start_wall_s = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall_s = time.perf_counter() - start_wall_s
    (e0, t0, n0, w0), (e1, t1, n1, w1) = marks["start"], marks["end"]
    return {"j_per_tok": (e1 - e0) / (n1 - n0), "sim_s": t1 - t0, "window_wall_s": w1 - w0,
            "req_s": total / wall_s}  # fmt: skip


def cpu_s(pid: int) -> float:
    """CPU seconds of a process's threads so far: the scheduler's nanosecond run time
    (/proc/PID/task/*/schedstat), not /proc/PID/stat's 10 ms ticks."""
    return (
        sum(
            int(stat.read_text().split()[0])
            for stat in Path(f"/proc/{pid}/task").glob("*/schedstat")
        )
        / 1e9
    )


def children_cpu_s() -> float:
    """CPU seconds of this process's finished children (user + system)."""
    times = os.times()
    return times.children_user + times.children_system


@contextmanager
def serve(speed: float, tree: Tree) -> Iterator[tuple[str, int]]:
    pythonpath, extra = tree
    port = free_port()
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-c", "from tokenergy.cli.app import main; main()"]
    process = subprocess.Popen(
        [*command, "sim", "serve", "--port", str(port), "--speed", str(speed), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        for _ in range(300):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("simulator did not start")
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=20)


def measure(
    speed: float, concurrency: int, tree: Tree, args: argparse.Namespace, waves: int = 0
) -> dict[str, float]:
    """One point on a fresh server, with the server's CPU seconds per request."""
    waves = waves or args.waves
    with serve(speed, tree) as (url, pid):
        before_s, wall_s, client_s = cpu_s(pid), time.perf_counter(), time.process_time()
        row = asyncio.run(point(url, concurrency, waves, args.isl, args.osl, args.usage))
        used_s, wall_s = cpu_s(pid) - before_s, time.perf_counter() - wall_s
        row["cpu_ms_per_request"] = used_s * 1000 / (concurrency * waves)
        requests = concurrency * waves
        row["client_ms_per_request"] = (time.process_time() - client_s) * 1000 / requests
        row["busy"] = used_s / wall_s
    return row


def baseline_tree(revision: str, directory: str) -> str:
    """Export ``src/`` of a git revision (the sim as it was) and return it for PYTHONPATH."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    archive = Path(directory) / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    return str(Path(directory) / "src")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def capacity(
    trees: dict[str, Tree], concurrency: int, args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Median over ``--reps`` of each tree at ``--speed 1e6`` (trees interleaved per rep)."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    waves = max(args.waves, -(-args.capacity_requests // concurrency))  # CPU ticks are 10 ms
    for _ in range(args.reps):
        for name, tree in trees.items():
            runs[name].append(measure(1e6, concurrency, tree, args, waves))
    return {
        name: {key: median([row[key] for row in rows]) for key in rows[0]}
        for name, rows in runs.items()
    }


class CountingTransport(asyncio.Transport):
    """A connection that only counts the writes the engine makes to it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes += 1

    def is_closing(self) -> bool:
        return False


async def engine_closed_loop(concurrency: int, requests: int, isl: int, osl: int) -> list[float]:
    """This tree's engine alone: a closed loop of direct streams into counting transports.
    Returns [CPU ms per request, engine writes per request (the handler's last one aside)]."""
    from tokenergy.sim.clock import SimClock
    from tokenergy.sim.engine import Engine
    from tokenergy.sim.power import EnergyLedger
    from tokenergy.sim.profiles import load_profile
    from tokenergy.sim.sinks import DirectStream, token_frames
    from tokenergy.sim.turnaround import HoldMode

    profile = load_profile("llama-3.1-8b-h100")
    ledger = EnergyLedger(profile.power, profile.num_gpus)
    engine = Engine(profile, SimClock(1e9), ledger, hold=HoldMode.ON)
    runner = asyncio.create_task(engine.run())
    transport, render = CountingTransport(), token_frames(b'data: {"text":"', b'"}\n\n', 0)
    left = requests

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            sink = DirectStream(
                transport, render, chunked=True, outbox=engine.outbox, on_close=lambda: None
            )
            engine.submit(isl, osl, "length", sink)
            await sink.done
            sink.take()

    start_s = time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    used_s = time.process_time() - start_s
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    return [used_s * 1000 / requests, transport.writes / requests]


def engine_table(levels: list[int], args: argparse.Namespace) -> None:
    print(f"now's engine alone (no HTTP, no kernel; --speed 1e9, median of {args.reps}): CPU ms "
          "per request, the part of the sim's above that is not HTTP, and writes per request "
          "(each carries every due step's events of a request; the last one aside)")  # fmt: skip
    print(f"{'conc':>5} | {'engine ms':>9} {'writes':>7}")
    for concurrency in levels:
        requests = max(args.capacity_requests, 4 * concurrency)
        runs = [asyncio.run(engine_closed_loop(concurrency, requests, args.isl, args.osl))
                for _ in range(args.reps)]  # fmt: skip
        ms, writes = (median([run[i] for run in runs]) for i in range(2))
        print(f"{concurrency:>5} | {ms:>9.3f} {writes:>7.1f}")


def bench_table(levels: list[int], args: argparse.Namespace) -> None:
    """``tokenergy bench`` (metered through the sim's DCGM endpoint) against now at speed 10:
    whether the sim or our own client is what limits our benchmarks."""
    print("tokenergy bench against now at --speed 10 (dcgm meter, no idle phase): the sim's CPU "
          "ms per request and busy share, the bench process's CPU ms per request (start-up "
          "included)")  # fmt: skip
    print(f"{'conc':>5} | {'sim ms':>7} {'busy':>5} | {'bench ms':>8} {'req/s':>6}")
    command = [sys.executable, "-c", "from tokenergy.cli.app import main; main()", "bench"]
    for concurrency in levels:
        requests = max(args.capacity_requests, 16 * concurrency)  # start-up spread thin
        with serve(10.0, (None, [])) as (url, pid), tempfile.TemporaryDirectory() as out:
            before_s, wall_s, children_s = cpu_s(pid), time.perf_counter(), children_cpu_s()
            subprocess.run(
                [*command, url, "--isl", str(args.isl), "--osl", str(args.osl),
                 "--concurrency", str(concurrency), "--num-prompts", str(requests),
                 "--meter", f"dcgm:{url}/dcgm/metrics", "--idle-seconds", "0", "--quiet",
                 "--out", f"{out}/run"],
                stdout=subprocess.DEVNULL, check=True,
            )  # fmt: skip
            bench_s = children_cpu_s() - children_s  # the sim is not waited for yet
            used_s, wall_s = cpu_s(pid) - before_s, time.perf_counter() - wall_s
        print(f"{concurrency:>5} | {used_s * 1000 / requests:>7.3f} {used_s / wall_s:>5.0%} | "
              f"{bench_s * 1000 / requests:>8.3f} {requests / wall_s:>6.0f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="1,10,100")
    parser.add_argument("--concurrency", default="1,32,256")
    parser.add_argument("--waves", type=int, default=4, help="requests per slot (≥ 3)")
    parser.add_argument("--isl", type=int, default=256)
    parser.add_argument("--osl", type=int, default=128)
    parser.add_argument(
        "--baselines",
        default=",".join(BASELINES),
        help="git revisions to compare with, oldest first (the first is the speed table's)",
    )
    parser.add_argument("--reps", type=int, default=3, help="capacity repetitions (median)")
    parser.add_argument(
        "--speed-requests", type=int, default=16, help="at least this many per speed point"
    )
    parser.add_argument(
        "--capacity-requests", type=int, default=192, help="at least this many per capacity run"
    )
    parser.add_argument("--skip-speeds", action="store_true", help="capacity table only")
    parser.add_argument(
        "--usage",
        action="store_true",
        help="request running usage (continuous_usage_stats), as tokenergy bench does",
    )
    parser.add_argument("--uvloop", action="store_true", help="also now with --event-loop uvloop")
    parser.add_argument(
        "--bench", action="store_true", help="also tokenergy bench against now at speed 10"
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwind: stop the servers
    levels = [int(c) for c in args.concurrency.split(",")]
    revisions = [r for r in args.baselines.split(",") if r]
    with tempfile.TemporaryDirectory() as tmp:
        trees: dict[str, Tree] = {
            revision: (baseline_tree(revision, f"{tmp}/{revision}"), []) for revision in revisions
        }
        trees["now"] = (None, [])
        if args.uvloop and importlib.util.find_spec("uvloop") is None:
            print("note: uvloop is not installed here (pip install uvloop): now-uvloop not run")
        elif args.uvloop:
            trees["now-uvloop"] = (None, ["--event-loop", "uvloop"])
        usage = ", running usage" if args.usage else ""
        print(f"closed loop, ISL {args.isl} / OSL {args.osl}, streamed{usage}, ignore_eos; trees: "
              f"{', '.join(revisions)} (baselines), now = working tree")  # fmt: skip
        capacity_table(trees, revisions, levels, args)
        engine_table(levels, args)
        if args.bench:
            bench_table(levels, args)
        if not args.skip_speeds:
            speed_table({revisions[0]: trees[revisions[0]], "now": trees["now"]}, levels, args)
    print("targets: first baseline/now ≥ 5; eff/req ≥ 0.95 at speed ≤ 10 unless the client "
          "limits; J/tok within ±1 % of speed 1")  # fmt: skip


def capacity_table(
    trees: dict[str, Tree], revisions: list[str], levels: list[int], args: argparse.Namespace
) -> None:
    names = list(trees)
    print(f"capacity at --speed 1e6 (median of {args.reps}): sim CPU ms per request and ratios, "
          "now's one-core ceiling (req/s), the req/s this client reached, now's busy share of a "
          "core, the client's CPU ms per request")  # fmt: skip
    print(f"{'conc':>5} | " + " ".join(f"{n + ' ms':>12}" for n in names) + " | "
          + " ".join(f"{b + '/now':>12}" for b in revisions) + " | "
          + f"{'ceiling':>7} {'req/s':>6} {'busy':>5} {'client ms':>9}")  # fmt: skip
    for concurrency in levels:
        rows = capacity(trees, concurrency, args)
        cpu = {name: row["cpu_ms_per_request"] for name, row in rows.items()}
        now = rows["now"]
        print(f"{concurrency:>5} | " + " ".join(f"{cpu[n]:>12.3f}" for n in names) + " | "
              + " ".join(f"{cpu[b] / cpu['now']:>12.2f}" for b in revisions) + " | "
              + f"{1000 / cpu['now']:>7.0f} {now['req_s']:>6.0f} {now['busy']:>5.0%} "
              + f"{now['client_ms_per_request']:>9.3f}")  # fmt: skip


def speed_table(trees: dict[str, Tree], levels: list[int], args: argparse.Namespace) -> None:
    old = next(iter(trees))
    print(
        f"per speed, {old} (old) vs now: effective/requested speed, J per output token and "
        "its drift from speed 1, req/s, sim CPU ms per request, client CPU ms per request"
    )
    print(f"{'speed':>6} {'conc':>5} | {'eff old':>7} {'now':>5} | {'J/tok old':>9} {'now':>7} | "
          f"{'drift old':>9} {'now':>6} | {'req/s old':>9} {'now':>6} | {'sim ms old':>10} "
          f"{'now':>6} {'busy':>5} | {'client ms':>9}")  # fmt: skip
    for concurrency in levels:
        reference: dict[str, float] = {}
        waves = max(args.waves, -(-args.speed_requests // concurrency))
        for speed in (float(s) for s in args.speeds.split(",")):
            cells = {}
            for name, tree in trees.items():
                row = measure(speed, concurrency, tree, args, waves)
                reference.setdefault(name, row["j_per_tok"])
                row["eff"] = row["sim_s"] / row["window_wall_s"] / speed
                row["drift"] = row["j_per_tok"] / reference[name] - 1.0
                cells[name] = row
            a, b = cells[old], cells["now"]
            print(f"{speed:>6g} {concurrency:>5} | {a['eff']:>7.2f} {b['eff']:>5.2f} | "
                  f"{a['j_per_tok']:>9.4f} {b['j_per_tok']:>7.4f} | {a['drift']:>+9.1%} "
                  f"{b['drift']:>+6.1%} | {a['req_s']:>9.1f} {b['req_s']:>6.1f} | "
                  f"{a['cpu_ms_per_request']:>10.3f} {b['cpu_ms_per_request']:>6.3f} "
                  f"{b['busy']:>5.0%} | "
                  f"{b['client_ms_per_request']:>9.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
