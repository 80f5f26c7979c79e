"""The report's result cache: keyed by the package's content, never stale, never an error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tokenergy.report import build, estimates, html, reconciliation, reference
from tokenergy.report.background import Background
from tokenergy.report.build import make_report
from tokenergy.report.cache import CACHE_ENV, ResultCache, cache_dir, package_digest, tree_digest
from tokenergy.report.methodology import renderer


def test_the_key_changes_with_any_file_of_the_tree_and_its_path(tmp_path: Path) -> None:
    tree = tmp_path / "pkg"
    (tree / "catalog").mkdir(parents=True)
    (tree / "code.py").write_text("x = 1\n")
    (tree / "catalog" / "data.csv").write_text("a,b\n1,2\n")
    first = tree_digest(tree, "3.11")
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "code.pyc").write_bytes(b"compiled")
    assert tree_digest(tree, "3.11") == first  # compiled files are not the package
    (tree / "catalog" / "data.csv").write_text("a,b\n1,3\n")
    changed = tree_digest(tree, "3.11")
    assert changed != first
    assert tree_digest(tree, "3.12") != changed  # versions are part of the key
    moved = tmp_path / "elsewhere"
    tree.rename(moved)
    assert tree_digest(moved, "3.11") != changed  # results may name files by their path


def test_entries_round_trip_and_a_corrupt_one_is_recomputed(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, digest="a" * 32)
    assert cache.get("job") == (False, None)
    assert cache.compute("job", lambda: {"value": 1}) == {"value": 1}
    assert cache.compute("job", lambda: pytest.fail("a hit must not recompute")) == {"value": 1}
    (tmp_path / f"{'a' * 32}-job.pickle").write_bytes(b"\x80\x05truncated")
    assert cache.compute("job", lambda: {"value": 2}) == {"value": 2}
    assert cache.get("job") == (True, {"value": 2})


def test_a_new_package_version_never_reads_the_old_entries_and_few_are_kept(
    tmp_path: Path,
) -> None:
    for age, digest in enumerate("abcde"):
        ResultCache(tmp_path, digest=digest * 32).put("job", f"result of {digest}")
        os.utime(tmp_path / f"{digest * 32}-job.pickle", (1e9 + age, 1e9 + age))
    new = ResultCache(tmp_path, digest="f" * 32)
    assert new.get("job") == (False, None)
    new.put("job", "new result")
    kept = sorted(path.name[0] for path in tmp_path.glob("*.pickle"))
    assert kept == ["c", "d", "e", "f"]  # this version and the three written last
    assert new.get("job") == (True, "new result")


def test_a_cache_that_cannot_be_written_is_no_cache(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    cache = ResultCache(blocked / "cache", digest="a" * 32)
    assert cache.compute("job", lambda: 42) == 42
    assert cache.get("job") == (False, None)
    assert not list(tmp_path.glob("**/*.part"))


def test_the_directory_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.setenv(CACHE_ENV, "off")
    assert cache_dir() is None


def _refuse() -> None:
    raise AssertionError("a cached job was started")


def test_background_reads_a_hit_and_starts_only_the_misses(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, digest="a" * 32)
    cache.put("done", [1, 2, 3])
    background = Background({"done": _refuse, "new": os.getpid}, cache, cached=("done", "new"))
    assert background.result("done") == [1, 2, 3]
    worker = background.result("new")
    assert cache.get("new") == (True, worker)  # the worker stored its result


def _report_json(out: Path) -> dict[str, object]:
    data = json.loads((out / "report.json").read_text())
    data.pop("generated_utc")
    return data


def test_a_warm_report_is_the_cold_one_and_starts_no_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    make_report([], tmp_path / "cold")
    names = sorted(path.name for path in (tmp_path / "cache").glob("*.pickle"))
    assert names == [
        f"{package_digest()}-{name}.pickle"
        for name in sorted(
            [
                build.REFERENCE_JOB,
                estimates.JOB,
                reconciliation.RECONCILE_JOB,
                f"{html.SOURCES_JOB}-{renderer()}",
            ]
        )
    ]
    monkeypatch.setattr(estimates, "run_defaults", _refuse)
    monkeypatch.setattr(reconciliation, "reconcile_embedded", _refuse)
    monkeypatch.setattr(reference, "reference_sets", _refuse)
    make_report([], tmp_path / "warm")
    assert _report_json(tmp_path / "warm") == _report_json(tmp_path / "cold")
    cold_html = (tmp_path / "cold" / "index.html").read_text()
    warm_html = (tmp_path / "warm" / "index.html").read_text()
    assert cold_html.count("<svg") == warm_html.count("<svg") > 10
    assert (tmp_path / "warm" / "summary.md").read_text().split("\n", 3)[3] == (
        tmp_path / "cold" / "summary.md"
    ).read_text().split("\n", 3)[3]


def test_without_the_cache_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    make_report([], tmp_path / "out", estimate=False, cache=False)
    assert not (tmp_path / "cache").exists()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="file ownership needs POSIX uids")
def test_an_entry_or_directory_others_can_write_is_never_unpickled(tmp_path: Path) -> None:
    """Unpickling runs code: a planted entry (other-writable file or directory) is a miss."""
    cache = ResultCache(tmp_path / "cache", digest="a" * 32)
    cache.put("job", "genuine")
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700
    entry = tmp_path / "cache" / f"{'a' * 32}-job.pickle"
    assert cache.get("job") == (True, "genuine")
    entry.chmod(0o666)
    assert cache.get("job") == (False, None)
    assert cache.compute("job", lambda: "recomputed") == "recomputed"  # rewritten privately
    assert cache.get("job") == (True, "recomputed")
    (tmp_path / "cache").chmod(0o777)
    assert cache.get("job") == (False, None)
    cache.put("job", "not written into a shared directory")
    (tmp_path / "cache").chmod(0o700)
    assert cache.get("job") == (True, "recomputed")
