"""``load_results(progress=...)``: per file (zip members each), monotone, ending at the total."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from tokenergy.ingest import IngestOptions, load_results
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.progress import Progress

AGG = "inferencex/agg"


def _directory(shared_data: Path, tmp_path: Path) -> Path:
    """Three result files, a zip of two more, a file that is not a result and an empty array."""
    files = sorted((shared_data / AGG).glob("run_*.json"))[:5]
    folder = tmp_path / "results"
    folder.mkdir()
    for file in files[:3]:
        shutil.copy(file, folder / file.name)
    with zipfile.ZipFile(folder / "artifact.zip", "w") as archive:
        for file in files[3:]:
            archive.write(file, file.name)
    (folder / "notes.txt").write_text("not a result")
    (folder / "empty.json").write_text("[]")
    return folder


def test_progress_counts_files_and_rows_up_to_the_total(shared_data: Path, tmp_path: Path) -> None:
    seen: list[Progress] = []
    ingested = load_results(
        [_directory(shared_data, tmp_path)],
        IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN)),
        progress=seen.append,
    )
    assert [p.done for p in seen] == list(range(1, 8))  # 3 files, 2 members, 2 skipped files
    assert {p.total for p in seen} == {7} and {p.unit for p in seen} == {"files"}
    rows = [p.results or 0 for p in seen]
    assert rows == sorted(rows) and rows[-1] == len(ingested.results) > 0


def test_progress_does_not_change_the_results(shared_data: Path, tmp_path: Path) -> None:
    folder = _directory(shared_data, tmp_path)
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    assert (
        load_results([folder], options).results
        == load_results([folder], options, progress=lambda _: None).results
    )
