"""Converting published benchmark results into J/token and Wh/query, with sanity checks.

Stable API for other parts (analysis, report)::

    from tokenergy.ingest import IngestOptions, load_results
    ingested = load_results(paths, IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN)))
    ingested.results    # list[ServingResult], absolute deployment rates, energy with basis
    ingested.checks     # list[list[Finding]] aligned with results
    run_checks(results, options)  # the same findings for results of your own (a function of
    # CHECKS takes result, options and result.workload.benchmarked_lengths())
    ingested.skipped    # list[SkippedFile(name, reason, failed)]
    ingest_into(sink, paths, options)  # constant memory: sink.add(result, findings) per row
    summary_row(result, findings)  # the flat analyst row used by `tokenergy ingest --json`
    with_footprint(row, result, grid)  # + gCO2e/litres (tokenergy.footprint.region_grid("DE"))

The names are loaded on first use (PEP 562): importing a submodule such as
``tokenergy.ingest.common`` does not import every adapter (and yaml) with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenergy.ingest.checks import CHECKS, Finding, SharedFinding, Status, run_checks, worst
    from tokenergy.ingest.loader import (
        Ingestion,
        IngestResult,
        ResultSink,
        ingest_into,
        load_results,
        read_document,
    )
    from tokenergy.ingest.options import IngestOptions
    from tokenergy.ingest.registry import ADAPTERS
    from tokenergy.ingest.rows import measured_wh_per_query, summary_row, with_footprint
    from tokenergy.ingest.sources import SkippedFile

_MODULES = {
    "CHECKS": "checks",
    "Finding": "checks",
    "SharedFinding": "checks",
    "Status": "checks",
    "run_checks": "checks",
    "worst": "checks",
    "Ingestion": "loader",
    "IngestResult": "loader",
    "ResultSink": "loader",
    "ingest_into": "loader",
    "load_results": "loader",
    "read_document": "loader",
    "IngestOptions": "options",
    "ADAPTERS": "detect",  # detect imports every adapter, which registers itself
    "measured_wh_per_query": "rows",
    "summary_row": "rows",
    "with_footprint": "rows",
    "SkippedFile": "sources",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ADAPTERS",
    "CHECKS",
    "Finding",
    "IngestOptions",
    "IngestResult",
    "Ingestion",
    "ResultSink",
    "SharedFinding",
    "SkippedFile",
    "Status",
    "ingest_into",
    "load_results",
    "measured_wh_per_query",
    "read_document",
    "run_checks",
    "summary_row",
    "with_footprint",
    "worst",
]
