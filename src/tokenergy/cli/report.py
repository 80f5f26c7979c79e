"""``tokenergy report``: a self-contained HTML report (index.html) and summary.md.

Without SOURCES it reports on the embedded reference data (ML.ENERGY v3, an InferenceX snapshot)
and the estimator's default settings.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tokenergy.analyze.sources import load_sources
from tokenergy.cli.render import console, styled
from tokenergy.cli.sources import INCLUDE_INVALID_OPTION, SOURCES_HELP, ingest_options
from tokenergy.load.runlog import find_run_dirs
from tokenergy.report.build import Family, build_report, families_of
from tokenergy.report.estimates import estimate_section
from tokenergy.report.html import write_report
from tokenergy.report.reference import reference_sets


def report_command(
    sources: list[Path] = typer.Argument(
        None, help=SOURCES_HELP.replace("(default: the store)", "(default: embedded data)")
    ),
    out: Path = typer.Option(Path("report"), "--out", help="Directory to write."),
    png: bool = typer.Option(False, "--png", help="Also write every figure as PNG."),
    estimate: bool = typer.Option(
        True, "--estimate/--no-estimate", help="Include the estimator's default distributions."
    ),
    basis: str | None = typer.Option(
        None, "--basis", help="Power basis for results without energy: tdp|allin."
    ),
    power_per_gpu: str | None = typer.Option(
        None, "--power-per-gpu", help="Stated power per GPU for results without energy."
    ),
    include_invalid: bool = INCLUDE_INVALID_OPTION,
) -> None:
    """Write OUT/index.html (tables, charts, methodology; no network needed) and OUT/summary.md."""
    extra = [estimate_section(out)] if estimate else []
    if sources:
        results = load_sources(sources, ingest_options(basis, power_per_gpu))
        families = families_of(results)
        run_dirs = sorted(
            {run for source in sources if source.is_dir() for run in find_run_dirs(source)}
        )
        names = [str(source) for source in sources]
    else:
        families = [Family(s.key, s.title, s.description, s.results) for s in reference_sets()]
        run_dirs = []
        names = ["embedded reference data (ML.ENERGY v3, InferenceX snapshot)"]
    report = build_report(
        families,
        out,
        sources=names,
        run_dirs=run_dirs,
        extra_sections=extra,
        png=png,
        include_invalid=include_invalid,
    )
    index, summary = write_report(report, out)
    console.print(f"wrote {index} and {summary}")
    for section in report.sections:
        for line in section.headline:
            console.print(
                styled(f"{section.title}: ", "bold"), line, sep="", highlight=False, soft_wrap=True
            )
