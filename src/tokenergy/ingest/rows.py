"""The flat analyst row of one ingested result (table, CSV, JSON, Parquet all use it)."""

from __future__ import annotations

from typing import Any

from tokenergy import units
from tokenergy.ingest.checks import Finding, worst
from tokenergy.records import ServingResult


def measured_wh_per_query(result: ServingResult) -> float | None:
    """Wh per completed query from counts, else as the source states it (energy per request)."""
    if result.wh_per_query_measured is not None:
        return result.wh_per_query_measured
    stated = result.extras.get("energy_per_query_j")
    if isinstance(stated, int | float) and result.energy is not None:
        return units.j_to_wh(stated)
    return None


def summary_row(result: ServingResult, findings: list[Finding]) -> dict[str, Any]:
    """ServingResult.summary() plus ingest-specific columns and the check findings."""
    row = result.summary()
    ident, work = result.identity, result.workload
    lengths = work.benchmarked_lengths()
    row.update(
        {
            "model_name": ident.model_name,
            "dp_attention": ident.dp_attention,
            "spec_decoding": ident.spec_decoding,
            "task": work.task,
            "mean_input_len": lengths[0] if lengths else None,
            "mean_output_len": lengths[1] if lengths else (work.mean_output_len),
            "sampler": work.sampler.value,
            "range_ratio": work.range_ratio,
            "achieved_conc": work.achieved_concurrency,
            "attempted": result.counts.attempted,
            "wh_per_query_measured": measured_wh_per_query(result),
            "method": result.energy.method if result.energy else None,
            "format": result.provenance.source_format,
            "status": worst(findings).value,
            "checks": [finding.to_dict() for finding in findings],
        }
    )
    return row
