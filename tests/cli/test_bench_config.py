"""Repeatable runs (issue 12 item 3): ``bench --config``, the saved bench.toml, ``--label`` and
``--metadata`` in run.json and the store, vLLM flag aliases, and ``compare --by label`` for two
runs against the same URL (item 7)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tokenergy.sim.server import SimHandle, run_in_thread

Cli = Callable[..., Any]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_in_thread("llama-3.1-8b-h100", speed=50.0) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))


def _config(run_dir: Path) -> dict[str, Any]:
    document = json.loads((run_dir / "run.json").read_text())
    config: dict[str, Any] = document["config"]
    return config


def test_config_file_flags_and_overrides(cli: Cli, sim: SimHandle, tmp_path: Path) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(
        f'url = "{sim.url}"\n'
        "isl = 32\nosl = 8\nconcurrency = [2]\nnum_prompts = 40\nwarmup = 0\n"
        'label = "baseline"\nmetadata = ["team=infra", "note=first try"]\n'
    )
    first = tmp_path / "first"
    done = cli("bench", "--config", str(config), "--num-prompts", "6", "--out", str(first))
    assert done.code == 0, done.stderr
    run = _config(first)
    assert (run["lengths"]["isl"], run["lengths"]["osl"], run["concurrency"]) == (32, 8, 2)
    assert run["num_prompts"] == 6  # the command line wins over the file
    assert run["label"] == "baseline"
    assert run["metadata"] == {"team": "infra", "note": "first try"}
    provenance = json.loads((first / "run.json").read_text())["result"]["provenance"]
    assert provenance["label"] == "baseline" and provenance["metadata"]["team"] == "infra"

    saved = (first / "bench.toml").read_text()
    keys = [line.split(" = ")[0] for line in saved.splitlines()[1:]]
    assert "num-prompts = 6" in saved and "out" not in keys and "url" in keys
    again = tmp_path / "again"
    done = cli("bench", "--config", str(first / "bench.toml"), "--out", str(again))
    assert done.code == 0, done.stderr
    assert {**_config(again), "out_dir": None} == {**run, "out_dir": None}


def test_vllm_aliases(cli: Cli, sim: SimHandle, tmp_path: Path) -> None:
    out = tmp_path / "aliased"
    done = cli(
        "bench", sim.url, "--max-concurrency", "3", "--request-rate", "200",
        "--random-input-len", "24", "--random-output-len", "6", "--num-prompts", "6",
        "--result-dir", str(out), "--save-result",
    )  # fmt: skip
    assert done.code == 0, done.stderr
    run = _config(out)
    assert (run["concurrency"], run["rate_rps"]) == (3, 200.0)
    assert (run["lengths"]["isl"], run["lengths"]["osl"]) == (24, 6)
    assert "stored" in done.stderr


def test_compare_by_label_for_two_runs_of_one_url(cli: Cli, sim: SimHandle, tmp_path: Path) -> None:
    for label in ("before", "after"):
        done = cli(
            "bench", sim.url, "--concurrency", "2", "--num-prompts", "6", "--isl", "32",
            "--osl", "8", "--label", label, "--out", str(tmp_path / label),
            "--meter", f"dcgm:{sim.dcgm_url}?interval=0.05s", "--idle-seconds", "0",
            "--min-window", "0.01",
        )  # fmt: skip
        assert done.code == 0, done.stderr
        export = json.loads((tmp_path / label / "vllm_bench.json").read_text())
        assert export["label"] == label  # vLLM's own field, read back by ingest
    args = ("compare", str(tmp_path / "before"), str(tmp_path / "after"), "--at-itl", "10s")
    assert cli(*args, "--by", "source").code == 2  # one URL: a single value of source
    done = cli(*args, "--by", "label", "--include-invalid")
    assert done.code == 0, done.stderr
    assert "before vs after (label)" in done.stdout or "after vs before (label)" in done.stdout
    assert "1 of 1 cases" in done.stdout.replace("\n", " ") or "of 1 cases" in done.stdout


@pytest.mark.parametrize(
    ("text", "needle"),
    [("isl = [", "not valid TOML"), ("bogus = 1", "unknown key 'bogus'"), ("isl = 'x'", "isl")],
)
def test_bad_config_files_are_one_line_errors(
    cli: Cli, tmp_path: Path, text: str, needle: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    done = cli("bench", "http://127.0.0.1:9", "--concurrency", "1", "--config", str(config))
    assert done.code == 2, done.stderr
    assert needle in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_progress_lines_when_not_a_terminal_and_quiet(
    cli: Cli, sim: SimHandle, tmp_path: Path
) -> None:
    """Issue 12 item 4: a log gets a line every N seconds (with live J/token when metered)."""
    args = (
        "bench", sim.url, "--concurrency", "1", "--num-prompts", "12", "--isl", "32",
        "--osl", "64", "--meter", f"dcgm:{sim.dcgm_url}?interval=0.05s", "--idle-seconds", "0",
        "--min-window", "0.01",
    )  # fmt: skip
    done = cli(*args, "--progress-every", "0.2", "--out", str(tmp_path / "loud"))
    assert done.code == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("c=1: ")]
    assert lines, done.stderr
    assert "/12 requests" in lines[-1] and "output tok/s" in lines[-1]
    assert any("J/output token so far" in line for line in lines), lines
    quiet = cli(*args, "--progress-every", "0.2", "--quiet", "--out", str(tmp_path / "quiet"))
    assert quiet.code == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("c=1: ")]
