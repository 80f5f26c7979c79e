"""``tokenergy ingest --format csv|json|parquet --out`` holds ~100 bytes per row, not the rows:
traced peak memory for 4N rows stays well under 4× that for N (memory, not time). Parquet holds
one row group at a time (4096 rows; 64 here so that the test files span several), and rows are
held in memory only up to a budget (16 MiB; 64 KiB here, which both files outgrow)."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from inprocess import run_cli

from tokenergy.cli import ingest
from tokenergy.ingest import jsonstream, sources, spill


def _peak_bytes(path: Path, fmt: str, out: Path) -> int:
    tracemalloc.start()
    try:
        done = run_cli("ingest", path, "--basis", "allin", "--format", fmt, "--out", out, "--quiet")
        assert done.returncode == 0, done.stderr
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_streaming_outputs_do_not_hold_the_rows(
    fmt: str, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "STREAM_BYTES", 0)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 1 << 16)
    monkeypatch.setattr(ingest, "_CHUNK_ROWS", 64)  # rows per write / Parquet row group
    monkeypatch.setattr(spill, "_WRITE_ROWS", 16)  # rows per write to the spill file
    monkeypatch.setattr(spill, "MEMORY_BYTES", 1 << 16)  # held rows before the spill file
    real = json.loads(next((shared_data / "inferencex/agg").glob("run_*.json")).read_text())
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    small.write_text(json.dumps([dict(row, conc=i + 1) for i, row in enumerate(real * 4)]))
    large.write_text(json.dumps([dict(row, conc=i + 1) for i, row in enumerate(real * 16)]))
    _peak_bytes(small, fmt, tmp_path / "warm")  # first-use imports and caches
    assert _peak_bytes(large, fmt, tmp_path / "l") < 1.6 * _peak_bytes(small, fmt, tmp_path / "s")
