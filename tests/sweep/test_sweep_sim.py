"""Sweeps over real simulator servers: the winner, failure isolation, resume, store, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tokenergy
from tokenergy.errors import ConfigError
from tokenergy.store import Store
from tokenergy.sweep import Status, parse_spec, sweep

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def _document(caps: list[int], concurrency: list[int], prompts: int = 32) -> dict[str, Any]:
    """Speed 4 and a 0.2 s minimum window keep each point a few seconds long on a busy machine."""
    return {
        "name": "t",
        "server": {
            "command": "tokenergy sim serve --port {port} --max-batch {batch_cap} --speed 4",
            "ready_timeout_s": 120,
            "stop_grace_s": 5,
        },
        "parameters": {"batch_cap": caps},
        "workload": {"isl": 64, "osl": 32, "concurrency": concurrency, "num_prompts": prompts},
        "meters": {"specs": ["dcgm:{url}/dcgm/metrics?interval=0.1s"], "min_window_s": 0.2},
        "slo": {"metric": "median_itl", "max": "50ms"},
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_a_sweep_picks_what_best_picks_isolates_a_failure_and_resumes(tmp_path: Path) -> None:
    spec = parse_spec(_document([2, 8, 32, 0], [2, 8]))  # cap 0: the server refuses to start
    store = Store(tmp_path / "home")
    result = sweep(spec, tmp_path / "out", store=store)
    by_cap = {o.params["batch_cap"]: o for o in result.outcomes}
    assert [by_cap[c].status for c in (2, 8, 32)] == [Status.OK] * 3
    assert by_cap[0].status is Status.FAILED and by_cap[0].cause == "exited"
    assert "max-batch" in (tmp_path / "out" / "batch_cap-0" / "server.log").read_text()
    assert len(store.query()) == 6  # every point stored; the verdict uses the valid ones
    assert len(result.rows) >= 4 and all(row.energy_valid for row in result.rows)
    for outcome in result.outcomes:  # every server is gone
        assert not _alive(int((tmp_path / "out" / outcome.id / "server.pid").read_text()))
    runs = [tmp_path / "out" / f"batch_cap-{c}" for c in (2, 8, 32)]
    best = tokenergy.best_under(tokenergy.load_sources(runs), max_itl="50ms", group_by="model")
    (choice,) = result.best
    (expected,) = best.choices
    assert choice.chosen is not None and expected.chosen is not None
    assert choice.chosen.source == expected.chosen.source
    assert choice.chosen.energy_per_token_j == expected.chosen.energy_per_token_j
    assert choice.runner_up is not None and expected.runner_up is not None
    assert choice.runner_up.source == expected.runner_up.source
    again = sweep(spec, tmp_path / "out", resume=True, store=store)
    assert again.skipped == ["batch_cap-2", "batch_cap-32", "batch_cap-8"]
    assert (tmp_path / "out" / "batch_cap-0.attempt-1" / "server.log").exists()
    assert len(store.query()) == 6
    with pytest.raises(ConfigError, match="holds a sweep already"):
        sweep(spec, tmp_path / "out")


@pytest.mark.slow
def test_sigterm_mid_sweep_stops_the_server_and_keeps_finished_work(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.toml"
    document = _document([2, 4], [2], prompts=100_000)
    document["server"]["command"] = document["server"]["command"].replace("--speed 4", "--speed 1")
    spec_file.write_text(_toml(document))
    out = tmp_path / "out"
    sweep_process = subprocess.Popen(
        [TOKENERGY, "sweep", str(spec_file), "--out", str(out), "--no-save", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = out / "batch_cap-2" / "server.pid"
    requests = out / "batch_cap-2" / "points" / "requests.jsonl"
    deadline = time.monotonic() + 180
    while not (requests.exists() and requests.stat().st_size > 0):
        assert sweep_process.poll() is None, (
            sweep_process.stderr.read() if sweep_process.stderr else ""
        )
        assert time.monotonic() < deadline, "the load never started"
        time.sleep(0.2)
    server_pid = int(pid_file.read_text())
    assert _alive(server_pid)
    sweep_process.send_signal(signal.SIGTERM)
    assert sweep_process.wait(timeout=120) == 143
    assert not _alive(server_pid)
    outcome = json.loads((out / "batch_cap-2" / "outcome.json").read_text())
    assert outcome["status"] == "interrupted"
    assert requests.read_text().endswith("\n")  # finished requests kept, no torn line
    assert not (out / "batch_cap-4").exists()  # the sweep stopped, it did not go on


def _toml(document: dict[str, Any]) -> str:
    """A tiny TOML writer for the two-level documents above (tomllib only reads)."""
    lines = [f"name = {json.dumps(document['name'])}"]
    for table, values in document.items():
        if isinstance(values, dict):
            lines.append(f"[{table}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.slow
def test_the_shipped_example_reaches_a_verdict(tmp_path: Path) -> None:
    """examples/sweep-sim.toml must keep windows long enough for valid energy (it once did not)."""
    from tokenergy.sweep import load_spec

    spec = load_spec(Path(__file__).parents[2] / "examples" / "sweep-sim.toml")
    result = sweep(spec, tmp_path / "out")
    assert all(o.done for o in result.outcomes)
    (choice,) = result.best
    assert choice.chosen is not None and choice.chosen.boundary == "accelerator"
