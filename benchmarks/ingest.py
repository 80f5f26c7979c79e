"""Ingest speed and memory, side by side with bare ``json.load`` of the same data.

1. All of ../shared/data through ``load_results`` + checks + rows (library), vs stdlib parsing;
   then the CLI (→ CSV) on it in a fresh process, paired with a fresh process that only parses
   its JSON and CSV files with the standard library (YAML is not parsed by the baseline).
2. Synthetic InferenceX files built from the real shared InferenceX rows (rows repeated with
   distinct concurrencies; ``--rows`` sizes, default 20k and 200k ≈ 270 MB), ingested by the CLI
   to CSV in a fresh process, paired with a fresh process that only ``json.load``s it: wall and
   CPU time, rows/s, peak RSS, the ratios, and the bytes of peak RSS each added row costs.
   Beside them the CLI's fixed start-up: the same command on a one-row file.
   Targets (issue 15): ≥ 10k rows/s, CLI within 5× bare json.load, ≤ 2 KiB per row retained.

Run: `.venv/bin/python benchmarks/ingest.py [--data DIR] [--rows 20000 200000] [--reps 3]
[--from-source]`. tokenergy's modules are byte-compiled first, as a wheel install has them
(machine.byte_compile).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import byte_compile

from tokenergy.ingest import Finding, IngestOptions, ingest_into, load_results, summary_row
from tokenergy.ingest.jsonstream import JsonArrayStream
from tokenergy.ingest.loader import iter_document
from tokenergy.ingest.rows import checked_row
from tokenergy.ingest.sources import Document, iter_documents
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult

DEFAULT_DATA = Path(
    os.environ.get("TOKENERGY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)
_MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, done.returncode)
"""


# Baseline: json/csv parsing of the files in `paths` with the standard library (run in this
# process by parse_only, and as the whole of a fresh process beside the CLI)
_PARSE = """
count = 0
for path in paths:
    if path.suffix == ".json":
        json.loads(path.read_text())
        count += 1
    elif path.suffix == ".csv":
        with path.open(newline="") as handle:
            list(csv.DictReader(handle))
        count += 1
"""
_PARSE_PROCESS = (
    "import csv, json, pathlib, sys\n"
    "paths = sorted(p for p in pathlib.Path(sys.argv[1]).rglob('*') if p.is_file())" + _PARSE
)


def parse_only(paths: list[Path]) -> int:
    """Baseline: json/csv parsing of the same files with the standard library."""
    names: dict[str, Any] = {"paths": paths, "json": json, "csv": csv}
    exec(_PARSE, names)
    return int(names["count"])


def shared_data(data: Path, reps: int) -> None:
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
    with tempfile.TemporaryDirectory() as tmp:
        bare_cmd = [sys.executable, "-c", _PARSE_PROCESS, str(data)]
        paired(len(rows), bare_cmd, _cli(data, Path(tmp)), reps, "bare parsing")


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


def measure(command: list[str]) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS KiB, exit code) of a command in a fresh process."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True,
                          text=True, check=True)  # fmt: skip
    wall, cpu, peak, code = done.stdout.split()
    return float(wall), float(cpu), float(peak), int(code)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _cli(path: Path, tmp: Path) -> list[str]:
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    return [tokenergy, "ingest", str(path), "--basis", "allin", "--format", "csv",
            "--out", str(tmp / "out.csv"), "--quiet"]  # fmt: skip


def paired(
    count: int, bare_cmd: list[str], cli_cmd: list[str], reps: int, bare: str
) -> tuple[float, float]:
    """The CLI and a bare parse of the same data alternated ``reps`` times in fresh processes;
    ratios are paired (same moment, same load), medians printed. Returns the median peak RSS
    (KiB) of the CLI and the load average when the runs ended."""
    runs = [(measure(bare_cmd), measure(cli_cmd)) for _ in range(reps)]
    cli_wall = _median([c[0] for _, c in runs])
    cli_cpu = _median([c[1] for _, c in runs])
    codes = {c[3] for _, c in runs}
    load = os.getloadavg()[0]
    print(f"  {bare}: {_median([b[0] for b, _ in runs]):.2f} s wall, "
          f"{_median([b[1] for b, _ in runs]):.2f} s CPU, peak RSS "
          f"{_median([b[2] for b, _ in runs]) / 1024:.0f} MiB")  # fmt: skip
    print(f"  CLI ingest → CSV: {cli_wall:.2f} s wall, {cli_cpu:.2f} s CPU, peak RSS "
          f"{_median([c[2] for _, c in runs]) / 1024:.0f} MiB, exit {codes}")  # fmt: skip
    print(f"  rows/s {count / cli_wall:,.0f} wall, {count / cli_cpu:,.0f} per CPU second "
          f"(target ≥ 10,000); CLI / {bare} "
          f"{_median([c[0] / b[0] for b, c in runs]):.1f}× wall, "
          f"{_median([c[1] / b[1] for b, c in runs]):.1f}× CPU (target ≤ 5×); "
          f"{reps} paired runs, load average {load:.2f}")  # fmt: skip
    return _median([c[2] for _, c in runs]), load


class _Sink:
    """A sink that makes each result's row (``rows``) or drops the result."""

    def __init__(self, rows: bool) -> None:
        self.rows = rows

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        if self.rows:
            checked_row(result, findings)

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def _cpu_us(run: Any, count: int) -> float:
    """Best of three CPU times of ``run()``, in µs per row."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best / count * 1e6


def split(path: Path, count: int) -> None:
    """Where a row's CPU goes, in this process (each stage streams and drops its output, as the
    CLI does): parsing, the adapter with pydantic validation (and that validation alone, of each
    record dumped), the checks, the analyst row. The CLI's remainder (spill, CSV text, sorting,
    output) is its CPU less its start-up and these."""
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    documents = [d for d in iter_documents([path]) if isinstance(d, Document)]
    records = [r.model_dump() for d in documents for r in iter_document(d, options)]
    stages = {
        "parse (jsonstream)": _cpu_us(lambda: sum(1 for _ in JsonArrayStream(path, "x")), count),
        "+ adapter and validation": _cpu_us(
            lambda: [sum(1 for _ in iter_document(d, options)) for d in documents], count
        ),
        "+ checks": _cpu_us(lambda: ingest_into(_Sink(rows=False), [path], options), count),
        "+ analyst row": _cpu_us(lambda: ingest_into(_Sink(rows=True), [path], options), count),
    }

    def validate() -> None:
        for record in records:  # each dropped, as the CLI drops it
            ServingResult.model_validate(record)

    alone = _cpu_us(validate, count)
    previous = 0.0
    for stage, us in stages.items():
        print(f"  {stage}: {us:.1f} µs CPU per row ({us - previous:+.1f})")
        previous = us
    print(f"  pydantic validation alone (each record from its dump): {alone:.1f} µs per row")


def large_file(data: Path, sizes: list[int], reps: int) -> None:
    """Per size: the CLI (→ CSV) and a bare ``json.load`` of the same file (:func:`paired`). The
    KiB retained per row is the growth of peak RSS between the smallest and the largest file per
    added row; the CLI's start-up is the same command on a one-row file."""
    peaks: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        one = Path(tmp) / "inferencex_1.json"
        synthetic_inferencex(data, 1, one)
        startup = [measure(_cli(one, Path(tmp))) for _ in range(reps)]
        startup_cpu = _median([s[1] for s in startup])
        print(f"CLI start-up (a one-row file): {_median([s[0] for s in startup]):.2f} s wall, "
              f"{startup_cpu:.2f} s CPU")  # fmt: skip
        for rows in sizes:
            path = Path(tmp) / f"inferencex_{rows}.json"
            count = synthetic_inferencex(data, rows, path)
            size_mb = path.stat().st_size / 1e6
            print(f"synthetic InferenceX file: {count:,} rows, {size_mb:.0f} MB (start-up is "
                  f"{startup_cpu / count * 1e6:.0f} µs CPU per row of it)")  # fmt: skip
            bare_cmd = [sys.executable, "-c", f"import json; json.load(open({str(path)!r}))"]
            peaks[count], _ = paired(count, bare_cmd, _cli(path, Path(tmp)), reps, "bare json.load")
            if rows == min(sizes):
                split(path, count)
            path.unlink()
    if len(peaks) > 1:
        (small, small_kib), (large, large_kib) = min(peaks.items()), max(peaks.items())
        per_row = (large_kib - small_kib) / (large - small)
        print(f"peak RSS growth {small:,} → {large:,} rows: {per_row * 1024:,.0f} bytes per row "
              f"(target ≤ 2 KiB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 200_000],
                        help="sizes of the synthetic files (200k rows: ~270 MB)")  # fmt: skip
    parser.add_argument("--reps", type=int, default=3, help="paired runs per size")
    parser.add_argument("--skip-shared", action="store_true", help="only the synthetic files")
    parser.add_argument("--from-source", action="store_true",
                        help="leave tokenergy's modules uncompiled (see byte_compile)")  # fmt: skip
    args = parser.parse_args()
    print(byte_compile(args.from_source))
    if not args.skip_shared:
        shared_data(args.data, args.reps)
    large_file(args.data, args.rows, args.reps)


if __name__ == "__main__":
    main()
