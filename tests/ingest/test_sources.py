"""Files, directories and GitHub Actions zip artifacts."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tokenergy.ingest import load_results, sources
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


def _stored_zip(path: Path, member: str, data: bytes) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(member, data)


def _patch(path: Path, offset_in_header: int, local: bytes, central: bytes) -> None:
    """Overwrite a field in the local file header and the central directory entry."""
    raw = bytearray(path.read_bytes())
    for signature, value in ((b"PK\x03\x04", local), (b"PK\x01\x02", central)):
        start = raw.index(signature)
        offset = start + (offset_in_header if signature == b"PK\x03\x04" else offset_in_header + 2)
        raw[offset : offset + len(value)] = value
    path.write_bytes(bytes(raw))


def _failure(path: Path) -> str:
    (item,) = [i for i in iter_documents([path]) if isinstance(i, SkippedFile)]
    assert item.failed
    return item.reason


def test_zip_with_a_bad_crc_is_a_failure_naming_the_member(tmp_path: Path) -> None:
    artifact = tmp_path / "crc.zip"
    _stored_zip(artifact, "a.json", b'[{"x": 1}]')
    raw = bytearray(artifact.read_bytes())
    raw[raw.index(b'[{"x": 1}]') + 7] = ord("2")
    artifact.write_bytes(bytes(raw))
    reason = _failure(artifact)
    assert "crc.zip!a.json" in reason and "CRC" in reason


def test_encrypted_and_unknown_compression_members_are_failures(tmp_path: Path) -> None:
    encrypted = tmp_path / "enc.zip"
    _stored_zip(encrypted, "a.json", b"[]")
    _patch(encrypted, 6, b"\x01\x00", b"\x01\x00")  # general purpose flag: encrypted
    assert "encrypted" in _failure(encrypted)
    unknown = tmp_path / "method.zip"
    _stored_zip(unknown, "a.json", b"[]")
    _patch(unknown, 8, b"\x63\x00", b"\x63\x00")  # compression method 99
    assert "compression method 99" in _failure(unknown)


def test_zip_members_over_the_size_cap_are_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_MEMBER_BYTES", 1024)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.json", b"[" + b" " * 4096 + b"]")
    assert "limit" in _failure(bomb)
    # a header that understates the size: reading stops at the cap
    liar = tmp_path / "liar.zip"
    _stored_zip(liar, "big.json", b"[" + b" " * 4096 + b"]")
    _patch(liar, 22, (10).to_bytes(4, "little"), (10).to_bytes(4, "little"))
    assert "zip" in _failure(liar)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, '[{"x": 1' + "0" * 5000 + "}]"])
def test_deep_json_and_huge_integers_are_one_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(text)
    ingested = load_results([path])
    (skipped,) = ingested.failed
    assert "invalid JSON" in skipped.reason and str(path) in skipped.reason


def test_an_integer_beyond_float_range_names_its_field(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "inferencex/agg/run_20218553330.json"
    rows = json.loads(source.read_text())
    text = json.dumps(rows[:1]).replace(f'"tput_per_gpu": {rows[0]["tput_per_gpu"]}',
                                        '"tput_per_gpu": 1' + "0" * 400)  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(text)
    (skipped,) = load_results([path]).failed
    assert "tput_per_gpu" in skipped.reason and "out of range" in skipped.reason


def _tree(root: Path) -> None:
    """Names that sort differently as strings and as paths, hidden files, symlinks."""
    for name in ("a/x.json", "a.json", "a-b/y.json", "a b.csv", ".hidden.json", "B.json", "c."):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("[]")
    (root / "linked_dir").symlink_to(root / "a", target_is_directory=True)
    (root / "linked.json").symlink_to(root / "a.json")
    (root / "broken.json").symlink_to(root / "missing.json")


def test_directories_are_walked_as_rglob_lists_and_sorts_paths(tmp_path: Path) -> None:
    _tree(tmp_path)
    expected = [str(p) for p in sorted(p for p in tmp_path.rglob("*") if p.is_file())]
    assert [item.name for item in iter_documents([tmp_path])] == expected
    assert sources.count_documents([tmp_path]) == len(expected)


def test_the_current_directory_names_its_files_without_a_dot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    expected = [str(p) for p in sorted(p for p in Path(".").rglob("*") if p.is_file())]
    assert [item.name for item in iter_documents([Path(".")])] == expected
    assert expected[0] == ".hidden.json"


def test_suffixes_are_read_as_paths_have_them() -> None:
    for name in ("a.JSON", "dir.d/file", ".hidden", "c.", "x/.y.csv", "a..b", "noext"):
        assert sources._suffix(name) == Path(name).suffix.lower(), name
