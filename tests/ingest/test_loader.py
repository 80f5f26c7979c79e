"""Every shared data file ingests (or is skipped with a stated reason)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, ingest_into, load_results
from tokenergy.ingest.checks import Finding
from tokenergy.ingest.detect import adapter_named
from tokenergy.ingest.rows import checked_row
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult


def test_all_shared_inferencex_and_mlenergy_files(shared_data: Path) -> None:
    ingested = load_results(
        [shared_data / "inferencex", shared_data / "mlenergy"],
        IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN)),
    )
    assert ingested.failed == []
    formats = Counter(r.provenance.source_format for r in ingested.results)
    # 1528 processed rows in 31 non-empty run files + 3 single-row processed pairs
    assert formats["inferencex"] == 1531
    assert formats["bench-serving"] == 22
    assert formats["mlenergy-v2"] == 356
    assert formats["mlenergy-legacy"] == 260
    assert formats["mlenergy-v3"] > 1000
    reasons = Counter(s.reason.split(":")[0] for s in ingested.skipped)
    assert reasons["empty array"] == 2
    assert sum("diffusion" in s.reason for s in ingested.skipped) == 2
    assert all(s.reason for s in ingested.skipped)
    inferencex = [r for r in ingested.results if r.provenance.source_format == "inferencex"]
    assert all(r.j_per_token is not None for r in inferencex)


def test_results_round_trip_through_json(shared_data: Path) -> None:
    """What the results store will save must come back identical (records.py contract)."""
    ingested = load_results([shared_data], IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.TDP)))
    assert ingested.failed == []
    for result in ingested.results[::25]:
        assert ServingResult.model_validate_json(result.model_dump_json()) == result


def test_an_unknown_forced_format_names_the_parameter() -> None:
    """Library errors name parameters (the CLI maps ``fmt`` to ``--input-format``)."""
    with pytest.raises(IngestError, match="unknown format 'nope'") as raised:
        adapter_named("nope")
    assert raised.value.field == "fmt"


class _AnalystRows:
    """A sink that makes each result's analyst row as it arrives, as the CLI's does."""

    def __init__(self) -> None:
        self.rows: list[dict[str, object]] = []
        self._committed = 0

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        self.rows.append(checked_row(result, findings))

    def commit(self) -> None:
        self._committed = len(self.rows)

    def rollback(self) -> None:
        del self.rows[self._committed :]


def _infinite_rate_file(folder: Path) -> Path:
    """A bench-serving result whose rates come out inf (1000 tokens / 1e-310 s): no adapter
    refuses it, J/token raises a UnitError when the sink makes its row."""
    path = folder / "a_tiny_duration.json"
    result = {"completed": 10, "duration": 1e-310, "total_input_tokens": 1000}
    path.write_text(json.dumps(result | {"total_output_tokens": 1000, "model_id": "m"}))
    return path


def test_a_unit_error_making_a_row_skips_just_that_file(shared_data: Path, tmp_path: Path) -> None:
    bad = _infinite_rate_file(tmp_path)
    good = shared_data / "inferencex/agg/run_20218553330.json"
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN), gpu="H100", gpus=1)
    sink = _AnalystRows()
    ingested = ingest_into(sink, [bad, good], options)
    (skipped,) = ingested.failed
    assert skipped.name == str(bad)
    assert skipped.reason == f"{bad}: token rate must be a positive finite number, got inf"
    assert ingested.count == len(sink.rows) == len(load_results([good], options).results) > 0
    with pytest.raises(IngestError) as caught:
        ingest_into(_AnalystRows(), [bad, good], options, keep_going=False)
    assert caught.value.file == str(bad) and "token rate" in caught.value.message
