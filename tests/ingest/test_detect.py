"""Format detection: every adapter's ``sniff`` answers False (never raises) for shapes that are
no results, so they end as the one-line "unknown format" error naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import load_results
from tokenergy.ingest.detect import detect
from tokenergy.ingest.registry import ADAPTERS
from tokenergy.ingest.sources import Document, JsonLines

# lists of non-objects (set(data[0]) raised TypeError on 1, None, True, 1.5) and bare scalars
SHAPES: list[Any] = [[1, 2], [[1]], ["a"], [None], [True], [1.5], [[]], 1, "x", None, True]


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
@pytest.mark.parametrize("data", SHAPES, ids=json.dumps)
def test_no_sniff_raises_on_a_shape_that_is_no_result(adapter: str, data: Any) -> None:
    document = Document("f.json", json.dumps(data), ".json")
    assert ADAPTERS[adapter].sniff(data, document) is False
    lines = JsonLines([data, data])  # a JSON-lines file of the same values
    assert ADAPTERS[adapter].sniff(lines, Document("f.jsonl", "", ".jsonl")) is (adapter == "jsonl")


@pytest.mark.parametrize("data", SHAPES, ids=json.dumps)
def test_detect_calls_them_an_unknown_format(data: Any) -> None:
    with pytest.raises(IngestError, match="unknown format") as caught:
        detect(data, Document("f.json", json.dumps(data), ".json"))
    assert caught.value.file == "f.json"


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
@pytest.mark.parametrize("data", SHAPES, ids=json.dumps)
def test_a_file_of_them_is_skipped_as_an_unknown_format(
    tmp_path: Path, data: Any, suffix: str
) -> None:
    path = tmp_path / f"shape{suffix}"
    path.write_text(json.dumps(data) + "\n")
    (skipped,) = load_results([path]).failed
    assert "unknown format" in skipped.reason and str(path) in skipped.reason
