"""How fast the simulator can run on this machine, and what that does to its numbers.

Starts ``tokenergy sim serve`` in its own process (so client and server do not share a GIL) and,
for each requested ``--speed`` and client concurrency, drives a closed loop of streaming requests
(token-id prompts, ``ignore_eos``). Prints side by side, per point:

- the requested speed and the effective speed (simulated seconds / wall seconds while loaded): below
  1.0 of the requested value means this machine cannot keep up and wall-clock latencies stretch;
- client-measured output tok/s (wall) and simulated output tok/s (tokens / simulated seconds);
- J per output token from the DCGM counter delta over client-counted tokens, and from the sim's own
  ledger (``/sim/energy``) over the server's token counter: they agree whatever the speed.

    .venv/bin/python benchmarks/sim_capacity.py
    .venv/bin/python benchmarks/sim_capacity.py --speeds 1,10,100 --concurrency 1,32,128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def read_state(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, float]]:
    """(DCGM counter mJ summed over GPUs, /sim/energy document)."""
    async with session.get(f"{url}/dcgm/metrics") as response:
        text = await response.text()
    counter_mj = sum(
        int(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{")
    )
    async with session.get(f"{url}/sim/energy") as response:
        return counter_mj, json.loads(await response.text())


async def generation_tokens(session: aiohttp.ClientSession, url: str) -> float:
    async with session.get(f"{url}/metrics") as response:
        text = await response.text()
    line = next(t for t in text.splitlines() if t.startswith("vllm:generation_tokens_total"))
    return float(line.rsplit(" ", 1)[1])


async def point(url: str, concurrency: int, requests: int, isl: int, osl: int) -> dict[str, float]:
    body = {"model": MODEL, "prompt": [11] * isl, "max_tokens": osl, "ignore_eos": True,
            "stream": True}  # fmt: skip
    received = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as load, aiohttp.ClientSession() as meter:
        counter0, ledger0 = await read_state(meter, url)
        tokens0 = await generation_tokens(meter, url)
        start = time.perf_counter()

        async def worker(count: int) -> None:
            nonlocal received
            for _ in range(count):
                async with load.post(f"{url}/v1/completions", json=body) as response:
                    async for line in response.content:
                        if line.startswith(b"data: {"):
                            received += 1

        await asyncio.gather(*(worker(requests // concurrency) for _ in range(concurrency)))
        wall_s = time.perf_counter() - start
        counter1, ledger1 = await read_state(meter, url)
        tokens1 = await generation_tokens(meter, url)
    sim_s = ledger1["sim_time_s"] - ledger0["sim_time_s"]
    return {
        "effective_speed": sim_s / wall_s,
        "client_tok_s": received / wall_s,
        "sim_tok_s": (tokens1 - tokens0) / sim_s,
        "j_per_tok_counter": (counter1 - counter0) / 1000.0 / received,
        "j_per_tok_ledger": (ledger1["total_energy_j"] - ledger0["total_energy_j"])
        / (tokens1 - tokens0),
    }


def serve(speed: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [TOKENERGY, "sim", "serve", "--port", str(port), "--speed", str(speed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return process, url
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("simulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speeds", default="1,10,100")
    parser.add_argument("--concurrency", default="1,32,128")
    parser.add_argument("--requests-per-slot", type=int, default=4)
    parser.add_argument("--isl", type=int, default=256)
    parser.add_argument("--osl", type=int, default=128)
    args = parser.parse_args()
    print(
        f"{'speed':>6} {'conc':>5} {'eff. speed':>10} {'ratio':>6} {'client tok/s':>12} "
        f"{'sim tok/s':>10} {'J/tok DCGM':>10} {'J/tok ledger':>12}"
    )
    for speed in (float(s) for s in args.speeds.split(",")):
        process, url = serve(speed)
        try:
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                requests = concurrency * args.requests_per_slot
                row = asyncio.run(point(url, concurrency, requests, args.isl, args.osl))
                print(
                    f"{speed:>6g} {concurrency:>5} {row['effective_speed']:>10.2f} "
                    f"{row['effective_speed'] / speed:>6.2f} {row['client_tok_s']:>12.0f} "
                    f"{row['sim_tok_s']:>10.0f} {row['j_per_tok_counter']:>10.4f} "
                    f"{row['j_per_tok_ledger']:>12.4f}"
                )
        finally:
            process.terminate()
            process.wait(timeout=20)


if __name__ == "__main__":
    main()
