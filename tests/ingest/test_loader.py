"""Every shared data file ingests (or is skipped with a stated reason)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.ingest.detect import adapter_named
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
