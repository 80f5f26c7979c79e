from __future__ import annotations

from pathlib import Path

import pytest

from analyze.builders import load_mlenergy_task, make_result
from tokenergy.analyze.table import (
    COLUMNS,
    check_columns,
    filter_rows,
    metric,
    parse_where,
    to_row,
)
from tokenergy.errors import ConfigError
from tokenergy.records import DeviceEnergy


def test_row_energy_is_per_output_token_and_response_uses_output_length() -> None:
    row = to_row(make_result(power_w=700.0, output_tok_s=1000.0, mean_output_len=500.0))
    assert row.energy_per_token_j == pytest.approx(0.7)
    assert row.j_per_token is None  # no input throughput: per-total-token energy is unknown
    assert row.energy_per_response_j == pytest.approx(350.0)
    assert row.wh_per_query == pytest.approx(350.0 / 3600)
    assert row.config_label == "H100×1 cap 8 bfloat16"


def test_rows_match_raw_mlenergy_fields(shared_data: Path) -> None:
    configs, results = load_mlenergy_task(shared_data / "mlenergy/leaderboard_v3/tasks/gpqa.json")
    for config, result in zip(configs, results, strict=True):
        row = to_row(result)
        assert row.energy_per_token_j == pytest.approx(config["energy_per_token_joules"], rel=1e-9)
        assert row.energy_per_response_j == pytest.approx(
            config["energy_per_request_joules"], rel=1e-9
        )
        assert row.median_itl_s == pytest.approx(config["median_itl_ms"] / 1000)
        assert row.batch_cap == config["max_num_seqs"]


def test_metric_aliases_and_unknown_names() -> None:
    assert metric("median_itl").column == "median_itl_s"
    assert metric("intvty").better.value == "higher"
    with pytest.raises(ConfigError, match="unknown metric 'itl90'"):
        metric("itl90", "--x")


def test_where_filters_case_insensitively_and_rejects_bad_clauses() -> None:
    rows = [to_row(make_result(gpu="B200")), to_row(make_result(gpu="H100"))]
    assert [r.gpu for r in filter_rows(rows, parse_where(["gpu=b200"]))] == ["B200"]
    assert len(filter_rows(rows, parse_where(["num_gpus=1"]))) == 2
    with pytest.raises(ConfigError, match="expected COLUMN=VALUE"):
        parse_where(["gpu"])
    with pytest.raises(ConfigError, match="unknown column 'gpux'"):
        parse_where(["gpux=1"])
    assert check_columns(["model", "gpu"], "--group-by") == ("model", "gpu")
    assert "energy_per_token_j" in COLUMNS


def test_hardware_falls_back_to_the_metered_gpus() -> None:
    result = make_result()
    result.identity = result.identity.model_copy(update={"gpu": None, "num_gpus": None})
    assert result.energy is not None
    result.energy = result.energy.model_copy(
        update={
            "devices": [
                DeviceEnergy(device=f"nvml:{i}", kind="gpu", model="NVIDIA H100 80GB HBM3")
                for i in range(2)
            ]
            + [DeviceEnergy(device="rapl:0", kind="cpu", model="Xeon")]
        }
    )
    row = to_row(result)
    assert (row.gpu, row.num_gpus) == ("H100", 2)
    stated = to_row(make_result(gpu="B200", num_gpus=4))
    assert (stated.gpu, stated.num_gpus) == ("B200", 4)
