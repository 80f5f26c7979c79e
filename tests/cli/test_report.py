"""`tokenergy report` end to end: the default (embedded data) and a directory of bench runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from inprocess import run_cli

from analyze.builders import make_result
from tokenergy.records import EnergyMeasurement
from tokenergy.units import Basis, Boundary

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def test_default_report_uses_embedded_data(tmp_path: Path) -> None:
    done = run("report", "--out", str(tmp_path / "r"), "--no-estimate")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "r/index.html").read_text()
    summary = (tmp_path / "r/summary.md").read_text()
    for title in ("ML.ENERGY Leaderboard v3 (measured)", "InferenceX sweeps (provisioned power)"):
        assert title in html and f"## {title}" in summary
    assert "B200 uses less energy per token than H100 in" in summary
    assert len(list((tmp_path / "r/figures").glob("*.svg"))) >= 8


def test_report_on_run_directories_with_timelines(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for cap, power_w in ((1, 300.0), (8, 450.0)):
        point = runs / f"c{cap}"
        point.mkdir(parents=True)
        result = make_result(model="tiny", gpu="H100", batch_cap=cap, power_w=power_w)
        result.energy = EnergyMeasurement(
            energy_j=power_w * 10,
            boundary=Boundary.ACCELERATOR,
            basis=Basis.MEASURED,
            method="nvml",
        )
        result.duration_s = 10.0
        # the layout `tokenergy bench` writes: the ServingResult under "result"
        (point / "run.json").write_text(json.dumps({"result": result.model_dump(mode="json")}))
        (point / "power_timeline.csv").write_text(
            "t_s,meter,device,kind,uuid,energy_j,power_w,power_from\n"
            f"0.0,nvml,nvml:0,gpu,,0,{power_w},sample\n1.0,nvml,nvml:0,gpu,,{power_w},{power_w},sample\n"
        )
    out = tmp_path / "report"
    done = run("report", str(runs), "--out", str(out), "--no-estimate", "--png")
    assert done.returncode == 0, done.stderr
    html = (out / "index.html").read_text()
    assert "measured energy, accelerator boundary" in html
    assert "Power timelines of measured runs" in html and "c1: power_timeline.csv" in html
    assert (out / "figures/timeline-0.png").exists()
    assert "Bottom-up estimate" not in html


def test_bad_output_paths_are_one_line_exit_2(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("keep me")
    for out in (a_file, a_file / "sub", Path("/proc/tokenergy-report"), Path("/dev/full")):
        done = run("report", "--out", str(out), "--no-estimate")
        assert done.returncode == 2, (out, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --out:"), (out, done.stderr)
        assert "Traceback" not in done.stderr
    assert a_file.read_text() == "keep me"


def test_progress_steps_on_stderr_and_quiet_is_silent(tmp_path: Path) -> None:
    loud = run("report", "--out", str(tmp_path / "a"), "--no-estimate")
    assert loud.returncode == 0, loud.stderr
    steps = [line for line in loud.stderr.splitlines() if line.startswith("report [")]
    assert steps[0].endswith("loading the embedded reference data")
    assert steps[-1].endswith("writing index.html, summary.md, report.json")
    assert "Chat query:" in loud.stdout  # the headline first, then the findings
    quiet = run("report", "--out", str(tmp_path / "b"), "--no-estimate", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert (tmp_path / "b/report.json").exists()
