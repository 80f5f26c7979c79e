"""``tokenergy ingest`` holds its rows in memory up to a budget (spill.MEMORY_BYTES) and moves
them to a temporary file beyond it: every output, sorted, ``--top`` and with a file rolled back
half-way, is the same byte for byte wherever the rows were when it was written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from inprocess import run_cli

from tokenergy.ingest import spill

# bytes held before the move: none; ~170 CSV lines (the move comes among the bad file's rows,
# which are rolled back: the first file has 150) or ~100 RowStore rows (among the first file's);
# ~340 CSV lines (among the second file's) or ~200 RowStore rows (among the bad file's)
BUDGETS = [0, 1 << 17, 1 << 18]


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "csv"),
        ("--format", "csv", "--top", "2", "--sort", "wh_per_query_nominal", "--descending"),
        ("--format", "csv", "--sort", "status"),
        ("--format", "json", "--top", "3", "--sort", "mean_intvty_tok_s"),
        ("--format", "table", "--top", "1"),
    ],
)
def test_outputs_are_the_same_held_or_on_disk(
    args: tuple[str, ...], shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = (
        shared_data / f"inferencex/agg/run_{n}.json" for n in (20218553330, 20356790608)
    )
    rows = json.loads(first.read_text())
    rows[-1]["tput_per_gpu"] = "oops"  # its file is rolled back after the rows before it
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows))
    paths = [first, bad, second]

    def output(name: str) -> str:
        out = tmp_path / name
        done = run_cli("ingest", *paths, "--basis", "allin", *args, "--out", out, "--quiet")
        assert done.returncode == 2 and "bad.json: row" in done.stderr
        return out.read_text()

    moves: list[int] = []  # rows before each move to disk
    real_move = spill.Spill._to_disk

    def move(store: spill.Spill) -> None:
        moves.append(len(store))
        real_move(store)

    monkeypatch.setattr(spill.Spill, "_to_disk", move)
    held = output("held")
    assert not moves  # the default budget holds every row
    for budget in BUDGETS:
        monkeypatch.setattr(spill, "MEMORY_BYTES", budget)
        assert output(f"budget{budget}") == held
    assert moves[0] == 0 and any(150 < rows < 300 for rows in moves)
