"""Files, directories and GitHub Actions zip artifacts."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tokenergy.ingest import load_results
from tokenergy.ingest.sources import Document, SkippedFile, iter_documents


def test_zip_artifact_members_are_read_by_content(shared_data: Path, tmp_path: Path) -> None:
    artifact = tmp_path / "results_bmk.zip"
    source = shared_data / "inferencex/agg/run_20218553330.json"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.write(source, "agg_bmk.json")
        archive.writestr("notes.txt", "hello")
    ingested = load_results([artifact])
    assert len(ingested.results) == len(json.loads(source.read_text()))
    assert ingested.results[0].provenance.source == f"{artifact}!agg_bmk.json"
    assert [s.reason for s in ingested.skipped] == ["not a result file (.txt)"]


def test_directories_are_walked_in_order_and_odd_files_listed(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text("[]")
    (tmp_path / "a.txt").write_text("x: 1")  # .yaml/.jsonl are read now (guidellm, SGLang)
    items = list(iter_documents([tmp_path]))
    assert isinstance(items[0], SkippedFile) and not items[0].failed
    assert isinstance(items[1], Document) and items[1].name.endswith("b.json")


def test_missing_path_and_bad_zip_are_failures(tmp_path: Path) -> None:
    broken = tmp_path / "x.zip"
    broken.write_bytes(b"not a zip")
    items = list(iter_documents([tmp_path / "nope.json", broken]))
    assert all(isinstance(i, SkippedFile) and i.failed for i in items)
    assert "no such file" in items[0].reason  # type: ignore[union-attr]
    assert str(tmp_path / "nope.json") in items[0].reason  # type: ignore[union-attr]
    assert "zip" in items[1].reason  # type: ignore[union-attr]
