"""Bad input: every malformed file is one IngestError naming file and field, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.power import GpuBasis, PowerSpec

ROW: dict[str, Any] = {
    "hw": "h100",
    "conc": 8,
    "model": "m",
    "infmax_model_prefix": "m",
    "framework": "vllm",
    "precision": "fp8",
    "isl": 1024,
    "osl": 1024,
    "tp": 8,
    "ep": 1,
    "dp_attention": "false",
    "tput_per_gpu": 100.0,
    "input_tput_per_gpu": 50.0,
    "output_tput_per_gpu": 50.0,
    "mean_e2el": 5.0,
    "mean_tpot": 0.01,
    "mean_intvty": 100.0,
}
RAW: dict[str, Any] = {
    "num_prompts": 10,
    "duration": 10.0,
    "completed": 10,
    "total_input_tokens": 1000,
    "total_output_tokens": 1000,
    "max_concurrency": 2,
    "mean_e2el_ms": 2000.0,
}


def _error(tmp_path: Path, text: str, name: str = "bad.json") -> IngestError:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(IngestError) as caught:
        load_results([path], keep_going=False)
    return caught.value


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (json.dumps([ROW])[:-40], "json"),  # truncated
        (json.dumps([{**ROW, "tput_per_gpu": "fast"}]), "row 0 tput_per_gpu"),  # wrong type
        (json.dumps([{**ROW, "tp": 8.5}]), "row 0 tp"),
        (json.dumps([ROW, {**ROW, "isl": -1}]), "row 1 isl"),  # negative
        (json.dumps([{**ROW, "mean_e2el": float("nan")}]), "row 0 mean_e2el"),  # NaN literal
        (json.dumps([{**ROW, "dp_attention": "maybe"}]), "row 0 dp_attention"),
        (json.dumps([ROW, 7]), "row 1"),  # a row that is not an object
        (json.dumps({**RAW, "completed": 11}), "completed"),
        (json.dumps({**RAW, "duration": 0}), "duration"),
        (json.dumps({**RAW, "output_lens": []}), "output_lens"),  # empty per-request array
        (json.dumps({"task": "x", "configurations": {"a": 1}}), "configurations"),
    ],
)
def test_malformed_files_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    error = _error(tmp_path, text)
    assert error.file is not None and error.file.endswith("bad.json")
    assert error.field == field, str(error)
    assert "\n" not in str(error)


def test_unknown_format_and_empty_file(tmp_path: Path) -> None:
    assert "unknown format" in str(_error(tmp_path, '{"hello": 1}'))
    assert "unknown format" in str(_error(tmp_path, "a,b\n1,2\n", "t.csv"))
    assert "empty file" in str(_error(tmp_path, ""))


def test_empty_top_level_array_is_a_benign_skip(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text("[]")
    ingested = load_results([path])
    assert ingested.results == [] and ingested.failed == []
    assert ingested.skipped[0].reason == "empty array: no rows"


def test_keep_going_ingests_the_good_files(tmp_path: Path) -> None:
    (tmp_path / "a_bad.json").write_text("{")
    (tmp_path / "b_good.json").write_text(json.dumps([ROW]))
    ingested = load_results([tmp_path])
    assert len(ingested.results) == 1
    assert [s.name.endswith("a_bad.json") for s in ingested.failed] == [True]


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(), st.none()),
)


@settings(max_examples=150, deadline=None)
@given(
    template=st.sampled_from([ROW, RAW]),
    key=st.sampled_from(sorted(set(ROW) | set(RAW))),
    value=_VALUES,
    drop=st.booleans(),
)
def test_any_mutation_ingests_or_fails_cleanly(
    tmp_path_factory: pytest.TempPathFactory,
    template: dict[str, Any],
    key: str,
    value: Any,
    drop: bool,
) -> None:
    record = dict(template)
    if drop:
        record.pop(key, None)
    else:
        record[key] = value
    path = tmp_path_factory.mktemp("fuzz") / "r.json"
    path.write_text(json.dumps([record] if template is ROW else record))
    options = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN), gpu="H100", gpus=8)
    try:
        ingested = load_results([path], options, keep_going=False)
    except IngestError as error:
        assert error.file == str(path)
        return
    for result in ingested.results:
        assert result.throughput.total_tok_s is None or result.throughput.total_tok_s >= 0
