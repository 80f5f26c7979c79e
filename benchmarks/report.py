"""The default `tokenergy report` (no sources: the embedded data) against its 5 s target.

Run: `.venv/bin/python benchmarks/report.py [--repeats 5] [--baseline COMMIT]`. In one run,
alternating, each repeat:

- `tokenergy report --quiet` from the source tree of BASELINE (`git archive`, same venv; before
  the result cache),
- this checkout with a **cold** cache (a new empty TOKENERGY_CACHE_DIR: what a first run after
  installing or upgrading costs),
- this checkout with a **warm** cache (filled by an unmeasured run first: every later run),

each a fresh process: wall time and CPU time including its worker processes (CPU is what a busy
machine cannot inflate much; wall is what the user waits). Then the time split by phase of a cold
and a warm run (in a fresh process, instrumented): interpreter start, imports, start (cache
lookup, worker start), load, analysis (tables, sections, headline), figures (SVG), waiting for the
background jobs, html (rendering index.html, summary.md, report.json) and write (the files).
Medians and best over the repeats, the ratio of the median to the target, and the load average.
"""

from __future__ import annotations

import argparse
import json
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

from machine import autogroup_note

BASELINE = "6b1e0f4"  # main before the result cache (issue 15 item 4, second pass)
TARGET_S = 5.0
ROOT = Path(__file__).resolve().parents[1]
_RUN = (
    "import sys; from tokenergy.cli.app import main; "
    "sys.argv = ['tokenergy', *sys.argv[1:]]; main()"
)
PHASES = ("imports", "start", "load", "analysis", "figures", "background wait", "html", "write")
PHASE_NOTES = {
    "imports": "CLI and report modules",
    "start": "cache lookup, worker start",
    "load": "embedded data (or its cached rows)",
    "analysis": "tables, sections, headline",
    "figures": "SVG",
    "background wait": "Monte Carlo, reconciliation",
    "html": "index.html, summary.md, report.json",
    "write": "files",
}


def _baseline_src(commit: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "src"], capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(argv: list[str], environment: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the process and every worker it waited for, stdout)."""
    cpu = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(argv, env=environment, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, _children_cpu_s() - cpu, done.stdout


def _report(src: Path, out: Path, cache: Path) -> tuple[float, float]:
    environment = {**os.environ, "PYTHONPATH": str(src), "TOKENERGY_CACHE_DIR": str(cache)}
    wall, cpu, _ = _run(
        [sys.executable, "-c", _RUN, "report", "--out", str(out), "--quiet"], environment
    )
    return wall, cpu


def _split(out: Path, cache: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU) per phase of one report in a fresh process (``report_split.py``)."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TOKENERGY_CACHE_DIR": str(cache)}
    child = Path(__file__).with_name("report_split.py")
    wall, _, stdout = _run([sys.executable, str(child), str(out)], environment)
    phases: dict[str, list[float]] = json.loads(stdout)
    measured = sum(w for w, _ in phases.values())
    return {
        "interpreter": (wall - measured, 0.0),  # start-up and exit: outside the child's clock
        **{name: (w, c) for name, (w, c) in phases.items()},
    }


def _row(name: str, runs: list[tuple[float, float]]) -> str:
    wall = [w for w, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    median = statistics.median(wall)
    return (
        f"  {name:<32} {median:6.2f} s {min(wall):6.2f} s {cpu:7.2f} s   {median / TARGET_S:5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE, help="commit to compare with ('' skips)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "cold": [], "warm": []}
    splits: dict[str, list[dict[str, tuple[float, float]]]] = {"cold": [], "warm": []}
    python_s = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        old = _baseline_src(args.baseline, tmp / "baseline") if args.baseline else None
        warm = tmp / "warm-cache"
        _report(ROOT / "src", tmp / "fill", warm)  # fills the warm cache, unmeasured
        for index in range(args.repeats):
            if old is not None:
                runs["baseline"].append(_report(old, tmp / f"old-{index}", tmp / f"b{index}"))
            runs["cold"].append(_report(ROOT / "src", tmp / f"cold-{index}", tmp / f"c{index}"))
            runs["warm"].append(_report(ROOT / "src", tmp / f"warm-{index}", warm))
            splits["cold"].append(_split(tmp / f"split-cold-{index}", tmp / f"s{index}"))
            splits["warm"].append(_split(tmp / f"split-warm-{index}", warm))
            python_s.append(_run([sys.executable, "-c", "pass"], dict(os.environ))[0])
    load_after = os.getloadavg()
    print(
        f"default `tokenergy report --quiet`, {args.repeats} alternating runs of each, "
        f"{os.cpu_count()} cores; load average (1 min) {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after"
    )
    print(f"  {'':<32} {'median':>8} {'best':>8} {'CPU':>9}   median/{TARGET_S:g} s")
    labels = {
        "baseline": f"{args.baseline} (before, no cache)",
        "cold": "this checkout, cold cache",
        "warm": "this checkout, warm cache",
    }
    for key, label in labels.items():
        if runs[key]:
            print(_row(label, runs[key]))
    for key in ("cold", "warm"):
        median = statistics.median(w for w, _ in runs[key])
        verdict = "met" if median <= TARGET_S else "NOT met"
        print(f"  -> {key} cache: median {median:.2f} s, target <= {TARGET_S:g} s {verdict}")
    if runs["baseline"]:
        before = statistics.median(w for w, _ in runs["baseline"])
        for key in ("cold", "warm"):
            after = statistics.median(w for w, _ in runs[key])
            print(f"  -> {key} cache is {before / after:.2f}x faster than {args.baseline}")
    print(
        f"time split, median of {args.repeats} instrumented runs (wall s / CPU s of the main "
        f"process; `python -c pass` takes {statistics.median(python_s):.2f} s wall):"
    )
    print(f"  {'phase':<48} {'cold':>15} {'warm':>15}")
    for phase in ("interpreter", *PHASES):
        cells = []
        for key in ("cold", "warm"):
            wall = statistics.median(split[phase][0] for split in splits[key])
            cpu = statistics.median(split[phase][1] for split in splits[key])
            cells.append(f"{wall:6.2f} / {cpu:5.2f}")
        note = PHASE_NOTES.get(phase, "start-up and exit")
        print(f"  {f'{phase} ({note})':<48} {cells[0]:>15} {cells[1]:>15}")
    totals = [
        statistics.median(sum(w for w, _ in split.values()) for split in splits[key])
        for key in ("cold", "warm")
    ]
    print(f"  {'total':<48} {totals[0]:>8.2f}        {totals[1]:>8.2f}")
    print(f"({autogroup_note()})")


if __name__ == "__main__":
    main()
