"""Assemble a report: per family of results (one power basis and boundary each), the per-query
energy by workload, best-under-SLO choices, GPU comparisons at matched latency, frontiers and
sweeps; plus estimator distributions, power timelines and the methodology.

Figures are written to ``out/figures`` as SVG and PNG and inlined (SVG) in the HTML.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from matplotlib.figure import Figure

from tokenergy._version import __version__
from tokenergy.analyze.compare import compare, summarize
from tokenergy.analyze.frontier import frontiers
from tokenergy.analyze.slo import Constraint, best_under
from tokenergy.analyze.table import AnalysisRow, Metric, metric, to_rows
from tokenergy.records import ServingResult
from tokenergy.report.model import Cell, DataTable, FigureBlock, Report, Section
from tokenergy.report.plots import (
    batch_figure,
    frontier_panels,
    intvty_figure,
    save_figure,
    svg_text,
    timeline_figure,
)
from tokenergy.report.timelines import read_timeline, timeline_files

SLO_S = 0.05
COMPARE_S = (0.025, 0.05, 0.1)
_ENERGY = metric("energy_per_token_j")
_RESPONSE = metric("energy_per_response_j")
_ITL = metric("median_itl_s")
_TPOT = metric("median_tpot_s")


def latency_metric(rows: Sequence[AnalysisRow]) -> Metric:
    """Median TPOT where most rows have it, else median ITL.

    TPOT is per request and immune to chunked streaming; pooled ITL is not (InferenceX rows with
    multi-token chunks show ITLs of seconds at 100 tok/s/user). ML.ENERGY reports ITL only.
    """
    with_tpot = sum(row.median_tpot_s is not None for row in rows)
    return _TPOT if rows and with_tpot * 2 >= len(rows) else _ITL


def _short(latency: Metric) -> str:
    return latency.label.replace("median ", "")


@dataclass(frozen=True)
class Family:
    """Results that may be compared with each other: one basis and one boundary."""

    key: str
    title: str
    description: str
    results: list[ServingResult]


def _family(basis: str, boundary: str, members: list[ServingResult]) -> Family:
    if not basis:
        return Family("no-energy", "results without energy", f"{len(members)} results.", members)
    return Family(
        key=f"{basis}-{boundary}",
        title=f"{basis} energy, {boundary} boundary",
        description=f"{len(members)} results with {basis} energy at the {boundary} boundary.",
        results=members,
    )


def families_of(results: Sequence[ServingResult]) -> list[Family]:
    """Split user sources by (basis, boundary) so no table mixes kinds of watts."""
    split: dict[tuple[str, str], list[ServingResult]] = {}
    for result in results:
        measurement = result.energy
        kind = (measurement.basis.value, measurement.boundary.value) if measurement else ("", "")
        split.setdefault(kind, []).append(result)
    return [_family(basis, boundary, members) for (basis, boundary), members in split.items()]


def _num(value: float | int | None, digits: int = 3, scale: float = 1.0) -> Cell:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return Cell("—", None)
    scaled = value * scale
    text = f"{scaled:,}" if isinstance(scaled, int) else f"{scaled:.{digits}g}"
    return Cell(text, float(scaled))


def _text(value: object) -> Cell:
    return Cell("—" if value is None else str(value), None if value is None else str(value))


def _pct(value: float | None) -> Cell:
    return Cell("—", None) if value is None else Cell(f"{value * 100:+.1f}%", value)


def _short_model(model: str) -> str:
    return model.split("/")[-1]


class _Figures:
    """Writes each figure as SVG (and PNG on request) and keeps the SVG markup for inlining."""

    def __init__(self, out: Path, png: bool) -> None:
        self.dir = out / "figures"
        self.png = png

    def block(
        self, key: str, title: str, figure: Figure, caption: str | None = None
    ) -> FigureBlock:
        """Render the SVG once (inlined and written); PNG only on request, it doubles the time."""
        files = [f"figures/{key}.svg"]
        svg = svg_text(figure)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / f"{key}.svg").write_text(svg, encoding="utf-8")
        if self.png:
            save_figure(figure, self.dir / f"{key}.png")
            files.append(f"figures/{key}.png")
        return FigureBlock(key, title, svg, files, caption)


def _workloads(rows: Sequence[AnalysisRow]) -> list[str]:
    counts = Counter(row.workload for row in rows if row.workload is not None)
    return [name for name, _ in counts.most_common()]


def _energy_by_workload(family: Family, rows: list[AnalysisRow], latency: Metric) -> DataTable:
    """Per workload, model and GPU: the least energy per query at any latency and under the SLO."""
    group_by = ("workload", "model", "gpu")
    free = best_under(rows, [], _RESPONSE, group_by)
    bound = Constraint(latency, SLO_S)
    slo = {c.key: c for c in best_under(rows, [bound], _RESPONSE, group_by)}
    table = DataTable(
        key=f"{family.key}-per-query",
        caption="Energy per query by workload (least-energy configuration per model and GPU)",
        columns=[
            "workload",
            "model",
            "GPU",
            "configs",
            "min Wh/query",
            "J/output token",
            "at config",
            f"{latency.label} (ms)",
            f"Wh/query with {_short(latency)} ≤ {SLO_S * 1000:g} ms",
            "avg output tokens",
        ],
        numeric=[False, False, False, True, True, True, False, True, True, True],
        note="Wh/query = energy per output token × mean output length actually run.",
    )
    for choice in free:
        row = choice.chosen
        assert row is not None  # no constraint: every group with energy has a choice
        under = slo.get(choice.key)
        table.rows.append(
            [
                _text(row.workload),
                _text(_short_model(row.model)),
                _text(row.gpu),
                _num(choice.candidates),
                _num(row.wh_per_query),
                _num(row.energy_per_token_j),
                _text(row.config_label),
                _num(row.get(latency.column), scale=1000),
                _num(under.chosen.wh_per_query if under and under.chosen else None),
                _num(row.avg_output_len, digits=5),
            ]
        )
    return table


def _best_table(
    family: Family, rows: list[AnalysisRow], latency: Metric
) -> tuple[DataTable, list[str]]:
    constraint = Constraint(latency, SLO_S)
    choices = best_under(rows, [constraint], _ENERGY, ("workload", "model"))
    table = DataTable(
        key=f"{family.key}-best",
        caption=f"Least energy under {latency.label} ≤ {SLO_S * 1000:g} ms, per workload and model",
        columns=[
            "workload",
            "model",
            "chosen",
            "J/output token",
            "Wh/query",
            f"{latency.label} (ms)",
            "runner-up",
            "runner-up J/token",
            "SLO cost",
            "feasible",
        ],
        numeric=[False, False, False, True, True, True, False, True, True, True],
        note="SLO cost: the chosen energy relative to the least energy at any latency.",
    )
    costs = []
    for choice in choices:
        row, runner = choice.chosen, choice.runner_up
        cost = choice.slo_cost(_ENERGY)
        if cost is not None:
            costs.append(cost)
        table.rows.append(
            [
                _text(choice.key[0]),
                _text(_short_model(str(choice.key[1]))),
                _text(row.config_label if row else "none meets the SLO"),
                _num(row.energy_per_token_j if row else None),
                _num(row.wh_per_query if row else None),
                _num(row.get(latency.column) if row else None, scale=1000),
                _text(runner.config_label if runner else None),
                _num(runner.energy_per_token_j if runner else None),
                _pct(cost),
                Cell(f"{choice.feasible}/{choice.candidates}", choice.feasible),
            ]
        )
    met = sum(c.chosen is not None for c in choices)
    headline = [
        f"{met} of {len(choices)} workload×model groups can meet {latency.label} "
        f"≤ {SLO_S * 1000:g} ms."
    ]
    if costs:
        costs.sort()
        headline.append(
            f"Meeting it costs a median {costs[len(costs) // 2] * 100:+.0f}% energy per token "
            f"over the group's unconstrained minimum (max {costs[-1] * 100:+.0f}%)."
        )
    return table, headline


def _compare_table(
    family: Family, rows: list[AnalysisRow], latency: Metric
) -> tuple[DataTable | None, list[str]]:
    gpus = {row.gpu for row in rows}
    if not {"H100", "B200"} <= gpus:
        return None, []
    constraints = [Constraint(latency, bound) for bound in COMPARE_S]
    cases = compare(rows, "gpu", "H100", "B200", constraints, _ENERGY, ("workload", "model"))
    summary = summarize(cases)
    table = DataTable(
        key=f"{family.key}-compare",
        caption=f"B200 vs H100 at matched {latency.label} (each side's best under the bound)",
        columns=[
            "workload",
            "model",
            "bound",
            "H100 config",
            "B200 config",
            "H100 J/tok",
            "B200 J/tok",
            "change",
        ],
        numeric=[False, False, True, False, False, True, True, True],
        note="change = B200 / H100 − 1; negative means B200 uses less energy per output token.",
    )
    for case in cases:
        table.rows.append(
            [
                _text(case.key[0]),
                _text(_short_model(str(case.key[1]))),
                Cell(f"≤ {case.constraint.bound * 1000:g} ms", case.constraint.bound),
                _text(case.baseline.config_label),
                _text(case.candidate.config_label),
                _num(case.baseline_energy),
                _num(case.candidate_energy),
                _pct(case.energy_change),
            ]
        )
    if not cases:
        return table, []
    assert summary.median_change is not None and summary.min_change is not None
    assert summary.max_change is not None
    return table, [
        f"B200 uses less energy per token than H100 in {summary.wins} of {summary.cases} matched "
        f"cases (median {summary.median_change * 100:+.0f}%, range "
        f"{summary.min_change * 100:+.0f}% … {summary.max_change * 100:+.0f}%)."
    ]


def _all_rows_table(family: Family, rows: list[AnalysisRow]) -> DataTable:
    columns: list[tuple[str, Callable[[AnalysisRow], Cell], bool]] = [
        ("workload", lambda r: _text(r.workload), False),
        ("model", lambda r: _text(_short_model(r.model)), False),
        ("GPU", lambda r: _text(r.gpu), False),
        ("GPUs", lambda r: _num(r.num_gpus), True),
        ("batch cap", lambda r: _num(r.batch_cap), True),
        ("precision", lambda r: _text(r.precision), False),
        ("engine", lambda r: _text(r.engine), False),
        ("median ITL (ms)", lambda r: _num(r.median_itl_s, scale=1000), True),
        ("median TPOT (ms)", lambda r: _num(r.median_tpot_s, scale=1000), True),
        ("intvty (tok/s/user)", lambda r: _num(r.median_intvty_tok_s), True),
        ("output tok/s", lambda r: _num(r.output_tok_s, digits=4), True),
        ("power (W)", lambda r: _num(r.power_w, digits=4), True),
        ("J/output token", lambda r: _num(r.energy_per_token_j), True),
        ("J/token (total)", lambda r: _num(r.j_per_token), True),
        ("Wh/query", lambda r: _num(r.wh_per_query), True),
        (
            "energy valid",
            lambda r: _text(None if r.energy_valid is None else r.energy_valid),
            False,
        ),
    ]
    table = DataTable(
        key=f"{family.key}-all",
        caption=f"All {len(rows)} configurations",
        columns=[name for name, _, _ in columns],
        numeric=[numeric for _, _, numeric in columns],
    )
    table.rows = [[cell(row) for _, cell, _ in columns] for row in rows]
    return table


def family_section(family: Family, figures: _Figures, include_invalid: bool = False) -> Section:
    every_row = to_rows(family.results)
    rows = [row for row in every_row if row.energy_per_token_j is not None]
    section = Section(family.key, family.title, paragraphs=[family.description])
    invalid = sum(row.energy_valid is False for row in rows)
    if invalid and not include_invalid:
        rows = [row for row in rows if row.energy_valid is not False]
        section.paragraphs.append(
            f"{invalid} result(s) whose energy the meters marked invalid are left out of the "
            "analysis (listed in the table of all configurations; --include-invalid keeps them)."
        )
    if not rows:
        section.paragraphs.append(
            "None of these results carries energy (measure with a meter, or give a power basis), "
            "so only their latency and throughput are listed."
        )
        section.appendix.append(_all_rows_table(family, every_row))
        return section
    models = len({r.model for r in rows})
    section.paragraphs.append(
        f"{len(rows)} configurations of {models} models; boundary {rows[0].boundary}, "
        f"basis {rows[0].basis}. Energy per token is per OUTPUT token."
    )
    latency = latency_metric(rows)
    if latency is _TPOT:
        section.paragraphs.append(
            "Latency bounds apply to the median TPOT (per request), not the pooled ITL: these "
            "results stream multi-token chunks, which makes chunk gaps a poor latency measure."
        )
    section.tables.append(_energy_by_workload(family, rows, latency))
    best, headline = _best_table(family, rows, latency)
    section.tables.append(best)
    section.headline.extend(headline)
    compared, compare_headline = _compare_table(family, rows, latency)
    if compared is not None:
        section.tables.append(compared)
        section.headline.extend(compare_headline)
    for index, workload in enumerate(_workloads(rows)):
        members = [r for r in rows if r.workload == workload]
        groups = frontiers(members, latency, _ENERGY, ("model", "gpu"))
        if not any(len(g.frontier) for g in groups):
            continue
        section.figures.append(
            figures.block(
                f"{family.key}-frontier-{index}",
                f"Time–energy frontiers: {workload}",
                frontier_panels(
                    groups, latency, _ENERGY, 1, f"{workload}: frontier per model and GPU"
                ),
                "Faint points: every configuration; lines: the non-dominated ones.",
            )
        )
    main = _workloads(rows)[0]
    sweep = [r for r in rows if r.workload == main]
    section.figures.append(
        figures.block(
            f"{family.key}-batch",
            f"Energy per token vs batch cap: {main}",
            batch_figure(
                sweep, ("model", "gpu", "num_gpus"), f"{main}: energy per output token vs batch cap"
            ),
        )
    )
    if any(r.median_intvty_tok_s is not None for r in sweep):
        section.figures.append(
            figures.block(
                f"{family.key}-intvty",
                f"Energy per token vs interactivity: {main}",
                intvty_figure(
                    sweep, ("model", "gpu", "precision"), f"{main}: J/output token vs tok/s/user"
                ),
            )
        )
    section.appendix.append(_all_rows_table(family, every_row))
    return section


def timeline_section(run_dirs: Sequence[Path], figures: _Figures) -> Section:
    section = Section("timelines", "Power timelines of measured runs")
    found = [(run, path) for run in run_dirs for path in timeline_files(run)]
    if not found:
        section.paragraphs.append(
            "No power timeline files (power*.csv|parquet or timeline*.csv|parquet with time_s and "
            "power_w columns) were found next to the runs in these sources."
        )
        return section
    for index, (run, path) in enumerate(found[:12]):
        section.figures.append(
            figures.block(
                f"timeline-{index}",
                f"{run.name}: {path.name}",
                timeline_figure(read_timeline(path), f"power of {run.name}"),
            )
        )
    return section


def build_report(
    families: Sequence[Family],
    out: Path,
    *,
    sources: Sequence[str],
    run_dirs: Sequence[Path] = (),
    extra_sections: Sequence[Section] = (),
    png: bool = False,
    include_invalid: bool = False,
) -> Report:
    figures = _Figures(out, png)
    sections = [family_section(family, figures, include_invalid) for family in families]
    sections.extend(extra_sections)
    if run_dirs:
        sections.append(timeline_section(run_dirs, figures))
    return Report(
        title="tokenergy report",
        generated_utc=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        sources=list(sources),
        sections=sections,
    )
