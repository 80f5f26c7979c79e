"""Every command that reads a JSON (or TOML) file survives hostile contents (issue 14 item 12).

A document nested 100,000 deep (RecursionError in the parser) and the integer 10^400
(OverflowError when it meets a float) were tracebacks in 10 and 7 commands. Each must be one
line naming the file, exit 2. In process through the real entry point.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]
HUGE = "1" + "0" * 400
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
AGG = "inferencex/agg/run_20248091324.json"
TASK = "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))


def _huge_inferencex(shared_data: Path) -> str:
    rows = json.loads((shared_data / AGG).read_text())[:2]
    text = json.dumps(rows)
    return text.replace(json.dumps(rows[0]["tput_per_gpu"]), HUGE, 1)


def _huge_task(shared_data: Path) -> str:
    document = json.loads((shared_data / TASK).read_text())
    for config in document["configurations"]:
        config["avg_power_watts"] = "@HUGE@"
    return json.dumps(document).replace('"@HUGE@"', HUGE)


# command (the file is {f}) → how to make a file with a 10^400 number that command reads
READERS: dict[str, tuple[list[str], str]] = {
    "ingest": (["ingest", "{f}", "--basis", "allin"], "inferencex"),
    "check": (["check", "{f}"], "inferencex"),
    "frontier": (["frontier", "{f}", "--basis", "allin"], "inferencex"),
    "best": (["best", "{f}", "--basis", "allin", "--max-itl", "50ms"], "inferencex"),
    "compare": (["compare", "{f}", "--basis", "allin", "--at-itl", "50ms"], "inferencex"),
    "runs add": (["runs", "add", "{f}", "--basis", "allin"], "inferencex"),
    "report": (
        ["report", "{f}", "--basis", "allin", "--out", "{tmp}/r", "--no-estimate"], "inferencex"
    ),
    "reconcile": (
        ["reconcile", "{f}", "--model", "Llama-3.1-8B", "--no-estimate", "--no-store"],
        "inferencex",
    ),
    "estimate --lout-file": (["estimate", "--lout-file", "{f}"], "list"),
    "sim calibrate --task": (
        ["sim", "calibrate", "--task", "{f}", "--model", "meta-llama/Llama-3.1-8B-Instruct",
         "--gpu", "H100", "--out", "{tmp}/p.yaml", "--no-check"],
        "task",
    ),
}  # fmt: skip


def _one_line(done: Any, path: Path | None, reason: str = "") -> None:
    """Exit 2, no traceback, and one line (the error, or the file's entry in the skip list)
    that names the file and says why (``runs add`` skips a bad source with a warning)."""
    assert done.code == 2, (done.code, done.stdout[-500:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    said = [line for line in lines if "error: " in line or line.startswith("warning: skipped")]
    assert said, done.stderr[-2000:]
    if path is not None:
        named = [line for line in said if path.name in line and reason in line]
        assert named, (reason, done.stderr[-2000:])


def _args(template: list[str], path: Path, tmp: Path) -> list[str]:
    return [part.format(f=path, tmp=tmp) for part in template]


@pytest.mark.parametrize("command", sorted(READERS))
def test_json_nested_100000_deep_is_one_line(cli: Cli, tmp_path: Path, command: str) -> None:
    path = tmp_path / "deep.json"
    path.write_text(DEEP_JSON)
    _one_line(cli(*_args(READERS[command][0], path, tmp_path)), path, "nested too deeply")


@pytest.mark.parametrize("command", sorted(READERS))
def test_the_integer_10_to_the_400_is_one_line(
    cli: Cli, tmp_path: Path, shared_data: Path, command: str
) -> None:
    template, kind = READERS[command]
    path = tmp_path / "huge.json"
    path.write_text(
        {
            "inferencex": lambda: _huge_inferencex(shared_data),
            "task": lambda: _huge_task(shared_data),
            "list": lambda: f"[100, 200, {HUGE}]",
        }[kind]()
    )
    done = cli(*_args(template, path, tmp_path))
    _one_line(done, path)
    assert any(word in done.stderr for word in ("out of range", "not a finite")), done.stderr


def test_estimate_table_with_a_huge_rate_is_one_line(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "table.csv"
    path.write_text(
        f"model,tp,quant,tps,lin,lout,source\nLlama-3.1-8B,8,fp8,{HUGE},1000,1000,test\n"
    )
    _one_line(cli("estimate", "--table", str(path)), path)


def test_sweep_spec_and_bench_config_nested_deep(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(DEEP_TOML)
    _one_line(cli("sweep", str(path), "--out", str(tmp_path / "s")), path, "nested too deeply")
    config = tmp_path / "bench.toml"
    config.write_text(DEEP_TOML.replace("a = ", "seed = "))
    done = cli("bench", "http://127.0.0.1:9", "--config", str(config))
    _one_line(done, config, "nested too deeply")


def test_sweep_spec_and_bench_config_with_huge_integers(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text(f"concurrency = [{HUGE}]\n")
    _one_line(cli("sweep", str(path), "--out", str(tmp_path / "s")), path)
    config = tmp_path / "bench.toml"
    config.write_text(f'concurrency = "1"\nseed = {HUGE}\n')
    _one_line(cli("bench", "http://127.0.0.1:9", "--config", str(config)), None)
