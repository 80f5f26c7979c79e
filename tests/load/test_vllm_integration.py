"""`tokenergy bench` against a real vLLM on CPU (tiny random Llama; scripts/README_vllm_cpu.md).

Uses TOKENERGY_VLLM_URL when set; otherwise starts scripts/serve_vllm_cpu.sh (≈50 s) when the
venv and model exist; otherwise skipped.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

# one vLLM server at a time: each pins the same core (scripts/serve_vllm_cpu.sh)
pytestmark = [pytest.mark.vllm, pytest.mark.xdist_group("vllm")]

REPO = Path(__file__).resolve().parents[2]
TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
VENV = Path(os.environ.get("TOKENERGY_VLLM_VENV", "/work/.vllm-venv"))
MODEL = Path(os.environ.get("TOKENERGY_VLLM_MODEL_DIR", "/work/.vllm-tiny-llama"))
# No torch.compile warm-up: it takes ~30 s of a ~75 s start on 2 cores and changes nothing these
# tests check (lengths, accounting, timings as tokenergy records them).
EAGER = ("--enforce-eager",)


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/v1/models", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TOKENERGY_VLLM_URL")
    if given:
        if not _up(given):
            pytest.skip(f"TOKENERGY_VLLM_URL={given} does not answer")
        yield given
        return
    if not (VENV / "bin" / "vllm").exists() or not (MODEL / "config.json").exists():
        pytest.skip("no vLLM CPU venv/model (run scripts/setup_vllm_cpu.sh)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path_factory.mktemp("vllm") / "server.log").open("w")
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "serve_vllm_cpu.sh"), str(port), *EAGER],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while not _up(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"vLLM did not start (see {log.name})")
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        log.close()


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOKENERGY, *args], capture_output=True, text=True, check=False)


def test_sweep_exact_lengths_every_request_accounted(vllm_url: str, tmp_path: Path) -> None:
    done = run(
        "bench",
        vllm_url,
        "--isl",
        "100",
        "--osl",
        "24",
        "--concurrency",
        "1,4",
        "--num-prompts",
        "12",
        "--warmup",
        "2",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    points = json.loads(done.stdout)
    assert len(points) == 2
    for point, cap in zip(points, (1, 4), strict=True):
        whole = point["whole_run"]
        counts = whole["counts"]
        assert (
            counts["attempted"]
            == 12
            == counts["completed"] + counts["failed"] + counts["incomplete"]
        )
        assert counts["completed"] == 12
        assert whole["workload"]["concurrency"] == cap
        assert point["provenance"]["server"]["version"] == {"version": "0.32.0"}
        assert point["provenance"]["server"]["prompt_kind"] == "token-ids"
        lines = (tmp_path / f"c{cap}" / "requests.jsonl").read_text().splitlines()
        rows = [json.loads(line) for line in lines]
        assert len(rows) == 14 and sum(r["warmup"] for r in rows) == 2
        assert {(r["prompt_tokens"], r["completion_tokens"]) for r in rows} == {(100, 24)}
        assert all(len(r["chunk_ns"]) >= 1 and r["chunk_tokens_exact"] for r in rows)
        export = json.loads((tmp_path / f"c{cap}" / "vllm_bench.json").read_text())
        assert export["completed"] == 12 and export["total_output_tokens"] == 12 * 24
        assert export["max_concurrency"] == cap and "p99_ttft_ms" in export


def test_chat_text_prompts_calibrated_with_template(vllm_url: str, tmp_path: Path) -> None:
    done = run(
        "bench",
        vllm_url,
        "--api",
        "chat",
        "--isl",
        "80",
        "--osl",
        "16",
        "--concurrency",
        "2",
        "--num-prompts",
        "6",
        "--range-ratio",
        "0.5",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert len(rows) == 6 and all(r["outcome"] == "ok" for r in rows)
    assert all(r["prompt_tokens"] == r["isl"] and r["completion_tokens"] == r["osl"] for r in rows)
    assert len({r["isl"] for r in rows}) > 1 and all(40 <= r["isl"] <= 120 for r in rows)
