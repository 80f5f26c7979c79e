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


def _wall(src: Path, out: Path, *flags: str) -> float:
    environment = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _RUN, "report", "--out", str(out), *flags],
        env=environment,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


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
        new_s, old_s = [], []
        for index in range(repeats):
            new_s.append(_wall(current, Path(tmp) / f"new-{index}", "--quiet"))
            old_s.append(_wall(old, Path(tmp) / f"old-{index}"))
        startup_s = min(_startup_s(current) for _ in range(repeats))
        split = _split(Path(tmp) / "split")
    print(f"default `tokenergy report`, {repeats} alternating runs each (wall, s):")
    print(f"  this checkout : best {min(new_s):6.2f}  median {statistics.median(new_s):6.2f}")
    print(f"  {BASELINE} (old): best {min(old_s):6.2f}  median {statistics.median(old_s):6.2f}")
    ratio = statistics.median(old_s) / statistics.median(new_s)
    verdict = "met" if min(new_s) <= TARGET_S else "NOT met"
    print(f"  -> {ratio:.1f}x faster; target <= {TARGET_S:g} s {verdict} (best run)")
    print(f"time split of this checkout (in process; CLI start-up {startup_s:.2f} s on top):")
    for step, seconds in split:
        print(f"  {seconds:6.2f} s  {step}")
    print(f"  {sum(s for _, s in split):6.2f} s  total")


if __name__ == "__main__":
    main()
