from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analyze.builders import make_result
from tokenergy.errors import ConfigError, IngestError
from tokenergy.load.runlog import read_run_json
from tokenergy.store import ExportFormat, Store, default_home


def test_home_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path))
    assert default_home() == tmp_path
    monkeypatch.delenv("TOKENERGY_HOME")
    assert default_home().name == "tokenergy"


def test_add_query_get_and_idempotence(tmp_path: Path) -> None:
    store = Store(tmp_path)
    assert store.query() == []
    first = store.add(make_result(gpu="H100", power_w=700))
    again = store.add(make_result(gpu="H100", power_w=700))
    store.add(make_result(gpu="B200", power_w=900))
    assert first.added and not again.added and first.id == again.id
    rows = store.query()
    assert sorted(r["gpu"] for r in rows) == ["B200", "H100"]
    assert {r["kind"] for r in rows} == {"ingested"}
    (b200,) = store.query({"gpu": "b200"})
    assert b200["energy_per_token_j"] == pytest.approx(0.9)
    assert store.get(b200["id"][:6]).identity.gpu == "B200"
    with pytest.raises(ConfigError, match="no stored runs match") as caught:
        store.get("zzz")
    assert caught.value.field == "prefix"  # the parameter; `runs show` names its RUN_ID


def test_run_directory_keeps_its_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run1"
    run_dir.mkdir()
    result = make_result()
    (run_dir / "run.json").write_text(result.model_dump_json())
    (run_dir / "requests.jsonl").write_text('{"ok": true}\n')
    stored = Store(tmp_path / "home").add_run_dir(run_dir)
    assert (stored.path / "requests.jsonl").read_text() == '{"ok": true}\n'
    assert read_run_json(stored.path / "run.json") == result
    assert Store(tmp_path / "home").query()[0]["kind"] == "run"


def test_export_formats_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "home")
    with pytest.raises(ConfigError, match="empty"):
        store.export(tmp_path / "x.csv", ExportFormat.CSV)
    store.add(make_result(gpu="H100", power_w=700))
    store.add(make_result(gpu="B200", power_w=900))
    assert store.export(tmp_path / "a.csv", ExportFormat.CSV) == 2
    with (tmp_path / "a.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(float(r["energy_per_token_j"]) for r in rows) == [0.7, 0.9]
    assert store.export(tmp_path / "a.parquet", ExportFormat.PARQUET, {"gpu": "H100"}) == 1
    assert pq.read_table(tmp_path / "a.parquet").column("gpu").to_pylist() == ["H100"]
    store.export(tmp_path / "a.json", ExportFormat.JSON)
    assert len(json.loads((tmp_path / "a.json").read_text())) == 2


def test_bad_run_file_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "run.json"
    bad.write_text('{"identity": {"model": "m"}}')
    with pytest.raises(IngestError, match=r"run\.json: provenance: not a ServingResult"):
        read_run_json(bad)
    bad.write_text("{")
    with pytest.raises(IngestError, match="cannot read run file"):
        read_run_json(bad)


def test_rows_written_with_fewer_columns_still_read(tmp_path: Path) -> None:
    store = Store(tmp_path)
    stored = store.add(make_result(gpu="H100"))
    store.add(make_result(gpu="B200"))
    old = pq.read_table(stored.path / "row.parquet").drop_columns(["workload"])
    pq.write_table(old, stored.path / "row.parquet")  # as an older tokenergy wrote it
    rows = {r["gpu"]: r for r in store.query()}
    assert rows["H100"]["workload"] is None and rows["B200"]["workload"] == "chat"


def _tear(row_file: Path) -> None:
    """What an older version left when killed mid-write: the Parquet file without its footer."""
    data = row_file.read_bytes()
    row_file.write_bytes(data[: len(data) // 2])


def test_a_torn_row_is_skipped_listed_and_repaired_by_adding_again(tmp_path: Path) -> None:
    store = Store(tmp_path)
    good = store.add(make_result(gpu="H100", power_w=700))
    torn = store.add(make_result(gpu="B200", power_w=900))
    _tear(torn.path / "row.parquet")
    assert store.damaged() == [torn.path]
    assert [row["gpu"] for row in store.query()] == ["H100"]  # readable despite the torn row
    assert store.export(tmp_path / "out.csv", ExportFormat.CSV) == 1
    again = store.add(make_result(gpu="B200", power_w=900))
    assert again.added and again.id == torn.id
    assert store.damaged() == []
    assert sorted(row["gpu"] for row in store.query()) == ["B200", "H100"]
    assert not store.add(make_result(gpu="H100", power_w=700)).added
    assert good.path.is_dir()


def test_a_run_directory_without_a_row_file_is_damaged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    stored = store.add(make_result())
    (stored.path / "row.parquet").unlink()
    assert store.damaged() == [stored.path]
    assert store.query() == []
    assert store.add(make_result()).added


def _add_all(home: str, count: int) -> int:
    store = Store(Path(home))
    return sum(store.add(make_result(power_w=100.0 + i)).added for i in range(count))


def test_concurrent_writers_of_the_same_results_count_each_exactly_once(tmp_path: Path) -> None:
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=4) as pool:
        added = list(pool.map(_add_all, [str(tmp_path)] * 4, [40] * 4))
    assert sum(added) == 40
    assert len(Store(tmp_path).query()) == 40
    assert Store(tmp_path).damaged() == []
