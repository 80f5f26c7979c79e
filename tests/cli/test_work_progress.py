"""Progress of long work on stderr (issue 12 item 4): a line every --progress-every seconds when
stderr is not a terminal, nothing with --quiet, and stdout (tables, JSON) the same either way."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from inprocess import run_cli

from tokenergy.cli import render, work_progress
from tokenergy.cli.render import clean, make_console
from tokenergy.progress import Progress

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


def _counts(line: str) -> tuple[int, int]:
    """(done, total) of 'estimate: 1,000/2,000 draws (50%), 0 s'."""
    done, total = line.split(": ", 1)[1].split(" ", 1)[0].split("/")
    return int(done.replace(",", "")), int(total.replace(",", ""))


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
@pytest.mark.parametrize("command", [("ingest",), ("runs", "add")])
def test_a_bad_interval_is_refused(
    every: str, command: tuple[str, ...], results_dir: Path, tmp_path: Path
) -> None:
    done = run_cli(
        *command, results_dir, "--progress-every", every, env={"TOKENERGY_HOME": str(tmp_path)}
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --progress-every: must be a finite number of seconds > 0"
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ("estimate", "--samples", "2e5"),
        ("estimate", "--samples", "2e5", "--json"),
        ("fleet", "--queries-per-day", "1e9", "--scenarios", "500", "--length-samples", "2e5"),
        ("fleet", "--queries-per-day", "1e9", "--length-samples", "2e5", "--json"),
    ],
)
def test_estimate_and_fleet_report_draws(argv: tuple[str, ...]) -> None:
    shown = run_cli(*argv, *EVERY)
    quiet = run_cli(*argv, *EVERY, "--quiet")
    assert shown.returncode == quiet.returncode == 0, shown.stderr
    counts = [_counts(line) for line in _progress_lines(shown.stderr, argv[0])]
    assert counts, shown.stderr
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)
    assert counts[-1][0] == counts[-1][1]  # the last line is at the total
    assert _progress_lines(quiet.stderr, argv[0]) == []
    assert shown.stdout == quiet.stdout  # tables and JSON are untouched by progress


def test_runs_add_reports_files_read_then_results_stored(
    results_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))
    shown = run_cli("runs", "add", results_dir, "--basis", "allin", *EVERY)
    assert shown.returncode == 0, shown.stderr
    lines = _progress_lines(shown.stderr, f"runs add {results_dir}")
    assert any(" files " in line for line in lines)
    stored = [line for line in lines if " results stored " in line]
    assert stored and _counts(stored[-1])[0] == _counts(stored[-1])[1] > 0
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "again"))
    quiet = run_cli("runs", "add", results_dir, "--basis", "allin", *EVERY, "-q")
    assert quiet.returncode == 0 and "runs add" not in quiet.stderr
    assert quiet.stdout.split(" in ")[0] == shown.stdout.split(" in ")[0]  # 'stored N new of N'


def test_on_a_terminal_it_is_a_bar_that_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(
        render, "err_console", make_console(file=terminal, force_terminal=True, width=100)
    )
    monkeypatch.setattr(work_progress, "REDRAW_EVERY_S", 0.0)
    with work_progress.WorkProgress("ingest", quiet=False, every_s=0.000001) as shown:
        for done in (1, 2, 3):
            shown(Progress(done, 3, "files", done * 10))
    text = clean(terminal.getvalue())
    assert "ingest" in text and "3/3 files, 30 rows" in text
    assert "ingest: " not in text  # no log lines on a terminal
    assert terminal.getvalue().endswith("\x1b[2K")  # the bar is erased when the work ends


def test_quiet_draws_nothing_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(render, "err_console", make_console(file=terminal, force_terminal=True))
    with work_progress.WorkProgress("estimate", quiet=True, every_s=0.000001) as shown:
        shown(Progress(1, 1, "draws"))
    assert terminal.getvalue() == ""
