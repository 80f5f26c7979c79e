"""Observed lengths from real files: ML.ENERGY histograms, request logs, lists."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate.lengthfiles import load_lengths


def test_mlenergy_model_file_gives_its_output_histogram(shared_data: Path) -> None:
    path = shared_data / "mlenergy/leaderboard_v3/models/Qwen__Qwen3-14B__gpqa.json"
    dist = load_lengths(path)
    raw = json.loads(path.read_text())["output_length_distribution"]
    assert dist.bins == raw["bins"] and dist.counts == [float(c) for c in raw["counts"]]
    assert dist.source == str(path)
    draws = dist.sample(np.random.default_rng(0), 100_000)
    assert raw["bins"][0] <= draws.min() and draws.max() <= raw["bins"][-1]
    # the histogram's mean is close to the measured average output length of its configurations
    measured = json.loads(path.read_text())["configurations"][0]["avg_output_len"]
    assert dist.mean == pytest.approx(measured, rel=0.05)


def test_requests_jsonl_with_any_known_length_field(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    lines = [
        {"output_len": 10},
        {"usage": {"prompt_tokens": 5, "completion_tokens": 20}},
        {"output_tokens": 30, "success": True},
        {"output_len": 0, "success": False},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert load_lengths(path).values == [10.0, 20.0, 30.0]


def test_bench_serving_raw_json_and_plain_lists(tmp_path: Path) -> None:
    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps({"completed": 2, "output_lens": [100, 200]}))
    assert load_lengths(raw).values == [100.0, 200.0]
    array = tmp_path / "list.json"
    array.write_text("[1, 2.5, 3]")
    assert load_lengths(array).values == [1.0, 2.5, 3.0]
    text = tmp_path / "lengths.txt"
    text.write_text("120\n340, 560\n  780\n")
    assert load_lengths(text).values == [120.0, 340.0, 560.0, 780.0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "file is empty"),
        ("12\nabc\n", "value 2: 'abc' is not a number"),
        ("[1, -4]", r"\[1\]: length -4 must be a finite number >= 0"),
        ('{"output_len": 3}\n{"text": "hi"}\n', "line 2: no output_len"),
        ('{"output_len": 3}\n{oops\n', "line 2: not JSON"),
        ('{"model": "x"}', "no lengths found"),
    ],
)
def test_bad_length_files_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "lengths.txt"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message) as caught:
        load_lengths(path)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_lengths(tmp_path / "nope.jsonl")
