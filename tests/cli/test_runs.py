"""``tokenergy runs``: a store and a run directory written before one row vocabulary (main
6b1e0f4, tests/data/store_6b1e0f4) still list, show and export, now under today's names."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from inprocess import run_cli
from rich.cells import cell_len

from tokenergy.cli import render
from tokenergy.load.runlog import RUN_FILE, read_run_json
from tokenergy.measure.observer import figures
from tokenergy.records import LEGACY_ROW_KEYS

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "store_6b1e0f4"
IDS = ("598da8980b8d", "47911ad7fba6")  # a metered bench run on the simulator; an ingested row


def _runs(home: Path, *args: str) -> Any:
    done = run_cli("runs", *args, env={**os.environ, "TOKENERGY_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURE / "home", home)
    return home


def test_an_old_store_lists_as_it_did(old_home: Path) -> None:
    listed = json.loads(_runs(old_home, "list", "--json").stdout)
    assert listed == json.loads((FIXTURE / "runs_list.json").read_text())
    assert [row["id"] for row in listed] == list(IDS)
    assert {row["gpu"] for row in listed} == {"H100"} and not set(LEGACY_ROW_KEYS) & set(listed[0])


@pytest.mark.parametrize("run_id", IDS)
def test_an_old_store_shows_every_figure_under_todays_name(old_home: Path, run_id: str) -> None:
    shown = json.loads(_runs(old_home, "show", run_id).stdout)
    before = json.loads((FIXTURE / f"runs_show_{run_id}.json").read_text())
    assert shown["result"] == before["result"]
    derived = shown["derived"]
    assert not set(LEGACY_ROW_KEYS) & set(derived)
    renamed = {LEGACY_ROW_KEYS.get(key, key): value for key, value in before["derived"].items()}
    (row,) = [r for r in json.loads(_runs(old_home, "list", "--json").stdout) if r["id"] == run_id]
    # runs show says what runs list lists, and every figure it showed before, renamed; a bench
    # result's GPU is the one its meter read (runs list said so before, runs show said None)
    assert {key: derived[key] for key in row if key in derived} == {
        key: value for key, value in row.items() if key in derived
    }
    metered = {"gpu", "num_gpus"} if renamed["gpu"] is None else set()
    assert {k: v for k, v in derived.items() if k in renamed and k not in metered} == {
        k: v for k, v in renamed.items() if k not in metered
    }
    assert derived["gpu"] == "H100" and set(renamed) <= set(derived)


def test_an_old_store_exports_todays_names(old_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    _runs(old_home, "export", "--out", str(out))
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["id"] for r in rows] == list(IDS)
    assert {"gpu", "engine", "num_gpus", "batch_cap", "energy_per_token_j"} <= set(rows[0])
    assert not set(LEGACY_ROW_KEYS) & set(rows[0])
    assert rows[1]["batch_cap"] == "8" and rows[1]["engine"] == "vllm"


def test_an_old_bench_run_directory_is_stored_and_shown_with_todays_names(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE / "run", run)
    home = tmp_path / "home"
    assert "stored 1 new of 1" in _runs(home, "add", str(run)).stdout
    (run_id,) = IDS[:1]
    derived = json.loads(_runs(home, "show", run_id).stdout)["derived"]
    old = json.loads((run / RUN_FILE).read_text())["summary"]  # bench's summary, old keys
    assert derived["energy_per_token_j"] == old["j_per_output_token"]
    assert derived["power_w"] == old["avg_power_w"] and derived["batch_cap"] == 4
    # every key today's bench summary has is an old key or its new name: nothing was dropped
    today = figures(read_run_json(run / RUN_FILE))
    renamed = {LEGACY_ROW_KEYS.get(key, key): value for key, value in old.items()}
    # new since: the time base of the powers (issue 14 item 14); an old record's is the wall's
    added = {"power_time_base": "wall", "power_duration_s": None}
    assert {key: today.pop(key) for key in added} == added
    assert {key: renamed[key] for key in today} == today


@pytest.mark.parametrize("width", [80, 200])
def test_runs_list_fits_the_terminal(
    old_home: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    """Columns are left out (and named) or text wrapped, never a number or an id cut."""
    monkeypatch.setattr(render.console, "width", width)
    text = _runs(old_home, "list").stdout
    assert max(cell_len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    for whole in (*IDS, "0.7979", "14", "H100", "simulated,", "nameplate,"):
        assert whole in text, whole
    if width == 200:
        assert all(v in text for v in ("32/64", "1024/1024", "0.01862", "3.584", "6.976"))
        assert "not shown" not in text
    else:
        assert "not shown for width: workload, GPUs, batch cap" in " ".join(text.split())
