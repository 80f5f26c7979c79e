"""Which rows an analysis uses: a ``where`` filter, invalid energy left out unless asked, and the
facts a caller should tell the user (how many were left out, whether bases or boundaries mix).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tokenergy.analyze.table import AnalysisRow, check_columns, filter_rows, to_row
from tokenergy.records import ServingResult


@dataclass(frozen=True)
class Selection:
    """The rows kept, and what the caller should say about them."""

    rows: list[AnalysisRow]
    invalid_left_out: int
    mixed: list[str]  # "basis/boundary" pairs when more than one is present, else empty


def select_rows(
    data: Iterable[ServingResult | AnalysisRow],
    where: Mapping[str, str] | None = None,
    include_invalid: bool = False,
) -> Selection:
    """Rows of results (or rows) matching ``where`` ({column: value}, text, case-insensitive)."""
    all_rows = [item if isinstance(item, AnalysisRow) else to_row(item) for item in data]
    clauses = dict(where or {})
    check_columns(clauses, "where")
    kept = filter_rows(all_rows, clauses)
    invalid = [row for row in kept if row.energy_valid is False]
    if invalid and not include_invalid:
        kept = [row for row in kept if row.energy_valid is not False]
    kinds = sorted({f"{row.basis}/{row.boundary}" for row in kept if row.basis is not None})
    return Selection(kept, 0 if include_invalid else len(invalid), kinds if len(kinds) > 1 else [])


FAMILY_COLUMNS = ("basis", "boundary")


def family_groups(rows: Sequence[AnalysisRow], group_by: tuple[str, ...]) -> tuple[str, ...]:
    """``group_by`` with basis and boundary where they vary across the rows, so a frontier, a
    choice or a comparison never weighs a provisioned facility-boundary figure against a
    measured accelerator-boundary one, or a simulator's watts (basis ``simulated``) against a
    meter's.
    Rows without energy (no basis) do not make the basis vary; among rows that do, they fall in
    a group of their own (basis and boundary empty), counted there as missing the energy."""
    varying = [
        column
        for column in FAMILY_COLUMNS
        if column not in group_by
        and len({value for row in rows if (value := row.get(column)) is not None}) > 1
    ]
    return group_by + tuple(varying)
