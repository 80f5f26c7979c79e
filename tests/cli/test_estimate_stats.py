"""`tokenergy estimate --trim` and `--sensitivity`, in process."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tokenergy.cli.app import app

FRONTIER = ["--model", "Llama 3.1 405B", "--model", "DeepSeek-R1"]


def test_trim_paper_narrows_the_pooled_iqr_and_is_stated() -> None:
    base = ["estimate", *FRONTIER, "--pool", "--samples", "200000", "--json"]
    plain = json.loads(CliRunner().invoke(app, base).output)
    trimmed = json.loads(CliRunner().invoke(app, [*base, "--trim", "paper"]).output)
    assert plain["trim"] == "none" and trimmed["trim"] == "paper"
    assert trimmed["pooled"]["q1_wh"] > plain["pooled"]["q1_wh"]
    assert trimmed["pooled"]["q3_wh"] < plain["pooled"]["q3_wh"]
    table = CliRunner().invoke(app, ["estimate", *FRONTIER, "--trim", "paper", "--samples", "1e5"])
    assert "trim paper" in table.output


def test_unknown_trim_is_refused() -> None:
    done = CliRunner().invoke(app, ["estimate", "--trim", "tukey"])
    assert done.exit_code != 0


def test_sensitivity_json_table_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "sobol.png"
    args = ["estimate", *FRONTIER, "--pool", "--samples", "1e4", "--lin-median", "500"]
    done = CliRunner().invoke(app, [*args, "--sensitivity-plot", str(plot), "--json"])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.output)["sensitivity"]["rows"]
    assert [row["target"] for row in rows] == ["Llama 3.1 405B", "DeepSeek-R1", "pooled"]
    assert "input length" in {index["input"] for index in rows[0]["indices"]}
    assert plot.stat().st_size > 0
    table = CliRunner().invoke(app, [*args, "--sensitivity"])
    assert "Sobol sensitivity" in table.output and "exponential, median 500" in table.output
