"""``load_sources(progress=...)``: one count of files over every source, monotone, to the total."""

from __future__ import annotations

import shutil
from pathlib import Path

from tokenergy.analyze.sources import load_sources
from tokenergy.ingest import IngestOptions
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.progress import Progress


def test_progress_counts_files_over_every_source(shared_data: Path, tmp_path: Path) -> None:
    files = sorted((shared_data / "inferencex/agg").glob("run_*.json"))[:4]
    folder = tmp_path / "folder"
    folder.mkdir()
    for file in files[:3]:
        shutil.copy(file, folder / file.name)
    own = tmp_path / "own.json"  # tokenergy's own result JSON: one file, read as is
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    first = load_sources([files[0]], options)[0]
    own.write_text(first.model_dump_json())
    seen: list[Progress] = []
    results = load_sources([folder, own, files[3]], options, seen.append)
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1].done == seen[-1].total == 5 and {p.total for p in seen} == {5}
    counts = [p.results or 0 for p in seen]
    assert counts == sorted(counts) and counts[-1] == len(results)
    assert results == load_sources([folder, own, files[3]], options)
