"""`tokenergy reconcile` through the CLI: JSON shape, table, plot, one-line errors."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tokenergy.cli.app import app


def test_cli_json_shape_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))
    plot = tmp_path / "r.svg"
    args = ["reconcile", "--model", "Llama-3.1-405B-Instruct-FP8", "--gpu", "H100"]
    done = CliRunner().invoke(app, [*args, "--json", "--plot", str(plot)])
    assert done.exit_code == 0, done.output
    payload = json.loads(done.output)
    assert set(payload) >= {"reference", "rows"}
    assert payload["reference"]["method"] == "measured"
    for row in payload["rows"]:
        assert set(row) >= {
            "method",
            "source",
            "config",
            "boundary",
            "basis",
            "wh_per_query",
            "energy_per_token_j",
            "ratio",
            "factors",
        }
        assert math.prod(f["ratio"] for f in row["factors"]) == pytest.approx(row["ratio"])
    assert plot.read_text().lstrip().startswith("<?xml")
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0
    assert "throughput/GPU" in table.output and "reference: measured" in table.output


def test_cli_bad_boundary_is_one_line_exit_2() -> None:
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    done = subprocess.run(
        [tokenergy, "reconcile", "--model", "x", "--boundary", "moon"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--boundary" in done.stderr
