"""Large JSON arrays stream element by element: the same results and the same errors (line and
column in the whole file) as parsing them whole, and memory that does not grow with the rows."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, ingest_into, jsonstream, load_results, sources
from tokenergy.ingest.jsonstream import JsonArrayStream
from tokenergy.power import GpuBasis, PowerSpec

OPTIONS = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))


def _whole_error(text: str) -> str:
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}"
    raise AssertionError("the text is valid JSON")


@pytest.mark.parametrize(
    "text",
    [
        '[{"a": 1}, {"a": 2},\n {"a": 3]',
        '[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]',
        "[1, 2, 3,]",
        '[{"a": 1}, {"a": tru}]',
        '[{"a": 1},\n\n {"a": "unterminated}]',
        '[{"a": 1}, {"a": 2}',
        '[{"a": 1}, ',
        "  [  ",
        '[{"a": 1}] x',
    ],
)
@pytest.mark.parametrize("chunk", [3, 7, 40, 1 << 20])
def test_errors_name_the_line_and_column_json_loads_would(
    text: str, chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", chunk)
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(IngestError) as raised:
        list(JsonArrayStream(path, "bad.json"))
    assert raised.value.message == _whole_error(text)
    assert raised.value.field == "json" and raised.value.file == "bad.json"


@pytest.mark.parametrize("chunk", [5, 1 << 20])
def test_elements_are_those_of_json_loads(
    chunk: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", chunk)
    values = [{"a": [1, 2.5, None]}, 12345678901234567890, -1.5e-7, "x\n]", True, [], {}]
    path = tmp_path / "ok.json"
    path.write_text("\ufeff" + json.dumps(values, indent=3))
    stream = JsonArrayStream(path, "ok.json")
    assert stream.head == values[:1] and list(stream) == values


def test_streamed_files_ingest_as_parsed_ones(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every InferenceX file of the shared data, streamed (threshold 0) and whole: equal."""
    whole = load_results([shared_data / "inferencex"], OPTIONS)
    monkeypatch.setattr(sources, "STREAM_BYTES", 0)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 4096)
    streamed = load_results([shared_data / "inferencex"], OPTIONS)
    assert streamed.results == whole.results and streamed.checks == whole.checks
    assert streamed.skipped == whole.skipped and len(whole.results) > 100


class _Count:
    def __init__(self) -> None:
        self.rows = 0

    def add(self, *_: object) -> None:
        self.rows += 1

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


def _peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        sink = _Count()
        ingest_into(sink, [path], OPTIONS)
        assert sink.rows > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_rows(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Peak traced memory for 4N rows is well under 4× that for N (whole: ~4×): the file is
    read row by row and no row outlives its turn. Memory, not time: robust on a busy machine."""
    monkeypatch.setattr(sources, "STREAM_BYTES", 0)
    monkeypatch.setattr(jsonstream, "CHUNK_CHARS", 1 << 16)
    real = json.loads(next((shared_data / "inferencex/agg").glob("run_*.json")).read_text())
    small, large = tmp_path / "small.json", tmp_path / "large.json"
    # both well past the first chunks (a 90 kB file peaks below the steady buffers' ~360 kB)
    small.write_text(json.dumps(real * 16))
    large.write_text(json.dumps(real * 64))
    assert _peak_bytes(large) < 1.5 * _peak_bytes(small)
