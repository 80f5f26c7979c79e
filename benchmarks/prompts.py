"""Prompt preparation: time to first request and peak RSS at 1k / 100k / 1M prompts, this tree
beside a BASELINE tree (issue 15: prompts were all built before the first send).

Each point is a fresh interpreter that calls ``run_point`` (closed loop, concurrency 32,
ISL 128 / OSL 16 token-id prompts) against ``benchmarks/sse_stub.py`` and is cancelled once
the first 64 requests have ended: time to first request is from the ``run_point`` call to the
first send, peak RSS is the growth of VmHWM over the RSS after imports. The BASELINE side runs
the source tree of that commit (``git archive``) in the same venv; sides alternate per size.

    .venv/bin/python benchmarks/prompts.py [--sizes 1000,100000,1000000] [--reps 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASELINE = "d85cb61"  # main before lazy prompt preparation
ISL, OSL, CONCURRENCY, STOP_AFTER = 128, 16, 32, 64

_CHILD = """
import asyncio, json, sys, time
from pathlib import Path
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec

def status_kib(key):  # VmHWM, not ru_maxrss (which counts the parent's RSS at fork)
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key))

url, prompts, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
isl, osl, concurrency, stop_after = (int(a) for a in sys.argv[4:8])

class FirstSends(RunObserver):
    def __init__(self, task_box):
        self.anchor, self.first_send_s, self.done, self.task_box = None, None, 0, task_box
    def on_start(self, anchor):
        self.anchor = anchor
    def on_request_done(self, record):
        if record.send_ns is not None:
            send_s = (self.anchor.perf_ns + record.send_ns) / 1e9
            self.first_send_s = min(send_s, self.first_send_s or send_s)
        self.done += 1
        if self.done == stop_after:
            self.task_box[0].cancel()

async def main():
    config = BenchConfig(
        base_url=url, model="", lengths=LengthSpec(LengthKind.FIXED, isl=isl, osl=osl),
        shape=LoadShape(concurrency=concurrency, num_prompts=prompts), out_dir=out,
    )
    box = [None]
    observer = FirstSends(box)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak restarts here: imports do not count
    before_kib = status_kib("VmRSS:")
    start_s = time.perf_counter()
    box[0] = asyncio.ensure_future(run_point(config, [observer]))
    try:
        await box[0]
    except asyncio.CancelledError:
        pass
    print(json.dumps({
        "ttfr_s": observer.first_send_s - start_s,
        "peak_mb": (status_kib("VmHWM:") - before_kib) / 1024,
    }))

asyncio.run(main())
"""


def baseline_tree(destination: Path, commit: str) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True
    )
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination / "src"


def point(url: str, prompts: int, out: Path, src: Path | None) -> dict[str, float]:
    environment = dict(os.environ)
    if src is not None:
        environment["PYTHONPATH"] = str(src)
    args = [str(a) for a in (url, prompts, out, ISL, OSL, CONCURRENCY, STOP_AFTER)]
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    sys.path.insert(0, str(HERE))
    from client_overhead import cores, free_port, start_stub  # the same stub and pinning

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000,1000000")
    parser.add_argument(
        "--baseline", default=BASELINE, help="commit to compare against ('' = this tree only)"
    )
    parser.add_argument("--reps", type=int, default=1, help="repetitions (the best is kept)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    server_cores, client_cores = cores()
    if client_cores is not None:
        os.sched_setaffinity(0, client_cores)
    port = free_port()
    stub = start_stub(port, server_cores)
    url = f"http://127.0.0.1:{port}"
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sides: list[tuple[str, Path | None]] = [("this tree", None)]
            if args.baseline:
                sides.insert(0, ("baseline", baseline_tree(Path(tmp) / "base", args.baseline)))
            for size in sizes:
                runs: dict[str, list[dict[str, float]]] = {side: [] for side, _ in sides}
                for rep in range(args.reps):
                    for side, src in sides:
                        out = Path(tmp) / f"{side.replace(' ', '-')}-{size}-{rep}"
                        runs[side].append(point(url, size, out, src))
                best = {
                    side: {k: min(r[k] for r in results) for k in results[0]}
                    for side, results in runs.items()
                }
                rows.append((size, best.get("baseline"), best["this tree"]))
    finally:
        stub.terminate()
        stub.wait(timeout=10)
    print(
        f"time to first request and peak RSS growth of run_point, closed loop c={CONCURRENCY}, "
        f"ISL {ISL} token ids; baseline = {args.baseline}; best of {args.reps}"
    )
    print(
        f"{'prompts':>9} {'TTFR base s':>12} {'TTFR now s':>11} {'now/base':>9} "
        f"{'RSS base MB':>12} {'RSS now MB':>11} {'now/base':>9}"
    )
    for size, base, now in rows:
        if base is None:
            ttfr, peak = now["ttfr_s"], now["peak_mb"]
            print(f"{size:>9} {'-':>12} {ttfr:>11.3f} {'-':>9} {'-':>12} {peak:>11.1f}")
            continue
        print(
            f"{size:>9} {base['ttfr_s']:>12.3f} {now['ttfr_s']:>11.3f} "
            f"{now['ttfr_s'] / base['ttfr_s']:>9.3f} {base['peak_mb']:>12.1f} "
            f"{now['peak_mb']:>11.1f} {now['peak_mb'] / max(base['peak_mb'], 0.1):>9.3f}"
        )
    first = rows[0][2]["ttfr_s"]
    spread = ", ".join(f"{now['ttfr_s'] / first:.2f}" for _, _, now in rows)
    print(f"this tree: TTFR relative to the smallest size: {spread} (target: independent of size)")


if __name__ == "__main__":
    main()
