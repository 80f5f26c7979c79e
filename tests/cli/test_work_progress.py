"""Progress of long work on stderr (issue 12 item 4): a line every --progress-every seconds when
stderr is not a terminal, nothing with --quiet, and stdout (tables, JSON) the same either way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from inprocess import run_cli

EVERY = ("--progress-every", "0.000001")  # every report is due: the run need not be long


@pytest.fixture(scope="module")
def results_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("progress") / "results"
    folder.mkdir()
    for file in sorted((shared_data / "inferencex/agg").glob("run_*.json"))[:4]:
        shutil.copy(file, folder / file.name)
    return folder


def _progress_lines(stderr: str, label: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{label}: ")]


@pytest.mark.parametrize("command", ["ingest", "check"])
def test_ingest_and_check_report_files_and_rows(command: str, results_dir: Path) -> None:
    shown = run_cli(command, results_dir, "--basis", "allin", *EVERY)
    quiet = run_cli(command, results_dir, "--basis", "allin", *EVERY, "--quiet")
    assert shown.returncode == quiet.returncode == 0, shown.stderr
    lines = _progress_lines(shown.stderr, command)
    assert lines and lines[-1].startswith(f"{command}: 4/4 files (100%), ")
    assert " rows, " in lines[-1]
    assert _progress_lines(quiet.stderr, command) == []
    assert shown.stdout == quiet.stdout  # progress never reaches stdout


def test_ingest_json_is_unchanged_by_progress(results_dir: Path) -> None:
    shown = run_cli("ingest", results_dir, "--basis", "allin", "--json", *EVERY)
    default = run_cli("ingest", results_dir, "--basis", "allin", "--json")
    assert shown.returncode == 0 and _progress_lines(shown.stderr, "ingest")
    assert shown.stdout == default.stdout


def test_a_short_run_prints_no_progress_by_default(results_dir: Path) -> None:
    """The default interval (10 s) is longer than this run: a log stays clean."""
    done = run_cli("ingest", results_dir, "--basis", "allin")
    assert done.returncode == 0 and _progress_lines(done.stderr, "ingest") == []


@pytest.mark.parametrize("every", ["0", "-1", "nan"])
def test_a_bad_interval_is_refused(every: str, results_dir: Path) -> None:
    done = run_cli("ingest", results_dir, "--progress-every", every)
    assert done.returncode == 2 and "--progress-every" in done.stderr
