"""The spill keeps rows on disk in batches: a rollback drops only the rows since the last
commit, whether they were written yet or still pending, and sorted reads see every row."""

from __future__ import annotations

from typing import Any

import pytest

from tokenergy.ingest import spill
from tokenergy.ingest.checks import Finding, Spellings, Status
from tokenergy.ingest.spill import RowStore

SPELLING = ("m", "m")


def _row(number: int) -> dict[str, Any]:
    return {
        "model": "m",
        "j_per_token": float(number % 4),
        "row": number,
        "status": "pass",
        "checks": [Finding("total_is_sum", Status.PASS, "{0} off", (number,))],
    }


@pytest.mark.parametrize("batch", [1, 3, 256])
def test_rollback_keeps_committed_rows_written_or_pending(
    batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill, "_WRITE_ROWS", batch)
    store = RowStore("j_per_token")
    spellings = Spellings()
    spellings.add(*SPELLING)
    for number in range(5):
        store.append(_row(number), SPELLING)
    store.commit()
    for number in range(5, 12):
        store.append(_row(number), SPELLING)
    store.rollback()  # a file bad half-way
    for number in range(12, 14):
        store.append(_row(number), SPELLING)
    store.commit()
    kept = [*range(5), 12, 13]
    assert len(store) == len(kept)
    assert [r["row"] for r in store.rows(spellings)] == sorted(kept, key=lambda n: n % 4)
    details = {r["row"]: r["checks"][0]["detail"] for r in store.rows(spellings)}
    assert details == {n: f"{n} off" for n in kept}
