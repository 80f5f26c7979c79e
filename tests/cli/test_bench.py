"""`tokenergy bench` through the installed console script."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_cli

from tokenergy.sim.server import run_in_thread

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_server_one_line_exit_2_before_load(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run(
        "bench", url, "--concurrency", "1", "--num-prompts", "3", "--out", str(tmp_path / "r")
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach" in lines[0] and url in lines[0]
    assert not (tmp_path / "r").exists()  # nothing was started


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "1,zero"], "--concurrency"),
        ([], "--concurrency"),
        (["--concurrency", "2", "--range-ratio", "1.5"], "--range-ratio"),
        (["--concurrency", "2", "--max-length-mismatch", "7"], "--max-length-mismatch"),
        (["--concurrency", "2", "--prompt", "emoji"], "--prompt"),
    ],
)
def test_bad_options_name_the_option(args: list[str], message: str) -> None:
    done = run("bench", "http://127.0.0.1:9", *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bad_dataset_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"input_len": "many", "output_len": 3}) + "\n")
    done = run("bench", "http://127.0.0.1:9", "--concurrency", "1", "--dataset", str(path))
    assert done.returncode == 2 and str(path) in done.stderr and "input_len" in done.stderr


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with run_in_thread("llama-3.1-8b-h100", speed=50.0) as sim:
        yield sim.url


def test_sweep_json_against_the_simulator(sim_url: str, tmp_path: Path) -> None:
    done = run(
        "bench",
        sim_url,
        "--isl",
        "300",
        "--osl",
        "50",
        "--concurrency",
        "1,6",
        "--num-prompts",
        "20",
        "--warmup",
        "2",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    points = json.loads(done.stdout)
    assert [p["config"]["concurrency"] for p in points] == [1, 6]
    for point in points:
        counts = point["whole_run"]["counts"]
        assert counts["attempted"] == 20 == counts["completed"]
        assert point["result"]["provenance"]["simulated"] is True
        assert point["result"]["extras"]["window"]["steady"] is True
        assert point["whole_run"]["workload"]["mean_input_len"] == 300
        assert point["whole_run"]["workload"]["mean_output_len"] == 50
    assert (tmp_path / "c6" / "vllm_bench.json").exists()


def test_table_output(sim_url: str, tmp_path: Path) -> None:
    done = run(
        "bench",
        sim_url,
        "--isl",
        "100",
        "--osl",
        "20",
        "--concurrency",
        "4",
        "--num-prompts",
        "12",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    for label in ("req/s", "TTFT p99 (ms)", "ITL p50 (ms)", "steady state", "Little's law"):
        assert label in done.stdout


def test_faults_exit_0_with_failures_by_cause(tmp_path: Path) -> None:
    with run_in_thread("llama-3.1-8b-h100", speed=50.0, faults="error_rate=0.3,status=503") as sim:
        done = run(
            "bench",
            sim.url,
            "--isl",
            "64",
            "--osl",
            "16",
            "--concurrency",
            "4",
            "--num-prompts",
            "30",
            "--out",
            str(tmp_path),
            "--json",
        )
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["whole_run"]["counts"]
    assert counts["failures_by_cause"].keys() == {"http_503"}
    assert counts["completed"] + counts["failures_by_cause"]["http_503"] == 30


def test_length_mismatch_exits_2_with_a_clear_message(sim_url: str, tmp_path: Path) -> None:
    done = run(
        "bench",
        sim_url,
        "--isl",
        "32",
        "--osl",
        "2000",
        "--concurrency",
        "8",
        "--num-prompts",
        "8",
        "--no-ignore-eos",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 2
    assert "other lengths than asked" in done.stderr and "--max-length-mismatch" in done.stderr
    assert (tmp_path / "run.json").exists()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_keeps_requests_and_writes_the_summary(
    tmp_path: Path, signum: signal.Signals, code: int
) -> None:
    with run_in_thread("llama-3.1-8b-h100", speed=2.0) as sim:
        process = subprocess.Popen(
            [
                TOKENERGY,
                "bench",
                sim.url,
                "--isl",
                "64",
                "--osl",
                "200",
                "--concurrency",
                "4",
                "--num-prompts",
                "100000",
                "--out",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        log = tmp_path / "requests.jsonl"
        deadline = time.monotonic() + 300  # a hang guard: a loaded 2-core machine needs > 60 s
        while not (log.exists() and len(log.read_text().splitlines()) >= 6):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == code, stderr
    assert "partial results kept" in stderr
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    run_json = json.loads((tmp_path / "run.json").read_text())
    assert run_json["interrupted"] is True
    counts = run_json["whole_run"]["counts"]
    assert (
        counts["attempted"]
        == len(rows)
        == counts["completed"] + counts["failed"] + counts["incomplete"]
    )
    assert counts["incomplete"] == 4  # the four in flight were cut and logged, not lost
    assert sum(r["outcome"] == "incomplete" for r in rows) == 4


def test_save_adds_the_run_to_the_store(
    sim_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))
    args = ["--isl", "64", "--osl", "8", "--concurrency", "2", "--num-prompts", "6"]
    done = run("bench", sim_url, *args, "--out", str(tmp_path / "run"), "--save")
    assert done.returncode == 0, done.stderr
    assert "stored" in done.stderr
    listed = run("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 1 and rows[0]["model"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--timeout", "-1"], "--timeout"),
        (["--timeout", "0"], "--timeout"),
        (["--timeout", "nan"], "--timeout"),
        (["--request-timeout", "0"], "--request-timeout"),
        (["--run-timeout", "inf"], "--run-timeout"),
        (["--seed", "-1"], "--seed"),
        (["--concurrency", "100000000"], "--concurrency"),
    ],
)
def test_values_that_would_measure_nothing_are_refused(
    cli: Callable[..., Any], args: list[str], flag: str
) -> None:
    done = cli("bench", "http://127.0.0.1:9", "--concurrency", "1", *args)
    assert done.code == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0]


def test_a_binary_dataset_is_one_line(cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)) * 16)
    done = cli("bench", "http://127.0.0.1:9", "--concurrency", "1", "--dataset", str(path))
    assert done.code == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "UTF-8" in lines[0]
