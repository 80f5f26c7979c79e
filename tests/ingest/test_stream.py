"""``ingest_into``: results one at a time into a sink, a bad file rolled back whole, and the
cross-row summaries (model spellings, file-wide warnings) equal to what all rows would give."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tokenergy.cli.ingest import file_wide_warnings
from tokenergy.ingest import Finding, IngestOptions, ingest_into, load_results, summary_row
from tokenergy.ingest.checks import Spellings
from tokenergy.ingest.rows import checked_row
from tokenergy.ingest.spill import FileWarnings, RowStore
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult

OPTIONS = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
AGG = "inferencex/agg"


class _Recorder:
    """A sink that logs every call, to see what a bad file leaves behind."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.kept: list[ServingResult] = []
        self._pending: list[ServingResult] = []

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        self.calls.append("add")
        self._pending.append(result)

    def commit(self) -> None:
        self.calls.append("commit")
        self.kept += self._pending
        self._pending = []

    def rollback(self) -> None:
        self.calls.append("rollback")
        self._pending = []


def _folder(shared_data: Path, tmp_path: Path) -> Path:
    """Two good InferenceX files and one whose last row is bad."""
    files = sorted((shared_data / AGG).glob("run_*.json"))[:2]
    folder = tmp_path / "results"
    folder.mkdir()
    for file in files:
        shutil.copy(file, folder / file.name)
    rows = json.loads(files[0].read_text())
    rows[-1]["tput_per_gpu"] = "fast"
    (folder / "z_bad.json").write_text(json.dumps(rows))
    return folder


def test_a_file_bad_half_way_gives_no_rows(shared_data: Path, tmp_path: Path) -> None:
    folder = _folder(shared_data, tmp_path)
    sink = _Recorder()
    ingestion = ingest_into(sink, [folder], OPTIONS)
    assert sink.calls[-1] == "rollback" and sink.calls.count("add") > len(sink.kept)
    assert ingestion.count == len(sink.kept) == len(load_results([folder], OPTIONS).results)
    assert [s.name for s in ingestion.failed] == [str(folder / "z_bad.json")]
    assert "row " in ingestion.failed[0].reason and "tput_per_gpu" in ingestion.failed[0].reason


def test_streamed_summaries_equal_those_of_all_rows(shared_data: Path) -> None:
    """model_spellings and file-wide warnings from the small summaries, the rows read back from
    disk: the same rows, checks and statuses as from load_results."""
    paths = [shared_data / "inferencex", shared_data / "mlenergy", shared_data / "peers"]
    whole = load_results(paths, OPTIONS)
    expected = [summary_row(r, c) for r, c in zip(whole.results, whole.checks, strict=True)]

    store, warnings, by_status = RowStore(), FileWarnings(), RowStore("status")

    class Sink:
        def add(self, result: ServingResult, findings: list[Finding]) -> None:
            row = checked_row(result, findings)
            store.append(row, Spellings.spelling(result))
            warnings.add(row, Spellings.spelling(result))
            by_status.append(row, Spellings.spelling(result))

        def commit(self) -> None:
            store.commit()
            warnings.commit()
            by_status.commit()

        def rollback(self) -> None:
            store.rollback()
            warnings.rollback()
            by_status.rollback()

    ingestion = ingest_into(Sink(), paths, OPTIONS)
    assert list(store.rows(ingestion.spellings)) == expected
    without_details = [
        dict(row, checks=[{"name": c["name"], "status": c["status"]} for c in row["checks"]])
        for row in expected
    ]
    assert list(store.rows(ingestion.spellings, details=False)) == without_details
    assert warnings.wide(ingestion.spellings) == file_wide_warnings(expected)
    statuses = [r["status"] for r in by_status.rows(ingestion.spellings, descending=True)]
    assert statuses == sorted((r["status"] for r in expected), reverse=True)
