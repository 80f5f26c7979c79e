"""Bad input and bad environments are one line and exit 2, nothing else (issue 14 items 12, 13).

Each test reproduces a case of the red-team run: before the fix it was a traceback or a silent
wrong answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]
AGG = "inferencex/agg/run_20248091324.json"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))


def one_error(done: Any, *needles: str) -> None:
    assert done.code == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def test_ingest_sort_by_a_list_column_is_refused(cli: Cli, shared_data: Path) -> None:
    done = cli("ingest", str(shared_data / AGG), "--basis", "allin", "--sort", "checks")
    one_error(done, "--sort", "checks")
    assert "j_per_token" in done.stderr and "checks," not in done.stderr


@pytest.fixture
def stored(cli: Cli, shared_data: Path) -> None:
    done = cli("runs", "add", str(shared_data / AGG), "--basis", "allin")
    assert done.code == 0, done.stderr


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("kind", ["directory", "missing-parent", "parent-is-file", "/proc"])
def test_runs_export_bad_paths(cli: Cli, tmp_path: Path, kind: str) -> None:
    (tmp_path / "file").write_text("x")
    out = {
        "directory": tmp_path,
        "missing-parent": tmp_path / "missing" / "x.csv",
        "parent-is-file": tmp_path / "file" / "x.csv",
        "/proc": Path("/proc/tokenergy-export.csv"),
    }[kind]
    one_error(cli("runs", "export", "--out", str(out)), "--out")
    assert not (tmp_path / "missing").exists()


@pytest.mark.usefixtures("stored")
def test_runs_export_to_a_full_disk(cli: Cli) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    one_error(cli("runs", "export", "--out", "/dev/full"), "--out", "No space left")


@pytest.mark.usefixtures("stored")
def test_runs_export_still_writes(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "rows.json"
    done = cli("runs", "export", "--out", str(out), "--format", "json")
    assert done.code == 0, done.stderr
    assert len(json.loads(out.read_text())) > 0


def test_bench_out_that_is_a_file(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    done = cli("bench", "http://127.0.0.1:9", "--concurrency", "1", "--out", str(target))
    one_error(done, "--out", "not a directory")
    assert target.read_text() == "x"


def test_check_of_an_empty_directory_is_not_a_pass(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    one_error(cli("check", str(tmp_path / "empty"), "--strict"), "no result files")


def test_compare_refuses_the_same_side_twice(cli: Cli, shared_data: Path) -> None:
    task = shared_data / "mlenergy/leaderboard_v3/tasks/sourcegraph-fim.json"
    done = cli(
        "compare", str(task), "--baseline", "H100", "--candidate", "h100", "--at-itl", "50ms"
    )
    one_error(done, "--candidate", "both")


def test_frontier_plot_does_not_create_directories(cli: Cli, tmp_path: Path) -> None:
    plot = tmp_path / "nonexistent" / "a.svg"
    one_error(cli("frontier", "--plot", str(plot)), "--plot", "does not exist")
    assert not plot.parent.exists()


def test_runs_add_skips_an_empty_array_and_keeps_the_rest(
    cli: Cli, tmp_path: Path, shared_data: Path
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    done = cli("runs", "add", str(empty), str(shared_data / AGG), "--basis", "allin")
    assert done.code == 2
    assert f"skipped {empty}" in done.stderr
    listed = cli("runs", "list", "--json")
    assert listed.code == 0 and len(json.loads(listed.stdout)) > 0


def test_estimate_far_outside_the_table_warns(cli: Cli) -> None:
    done = cli("estimate", "--lin", "1e30", "--samples", "1000", "--model", "llama 3.1 70b")
    assert done.code == 0, done.stderr
    assert "--lin 1e+30 tokens is outside the input lengths" in done.stderr


def test_fleet_mix_that_does_not_sum_to_one_is_normalised_with_a_note(cli: Cli) -> None:
    args = ("fleet", "--queries-per-day", "1e9", "--scenarios", "200", "--length-samples", "1000")
    args += ("--model", "Llama 3.1 70B", "--json")
    halves = [cli(*args, "--mix", mix) for mix in ("traditional=0.5", "traditional=1")]
    assert [d.code for d in halves] == [0, 0]
    assert "--mix shares sum to 0.5, not 1; normalised to traditional 100.0%" in halves[0].stderr
    assert "--mix" not in halves[1].stderr
    assert json.loads(halves[0].stdout)["models"] == json.loads(halves[1].stdout)["models"]


def test_model_names_ignore_case_and_punctuation(cli: Cli) -> None:
    done = cli("estimate", "--model", "LLAMA_3.1-70b", "--samples", "1000", "--json")
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["models"][0]["model"] == "Llama 3.1 70B"


def test_unknown_model_suggests_the_nearest(cli: Cli) -> None:
    one_error(cli("estimate", "--model", "llama-70b"), "did you mean Llama 3.1 70B")


def test_reduced_fit_is_a_footnote_unless_the_model_is_named(cli: Cli) -> None:
    every = cli("estimate", "--samples", "1000")
    assert every.code == 0, every.stderr
    assert "cannot identify" not in every.stderr
    assert "Nemotron Ultra 253B *" in every.stdout and "* reduced throughput fit" in every.stdout
    named = cli("estimate", "--samples", "1000", "--model", "llama-3.1-nemotron-ultra-253b")
    assert named.code == 0, named.stderr
    assert named.stderr.count("cannot identify") == 1


@pytest.mark.parametrize("run_id", ["a**", "../..", "[/bold]"])
def test_runs_show_takes_ids_as_text_not_patterns(cli: Cli, run_id: str) -> None:
    """'a**' was a ValueError traceback from pathlib's glob; '../..' must not escape the store."""
    one_error(cli("runs", "show", run_id), "RUN_ID", run_id)


HOSTILE_MODEL = "llama[/v2] \x1b[31mred\x1b[0m\x1b]8;;http://evil\x07[blink]x :smile:"


def test_hostile_model_names_in_data_print_literally(
    cli: Cli, tmp_path: Path, shared_data: Path
) -> None:
    """A model name from a file reaches tables as text: no markup, no emoji, no escapes."""
    raw = shared_data / "inferencex/raw/pr1633_local_results"
    source = sorted(raw.glob("*conc32.json"))[0]
    document = json.loads(source.read_text())
    document["model_id"] = HOSTILE_MODEL
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(document))
    for args in (
        ("ingest", str(hostile), "--power", "8kW", "--gpus", "8"),
        ("check", str(hostile), "--power", "8kW", "--gpus", "8", "--all"),
        ("runs", "add", str(hostile), "--power-per-gpu", "1kW"),
        ("runs", "list"),
        ("frontier", str(hostile), "--power-per-gpu", "1kW", "--group-by", "model"),
    ):
        done = cli(*args)
        assert done.code in (0, 1), (args, done.stderr)
        text = done.stdout + done.stderr
        assert "\x1b" not in text and "\x07" not in text, args
        if args[0] == "ingest":
            assert "[/v2]" in text and "[blink]" in text and ":smile:" in text, (args, text)
