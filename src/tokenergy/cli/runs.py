"""``tokenergy runs add|list|show|export``: the results store from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from tokenergy.analyze.sources import load_sources
from tokenergy.analyze.table import parse_where, row_with_summary
from tokenergy.cli.flags import as_flags, flag_of
from tokenergy.cli.paths import write_via_temp
from tokenergy.cli.render import Column, console, fitted_table, fmt, print_json, warn
from tokenergy.cli.sources import (
    BASIS_OPTION,
    POWER_PER_GPU_OPTION,
    SOURCES_HELP,
    WHERE_HELP,
    ingest_options,
    warn_damaged,
)
from tokenergy.cli.work_progress import (
    PROGRESS_EVERY_OPTION,
    QUIET_OPTION,
    WorkProgress,
    check_interval,
)
from tokenergy.errors import TokenergyError
from tokenergy.ingest import IngestOptions
from tokenergy.load.runlog import find_run_dirs
from tokenergy.progress import Progress, ProgressCallback
from tokenergy.records import ServingResult
from tokenergy.store import ExportFormat, Store, StoredRun

runs_app = typer.Typer(
    help="The results store: list, show and export stored results.", no_args_is_help=True
)


# `runs list` columns; when the terminal is narrow the highest drop rank goes first
_LIST_COLUMNS = (
    Column("id", numeric=True),  # an id is copied whole: never wrapped
    Column("model"),
    Column("workload", drop=6),
    Column("GPU"),
    Column("GPUs", "right", numeric=True, drop=5),
    Column("batch\ncap", "right", numeric=True, drop=4),
    Column("J per\noutput token", "right", numeric=True),
    Column("Wh/query", "right", numeric=True, drop=2),
    Column("median\nITL ms", "right", numeric=True, drop=3),
    Column("basis, boundary"),
)


def _list_cells(row: dict[str, Any]) -> list[str]:
    """One stored row as the cells of :data:`_LIST_COLUMNS`."""
    itl_s = row["median_itl_s"]
    return [
        row["id"],
        str(row["model"]).split("/")[-1],
        row["workload"] or "—",
        row["gpu"] or "—",
        fmt(row["num_gpus"]),
        fmt(row["batch_cap"]),
        fmt(row["energy_per_token_j"]),
        fmt(row["wh_per_query"]),
        fmt(None if itl_s is None else itl_s * 1000),
        f"{row['basis']}, {row['boundary']}" if row["basis"] else "—",
    ]


@runs_app.command("add")
def runs_add(
    sources: list[Path] = typer.Argument(
        ..., help=SOURCES_HELP.replace(" (default: the store)", "")
    ),
    basis: str | None = BASIS_OPTION,
    power_per_gpu: str | None = POWER_PER_GPU_OPTION,
    quiet: bool = QUIET_OPTION,
    progress_every: float = PROGRESS_EVERY_OPTION,
) -> None:
    """Add results to the store (run directories keep requests.jsonl and timelines).

    A source that cannot be read (an empty array, a malformed file) is skipped with a warning;
    the others are still stored, and the exit code is 2.
    """
    check_interval(progress_every)
    store = Store()
    options = ingest_options(basis, power_per_gpu)
    added = 0
    total = 0
    skipped = 0
    for source in sources:
        try:
            with WorkProgress(f"runs add {source}", quiet=quiet, every_s=progress_every) as shown:
                stored = _add_source(store, source, options, shown)
        except TokenergyError as error:
            warn(f"skipped {source}: {flag_of(error)}")
            skipped += 1
            continue
        added += sum(s.added for s in stored)
        total += len(stored)
    console.print(f"stored {added} new of {total} results in {store.home}")
    if skipped:
        warn(f"{skipped} of {len(sources)} source(s) skipped")
        raise typer.Exit(2)


def _add_source(
    store: Store, source: Path, options: IngestOptions, progress: ProgressCallback
) -> list[StoredRun]:
    """Run directories whole, anything else through the loaders; told as files are read and
    as results are stored (the store's writes are the slow part)."""
    runs = find_run_dirs(source) if source.is_dir() else []
    if runs:
        items: list[Path | ServingResult] = list(runs)
        unit = "runs stored"
    else:
        items = list(load_sources([source], options, progress))
        unit = "results stored"
    stored = []
    for item in items:
        stored.append(store.add_run_dir(item) if isinstance(item, Path) else store.add(item))
        progress(Progress(len(stored), len(items), unit))
    return stored


@runs_app.command("list")
def runs_list(
    where: list[str] = typer.Option([], "--where", help=WHERE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the index rows as JSON."),
) -> None:
    """List stored results (one row each)."""
    store = Store()
    warn_damaged(store)
    rows = store.query(parse_where(where))
    if as_json:
        print_json(rows)
        return
    title = f"{len(rows)} stored results in {store.home}"
    console.print(fitted_table(_LIST_COLUMNS, [_list_cells(row) for row in rows], title=title))


@runs_app.command("show")
def runs_show(
    run_id: str = typer.Argument(..., help="A stored id or a unique prefix of one."),
) -> None:
    """Print one stored result as JSON (the ServingResult plus its derived figures)."""
    with as_flags({"prefix": "RUN_ID"}):
        result = Store().get(run_id)
    print_json({"result": result.model_dump(mode="json"), "derived": row_with_summary(result)})


@runs_app.command("export")
def runs_export(
    out: Path = typer.Option(..., "--out", help="File to write."),
    format_: ExportFormat = typer.Option(
        ExportFormat.CSV, "--format", help="csv, parquet or json."
    ),
    where: list[str] = typer.Option([], "--where", help=WHERE_HELP),
) -> None:
    """Export the store's index rows (analysis columns) to CSV, Parquet or JSON."""
    store = Store()
    warn_damaged(store)
    filters = parse_where(where)
    counted: list[int] = []
    write_via_temp(
        out, "--out", lambda staged: counted.append(store.export(staged, format_, filters))
    )
    console.print(f"wrote {counted[0]} rows to {out}")
