"""`tokenergy sim` end to end through the installed console script (a real server process)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from inprocess import run_cli

from tokenergy.sim.profiles import read_profile

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    for _ in range(200):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise AssertionError("simulator never became healthy")


def test_serve_answers_completions_and_stops_on_sigint() -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            TOKENERGY,
            "sim",
            "serve",
            "--port",
            str(port),
            "--speed",
            "50",
            "--gpus",
            "2",
            "--max-batch",  # the alias `sweep` launches with
            "16",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_healthy(url, process)
        body = {"prompt": [1] * 32, "max_tokens": 8, "ignore_eos": True}
        request = urllib.request.Request(
            f"{url}/v1/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["x-tokenergy-simulated"] == "1"
            usage = json.loads(response.read())["usage"]
        assert usage == {"prompt_tokens": 32, "completion_tokens": 8, "total_tokens": 40}
        with urllib.request.urlopen(f"{url}/sim/energy", timeout=10) as response:
            energy = json.loads(response.read())
        assert len(energy["gpus"]) == 2 and energy["total_energy_j"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=20)
    assert "SIMULATED" in out and "max_num_seqs 16" in out


def test_bad_faults_are_one_line_exit_2() -> None:
    done = run("sim", "serve", "--faults", "error_rate=7")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "error_rate" in done.stderr


def test_unknown_profile_lists_the_packaged_ones() -> None:
    done = run("sim", "serve", "--profile", "nope")
    assert done.returncode == 2 and "llama-3.1-8b-h100" in done.stderr


def test_profiles_lists_packaged_profiles() -> None:
    done = run("sim", "profiles")
    assert done.returncode == 0 and "llama-3.1-8b-h100" in done.stdout


def test_calibrate_writes_a_loadable_profile(shared_data: Path, tmp_path: Path) -> None:
    task = shared_data / "mlenergy" / "leaderboard_v3" / "tasks" / "lm-arena-chat.json"
    out = tmp_path / "mine.yaml"
    done = run(
        "sim",
        "calibrate",
        "--task",
        str(task),
        "--model",
        "meta-llama/Llama-3.1-8B-Instruct",
        "--gpu",
        "H100",
        "--out",
        str(out),
        "--no-check",
    )
    assert done.returncode == 0, done.stderr
    profile = read_profile(out)
    assert profile.name == "mine" and profile.calibration["records"][0] == 8
    assert profile.power.max_w == pytest.approx(690, rel=0.05)


def test_calibrate_unknown_model_is_exit_2(shared_data: Path, tmp_path: Path) -> None:
    task = shared_data / "mlenergy" / "leaderboard_v3" / "tasks" / "lm-arena-chat.json"
    done = run(
        "sim",
        "calibrate",
        "--task",
        str(task),
        "--model",
        "x/y",
        "--gpu",
        "H100",
        "--out",
        str(tmp_path / "p.yaml"),
    )
    assert done.returncode == 2 and "no records" in done.stderr


def _one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_serve_on_a_busy_port_is_one_line_exit_2() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [TOKENERGY, "sim", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    _one_line_exit_2(done, "--port", str(port))


@pytest.mark.parametrize("host", ["999.1.1.1", ""])
def test_serve_on_a_bad_or_empty_host_is_one_line_exit_2(host: str) -> None:
    done = subprocess.run(
        [TOKENERGY, "sim", "serve", "--host", host, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _one_line_exit_2(done, "--host")


@pytest.mark.parametrize("speed", ["inf", "nan", "0", "-1"])
def test_serve_refuses_a_speed_that_is_not_finite_and_positive(speed: str) -> None:
    _one_line_exit_2(run("sim", "serve", "--speed", speed, "--port", "0"), "--speed")


def _calibrate(shared_data: Path, out: str, *extra: str) -> subprocess.CompletedProcess[str]:
    task = shared_data / "mlenergy" / "leaderboard_v3" / "tasks" / "lm-arena-chat.json"
    return run(
        "sim", "calibrate", "--task", str(task), "--model", "meta-llama/Llama-3.1-8B-Instruct",
        "--gpu", "H100", "--out", out, "--no-check", *extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--hbm-tb-s", "0"),
        ("--hbm-tb-s", "inf"),
        ("--kv-bytes-per-token", "-1"),
        ("--idle-w", "nan"),
    ],
)
def test_calibrate_refuses_non_physical_priors(
    shared_data: Path, tmp_path: Path, flag: str, value: str
) -> None:
    _one_line_exit_2(_calibrate(shared_data, str(tmp_path / "p.yaml"), flag, value), flag)


def test_calibrate_to_bad_out_paths_is_one_line_exit_2(shared_data: Path, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for out in (str(a_file / "p.yaml"), str(tmp_path), "/proc/p.yaml", "/dev/full"):
        _one_line_exit_2(_calibrate(shared_data, out), "--out")
