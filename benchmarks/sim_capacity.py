"""How fast the simulator can run on this machine, and whether ``--speed`` changes its physics.

Runs the simulator of this tree ("now") and of a baseline git revision ("today", default: the
commit before the fast path) side by side, each ``tokenergy sim serve`` in its own process, and
drives closed loops of streaming requests (token-id prompts, ``ignore_eos``, equal lengths) with
a lean client (chunked reads, events counted, not parsed) so that the client is not what limits.

Per speed and concurrency it prints, today and now:

- effective speed / requested speed (simulated seconds per wall second while loaded; target
  ≥ 0.95 at speed ≤ 10: the sim is then not the bottleneck of a benchmark);
- steady-state J per output token from the sim's ledger (first wave done → last wave done) and
  its ratio to speed 1 (target: within 1 %);

then the capacity at ``--speed 1e6``: the server process's CPU per request (its req/s ceiling on
one core, now / today; target ≥ 5) and the req/s this client achieved.

    .venv/bin/python benchmarks/sim_capacity.py
    .venv/bin/python benchmarks/sim_capacity.py --speeds 1,10,100 --concurrency 1,32 \\
        --baseline HEAD~3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
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
BASELINE = "90b4316"  # main before the fast path and the turnaround hold (issue 15)


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


async def point(url: str, concurrency: int, waves: int, isl: int, osl: int) -> dict[str, float]:
    """Closed loop of ``waves`` requests per slot; the window spans whole waves of equal
    requests, from the c-th to the (N − c)-th completion, so ramps are outside it."""
    body = json.dumps({"model": MODEL, "prompt": [11] * isl, "max_tokens": osl,
                       "ignore_eos": True, "stream": True}).encode()  # fmt: skip
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
                assert events == osl, f"{events} events"
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
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(speed: float, pythonpath: str | None) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-c", "from tokenergy.cli.app import main; main()"]
    process = subprocess.Popen(
        [*command, "sim", "serve", "--port", str(port), "--speed", str(speed)],
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
    speed: float, concurrency: int, pythonpath: str | None, args: argparse.Namespace
) -> dict[str, float]:
    """One point on a fresh server, with the server's CPU seconds per request."""
    with serve(speed, pythonpath) as (url, pid):
        before_s = cpu_s(pid)
        row = asyncio.run(point(url, concurrency, args.waves, args.isl, args.osl))
        row["cpu_ms_per_request"] = (cpu_s(pid) - before_s) * 1000 / (concurrency * args.waves)
    return row


def baseline_tree(revision: str, directory: str) -> str:
    """Export ``src/`` of a git revision (the sim as it was) and return it for PYTHONPATH."""
    archive = Path(directory) / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(directory, filter="data")
    return str(Path(directory) / "src")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="1,10,100")
    parser.add_argument("--concurrency", default="1,32")
    parser.add_argument("--waves", type=int, default=4, help="requests per slot (≥ 3)")
    parser.add_argument("--isl", type=int, default=256)
    parser.add_argument("--osl", type=int, default=128)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of 'today'")
    parser.add_argument("--capacity-concurrency", type=int, default=32)
    args = parser.parse_args()
    speeds = [float(s) for s in args.speeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"today": baseline_tree(args.baseline, tmp), "now": None}
        print(f"closed loop, ISL {args.isl} / OSL {args.osl}, {args.waves} requests per slot; "
              f"today = {args.baseline}, now = working tree")  # fmt: skip
        print(f"{'speed':>6} {'conc':>5} | {'eff/req today':>13} {'now':>6} | "
              f"{'J/tok today':>11} {'now':>7} | {'vs speed 1 today':>16} {'now':>7}")  # fmt: skip
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            reference: dict[str, float] = {}
            for speed in speeds:
                cells = []
                for name, tree in trees.items():
                    row = measure(speed, concurrency, tree, args)
                    reference.setdefault(name, row["j_per_tok"])
                    cells.append((row["sim_s"] / row["window_wall_s"] / speed, row["j_per_tok"],
                                  row["j_per_tok"] / reference[name] - 1.0))  # fmt: skip
                (e0, j0, d0), (e1, j1, d1) = cells
                print(f"{speed:>6g} {concurrency:>5} | {e0:>13.2f} {e1:>6.2f} | "
                      f"{j0:>11.4f} {j1:>7.4f} | {d0:>+16.1%} {d1:>+7.1%}")  # fmt: skip
        c = args.capacity_concurrency
        rows = {name: measure(1e6, c, tree, args) for name, tree in trees.items()}
        cpu = {name: row["cpu_ms_per_request"] for name, row in rows.items()}
        print(f"capacity at speed 1e6, c={c}, OSL {args.osl}: sim CPU per request today "
              f"{cpu['today']:.2f} ms, now {cpu['now']:.2f} ms → sim ceiling today "
              f"{1000 / cpu['today']:.0f} req/s, now {1000 / cpu['now']:.0f} req/s, now/today "
              f"{cpu['today'] / cpu['now']:.2f} (target ≥ 5); achieved with this client: today "
              f"{rows['today']['req_s']:.0f}, now {rows['now']['req_s']:.0f} req/s")  # fmt: skip
    print("targets: eff/req ≥ 0.95 at speed ≤ 10; J/tok within ±1 % of speed 1")


if __name__ == "__main__":
    main()
