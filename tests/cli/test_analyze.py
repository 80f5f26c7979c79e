"""`tokenergy runs|frontier|best|compare` end to end through the installed console script.

The ML.ENERGY hand checks read the raw task file for expected values and give the same file to
the CLI, which goes through the ingest adapter.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_cli

from analyze.builders import make_result
from tokenergy.analyze.frontier import dominates

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
QWEN = "Qwen/Qwen3-30B-A3B-Instruct-2507"


def run(*args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, COLUMNS="200")
    if home is not None:
        env["TOKENERGY_HOME"] = str(home)
    return run_cli(*args, env=env)


def run_json(*args: str, home: Path | None = None) -> Any:
    done = run(*args, "--json", home=home)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def chat(shared_data: Path) -> Path:
    return shared_data / "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"


@pytest.fixture(scope="module")
def raw(chat: Path) -> list[dict[str, Any]]:
    configs: list[dict[str, Any]] = json.loads(chat.read_text())["configurations"]
    return configs


@pytest.mark.parametrize(("model", "bound_ms"), [(LLAMA, 20), (QWEN, 30)])
def test_best_matches_hand_selection(
    chat: Path, raw: list[dict[str, Any]], model: str, bound_ms: int
) -> None:
    (answer,) = run_json(
        "best", str(chat), "--max-itl", f"{bound_ms}ms", "--where", f"model={model}"
    )
    mine = [c for c in raw if c["model_id"] == model]
    ok = sorted(
        (c for c in mine if c["median_itl_ms"] <= bound_ms),
        key=lambda c: c["energy_per_token_joules"],
    )
    best = ok[0]
    assert answer["model"] == model and answer["task"] == "lm-arena-chat"
    assert answer["energy_per_token_j"] == pytest.approx(best["energy_per_token_joules"])
    assert answer["energy_per_response_j"] == pytest.approx(best["energy_per_request_joules"])
    assert answer["wh_per_query"] == pytest.approx(best["energy_per_request_joules"] / 3600)
    assert answer["avg_output_len"] == pytest.approx(best["avg_output_len"])
    assert (answer["gpu"], answer["num_gpus"], answer["batch_cap"]) == (
        best["gpu_model"],
        best["num_gpus"],
        best["max_num_seqs"],
    )
    assert answer["median_itl_s"] == pytest.approx(best["median_itl_ms"] / 1000)
    assert answer["runner_up"]["energy_per_token_j"] == pytest.approx(
        ok[1]["energy_per_token_joules"]
    )
    cheapest = min(c["energy_per_token_joules"] for c in mine)
    assert answer["slo_cost"] == pytest.approx(best["energy_per_token_joules"] / cheapest - 1)
    assert answer["feasible"] == len(ok) and answer["candidates"] == len(mine)


def test_best_table_and_gpu_filter(chat: Path, raw: list[dict[str, Any]]) -> None:
    (answer,) = run_json(
        "best", str(chat), "--max-itl", "0.03", "--where", f"model={QWEN}", "--where", "gpu=H100"
    )
    want = min(
        c["energy_per_token_joules"]
        for c in raw
        if c["model_id"] == QWEN and c["gpu_model"] == "H100" and c["median_itl_ms"] <= 30
    )
    assert answer["gpu"] == "H100" and answer["energy_per_token_j"] == pytest.approx(want)
    done = run("best", str(chat), "--max-itl", "50ms")
    assert done.returncode == 0, done.stderr
    assert "least energy under median ITL ≤ 50 ms" in done.stdout
    assert "Llama-3.1-8B-Instruct" in done.stdout


def test_compare_json_shape_and_hand_values(chat: Path, raw: list[dict[str, Any]]) -> None:
    payload = run_json(
        "compare",
        str(chat),
        "--by",
        "gpu",
        "--at-itl",
        "25ms,50ms,100ms",
        "--baseline",
        "H100",
        "--candidate",
        "B200",
        "--group-by",
        "model",
    )
    assert set(payload) == {"energy_metric", "energy_label", "cases", "summary"}
    assert payload["energy_metric"] == "energy_per_token_j"
    assert set(payload["summary"]) == {"wins", "cases", "median_change", "min_change", "max_change"}
    cases = {(c["model"], c["constraint"]): c for c in payload["cases"]}
    for model in (LLAMA, QWEN):
        for bound in (25, 50, 100):
            energy = {
                gpu: min(
                    c["energy_per_token_joules"]
                    for c in raw
                    if c["model_id"] == model
                    and c["gpu_model"] == gpu
                    and c["median_itl_ms"] <= bound
                )
                for gpu in ("H100", "B200")
            }
            case = cases[(model, f"median_itl_s <= {bound}ms")]
            assert set(case) == {
                "model",
                "constraint",
                "baseline",
                "candidate",
                "baseline_energy_per_token_j",
                "candidate_energy_per_token_j",
                "energy_change",
                "baseline_basis",
                "baseline_boundary",
                "candidate_basis",
                "candidate_boundary",
            }
            assert case["baseline_energy_per_token_j"] == pytest.approx(energy["H100"])
            assert case["candidate_energy_per_token_j"] == pytest.approx(energy["B200"])
            assert case["energy_change"] == pytest.approx(energy["B200"] / energy["H100"] - 1)
            assert case["baseline"].startswith("H100") and case["candidate"].startswith("B200")
    changes = [c["energy_change"] for c in payload["cases"]]
    assert payload["summary"]["cases"] == len(changes)
    assert payload["summary"]["wins"] == sum(x < 0 for x in changes)
    assert payload["summary"]["min_change"] == pytest.approx(min(changes))


def test_frontier_json_is_non_dominated_and_plots(chat: Path, tmp_path: Path) -> None:
    plot = tmp_path / "frontier.svg"
    groups = run_json(
        "frontier",
        str(chat),
        "--x",
        "median_itl",
        "--y",
        "energy_per_token_j",
        "--group-by",
        "model,gpu,num_gpus",
        "--where",
        f"model={LLAMA}",
        "--plot",
        str(plot),
    )
    assert {(g["gpu"], g["num_gpus"]) for g in groups} == {("B200", 1), ("H100", 1)}
    for group in groups:
        points = [(p["median_itl_s"], p["energy_per_token_j"]) for p in group["frontier"]]
        assert points and all(not dominates(a, b) for a in points for b in points)
    assert plot.read_text().lstrip().startswith("<?xml") and "<svg" in plot.read_text()
    png = tmp_path / "f.png"
    assert run("frontier", str(chat), "--plot", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_store_round_trip(chat: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    run_dir = tmp_path / "runs" / "r1"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(make_result(model="tiny", gpu="CPU").model_dump_json())
    (run_dir / "requests.jsonl").write_text("{}\n")
    for source in (chat, tmp_path / "runs"):
        done = run("runs", "add", str(source), home=home)
        assert done.returncode == 0, done.stderr
    assert "stored 0 new of 1" in run("runs", "add", str(tmp_path / "runs"), home=home).stdout
    rows = run_json("runs", "list", home=home)
    assert len(rows) == 329 and {r["kind"] for r in rows} == {"ingested", "run"}
    (tiny,) = [r for r in rows if r["model"] == "tiny"]
    done = run("runs", "show", tiny["id"][:8], home=home)
    assert done.returncode == 0 and json.loads(done.stdout)["result"]["identity"]["gpu"] == "CPU"
    out = tmp_path / "b200.csv"
    done = run(
        "runs", "export", "--format", "csv", "--out", str(out), "--where", "gpu=B200", home=home
    )
    assert done.returncode == 0, done.stderr
    with out.open() as handle:
        exported = list(csv.DictReader(handle))
    assert exported and {r["gpu"] for r in exported} == {"B200"}
    # without SOURCES the analyses read the store
    (answer,) = run_json("best", "--max-itl", "20ms", "--where", f"model={LLAMA}", home=home)
    assert answer["gpu"] in ("H100", "B200")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("best", "--max-itl", "fast"), "--max-itl"),
        (("best",), "--max-itl: give at least one bound"),
        (("frontier", "--x", "speed"), "unknown metric 'speed'"),
        (("compare", "--at-itl", "50ms", "--by", "gpu", "--baseline", "A100"), "not in the data"),
        (("best", "--max-itl", "50ms", "--where", "colour=red"), "unknown column 'colour'"),
        (("best", "--max-itl", "50ms", "--stat", "p42"), "unknown metric 'p42_itl_s'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(chat: Path, args: tuple[str, ...], message: str) -> None:
    done = run(*args[:1], str(chat), *args[1:])
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_empty_store_and_missing_file(tmp_path: Path) -> None:
    done = run("best", "--max-itl", "50ms", home=tmp_path)
    assert done.returncode == 2 and "store" in done.stderr and "empty" in done.stderr
    done = run("best", str(tmp_path / "nope.json"), "--max-itl", "50ms")
    assert done.returncode == 2 and "nope.json: no such file" in done.stderr


def test_ingest_save_adds_to_the_store(shared_data: Path, tmp_path: Path) -> None:
    source = shared_data / "inferencex/agg/run_20667906037.json"
    done = run("ingest", str(source), "--basis", "allin", "--json", "--save", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stored 150 new of 150 results" in done.stderr
    rows = run_json("runs", "list", "--where", "gpu=B200", home=tmp_path)
    assert rows and {(r["basis"], r["boundary"]) for r in rows} == {("provisioned", "facility")}


def test_invalid_energy_is_left_out_with_a_warning(tmp_path: Path) -> None:
    cheap = make_result(gpu="H100", power_w=100)
    assert cheap.energy is not None
    cheap.energy = cheap.energy.model_copy(update={"valid": False})
    source = tmp_path / "results.jsonl"
    source.write_text(
        cheap.model_dump_json() + "\n" + make_result(gpu="H100", power_w=600).model_dump_json()
    )
    done = run("best", str(source), "--max-itl", "50ms", "--json")
    assert done.returncode == 0, done.stderr
    assert "left out 1 result(s) with invalid energy" in done.stderr
    assert json.loads(done.stdout)[0]["energy_per_token_j"] == pytest.approx(0.6)
    (kept,) = run_json("best", str(source), "--max-itl", "50ms", "--include-invalid")
    assert kept["energy_per_token_j"] == pytest.approx(0.1)


def test_frontier_warns_when_a_metric_is_missing(chat: Path) -> None:
    done = run("frontier", str(chat), "--y", "j_per_token", "--json")
    assert done.returncode == 0
    assert "328 of 328 results lack median_itl_s or j_per_token" in done.stderr
    assert all(group["frontier"] == [] for group in json.loads(done.stdout))


def test_best_warns_about_results_without_energy(shared_data: Path) -> None:
    source = shared_data / "inferencex/agg/run_20667906037.json"
    done = run("best", str(source), "--max-tpot", "50ms", "--json")
    assert done.returncode == 0 and json.loads(done.stdout) == []
    assert "150 of 150 results lack energy_per_token_j" in done.stderr
    (answer,) = run_json(
        "best",
        str(source),
        "--max-tpot",
        "50ms",
        "--basis",
        "allin",
        "--where",
        "gpu=H100",
        "--where",
        "isl=1024",
        "--where",
        "osl=1024",
        "--group-by",
        "model",
    )
    assert answer["gpu"] == "H100" and answer["median_tpot_s"] <= 0.05


def test_mixed_bases_are_called_out(chat: Path, shared_data: Path) -> None:
    provisioned = shared_data / "inferencex/agg/run_20667906037.json"
    done = run("best", str(chat), str(provisioned), "--basis", "allin", "--max-tpot", "1s")
    assert done.returncode == 0, done.stderr
    assert "mix power bases/boundaries (measured/accelerator, provisioned/facility)" in done.stderr
    assert "each is its own group" in done.stderr
    answers = run_json("best", str(chat), str(provisioned), "--basis", "allin", "--max-tpot", "1s")
    families = {(a["basis"], a["boundary"]) for a in answers}
    assert families == {("measured", "accelerator"), ("provisioned", "facility")}
    for answer in answers:  # the runner-up and minimum come from the group's own basis
        others = [answer["runner_up"], answer["unconstrained"]]
        assert all(o is None or o["basis"] == answer["basis"] for o in others)


def test_every_json_figure_says_its_basis_and_boundary(chat: Path) -> None:
    """frontier, best and compare --json gave energies without the basis and boundary they were
    measured at (a simulated run's frontier point was indistinguishable from a measured one)."""
    frontier = run_json("frontier", str(chat))
    points = [p for group in frontier for p in group["frontier"]]
    best = run_json("best", str(chat), "--max-itl", "50ms")
    configs = [c for choice in best for c in (choice, choice["runner_up"]) if c is not None]
    compared = run_json("compare", str(chat), "--by", "gpu", "--at-itl", "50ms")["cases"]
    sides = [
        {"basis": case[f"{side}_basis"], "boundary": case[f"{side}_boundary"]}
        for case in compared
        for side in ("baseline", "candidate")
    ]
    assert points and configs and sides
    for figure in (*points, *configs, *sides):
        assert (figure["basis"], figure["boundary"]) == ("measured", "accelerator"), figure
