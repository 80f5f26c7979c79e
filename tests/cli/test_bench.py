"""`tokenergy bench` through the installed console script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENERGY, *args], capture_output=True, text=True, check=False)


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
