"""Ingest + check all of ../shared/data; print rows/s and the cost relative to bare parsing.

Target (issue 3): all of it in < 2 s. Run: `.venv/bin/python benchmarks/ingest.py [DATA_DIR]`.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from pathlib import Path

from tokenergy.ingest import IngestOptions, load_results, summary_row
from tokenergy.power import GpuBasis, PowerSpec

DATA = Path(
    sys.argv[1]
    if len(sys.argv) > 1
    else os.environ.get(
        "TOKENERGY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data"
    )
)


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


def main() -> None:
    files = sorted(p for p in DATA.rglob("*") if p.is_file())
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    repeats = 3
    best_ingest = best_parse = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        ingested = load_results([DATA], options)
        rows = [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]
        best_ingest = min(best_ingest, time.perf_counter() - start)
        start = time.perf_counter()
        parsed = parse_only(files)
        best_parse = min(best_parse, time.perf_counter() - start)
    findings = sum(len(c) for c in ingested.checks)
    print(f"data: {DATA} ({len(files)} files, {parsed} parsed, {len(ingested.skipped)} skipped)")
    print(f"rows: {len(rows)}, check findings: {findings}")
    print(f"ingest + check + rows: {best_ingest:.3f} s (best of {repeats}) target < 2 s")
    print(f"rows/s: {len(rows) / best_ingest:,.0f}")
    print(
        f"bare json/csv parsing: {best_parse:.3f} s -> ingest costs {best_ingest / best_parse:.1f}×"
    )


if __name__ == "__main__":
    main()
