"""The default `tokenergy report` against its 5 s target and against the report before issue 15.

Run: `.venv/bin/python benchmarks/report.py [--repeats 3]`. Measured side by side in one run:
the wall time of `tokenergy report --quiet` with this checkout and of `tokenergy report` (it had
no --quiet) with the source tree of BASELINE (extracted with `git archive`, same venv),
alternating, best and median of each; then the time split of the current report by step (its
own progress callback) and the CLI start-up.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

BASELINE = "4aa73a4"  # main before the report rework (matplotlib SVG figures: ~20 s)
TARGET_S = 5.0
ROOT = Path(__file__).resolve().parents[1]
_RUN = (
    "import sys; from tokenergy.cli.app import main; "
    "sys.argv = ['tokenergy', *sys.argv[1:]]; main()"
)


def _baseline_src(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASELINE, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(src: Path, out: Path, *flags: str) -> tuple[float, float]:
    """(wall s, CPU s of the run and its worker processes): CPU is what a busy machine can't
    inflate, wall is what the user waits."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    cpu = _children_cpu_s()
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _RUN, "report", "--out", str(out), *flags],
        env=environment,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start, _children_cpu_s() - cpu


def _startup_s(src: Path) -> float:
    environment = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tokenergy.cli.app"], env=environment, check=True)
    return time.perf_counter() - start


def _split(out: Path) -> list[tuple[str, float]]:
    """Seconds per step of the current report, in process (imports excluded)."""
    from tokenergy.report.build import make_report

    marks: list[tuple[str, float]] = []
    make_report(
        [], out, progress=lambda _done, _total, step: marks.append((step, time.perf_counter()))
    )
    end = time.perf_counter()
    return [
        (step, (marks[i + 1][1] if i + 1 < len(marks) else end) - at)
        for i, (step, at) in enumerate(marks)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    current = ROOT / "src"
    with tempfile.TemporaryDirectory() as tmp:
        old = _baseline_src(Path(tmp) / "baseline")
        new, old_runs = [], []
        for index in range(repeats):
            new.append(_wall(current, Path(tmp) / f"new-{index}", "--quiet"))
            old_runs.append(_wall(old, Path(tmp) / f"old-{index}"))
        startup_s = min(_startup_s(current) for _ in range(repeats))
        split = _split(Path(tmp) / "split")
    load = os.getloadavg()[0]
    print(f"default `tokenergy report`, {repeats} alternating runs each (load average {load:.1f}):")
    for name, runs in (("this checkout ", new), (f"{BASELINE} (old)", old_runs)):
        wall = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        print(
            f"  {name}: wall best {min(wall):6.2f} s, median {statistics.median(wall):6.2f} s; "
            f"CPU (with workers) median {statistics.median(cpu):6.2f} s"
        )
    new_s, old_s = [w for w, _ in new], [w for w, _ in old_runs]
    ratio = statistics.median(old_s) / statistics.median(new_s)
    cpu_ratio = statistics.median([c for _, c in old_runs]) / statistics.median([c for _, c in new])
    verdict = "met" if min(new_s) <= TARGET_S else "NOT met"
    print(
        f"  -> {ratio:.1f}x faster in wall time, {cpu_ratio:.1f}x less CPU; "
        f"target <= {TARGET_S:g} s wall {verdict} (best run)"
    )
    print(f"time split of this checkout (in process; CLI start-up {startup_s:.2f} s on top):")
    for step, seconds in split:
        print(f"  {seconds:6.2f} s  {step}")
    print(f"  {sum(s for _, s in split):6.2f} s  total")


if __name__ == "__main__":
    main()
