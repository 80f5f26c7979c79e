"""`tokenergy bench --meter`: bad specs, unreachable endpoints and missing metrics fail before
any load (one line, exit 2); a stated power labels its basis. Through the installed console script.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from inprocess import run_cli
from prometheus_client import start_http_server

from tokenergy.cli.metering import energy_table
from tokenergy.sim.server import run_in_thread

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("bench", *args)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sim_url() -> str:
    with run_in_thread("llama-3.1-8b-h100", speed=20.0) as sim:
        yield sim.url  # type: ignore[misc]


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/metrics"


@pytest.mark.parametrize(
    ("meter", "message"),
    [
        ("ipmi", "unknown meter 'ipmi'"),
        ("dcgm:nowhere", "give the exporter URL"),
        ("constant:fast", "cannot parse 'fast'"),
        ("prometheus:http://h:9090?selector={gpu=0}", "cannot parse label selector"),
        ("dcgm:{dead_url}", "cannot reach"),  # a free port, found when the test runs
        ("rapl:/nonexistent/powercap", "no RAPL powercap here"),
    ],
)
def test_bad_meters_fail_before_any_load(
    sim_url: str, tmp_path: Path, meter: str, message: str
) -> None:
    out = tmp_path / "run"
    meter = meter.replace("{dead_url}", dead_url())
    done = bench(sim_url, "--concurrency", "1", "--num-prompts", "2", "--meter", meter,
                 "--out", str(out))  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "--meter" in lines[0]
    assert not out.exists()  # no request was sent


def test_endpoint_without_dcgm_metrics_fails_before_load(sim_url: str, tmp_path: Path) -> None:
    """A real Prometheus exporter (prometheus_client's own) that has no GPU metrics."""
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1")
    try:
        done = bench(sim_url, "--concurrency", "1", "--num-prompts", "2",
                     "--meter", f"dcgm:http://127.0.0.1:{port}/metrics",
                     "--out", str(tmp_path / "run"))  # fmt: skip
    finally:
        server.shutdown()
        thread.join()
    assert done.returncode == 2
    assert "has no DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" in done.stderr
    assert not (tmp_path / "run").exists()


def test_stated_power_is_labelled_nameplate(sim_url: str, tmp_path: Path) -> None:
    done = bench(sim_url, "--isl", "32", "--osl", "32", "--concurrency", "2",
                 "--num-prompts", "8", "--meter", "constant:700W", "--idle-seconds", "0",
                 "--out", str(tmp_path / "run"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    point = json.loads(done.stdout)
    assert (point["basis"], point["boundary"], point["method"]) == (
        "nameplate",
        "accelerator",
        "stated-power",
    )
    # Unix-time floats resolve ~0.24 µs: over a window of a few tens of ms that is ~1e-5.
    assert point["energy_j"] == pytest.approx(700.0 * point["duration_s"], rel=1e-5, abs=7e-4)
    assert point["power_w"] == pytest.approx(700.0, rel=1e-4)
    assert point["idle_power_w"] is None and point["j_per_token_above_idle"] is None


def test_without_a_meter_the_summary_says_so(sim_url: str, tmp_path: Path) -> None:
    done = bench(sim_url, "--isl", "16", "--osl", "16", "--concurrency", "1",
                 "--num-prompts", "3", "--out", str(tmp_path / "run"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    point = json.loads(done.stdout)
    whole = point["whole_run_figures"]
    assert (whole["scope"], whole["completed"], whole["failed"]) == ("whole run", 3, 0)
    assert point["completed"] == point["result"]["counts"]["completed"]  # the window's
    assert point["energy_j"] is None and point["meter"] is None
    assert point["energy_valid"] is None and point["energy_reasons"] == []


def test_negative_idle_is_refused(sim_url: str) -> None:
    done = bench(sim_url, "--concurrency", "1", "--meter", "constant:1W", "--idle-seconds", "-1")
    assert done.returncode == 2 and "--idle-seconds: must be >= 0" in done.stderr


def test_selector_and_expected_gpu_count_on_a_two_gpu_server(tmp_path: Path) -> None:
    with run_in_thread("llama-3.1-8b-h100", speed=20.0, num_gpus=2) as sim:
        done = bench(sim.url, "--isl", "32", "--osl", "64", "--concurrency", "2",
                     "--num-prompts", "8", "--idle-seconds", "0", "--expect-gpus", "2",
                     "--meter", f'dcgm:{sim.dcgm_url}?selector={{gpu="1"}}&interval=0.1s',
                     "--out", str(tmp_path / "run"), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    point = json.loads(done.stdout)
    assert list(point["power_w_per_device"]) == ["dcgm:vm/gpu1"]
    assert point["energy_valid"] is False
    assert "metered 1 GPU(s), the deployment has 2" in point["whole_run_figures"]["energy_reasons"]


def test_a_multi_line_energy_reason_is_one_caption_line() -> None:
    """Issue 14 item 13: an invalid counter's reason (a pydantic dump) spanned many lines."""
    dump = "1 validation error for Reading\nenergy_j\n  Input should be a finite number"
    whole = {"power_w_per_device": {}, "energy_valid": False, "energy_reasons": [dump]}
    summary = {
        "scope": "steady state",
        "boundary": "accelerator",
        "basis": "measured",
        "meter": "dcgm",
        "whole_run_figures": whole,
        "power_w_per_device": {},
        "energy_valid": False,
        "energy_reasons": [dump],
    }
    caption = str(energy_table(summary).caption)
    assert caption.splitlines() == [
        f"{scope}: 1 validation error for Reading; energy_j; Input should be a finite number"
        for scope in ("steady state", "whole run")
    ]
