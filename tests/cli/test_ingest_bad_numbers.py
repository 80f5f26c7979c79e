"""`tokenergy ingest` on numbers no result can hold (1e308 GPU counts, rates scaled to inf) and
on files of non-objects: one error line naming the file and field, exit 2, no traceback; in a
directory the other files' rows are still written (the reviewer's crash files, inline)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]
GOOD = "inferencex/agg/run_20218553330.json"
ROW = {
    "hw": "h100",
    "conc": 64,
    "model": "openai/gpt-oss-120b",
    "infmax_model_prefix": "gptoss",
    "framework": "vllm",
    "precision": "fp4",
    "isl": 8192,
    "osl": 1024,
    "tp": 4,
    "ep": 1,
    "tput_per_gpu": 8005.765519222265,
    "output_tput_per_gpu": 888.1698152106957,
    "input_tput_per_gpu": 7117.595704011569,
    "mean_e2el": 16.4,
    "mean_tpot": 0.017,
    "mean_intvty": 58.5,
}
DISAGG = {"num_prefill_gpu": 8, "num_decode_gpu": 16, "prefill_tp": 1, "decode_tp": 1}
# (file text, the field its error names); the old outcome in the comment
CASES = {
    "pp_1e308": (json.dumps([ROW | {"pp": 1e308}]), "row 0 pp"),  # named tp
    "pcp_size_1e308": (json.dumps([ROW | {"pcp_size": 1e308}]), "row 0 pcp_size"),  # named tp
    "isl_1e308": (json.dumps([ROW | {"isl": 1e308}]), "row 0 isl"),  # OverflowError traceback
    "osl_max": (json.dumps([ROW | {"osl": 1.7976931348623157e308}]), "row 0 osl"),  # traceback
    "tp_1e308": (json.dumps([ROW | {"tp": 1e308}]), "row 0 tp"),  # UnitError, no file named
    "tp_pp_2_40": (json.dumps([ROW | {"tp": 2**40, "pp": 2**40}]), "row 0 tp × pp"),  # accepted
    "rate_1e308": (json.dumps([ROW | {"tput_per_gpu": 1e308}]), "row 0 tput_per_gpu"),  # UnitError
    "disagg_input_1e308": (
        json.dumps([ROW | DISAGG | {"input_tput_per_gpu": 1e308}]),
        "row 0 input_tput_per_gpu",
    ),  # UnitError
    "disagg_decode_1e308": (
        json.dumps([ROW | DISAGG | {"num_decode_gpu": 1e308}]),
        "row 0 num_decode_gpu",
    ),  # UnitError
    "ints": ("[1, 2]", "unknown format"),  # TypeError traceback in the mlenergy-legacy sniff
    "nulls": ("[null]", "unknown format"),  # TypeError traceback
    "lists": ("[[1]]", "unknown format"),
    "scalar": ("1", "unknown format"),
}


def _rows(csv_text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_text)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_number_or_shape_is_one_line_naming_file_and_field(
    cli: Cli, tmp_path: Path, case: str
) -> None:
    text, field = CASES[case]
    path = tmp_path / f"{case}.json"
    path.write_text(text)
    done = cli("ingest", str(path), "--basis", "allin", "--format", "csv")
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    (line,) = [line for line in done.stderr.splitlines() if "error: " in line]
    assert f"{path}: {field}" in line, line


@pytest.mark.parametrize("case", ["tp_1e308", "rate_1e308", "isl_1e308", "ints"])
def test_the_good_file_beside_a_bad_one_is_still_written(
    cli: Cli, tmp_path: Path, shared_data: Path, case: str
) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / f"{case}.json").write_text(CASES[case][0])
    (folder / "good.json").write_text((shared_data / GOOD).read_text())
    alone = cli("ingest", str(shared_data / GOOD), "--basis", "allin", "--format", "csv")
    done = cli("ingest", str(folder), "--basis", "allin", "--format", "csv")
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    rows = _rows(done.stdout)
    assert len(rows) == len(_rows(alone.stdout)) > 0
    assert {row["source"] for row in rows} == {str(folder / "good.json")}
    assert f"{folder / case}.json: " in done.stderr


def test_a_tiny_duration_skips_just_its_file(cli: Cli, tmp_path: Path, shared_data: Path) -> None:
    """A bench-serving result over 1e-310 s has inf tok/s: the adapter refuses it naming the
    duration (it once reached J/token's UnitError, which stopped the whole ingest)."""
    folder = tmp_path / "runs"
    folder.mkdir()
    bad = folder / "tiny_duration.json"
    tokens = {"total_input_tokens": 1000, "total_output_tokens": 1000}
    bad.write_text(json.dumps({"completed": 10, "duration": 1e-310} | tokens))
    (folder / "good.json").write_text((shared_data / GOOD).read_text())
    done = cli(
        "ingest", str(folder), "--basis", "allin", "--gpu", "H100", "--gpus", "1", "--format", "csv"
    )
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"{bad}: duration: out of range: 1000 / 1e-310" in done.stderr
    assert _rows(done.stdout) and all(r["source"].endswith("good.json") for r in _rows(done.stdout))
