"""Ingest speed and memory, side by side with bare ``json.load`` of the same data.

1. All of ../shared/data through ``load_results`` + checks + rows (library), vs stdlib parsing.
2. A large synthetic InferenceX file built from the real shared InferenceX rows (rows repeated
   with distinct concurrencies, ``--rows`` of them), ingested by the CLI to CSV in a fresh
   process, vs a fresh process that only ``json.load``s it: wall time, rows/s, peak RSS and KiB
   per row beyond the bare load. Targets (issue 15): ≥ 10k rows/s, CLI within 5× bare json.load,
   ≤ 2 KiB per row retained.

Run: `.venv/bin/python benchmarks/ingest.py [--data DIR] [--rows 50000]`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokenergy.ingest import IngestOptions, load_results, summary_row
from tokenergy.power import GpuBasis, PowerSpec

DEFAULT_DATA = Path(
    os.environ.get("TOKENERGY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(wall, peak_kib, done.returncode)
"""


def parse_only(paths: list[Path]) -> int:
    """Baseline: json/csv parsing of the same files with the standard library."""
    count = 0
    for path in paths:
        if path.suffix == ".json":
            json.loads(path.read_text())
            count += 1
        elif path.suffix == ".csv":
            with path.open(newline="") as handle:
                list(csv.DictReader(handle))
            count += 1
    return count


def shared_data(data: Path) -> None:
    files = sorted(p for p in data.rglob("*") if p.is_file())
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    best_ingest = best_parse = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        ingested = load_results([data], options)
        rows = [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]
        best_ingest = min(best_ingest, time.perf_counter() - start)
        start = time.perf_counter()
        parsed = parse_only(files)
        best_parse = min(best_parse, time.perf_counter() - start)
    print(f"shared data: {data} ({len(files)} files, {parsed} parsed, "
          f"{len(ingested.skipped)} skipped), {len(rows)} rows")  # fmt: skip
    print(f"  library ingest + checks + rows: {best_ingest:.3f} s, "
          f"{len(rows) / best_ingest:,.0f} rows/s; bare parsing {best_parse:.3f} s → "
          f"{best_ingest / best_parse:.1f}× bare")  # fmt: skip


def synthetic_inferencex(data: Path, rows: int, out: Path) -> int:
    """Real InferenceX rows repeated (each copy a distinct concurrency) into one JSON array."""
    real = [
        row
        for path in sorted((data / "inferencex").rglob("*.json"))
        for row in json.loads(path.read_text())
        if isinstance(row, dict) and "hw" in row
    ]
    made = []
    for index in range(rows):
        row = dict(real[index % len(real)])
        row["conc"] = int(row.get("conc", 1)) + 100_000 * (index // len(real))
        made.append(row)
    out.write_text(json.dumps(made, indent=2))
    return len(made)


def measure(command: list[str]) -> tuple[float, float, int]:
    """(wall s, peak RSS KiB, exit code) of a command in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True,
                          text=True, check=True)  # fmt: skip
    wall, peak, code = done.stdout.split()
    return float(wall), float(peak), int(code)


def large_file(data: Path, rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "inferencex_large.json"
        count = synthetic_inferencex(data, rows, path)
        size_mb = path.stat().st_size / 1e6
        bare = measure([sys.executable, "-c", f"import json; json.load(open({str(path)!r}))"])
        tokenergy = str(Path(sys.executable).parent / "tokenergy")
        cli = measure([tokenergy, "ingest", str(path), "--basis", "allin", "--format", "csv",
                       "--out", str(Path(tmp) / "out.csv")])  # fmt: skip
    print(f"synthetic InferenceX file: {count:,} rows, {size_mb:.0f} MB")
    print(f"  bare json.load: {bare[0]:.2f} s, peak RSS {bare[1] / 1024:.0f} MiB")
    print(f"  CLI ingest → CSV: {cli[0]:.2f} s (exit {cli[2]}), peak RSS {cli[1] / 1024:.0f} MiB")
    print(f"  rows/s {count / cli[0]:,.0f} (target ≥ 10,000); CLI / bare json.load "
          f"{cli[0] / bare[0]:.1f}× (target ≤ 5×); KiB/row beyond the bare load "
          f"{(cli[1] - bare[1]) / count:.1f} (target ≤ 2), KiB/row total "
          f"{cli[1] / count:.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    shared_data(args.data)
    large_file(args.data, args.rows)


if __name__ == "__main__":
    main()
