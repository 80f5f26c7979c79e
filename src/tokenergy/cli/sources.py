"""Options shared by the analysis commands: SOURCES, --where, and the power basis for foreign files.

Without SOURCES the analyses read the store; foreign files go through the ingest adapters.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tokenergy.analyze.sources import load_sources
from tokenergy.analyze.table import AnalysisRow, filter_rows, parse_where, to_rows
from tokenergy.cli.options import power_spec
from tokenergy.cli.render import warn
from tokenergy.errors import ConfigError
from tokenergy.ingest import IngestOptions
from tokenergy.store import Store

SOURCES_HELP = (
    "Run directories, tokenergy result JSON, or files that `tokenergy ingest` reads "
    "(default: the store)."
)
WHERE_HELP = "Keep rows with COLUMN=VALUE (repeatable), e.g. gpu=B200."


def ingest_options(basis: str | None, power_per_gpu: str | None) -> IngestOptions:
    """Power basis for foreign results that carry no energy (measured energy always wins)."""
    if basis is None and power_per_gpu is None:
        return IngestOptions()
    spec = power_spec(
        power=None,
        power_per_gpu=power_per_gpu,
        basis=basis,
        boundary=None,
        host_overhead=None,
        pue=None,
    )
    return IngestOptions(power=spec)


BASIS_OPTION = typer.Option(
    None, "--basis", help="Power basis for foreign results without energy: tdp|allin."
)
INCLUDE_INVALID_OPTION = typer.Option(
    False, "--include-invalid", help="Keep results whose energy the meters marked invalid."
)
POWER_PER_GPU_OPTION = typer.Option(
    None, "--power-per-gpu", help="Stated power per GPU for foreign results without energy."
)


def warn_damaged(store: Store) -> None:
    """One line per run whose row file is unreadable: skipped, and how to repair it."""
    for run in store.damaged():
        warn(f"skipped damaged stored run {run} (unreadable row.parquet); add it again to repair")


def load_rows(
    sources: list[Path] | None,
    where: list[str],
    basis: str | None = None,
    power_per_gpu: str | None = None,
    include_invalid: bool = False,
) -> list[AnalysisRow]:
    """Rows of the given sources, else of the store; then --where; invalid energy left out."""
    options = ingest_options(basis, power_per_gpu)
    if sources:
        results = load_sources(sources, options)
    else:
        store = Store()
        warn_damaged(store)
        results = store.results()
    if not results:
        raise ConfigError(
            f"no sources given and the store at {Store().home} is empty", field="SOURCES"
        )
    rows = filter_rows(to_rows(results), parse_where(where))
    invalid = [row for row in rows if row.energy_valid is False]
    if invalid and not include_invalid:
        warn(
            f"left out {len(invalid)} result(s) with invalid energy (--include-invalid keeps them)"
        )
        rows = [row for row in rows if row.energy_valid is not False]
    kinds = sorted({f"{row.basis}/{row.boundary}" for row in rows if row.basis is not None})
    if len(kinds) > 1:
        warn(
            f"these results mix power bases/boundaries ({', '.join(kinds)}); compare like with "
            "like, e.g. --where basis=measured"
        )
    return rows
