"""Options shared by the analysis commands: SOURCES, --where, and the power basis for foreign files.

Without SOURCES the analyses read the store; foreign files go through the ingest adapters.
The readers (the store's duckdb and pyarrow, the run-directory reader's aiohttp) are imported
when rows are loaded: commands that only share these options (``report``) do not pay for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tokenergy.api import ingest_options as stated_ingest_options
from tokenergy.cli.flags import as_flags
from tokenergy.cli.options import POWER_FLAGS
from tokenergy.cli.render import warn
from tokenergy.errors import ConfigError
from tokenergy.ingest import IngestOptions

if TYPE_CHECKING:
    from tokenergy.analyze.table import AnalysisRow
    from tokenergy.store import Store

SOURCES_HELP = (
    "Run directories, tokenergy result JSON, or files that `tokenergy ingest` reads "
    "(default: the store)."
)
WHERE_HELP = "Keep rows with COLUMN=VALUE (repeatable), e.g. gpu=B200."


def ingest_options(basis: str | None, power_per_gpu: str | None) -> IngestOptions:
    """Power basis for foreign results that carry no energy (measured energy always wins)."""
    with as_flags(POWER_FLAGS):
        return stated_ingest_options(basis, power_per_gpu)


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
    families_apart: bool = True,
) -> list[AnalysisRow]:
    """Rows of the given sources, else of the store; then --where; invalid energy left out.
    ``families_apart``: the analysis groups each basis/boundary apart (the warning says so)."""
    from tokenergy.analyze.select import select_rows
    from tokenergy.analyze.sources import load_sources
    from tokenergy.analyze.table import parse_where
    from tokenergy.store import Store

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
    with as_flags({"where": "--where"}):
        selection = select_rows(results, parse_where(where), include_invalid)
    if selection.invalid_left_out:
        warn(
            f"left out {selection.invalid_left_out} result(s) with invalid energy "
            "(--include-invalid keeps them)"
        )
    if selection.mixed:
        warn(
            f"these results mix power bases/boundaries ({', '.join(selection.mixed)}); "
            + (
                "each is its own group (--where basis=measured keeps one)"
                if families_apart
                else "compared across them as asked"
            )
        )
    return selection.rows
