"""The spill holds rows in memory up to a budget, then on disk in batches: a rollback drops only
the rows since the last commit, whether held, written or still pending, and sorted reads see
every row."""

from __future__ import annotations

from typing import Any

import pytest

from tokenergy.ingest import spill
from tokenergy.ingest.checks import Finding, Spellings, Status
from tokenergy.ingest.spill import FileWarnings, RowStore

SPELLING = ("m", "m")


def _row(number: int) -> dict[str, Any]:
    return {
        "model": "m",
        "j_per_token": float(number % 4),
        "row": number,
        "status": "pass",
        "checks": [Finding("total_is_sum", Status.PASS, "{0} off", (number,))],
    }


def _rows_0_to_11_with_5_to_11_rolled_back() -> tuple[RowStore, Spellings]:
    """A store of rows 0–4 committed and rows 5–11 rolled back (a file bad half-way)."""
    store = RowStore("j_per_token")
    spellings = Spellings()
    spellings.add(*SPELLING)
    for number in range(5):
        store.append(_row(number), SPELLING)
    store.commit()
    for number in range(5, 12):
        store.append(_row(number), SPELLING)
    store.rollback()
    return store, spellings


@pytest.mark.parametrize("batch", [1, 3, 256])
def test_rollback_keeps_committed_rows_written_or_pending(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "_WRITE_ROWS", batch)
    store, spellings = _rows_0_to_11_with_5_to_11_rolled_back()
    for number in range(12, 14):
        store.append(_row(number), SPELLING)
    store.commit()
    kept = [*range(5), 12, 13]
    assert len(store) == len(kept)
    assert [r["row"] for r in store.rows(spellings)] == sorted(kept, key=lambda n: n % 4)
    details = {r["row"]: r["checks"][0]["detail"] for r in store.rows(spellings)}
    assert details == {n: f"{n} off" for n in kept}


@pytest.mark.parametrize(
    ("held_rows", "on_disk"),
    [
        (None, False),  # every row held in memory
        (0, True),  # every row on disk from the first
        (3.5, True),  # moved to disk among the committed rows (the 4th)
        (7.5, True),  # moved to disk among the rows rolled back (the 8th)
    ],
)
def test_rows_held_in_memory_then_on_disk_read_back_alike(
    held_rows: float | None, on_disk: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows held in memory up to MEMORY_BYTES then moved to the spill file: the rows before and
    after the move, a rollback across it and the sorted order are as with every row in one
    place."""
    monkeypatch.setattr(spill, "_WRITE_ROWS", 3)
    row_bytes = RowStore().encode(_row(0))[1]
    budget = 1 << 40 if held_rows is None else int(held_rows * row_bytes)
    monkeypatch.setattr(spill, "MEMORY_BYTES", budget)
    store, spellings = _rows_0_to_11_with_5_to_11_rolled_back()
    for number in range(12, 14):
        store.append(_row(number), SPELLING)
    store.commit()
    assert store.on_disk is on_disk
    kept = [*range(5), 12, 13]
    ordered = sorted(kept, key=lambda n: n % 4)
    assert [r["row"] for r in store.rows(spellings)] == ordered
    assert [r["row"] for r in store.rows(spellings)] == ordered  # a held row is read again
    descending = sorted(kept, key=lambda n: n % 4, reverse=True)
    assert [r["row"] for r in store.rows(spellings, descending=True)] == descending
    details = {r["row"]: r["checks"][0]["detail"] for r in store.rows(spellings)}
    assert details == {n: f"{n} off" for n in kept}
    in_order = RowStore()
    for number in kept:
        in_order.append(_row(number), SPELLING)
    assert [r["row"] for r in in_order.rows(spellings)] == kept


def test_rolling_back_every_held_row_forgets_the_sortable_keys() -> None:
    store = RowStore("j_per_token")
    store.append(_row(0), SPELLING)
    store.rollback()
    assert len(store) == 0 and store.sortable is None and not store.on_disk
    assert list(store.rows(Spellings())) == []


def _warning_row(source: str, warned: list[str], number: int) -> dict[str, Any]:
    checks = [Finding(name, Status.WARN, "{0} off", (number,)) for name in warned]
    return {"source": source, "checks": [*checks, Finding("ok", Status.PASS, "fine")]}


def test_file_warnings_across_commits_and_a_rollback() -> None:
    """A source's rows in two commits share only what both share, rolled back rows narrow
    nothing, and the first row's detail is the one shown."""
    warnings = FileWarnings()
    spellings = Spellings()
    spellings.add(*SPELLING)
    warnings.add(_warning_row("a", ["x", "y", "z"], 1), SPELLING)
    warnings.add(_warning_row("a", ["x", "y"], 2), SPELLING)
    warnings.add(_warning_row("b", ["x"], 3), SPELLING)
    warnings.commit()
    warnings.add(_warning_row("a", ["x"], 4), SPELLING)  # would leave only x
    warnings.add(_warning_row("c", ["x"], 5), SPELLING)
    warnings.add(_warning_row("c", ["x"], 6), SPELLING)
    warnings.rollback()
    warnings.add(_warning_row("a", ["y", "x"], 7), SPELLING)
    warnings.add(_warning_row("b", [], 8), SPELLING)
    warnings.commit()
    assert warnings.counts == {"a": 3, "b": 2}
    assert warnings.wide(spellings) == {"a": {"x": "1 off", "y": "1 off"}}
