"""Assemble a report: the headline (energy per query) first, then one section per family of
results (one power basis and boundary each), the estimator, any added sections, and timelines.

A section is one function ``(ReportContext) -> list[Section]``; ``build_report`` runs each as a
named step (reported through ``progress``) — adding a section is writing that function and
passing it in ``sections`` (or adding it to ``DEFAULT_SECTIONS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenergy._version import __version__
from tokenergy.footprint import Grid
from tokenergy.report import estimates, reconciliation
from tokenergy.report.background import Background
from tokenergy.report.cache import ResultCache, default_cache
from tokenergy.report.charts import Palette
from tokenergy.report.estimates import estimate_section
from tokenergy.report.families import Family, families_of, family_section, latency_metric
from tokenergy.report.figures import FigureWriter
from tokenergy.report.files import prepare_out
from tokenergy.report.headline import build_headline
from tokenergy.report.html import write_report
from tokenergy.report.model import Report, Section
from tokenergy.report.timelines import timeline_section

if TYPE_CHECKING:
    from tokenergy.ingest import IngestOptions

__all__ = [
    "DEFAULT_SECTIONS",
    "Family",
    "Progress",
    "ReportContext",
    "SectionStep",
    "Steps",
    "build_report",
    "families_of",
    "latency_metric",
    "make_report",
    "report_inputs",
]

Progress = Callable[[int, int | None, str], None]
"""Called as each step starts: (steps done, steps in all if known yet, what this step does)."""


@dataclass
class Steps:
    """Counts the steps of a job and reports each as it starts; ``after`` steps follow the build."""

    progress: Progress | None = None
    done: int = 0
    total: int | None = None
    after: int = 0

    def start(self, label: str) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total, label)
        self.done += 1


@dataclass
class ReportContext:
    """Everything a section function may use; computed inputs are shared, not recomputed."""

    families: list[Family]
    out: Path
    figures: FigureWriter
    run_dirs: list[Path] = field(default_factory=list)
    include_invalid: bool = False
    background: Background = field(default_factory=lambda: Background({}))


@dataclass(frozen=True)
class SectionStep:
    label: str
    build: Callable[[ReportContext], list[Section]]


def _family_step(family: Family) -> SectionStep:
    def build(context: ReportContext) -> list[Section]:
        return [family_section(family, context.figures, context.include_invalid)]

    return SectionStep(f"tables and figures: {family.title}", build)


def _estimate(context: ReportContext) -> list[Section]:
    by_regime = estimates.results(context.background)
    return [] if by_regime is None else [estimate_section(by_regime, context.figures)]


def _reconciliation(context: ReportContext) -> list[Section]:
    found = context.background.result(reconciliation.RECONCILE_JOB)
    return [] if found is None else [reconciliation.reconciliation_section(found)]


def _sensitivity(context: ReportContext) -> list[Section]:
    found = context.background.result(reconciliation.SENSITIVITY_JOB)
    return [] if found is None else [reconciliation.sensitivity_section(found)]


def report_jobs(
    estimate: bool = True, embedded: bool = False, sensitivity: bool = False
) -> dict[str, Callable[[], Any]]:
    """The background jobs of a report: the estimator (unless ``estimate`` is off), its Sobol
    sensitivity (when asked: ~4 s more) and, on the embedded data, the reconciliation of every
    model that has a measured and a converted or estimated figure."""
    jobs: dict[str, Callable[[], Any]] = {}
    if estimate:
        jobs[estimates.JOB] = estimates.run_defaults
        if sensitivity:
            jobs[reconciliation.SENSITIVITY_JOB] = reconciliation.default_sensitivity
    if embedded:
        jobs[reconciliation.RECONCILE_JOB] = reconciliation.reconcile_embedded
    return jobs


def _timelines(context: ReportContext) -> list[Section]:
    return [timeline_section(context.run_dirs, context.figures)] if context.run_dirs else []


DEFAULT_SECTIONS: tuple[SectionStep, ...] = (
    SectionStep("estimator section (Monte Carlo, both regimes)", _estimate),
    SectionStep("reconciliation: measured vs converted vs estimated", _reconciliation),
    SectionStep("sensitivity: Sobol indices of the estimate", _sensitivity),
)
"""Sections after the families' own; the timelines always come last."""


def _palette(families: Sequence[Family]) -> Palette:
    return Palette(row.gpu for family in families for row in family.rows if row.gpu)


def build_report(
    families: Sequence[Family],
    out: Path,
    *,
    sources: Sequence[str],
    run_dirs: Sequence[Path] = (),
    estimate: bool = True,
    sections: Sequence[SectionStep] = DEFAULT_SECTIONS,
    png: bool = False,
    include_invalid: bool = False,
    progress: Progress | None = None,
    steps: Steps | None = None,
    background: Background | None = None,
    grid: Grid | None = None,
) -> Report:
    """Every section in order, and the headline built from the same families and estimates.

    ``steps`` (instead of ``progress``) continues a count the caller started (``make_report``);
    ``background`` holds jobs the caller started earlier (else ``report_jobs(estimate)`` start
    here).
    """
    counter = steps or Steps(progress)
    context = ReportContext(
        families=list(families),
        out=out,
        figures=FigureWriter(out, _palette(families), png),
        run_dirs=list(run_dirs),
        include_invalid=include_invalid,
        background=background or Background(report_jobs(estimate)),
    )
    plan = [
        *(_family_step(family) for family in families),
        *sections,
        SectionStep("power timelines", _timelines),
    ]
    counter.total = counter.done + len(plan) + 1 + counter.after
    report_sections: list[Section] = []
    for step in plan:
        counter.start(step.label)
        report_sections.extend(step.build(context))
    counter.start("headline: energy per query")
    headline = build_headline(
        context.families,
        estimates.results(context.background),
        include_invalid,
        grid,
    )
    return Report(
        title="tokenergy report",
        generated_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        sources=list(sources),
        sections=report_sections,
        headline=headline,
    )


@dataclass(frozen=True)
class ReportInputs:
    families: list[Family]
    run_dirs: list[Path]
    names: list[str]


REFERENCE_JOB = "reference-sets"
CACHED_JOBS = (estimates.JOB, reconciliation.RECONCILE_JOB)
"""Background jobs whose results are cached: they read only the package's code and data (the
sensitivity is not: it also depends on SALib's version)."""


def report_inputs(
    sources: Sequence[Path],
    options: IngestOptions | None = None,
    cache: ResultCache | None = None,
) -> ReportInputs:
    """The families to report on: the sources' results, or the embedded reference data (from
    ``cache`` when it holds them)."""
    if not sources:
        from tokenergy.report.reference import reference_sets

        sets = reference_sets() if cache is None else cache.compute(REFERENCE_JOB, reference_sets)
        return ReportInputs(
            [Family(s.key, s.title, s.description, s.results) for s in sets],
            [],
            ["embedded reference data (ML.ENERGY v3, InferenceX snapshot)"],
        )
    from tokenergy.analyze.sources import load_sources
    from tokenergy.load.runlog import find_run_dirs

    results = load_sources(list(sources), options)
    run_dirs = sorted(
        {run for source in sources if source.is_dir() for run in find_run_dirs(source)}
    )
    return ReportInputs(families_of(results), run_dirs, [str(source) for source in sources])


def make_report(
    sources: Sequence[Path | str],
    out: Path | str,
    *,
    options: IngestOptions | None = None,
    estimate: bool = True,
    sensitivity: bool = False,
    png: bool = False,
    include_invalid: bool = False,
    grid: Grid | None = None,
    progress: Progress | None = None,
    cache: bool = True,
) -> tuple[Report, list[Path]]:
    """Load, build and write a report (index.html, summary.md, report.json) into ``out``.

    No ``sources``: the embedded reference data. ``progress(done, total, step)`` is called as each
    step starts (the library never prints). ``cache``: reuse the results of the steps that depend
    only on the package (reference rows, default Monte Carlo, reconciliation; report/cache.py).
    Returns the Report and the files written.
    """
    paths = [Path(source) for source in sources]
    out = Path(out)
    prepare_out(out)  # a bad output directory fails before any work
    results = default_cache() if cache else None
    background = Background(  # runs from here on
        report_jobs(estimate, not paths, sensitivity), results, CACHED_JOBS
    )
    steps = Steps(progress, after=1)
    steps.start("loading sources" if paths else "loading the embedded reference data")
    inputs = report_inputs(paths, options, results)
    report = build_report(
        inputs.families,
        out,
        sources=inputs.names,
        run_dirs=inputs.run_dirs,
        estimate=estimate,
        png=png,
        include_invalid=include_invalid,
        steps=steps,
        background=background,
        grid=grid,
    )
    steps.start("writing index.html, summary.md, report.json")
    return report, list(write_report(report, out, results))
