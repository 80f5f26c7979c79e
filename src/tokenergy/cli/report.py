"""``tokenergy report``: a self-contained HTML report (index.html), summary.md and report.json.

Without SOURCES it reports on the embedded reference data (ML.ENERGY v3, an InferenceX snapshot)
and the estimator's default settings. Progress goes to stderr, one line per step (``--quiet``:
nothing but errors). The report modules are imported inside the command: they pull in numpy,
the analyses and the estimator, which other commands do not need.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer

from tokenergy.cli.options import GRID_HELP, REGION_HELP, WUE_HELP, grid_option
from tokenergy.cli.render import console, err_console
from tokenergy.cli.sources import INCLUDE_INVALID_OPTION, SOURCES_HELP, ingest_options


class _StepLines:
    """One stderr line per step, with the time since the start (works in and out of terminals)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int | None, step: str) -> None:
        count = f"{done + 1}/{total}" if total else f"{done + 1}"
        elapsed = time.perf_counter() - self.start
        err_console.print(
            f"report [{count}] {elapsed:4.1f} s  {step}", highlight=False, markup=False
        )


def report_command(
    sources: list[Path] = typer.Argument(
        None, help=SOURCES_HELP.replace("(default: the store)", "(default: embedded data)")
    ),
    out: Path = typer.Option(Path("report"), "--out", help="Directory to write."),
    png: bool = typer.Option(False, "--png", help="Also write every figure as PNG (slower)."),
    estimate: bool = typer.Option(
        True, "--estimate/--no-estimate", help="Include the estimator's default distributions."
    ),
    basis: str | None = typer.Option(
        None, "--basis", help="Power basis for results without energy: tdp|allin."
    ),
    power_per_gpu: str | None = typer.Option(
        None, "--power-per-gpu", help="Stated power per GPU for results without energy."
    ),
    sensitivity: bool = typer.Option(
        False,
        "--sensitivity",
        help="Add the Sobol sensitivity of the estimate (SALib; ~4 s more).",
    ),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
    include_invalid: bool = INCLUDE_INVALID_OPTION,
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No progress or findings; errors only."
    ),
) -> None:
    """Write OUT/index.html (energy per query first), OUT/summary.md and OUT/report.json.

    The page shows tables, charts and the methodology with no network needed to view it."""
    from tokenergy.report.build import make_report
    from tokenergy.report.numbers import sig

    report, files = make_report(
        sources or [],
        out,
        options=ingest_options(basis, power_per_gpu),
        estimate=estimate,
        sensitivity=sensitivity,
        png=png,
        include_invalid=include_invalid,
        grid=grid_option(grid, region, wue),
        progress=None if quiet else _StepLines(),
    )
    if quiet:
        return
    console.print("wrote " + ", ".join(str(path) for path in files), highlight=False, markup=False)
    if report.headline is not None:
        for query in report.headline.classes:
            for figure in query.figures:
                console.print(
                    f"{query.name}: {sig(figure.wh_per_query)} Wh per query "
                    f"({figure.boundary} boundary, {figure.basis})"
                    + (
                        f", {sig(figure.gco2e_per_query)} gCO2e"
                        if figure.gco2e_per_query is not None
                        else ""
                    )
                    + f" — {figure.source}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
    for section in report.sections:
        for line in section.headline:
            console.print(f"{section.title}: {line}", highlight=False, markup=False, soft_wrap=True)
