"""Sweep overhead per configuration: launch-to-ready and teardown, beside the server's own start.

The server is ``python -m http.server`` (it answers ``GET /`` as soon as it listens). "bare" is a
tight loop of our own (poll every 5 ms) timing the same launch: the server's own start time. The
sweep's launch-to-ready minus bare is what the sweep adds (its 0.2 s readiness poll, the session
and parent-death set-up); teardown is SIGTERM → process group reaped. Paired, interleaved runs.

    python benchmarks/sweep.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tokenergy.sweep.server import ServerProcess, free_port


def _command(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def bare_ready_s() -> float:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _answers(f"http://127.0.0.1:{port}/"):
            time.sleep(0.005)
        return time.monotonic() - started
    finally:
        process.kill()
        process.wait()


def sweep_ready_and_stop_s(log_dir: Path) -> tuple[float, float]:
    port = free_port()
    server = ServerProcess(" ".join(_command(port)), log_dir / f"{port}.log", {})
    server.start()
    ready = server.wait_ready(f"http://127.0.0.1:{port}/", timeout_s=60)
    stopping = time.monotonic()
    server.stop(grace_s=5)
    return ready, time.monotonic() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    bare: list[float] = []
    ready: list[float] = []
    stop: list[float] = []
    with tempfile.TemporaryDirectory() as scratch:
        for _ in range(runs):
            bare.append(bare_ready_s())
            r, s = sweep_ready_and_stop_s(Path(scratch))
            ready.append(r)
            stop.append(s)
    med = statistics.median
    print(f"runs: {runs} (interleaved)")
    print(f"server's own start (bare 5 ms poll):  median {med(bare) * 1000:7.1f} ms")
    print(f"sweep launch-to-ready:                median {med(ready) * 1000:7.1f} ms")
    print(f"sweep overhead on ready (difference): median {(med(ready) - med(bare)) * 1000:7.1f} ms")
    print(f"sweep teardown (SIGTERM → reaped):    median {med(stop) * 1000:7.1f} ms")
    print(f"ratio sweep/bare launch-to-ready:     {med(ready) / med(bare):.2f}")


if __name__ == "__main__":
    main()
