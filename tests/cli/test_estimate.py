"""`tokenergy estimate` and `tokenergy fleet` end to end through the installed console script."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_cli

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
HEADER = "model,tp,quant,tps,lin,lout,source\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220"}  # wide enough that rich does not wrap table cells
    return run_cli(*args, env=env)


def run_json(*args: str) -> dict[str, Any]:
    done = run(*args, "--json")
    assert done.returncode == 0, done.stderr
    payload: dict[str, Any] = json.loads(done.stdout)
    return payload


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """TPS = e^8 · L_in^-0.5 · L_out^0.25 exactly, on an 8-GPU node."""
    grid = [(100, 100), (100, 10000), (10000, 100), (1000, 1000), (400, 2500)]
    path = tmp_path / "toy.csv"
    path.write_text(
        HEADER
        + "".join(f"toy,8,FP8,{math.exp(8) * i**-0.5 * o**0.25!r},{i},{o},s\n" for i, o in grid)
    )
    return path


def test_fixed_inputs_reproduce_the_formula(toy: Path, tmp_path: Path) -> None:
    lengths = tmp_path / "lengths.txt"
    lengths.write_text("2500\n")
    payload = run_json(
        "estimate", "--table", str(toy), "--lin", "400", "--lout-file", str(lengths),
        "--util-p5", "0.6", "--util-p95", "0.6", "--pue-p5", "1.2", "--pue-p95", "1.2",
        "--pmax", "10kW", "--samples", "1000",
    )  # fmt: skip
    expected = 1.2 * 0.6 * 10_000 * 2500 / (math.exp(8) * 400**-0.5 * 2500**0.25) / 3600
    row = payload["models"][0]
    assert row["model"] == "toy"
    for key in ("median_wh", "q1_wh", "q3_wh", "p5_wh", "p95_wh", "mean_wh"):
        assert row[key] == pytest.approx(expected, rel=1e-12)
    assert (row["samples"], row["seed"], row["pmax_w"]) == (1000, 0, 10_000.0)
    assert (payload["boundary"], payload["basis"]) == ("facility", "modeled")
    assert payload["params"]["lout"]["values"] == [2500.0]
    assert payload["params"]["pmax_w"] == 10_000.0


def test_default_table_every_model_with_levers_pool_and_seed() -> None:
    args = ("estimate", "--samples", "20000", "--lever", "serving", "--lever", "hardware", "--pool")
    payload = run_json(*args, "--seed", "4")
    names = [row["model"] for row in payload["models"]]
    assert names[0] == "Llama 3.1 405B" and "DeepSeek-R1" in names and len(names) == 5
    deepseek = payload["models"][names.index("DeepSeek-R1")]
    assert deepseek["pmax_w"] == 14_100.0 and deepseek["node_gpus"] == 10
    for row in payload["models"]:
        assert row["improved"]["median_wh"] < row["median_wh"]
        assert row["p5_wh"] < row["q1_wh"] < row["median_wh"] < row["q3_wh"] < row["p95_wh"]
    assert payload["pooled"]["samples"] == 5 * 20000
    assert [lever["name"] for lever in payload["params"]["levers"]] == ["serving", "hardware"]
    assert run_json(*args, "--seed", "4") == payload


def test_test_time_regime_costs_more_than_traditional() -> None:
    base = ("estimate", "--model", "llama 3.1 70b", "--samples", "20000")
    traditional = run_json(*base)["models"][0]["median_wh"]
    test_time = run_json(*base, "--regime", "test-time")["models"][0]["median_wh"]
    assert test_time > 5 * traditional


def test_title_names_the_regime_only_when_its_lengths_are_used() -> None:
    base = ("estimate", "--model", "llama 3.1 70b", "--samples", "1000", "--regime", "test-time")
    assert "test-time regime" in run(*base).stdout
    overridden = run(*base, "--lout-median", "1000").stdout
    assert "regime" not in overridden.splitlines()[0]
    assert "given output lengths" in overridden and "median 1000" in overridden


def test_table_output_show_fit_and_reduced_fit_warning(tmp_path: Path) -> None:
    plot = tmp_path / "dist.png"
    done = run("estimate", "--show-fit", "--samples", "10000", "--plot", str(plot))
    assert done.returncode == 0, done.stderr
    assert "Throughput surface" in done.stdout and "cap tok/s" in done.stdout
    assert "17,464" in done.stdout  # Llama 3.1 70B's cap, the table's largest TPS for it
    assert "Wh per query" in done.stdout and "facility boundary, modeled" in done.stdout
    # a reduced fit is a footnote of the table here; stderr warns only when the model is named
    assert "Llama-3.1 Nemotron Ultra 253B *" in done.stdout and "input-only" in done.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_lengths_from_an_mlenergy_histogram(shared_data: Path) -> None:
    path = shared_data / "mlenergy/leaderboard_v3/models/Qwen__Qwen3-14B__gpqa.json"
    base = ("estimate", "--model", "Llama 3.1 70B", "--samples", "20000")
    payload = run_json(*base, "--lout-file", str(path))
    assert payload["params"]["lout"]["source"] == str(path)
    assert payload["params"]["lout"]["bins"][0] == 1069.0
    # ~7,000-token reasoning answers cost far more than the traditional regime's 300 tokens
    assert payload["models"][0]["median_wh"] > 5 * run_json(*base)["models"][0]["median_wh"]


def test_fleet_json_with_beta_and_comparisons() -> None:
    payload = run_json(
        "fleet", "--queries-per-day", "1e9", "--model", "Llama 3.1 70B",
        "--scenarios", "2000", "--length-samples", "200000", "--lever", "model",
    )  # fmt: skip
    assert payload["beta"] == pytest.approx(
        (2700 + 8600 * 0.75) / (0.75 * 11300) * 1.10 * 1.12, rel=1e-12
    )
    row = payload["models"][0]
    g = row["gwh_per_day"]
    assert g["p5"] < g["q1"] < g["median"] < g["q3"] < g["p95"]
    assert row["improved_gwh_per_day"]["median"] < g["median"]
    assert row["comparisons"]["continuous_mw"] == pytest.approx(g["median"] * 1000 / 24)
    assert row["beta_terms"]["mean_load"] == pytest.approx(0.75)
    assert payload["params"]["mix"] == {"traditional": 0.9, "test-time": 0.1}
    assert (payload["boundary"], payload["basis"]) == ("fleet", "modeled")


def test_fleet_beta_given_scales_linearly() -> None:
    common = ("fleet", "--queries-per-day", "1e6", "--model", "Mixtral 8x22B", "--scenarios",
              "500", "--length-samples", "100000", "--mix", "traditional=1")  # fmt: skip
    one = run_json(*common, "--beta", "1")
    two = run_json(*common, "--beta", "2")
    assert two["beta"] == 2.0
    assert two["models"][0]["gwh_per_day"]["median"] == pytest.approx(
        2 * one["models"][0]["gwh_per_day"]["median"], rel=1e-12
    )


def test_fleet_table() -> None:
    done = run("fleet", "--queries-per-day", "1e9", "--scenarios", "500", "--length-samples", "1e5")
    assert done.returncode == 0, done.stderr
    assert "GWh per day" in done.stdout and "pooled" in done.stdout
    assert "data centre" in done.stdout and "web searches" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["estimate", "--util-p5", "0.9", "--util-p95", "0.4"], "P5 0.9 > P95 0.4"),
        (["estimate", "--pue-p5", "-1"], "P5 must be a positive number"),
        (["estimate", "--pue-p5", "0.5"], "a PUE is at least 1, P5 0.5 < 1"),
        (["estimate", "--util-p95", "1.5"], "utilisation is a fraction of P_max, P95 1.5 > 1"),
        (["fleet", "--queries-per-day", "1", "--pue-p5", "0.9"], "a PUE is at least 1"),
        (["fleet", "--queries-per-day", "1", "--mix", "traditional=inf"], "finite number >= 0"),
        (["estimate", "--lout-median", "-300"], "--lout-median: must be a positive number"),
        (["estimate", "--model", "gpt-9"], "unknown model 'gpt-9'"),
        (["estimate", "--lever", "magic"], "unknown lever 'magic'"),
        (["estimate", "--samples", "lots"], "--samples: cannot parse 'lots'"),
        (["estimate", "--regime", "slow"], "--regime: unknown value 'slow'"),
        (["estimate", "--pmax", "-3kW"], "--pmax"),
        (["estimate", "--plot", "out.pdf", "--samples", "10"], "must end in .png or .svg"),
        (["estimate", "--lout-median", "3", "--lout-file", "x"], "not both"),
        (["fleet", "--queries-per-day", "1", "--beta", "1.3", "--p-idle", "2"], "--beta replaces"),
        (["fleet", "--queries-per-day", "0"], "--queries-per-day: must be a positive"),
        (["fleet", "--queries-per-day", "1", "--mix", "chat=1"], "--mix: unknown value 'chat'"),
        (["fleet", "--queries-per-day", "1", "--min-load", "0.9", "--max-load", "0.5"], "min load"),
        (["fleet", "--queries-per-day", "1", "--redundancy", "0.5"], "--redundancy: must be >= 1"),
        (["fleet", "--queries-per-day", "1", "--length-samples", "1"], "--length-samples: must be"),
        (["estimate", "--samples", "2.5"], "--samples: must be a whole number >= 1"),
        (["fleet", "--queries-per-day", "1", "--p-idle", "12kW"], "--p-idle: idle power 12000 W"),
    ],
)  # fmt: skip
def test_bad_parameters_are_one_line_errors_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_unknown_model_lists_the_known_ones() -> None:
    done = run("estimate", "--model", "gpt-9")
    assert "known: Llama 3.1 405B, Llama 3.1 70B, Mixtral 8x22B, DeepSeek-R1" in done.stderr


def test_unfittable_results_say_what_they_lack(shared_data: Path, tmp_path: Path) -> None:
    raw = shared_data / "inferencex/raw/pr1633_local_results"
    done = run("estimate", "--table", str(raw))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "none of 11 result(s) can be fitted" in done.stderr
    assert "11 without a GPU count" in done.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run("estimate", "--table", str(empty))
    assert done.returncode == 2 and f"{empty}: no results found" in done.stderr


def test_empty_and_missing_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(HEADER)
    done = run("estimate", "--table", str(empty))
    assert done.returncode == 2 and f"{empty}: throughput table has no rows" in done.stderr
    done = run("estimate", "--table", str(tmp_path / "none.csv"))
    assert done.returncode == 2 and "cannot read throughput table" in done.stderr


def test_binary_files_fractional_tp_and_duplicate_mix_are_one_line_errors(tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(bytes(range(256)) * 8)
    fractional = tmp_path / "tp.csv"
    fractional.write_text("model,tp,quant,tps,lin,lout,source\nX,8.5,FP8,100,100,100,s\n")
    cases = [
        (["estimate", "--table", str(binary)], "UTF-8"),
        (["estimate", "--lout-file", str(binary)], "UTF-8"),
        (["estimate", "--table", str(fractional)], "whole number"),
        (["fleet", "--queries-per-day", "1e9", "--mix", "traditional=1,traditional=2"], "twice"),
        (["fleet", "--queries-per-day", "1e9", "--beta", "inf"], "finite"),
        (["fleet", "--queries-per-day", "0.5"], "queries"),
    ]
    for args, needle in cases:
        done = run(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert needle in done.stderr and "Traceback" not in done.stderr


def test_piped_tables_are_not_truncated() -> None:
    done = run("estimate", "--show-fit", "--model", "Llama 3.1 70B", "--samples", "2000")
    assert "-0.4641" in done.stdout and "…" not in done.stdout


def test_boundary_ladder_through_the_cli(toy: Path) -> None:
    """Accelerator: u·8·700 W; node: × 1.3; facility: × PUE; a PUE below facility is refused."""
    fixed = ("--table", str(toy), "--lin", "400", "--lout-file", str(toy.parent / "l.txt"))
    (toy.parent / "l.txt").write_text("2500\n")
    common = (*fixed, "--util-p5", "0.5", "--util-p95", "0.5", "--samples", "100")
    tps = math.exp(8) * 400**-0.5 * 2500**0.25
    acc = run_json("estimate", *common, "--boundary", "accelerator", "--gpu", "H100")
    assert acc["boundary"] == "accelerator" and acc["power_bases"] == ["nameplate"]
    assert acc["models"][0]["mean_wh"] == pytest.approx(0.5 * 5600 * 2500 / tps / 3600)
    node = run_json(
        "estimate", *common, "--boundary", "node", "--gpu", "H100", "--host-overhead", "30%"
    )
    assert node["models"][0]["mean_wh"] == pytest.approx(0.5 * 5600 * 1.3 * 2500 / tps / 3600)
    refused = run("estimate", *common, "--boundary", "node", "--pue-p5", "1.1")
    assert refused.returncode == 2 and "facility boundary only" in refused.stderr


def test_estimate_calibrated_on_mlenergy_states_measured_power(shared_data: Path) -> None:
    task = shared_data / "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"
    model = "meta-llama/Llama-3.1-405B-Instruct-FP8 (8×H100)"
    payload = run_json(
        "estimate",
        "--table",
        str(task),
        "--model",
        model,
        "--boundary",
        "accelerator",
        "--samples",
        "1000",
        "--batch",
        "64",
    )
    row = payload["models"][0]
    assert (row["boundary"], row["power_basis"], row["fit"]["batch"]) == (
        "accelerator",
        "measured",
        64,
    )
    assert row["power"]["util_applied"] is False and row["power"]["num_gpus"] == 8


def test_fleet_takes_the_ladder_and_names_its_boundary(toy: Path) -> None:
    common = ("--table", str(toy), "--queries-per-day", "1e6", "--scenarios", "200")
    common += ("--length-samples", "1000", "--util-p5", "0.5", "--util-p95", "0.5")
    acc = run_json("fleet", *common, "--boundary", "accelerator", "--gpu", "H100")
    pue = ("--pue-p5", "1.2", "--pue-p95", "1.2")
    fac = run_json("fleet", *common, "--gpu", "H100", "--host-overhead", "0%", *pue)
    assert (acc["boundary"], acc["power_boundary"]) == ("fleet", "accelerator")
    assert acc["models"][0]["power"]["full_power_w"] == 5600.0
    ratio = fac["models"][0]["gwh_per_day"]["mean"] / acc["models"][0]["gwh_per_day"]["mean"]
    assert ratio == pytest.approx(1.2 * 1.0)  # PUE 1.2 × host 1.0, same draws otherwise
