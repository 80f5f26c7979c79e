"""The flat analyst row of one ingested result (table, CSV, JSON, Parquet all use it)."""

from __future__ import annotations

from typing import Any

from tokenergy import units
from tokenergy.footprint import Grid, footprint_figures, pue_of
from tokenergy.ingest.checks import STATUS_TEXT, Finding, worst
from tokenergy.records import ServingResult


def measured_wh_per_query(result: ServingResult) -> float | None:
    """Wh per completed query from counts, else as the source states it (energy per request)."""
    from_counts = result.wh_per_query_measured
    return stated_wh_per_query(result) if from_counts is None else from_counts


def stated_wh_per_query(result: ServingResult) -> float | None:
    """Wh per query as the source states it (energy per request), None if it does not."""
    stated = result.extras.get("energy_per_query_j")
    if isinstance(stated, (int, float)) and result.energy is not None:
        return units.j_to_wh(stated)
    return None


def summary_row(result: ServingResult, findings: list[Finding]) -> dict[str, Any]:
    """ServingResult.summary() plus ingest-specific columns and the check findings (the same
    row vocabulary: docs/architecture.md, "Row vocabulary")."""
    row = checked_row(result, findings)
    row["checks"] = [finding.to_dict() for finding in findings]
    return row


def checked_row(result: ServingResult, findings: list[Finding]) -> dict[str, Any]:
    """:func:`summary_row` with the findings themselves under ``checks``: their details are
    formatted only by an output that shows them (the CLI spills these rows to disk)."""
    ident, work, energy = result.identity, result.workload, result.energy
    lengths = work.benchmarked_lengths()
    row = result.summary_with(lengths)
    if row["wh_per_query_measured"] is None:  # summary() has it from counts; else as stated
        row["wh_per_query_measured"] = stated_wh_per_query(result)
    # key by key: row.update({...}) would build a second dict of them first (0.4 µs per row)
    row["model_name"] = ident.model_name
    row["dp_attention"] = ident.dp_attention
    row["spec_decoding"] = ident.spec_decoding
    row["task"] = work.task
    row["avg_input_len"] = lengths[0] if lengths else None
    row["avg_output_len"] = lengths[1] if lengths else work.mean_output_len
    row["sampler"] = str(work.sampler)  # a StrEnum's value, without the .value descriptor
    row["range_ratio"] = work.range_ratio
    row["achieved_concurrency"] = work.achieved_concurrency
    row["attempted"] = result.counts.attempted
    row["method"] = energy.method if energy else None
    row["format"] = result.provenance.source_format
    row["status"] = STATUS_TEXT[worst(findings)]
    row["checks"] = findings
    return row


def with_footprint(row: dict[str, Any], result: ServingResult, grid: Grid) -> dict[str, Any]:
    """The row plus its carbon and water (methodology §12): per query from the measured Wh/query,
    else the benchmarked, else the nominal one (``carbon_per_query_from`` says which); per million
    tokens from kWh/Mtok; per day of operation at the row's power."""
    source, wh = next(
        (
            (name, row[key])
            for name, key in (
                ("measured", "wh_per_query_measured"),
                ("benchmarked", "wh_per_query_benchmarked"),
                ("nominal", "wh_per_query_nominal"),
            )
            if row.get(key) is not None
        ),
        (None, None),
    )
    energy = result.energy
    figures = footprint_figures(
        grid,
        wh_per_query=wh,
        kwh_per_mtok=row.get("kwh_per_mtok"),
        power_w=row.get("power_w"),
        boundary=energy.boundary if energy else None,
        basis=energy.basis if energy else None,
        pue=pue_of(energy.steps) if energy else None,
    )
    return {**row, **figures, "carbon_per_query_from": source}
