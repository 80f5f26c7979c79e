"""Every shared data file ingests (or is skipped with a stated reason)."""

from __future__ import annotations

import gc
import json
import math
import tracemalloc
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
from tokenergy.units import j_per_token


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


def _bench_serving(model: str) -> dict[str, object]:
    return {
        "completed": 10,
        "duration": 1.0,
        "total_input_tokens": 1000,
        "total_output_tokens": 1000,
        "model_id": model,
    }


class _RefusingRows(_AnalystRows):
    """A sink whose row for model 'bad' meets a figure J/token refuses (a UnitError). Adapters
    now refuse every non-finite rate they derive, so this stands in for one they might miss."""

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        if result.identity.model == "bad":
            j_per_token(100.0, math.inf)
        super().add(result, findings)


def test_a_unit_error_making_a_row_skips_just_that_file(shared_data: Path, tmp_path: Path) -> None:
    bad = tmp_path / "a_bad_run.json"
    bad.write_text(json.dumps(_bench_serving("bad")))
    good = shared_data / "inferencex/agg/run_20218553330.json"
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN), gpu="H100", gpus=1)
    sink = _RefusingRows()
    ingested = ingest_into(sink, [bad, good], options)
    (skipped,) = ingested.failed
    assert skipped.name == str(bad)
    assert skipped.reason == f"{bad}: token rate must be a positive finite number, got inf"
    assert ingested.count == len(sink.rows) == len(load_results([good], options).results) > 0
    with pytest.raises(IngestError) as caught:
        ingest_into(_RefusingRows(), [bad, good], options, keep_going=False)
    assert caught.value.file == str(bad) and "token rate" in caught.value.message


def test_a_unit_error_rolls_back_the_good_rows_before_it(shared_data: Path, tmp_path: Path) -> None:
    """A JSON-lines file of good rows then one whose row J/token refuses: none of its rows are
    written (the file is bad as a whole), the other file's rows are, and the error names the
    line as the JSONL adapter counts it (from 1)."""
    bad = tmp_path / "runs.jsonl"
    lines = [_bench_serving("m")] * 3 + [_bench_serving("bad")]
    bad.write_text("".join(json.dumps(line) + "\n" for line in lines))
    good = shared_data / "inferencex/agg/run_20218553330.json"
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN), gpu="H100", gpus=1)
    sink = _RefusingRows()
    ingested = ingest_into(sink, [bad, good], options)
    (skipped,) = ingested.failed
    assert skipped.reason == f"{bad}: line 4: token rate must be a positive finite number, got inf"
    good_rows = len(load_results([good], options).results)
    assert ingested.count == len(sink.rows) == good_rows > 0
    assert len(load_results([bad], options).results) == 4  # the 3 rows dropped above are good


@pytest.mark.parametrize("name", ["a_tiny_duration.json", "runs.jsonl"])
def test_a_rate_beyond_float_range_is_refused_by_the_adapter(tmp_path: Path, name: str) -> None:
    """1000 tokens in 1e-310 s: the adapter names the duration, for load_results too (whose sink
    computes no J/token that would catch the infinite rate)."""
    bad = tmp_path / name
    bad.write_text(json.dumps(_bench_serving("m") | {"duration": 1e-310}) + "\n")
    (skipped,) = load_results([bad], IngestOptions()).failed
    where = "line 1 duration" if name.endswith(".jsonl") else "duration"
    assert skipped.reason == f"{bad}: {where}: out of range: 1000 / 1e-310 is beyond float range"


@pytest.mark.parametrize("enabled_before", [True, False])
def test_load_results_pauses_the_cyclic_collector_and_restores_it(
    shared_data: Path, enabled_before: bool
) -> None:
    """No collection pass runs while the lists grow (each would walk every result held so far;
    the progress callback looks after each file), and the collector is left as the caller had
    it."""
    passes: list[int] = []
    passes_by_file: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            passes.append(info["generation"])

    gc.callbacks.append(count)
    if not enabled_before:
        gc.disable()
    try:
        ingested = load_results(
            [shared_data / "mlenergy"], progress=lambda _: passes_by_file.append(len(passes))
        )
        state_after = gc.isenabled()
    finally:
        gc.callbacks.remove(count)
        gc.enable()
    assert len(ingested.results) > 1000  # enough allocations for hundreds of passes unpaused
    assert len(passes_by_file) > 100 and passes_by_file[-1] == 0
    assert state_after is enabled_before


def test_load_results_frees_each_bad_file_as_it_goes(tmp_path: Path) -> None:
    """With the collector paused, a bad file's error (its traceback holding the parsed document)
    must not be left in a cycle: peak memory does not grow with the number of bad files."""
    text = json.dumps({"unrelated": [{"k": i, "v": "x" * 20} for i in range(20_000)]})
    files = []
    for n in range(12):
        files.append(tmp_path / f"f{n:02d}.json")
        files[-1].write_text(text)

    def peak_bytes(paths: list[Path]) -> int:
        tracemalloc.start()
        try:
            ingested = load_results(paths)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert len(ingested.failed) == len(paths)
        return peak

    assert peak_bytes(files) < 2 * peak_bytes(files[:1])
