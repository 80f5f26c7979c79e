"""What the adapters gather validates with the records' own refusal of unknown keys.

``validated_result`` ignores unknown keys at run time (they are spelled by the adapters, never
taken from the input; refusing them costs ~2 µs a row). A misspelt key would silently drop a
field, so here every adapter that uses it builds its fields from the shared data (ML.ENERGY v3,
v2 and 2023 files) and from rows that take each branch (disaggregated, measured power,
power_valid=0, per-model ML.ENERGY files), and each is validated as
``ServingResult.model_validate`` does, unknown keys refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from tokenergy.ingest import IngestOptions, common, load_results
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult

ALLIN = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
ROW: dict[str, Any] = {
    "hw": "h100",
    "conc": 8,
    "model": "m",
    "framework": "vllm",
    "precision": "fp8",
    "isl": 1024,
    "osl": 1024,
    "tp": 8,
    "pp": 1,
    "tput_per_gpu": 100.0,
    "input_tput_per_gpu": 50.0,
    "output_tput_per_gpu": 50.0,
    "mean_e2el": 5.0,
    "p90_tpot": 0.01,
    "mean_intvty": 100.0,
    "std_intvty": 3.0,
}
MEASURED = {"power_valid": 1, "avg_power_w": 600.0, "joules_per_successful_query": 9.0}


def _refusing(fields: dict[str, Any], **_: Any) -> ServingResult:
    return ServingResult.model_validate(fields)  # the records' config: extra="forbid"


def test_every_adapter_field_is_a_record_field(
    monkeypatch: pytest.MonkeyPatch, shared_data: Path, tmp_path: Path
) -> None:
    rows = tmp_path / "inferencex_rows.json"
    branches = [
        ROW,
        {**ROW, **MEASURED},
        {**ROW, **MEASURED, "power_metric_schema_version": 1},
        {**ROW, "power_valid": 0, "avg_power_w": 600.0},
        {**ROW, "num_prefill_gpu": 2, "num_decode_gpu": 6, "prefill_dp_attention": True},
    ]
    rows.write_text(json.dumps(branches))
    paths = [rows, shared_data / "inferencex", shared_data / "mlenergy"]
    fast = load_results(paths, ALLIN)
    seen: list[ServingResult] = []

    def refusing(fields: dict[str, Any], **options: Any) -> ServingResult:
        seen.append(_refusing(fields, **options))
        return seen[-1]

    monkeypatch.setattr(common, "_VALIDATE_RESULT", refusing)
    checked = load_results(paths, ALLIN)
    assert not checked.failed and checked.results == fast.results
    formats = {r.provenance.source_format for r in seen}
    assert {"inferencex", "mlenergy-v3", "mlenergy-v2", "mlenergy-legacy"} <= formats
    assert len(seen) > 3500


def test_a_misspelt_field_would_be_refused() -> None:
    fields = {"identity": {"model": "m", "modle": "x"}, "provenance": {"source": "s"}}
    fields["provenance"]["source_format"] = "inferencex"
    with pytest.raises(ValidationError, match="modle"):
        _refusing(fields)
    assert common.validated_result(fields).identity.model == "m"
