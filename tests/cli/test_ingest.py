"""`tokenergy ingest` and `tokenergy check` end to end through the installed console script."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from inprocess import run_cli

from tokenergy.records import LEGACY_ROW_KEYS

TOKENERGY = str(Path(sys.executable).parent / "tokenergy")
GOLDEN = "inferencex/agg/run_20218553330.json"
ALL_FAILED = (
    "inferencex/raw/pr1633_local_results/minimax-eagle3-conc64__minimaxm2.5_8k1k_conc64.json"
)


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args)


def test_golden_row_as_json(shared_data: Path) -> None:
    done = run(
        "ingest",
        shared_data / GOLDEN,
        "--basis",
        "allin",
        "--model",
        "gptoss",
        "--hw",
        "b200",
        "--isl",
        "8192",
        "--osl",
        "1024",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    (row,) = [r for r in rows if (r["batch_cap"], r["num_gpus"], r["engine"]) == (128, 1, "vllm")]
    required = {
        "model",
        "precision",
        "gpu",
        "engine",
        "num_gpus",
        "batch_cap",
        "isl",
        "osl",
        "mean_intvty_tok_s",
        "mean_e2el_s",
        "energy_per_token_j",
        "j_per_token",
        "wh_per_query_nominal",
        "wh_per_query_benchmarked",
        "basis",
        "boundary",
        "checks",
    }
    assert required <= set(row)
    assert not set(LEGACY_ROW_KEYS) & set(row)  # one row vocabulary: no old key left
    assert f"{row['j_per_token']:.4g}" == "0.04434"
    assert f"{row['wh_per_query_nominal']:.4g}" == "0.1135"
    assert f"{row['wh_per_query_benchmarked']:.3g}" == "0.102"
    assert (row["basis"], row["boundary"], row["precision"]) == ("provisioned", "facility", "fp4")
    assert {c["name"] for c in row["checks"]} >= {"total_is_sum", "littles_law", "failure_rate"}
    assert all(set(c) == {"name", "status", "detail"} for c in row["checks"])


def test_filters_sort_and_top(shared_data: Path) -> None:
    done = run(
        "ingest",
        shared_data / GOLDEN,
        "--basis",
        "allin",
        "--isl",
        "1024",
        "--osl",
        "1024",
        "--min-interactivity",
        "50",
        "--sort",
        "j_per_token",
        "--top",
        "2",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows and all(r["mean_intvty_tok_s"] >= 50 and r["isl"] == 1024 for r in rows)
    per_workload: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        per_workload.setdefault((r["model"], r["precision"]), []).append(r["j_per_token"])
    assert all(len(v) <= 2 and v == sorted(v) for v in per_workload.values())


def test_table_csv_and_parquet_outputs(shared_data: Path, tmp_path: Path) -> None:
    table = run(
        "ingest", shared_data / GOLDEN, "--basis", "allin", "--model", "gptoss", "--top", "1"
    )
    assert table.returncode == 0 and "J per" in table.stdout and "provisioned" in table.stdout
    done = run("ingest", shared_data / GOLDEN, "--basis", "allin", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == len(json.loads((shared_data / GOLDEN).read_text()))
    vocabulary = {"gpu", "engine", "num_gpus", "batch_cap", "energy_per_token_j", "avg_output_len"}
    assert vocabulary <= set(rows[0]) and not set(LEGACY_ROW_KEYS) & set(rows[0])
    out = tmp_path / "rows.parquet"
    done = run(
        "ingest", shared_data / GOLDEN, "--basis", "allin", "--format", "parquet", "--out", out
    )
    assert done.returncode == 0, done.stderr
    assert pq.read_table(out).num_rows == len(rows)
    assert set(pq.read_table(out).column_names) == set(rows[0])  # one vocabulary in every format
    assert run("ingest", shared_data / GOLDEN, "--format", "parquet").returncode == 2


@pytest.mark.parametrize(
    "extra",
    [[], ["--grid", "400g/kWh"], ["--sort", "status", "--descending", "--top", "2"]],
)
def test_csv_lines_are_what_csv_writer_makes_of_the_finished_rows(
    shared_data: Path, tmp_path: Path, extra: list[str]
) -> None:
    """CSV lines are written as rows come and completed at the end (status, model_spellings):
    the text is that of csv.writer over the finished rows (the JSON output), cells in the first
    row's column order, checks last as name:status pairs."""
    paths = [shared_data / "inferencex" / "agg", shared_data / "peers", shared_data / "mlenergy"]
    common = ["ingest", *paths, "--basis", "allin", *extra]
    assert run(*common, "--format", "csv", "--out", tmp_path / "rows.csv").returncode == 0
    assert run(*common, "--format", "json", "--out", tmp_path / "rows.json").returncode == 0
    rows = json.loads((tmp_path / "rows.json").read_text())
    columns = [key for key in rows[0] if key != "checks"]
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow([*columns, "checks"])
    for row in rows:
        pairs = [f"{c['name']}:{c['status']}" for c in row["checks"] if c["status"] != "skip"]
        writer.writerow([*(row[column] for column in columns), ";".join(pairs)])
    assert (tmp_path / "rows.csv").read_bytes().decode() == expected.getvalue()
    assert any(row["status"] == "warn" for row in rows)  # model_spellings turned some passes


def test_bad_files_exit_2_but_the_rest_ingests(shared_data: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.json"
    truncated.write_text('[{"hw": "b200", "conc": 4')
    done = run("ingest", truncated, shared_data / GOLDEN, "--basis", "allin", "--json")
    assert done.returncode == 2
    assert len(json.loads(done.stdout)) > 100
    assert "truncated.json: json: invalid JSON" in done.stderr
    assert "skipped 1 file(s), 1 with errors" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_keep_going_stops_at_the_first_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"unknown": true}')
    done = run("ingest", bad, "--no-keep-going")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "unknown format" in done.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--basis", "bogus"], "--basis"),
        (["--sampler", "zipf"], "--sampler"),
        (["--range-ratio", "2"], "--range-ratio"),
        (["--basis", "allin", "--pue", "1.2"], "twice"),
        (["--sort", "nope"], "--sort"),
        (["--failure-gate", "200%"], "--failure-gate"),
        (["--isl", "-1"], "--isl"),
        (["--osl", "0"], "--osl"),
    ],
)
def test_bad_options_are_one_line(shared_data: Path, args: list[str], needle: str) -> None:
    done = run("ingest", shared_data / GOLDEN, *args)
    assert done.returncode == 2 and needle in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_check_lists_findings_with_file_and_row(shared_data: Path) -> None:
    done = run("check", shared_data / ALL_FAILED, "--power", "8kW")
    assert done.returncode == 0
    assert (
        f"{shared_data / ALL_FAILED}  FAIL  failure_rate  0 of 640 requests completed"
        in done.stdout
    )
    strict = run("check", shared_data / ALL_FAILED, "--strict")
    assert strict.returncode == 1
    rows = run("check", shared_data / GOLDEN, "--basis", "allin")
    # a warning every row of the file shares is one line for the file (issue 12 item 6)
    assert f"{shared_data / GOLDEN}  WARN  reciprocal_spread  every row (150)" in rows.stdout
    assert f"{shared_data / GOLDEN}:137  WARN  reciprocal_spread" not in rows.stdout
    assert rows.returncode == 0


def test_all_failed_run_has_no_wh_per_query(shared_data: Path) -> None:
    done = run("ingest", shared_data / ALL_FAILED, "--power", "8kW", "--json")
    assert done.returncode == 0, done.stderr
    (row,) = json.loads(done.stdout)
    assert row["completed"] == 0 and row["attempted"] == 640
    assert row["wh_per_query_measured"] is None and row["j_per_token"] is None
    assert row["status"] == "fail"


def test_overhead_without_a_power_is_refused(shared_data: Path) -> None:
    done = run("ingest", shared_data / GOLDEN, "--pue", "1.2")
    assert done.returncode == 2 and "need a power" in done.stderr


def test_unwritable_out_empty_dir_and_nan_filter_are_one_line_errors(
    shared_data: Path, tmp_path: Path
) -> None:
    golden = shared_data / "inferencex" / "agg" / "run_20218553330.json"
    empty = tmp_path / "empty"
    empty.mkdir()
    only_text = tmp_path / "notes"
    only_text.mkdir()
    (only_text / "readme.txt").write_text("not a result")
    cases = [
        (
            [golden, "--basis", "allin", "--format", "csv", "--out", tmp_path / "no" / "x.csv"],
            "--out",
        ),
        ([golden, "--basis", "allin", "--format", "csv", "--out", tmp_path], "--out"),
        (
            [golden, "--basis", "allin", "--format", "parquet", "--out", tmp_path / "no" / "x.pq"],
            "--out",
        ),
        ([golden, "--basis", "allin", "--min-interactivity", "nan"], "--min-interactivity"),
        ([empty], "no result files found"),
        ([only_text], "no result files found"),
    ]
    for args, needle in cases:
        done = run("ingest", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert needle in done.stderr and "Traceback" not in done.stderr


def test_json_rows_carry_wh_per_attempted_query(shared_data: Path) -> None:
    raw = shared_data / "inferencex" / "raw" / "pr1208_gptoss120b_disagg_raw"
    done = run(
        "ingest",
        raw / "concurrency_128_req_rate_inf_gpus_16_ctx_8_gen_8.json",
        "--power",
        "16kW",
        "--json",
    )
    row = json.loads(done.stdout)[0]
    assert row["wh_per_attempted_query"] is not None
    assert row["wh_per_attempted_query"] <= row["wh_per_query_measured"]


def test_region_adds_carbon_and_water_per_row_with_its_boundary(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """AIPerf's measured 2286.344 J / 40 queries = 0.0158774 Wh/query (accelerator);
    × 369.473 gCO2e/kWh (USA 2023) = 0.0058663 g; water × 3.1321 L/kWh = 4.973e-5 L."""
    from tokenergy.cli.app import run as run_in_process

    path = shared_data / "peers" / "aiperf-0.13"
    assert run_in_process(["ingest", str(path), "--region", "US", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    wh = 2286.34399999994 / 40 / 3600
    assert row["gco2e_per_query"] == pytest.approx(wh / 1000 * 369.473)
    assert row["water_l_per_query"] == pytest.approx(wh / 1000 * 3.1321)
    assert (row["carbon_boundary"], row["carbon_basis"]) == ("accelerator", "measured")
    assert "not included" in row["carbon_note"] and row["carbon_per_query_from"] == "measured"
    assert "United States 2023" in row["grid_source"]
    assert run_in_process(["ingest", str(path), "--grid", "400g/kWh", "--format", "csv"]) == 0
    flat = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert float(flat["gco2e_per_query"]) == pytest.approx(wh / 1000 * 400)


def test_sort_takes_a_column_name_from_before_the_rename(shared_data: Path) -> None:
    """`--sort conc` in a script written before one row vocabulary sorts by batch_cap."""
    args = ("ingest", shared_data / GOLDEN, "--basis", "allin", "--json", "--sort")
    old, new = run(*args, "conc"), run(*args, "batch_cap")
    assert old.returncode == new.returncode == 0, old.stderr
    rows = json.loads(old.stdout)
    assert rows == json.loads(new.stdout) and rows[0]["batch_cap"] <= rows[-1]["batch_cap"]


@pytest.mark.parametrize("output", ["csv", "table", "parquet", "json"])
def test_a_file_name_that_is_not_utf8_is_written_not_a_traceback(
    shared_data: Path, tmp_path: Path, output: str
) -> None:
    """A directory named with a byte that is not UTF-8: a CSV file carries the name's own bytes
    (as stdout does), Parquet and JSON escape it ('\\udcff'); none ends in a traceback."""
    odd = tmp_path / os.fsdecode(b"run\xff")
    odd.mkdir()
    (odd / "r.json").write_bytes((shared_data / GOLDEN).read_bytes())
    out = tmp_path / f"out.{output}"
    done = run("ingest", odd, "--basis", "allin", "--format", output, "--out", out, "--quiet")
    assert done.returncode == 0, done.stderr
    if output == "parquet":
        assert "run\\udcff" in pq.read_table(out).column("source")[0].as_py()
    elif output == "json":
        assert "run\\udcff" in out.read_text()
    elif output == "csv":
        assert b"run\xff" in out.read_bytes()
    else:  # the table has no source column
        assert "150 results" in out.read_text()
