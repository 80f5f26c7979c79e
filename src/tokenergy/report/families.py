"""The section of one family of results (one power basis and boundary): per-query energy by
workload, best-under-SLO choices, GPU comparisons at matched latency, frontiers and sweeps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

from tokenergy.analyze.compare import compare, summarize
from tokenergy.analyze.frontier import frontiers
from tokenergy.analyze.slo import Constraint, best_under
from tokenergy.analyze.table import AnalysisRow, Metric, metric, to_rows
from tokenergy.records import ServingResult
from tokenergy.report.charts import frontier_chart, short_model, sweep_chart
from tokenergy.report.figures import FigureWriter
from tokenergy.report.model import Cell, DataTable, Section
from tokenergy.report.numbers import DASH, count, ms, pct, si, sig

SLO_S = 0.05
COMPARE_S = (0.025, 0.05, 0.1)
ENERGY = metric("energy_per_token_j")
RESPONSE = metric("energy_per_response_j")
ITL = metric("median_itl_s")
TPOT = metric("median_tpot_s")
_BATCH = Metric("batch_cap", "batch cap (max concurrent requests)", "")
_INTVTY = metric("median_intvty_tok_s")

BASIS_WORDS = {
    "measured": "measured energy",
    "provisioned": "provisioned power",
    "nameplate": "nameplate power",
    "modeled": "modeled energy",
    "simulated": "simulated energy (a simulator's power model, not a measurement)",
}


@dataclass(frozen=True)
class Family:
    """Results that may be compared with each other: one basis and one boundary."""

    key: str
    title: str
    description: str
    results: list[ServingResult]

    @cached_property
    def rows(self) -> list[AnalysisRow]:
        return to_rows(self.results)

    @property
    def simulated(self) -> bool:
        return self.key.startswith("simulated") or bool(self.rows and self.rows[0].simulated)


def _basis_of(result: ServingResult) -> tuple[str, str]:
    measurement = result.energy
    if measurement is None:
        return "", ""
    basis = measurement.basis.value
    if result.provenance.simulated:  # a simulator's watts are never measured ones
        basis = "simulated"
    return basis, measurement.boundary.value


def families_of(results: Sequence[ServingResult]) -> list[Family]:
    """Split user sources by (basis, boundary) so no table mixes kinds of watts."""
    split: dict[tuple[str, str], list[ServingResult]] = {}
    for result in results:
        split.setdefault(_basis_of(result), []).append(result)
    families = []
    for (basis, boundary), members in split.items():
        if not basis:
            families.append(
                Family("no-energy", "results without energy", f"{len(members)} results.", members)
            )
            continue
        words = BASIS_WORDS.get(basis, f"{basis} energy")
        families.append(
            Family(
                key=f"{basis}-{boundary}",
                title=f"{words.split(' (')[0]}, {boundary} boundary",
                description=f"{len(members)} results with {words} at the {boundary} boundary.",
                results=members,
            )
        )
    return families


def latency_metric(rows: Sequence[AnalysisRow]) -> Metric:
    """Median TPOT where most rows have it, else median ITL.

    TPOT is per request and immune to chunked streaming; pooled ITL is not (InferenceX rows with
    multi-token chunks show ITLs of seconds at 100 tok/s/user). ML.ENERGY reports ITL only.
    """
    with_tpot = sum(row.median_tpot_s is not None for row in rows)
    return TPOT if rows and with_tpot * 2 >= len(rows) else ITL


def _short(latency: Metric) -> str:
    return latency.label.replace("median ", "")


def _num(value: float | int | None, text: Callable[[float], str] = sig) -> Cell:
    if value is None:
        return Cell(DASH, None)
    shown = text(value)
    return Cell(shown, None if shown == DASH else float(value))


def _ms(value: float | None) -> Cell:
    return Cell(ms(value), None if value is None else value * 1000)


def _text(value: object) -> Cell:
    return Cell(DASH if value is None else str(value), None if value is None else str(value))


def _pct(value: float | None) -> Cell:
    return Cell(pct(value), value)


def workloads(rows: Sequence[AnalysisRow]) -> list[str]:
    """Workload names, the one with the most configurations first."""
    counts = Counter(row.workload for row in rows if row.workload is not None)
    return [name for name, _ in counts.most_common()]


def _energy_by_workload(key: str, rows: list[AnalysisRow], latency: Metric) -> DataTable:
    """Per workload, model and GPU: the least energy per query at any latency and under the SLO."""
    group_by = ("workload", "model", "gpu")
    free = best_under(rows, [], RESPONSE, group_by)
    bound = Constraint(latency, SLO_S)
    slo = {c.key: c for c in best_under(rows, [bound], RESPONSE, group_by)}
    table = DataTable(
        key=f"{key}-per-query",
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
                _text(short_model(row.model)),
                _text(row.gpu),
                _num(choice.candidates, count),
                _num(row.wh_per_query),
                _num(row.energy_per_token_j),
                _text(row.config_label),
                _ms(row.get(latency.column)),
                _num(under.chosen.wh_per_query if under and under.chosen else None),
                _num(row.avg_output_len, count),
            ]
        )
    return table


def _best_table(key: str, rows: list[AnalysisRow], latency: Metric) -> tuple[DataTable, list[str]]:
    constraint = Constraint(latency, SLO_S)
    choices = best_under(rows, [constraint], ENERGY, ("workload", "model"))
    table = DataTable(
        key=f"{key}-best",
        caption=f"Least energy under {latency.label} ≤ {SLO_S * 1000:g} ms, per workload and model",
        columns=[
            "workload",
            "model",
            "chosen",
            "J/output token",
            "Wh/query",
            f"{latency.label} (ms)",
            "runner-up",
            "runner-up J/output token",
            "SLO cost",
            "feasible",
        ],
        numeric=[False, False, False, True, True, True, False, True, True, True],
        note="SLO cost: the chosen energy relative to the least energy at any latency.",
    )
    costs = []
    for choice in choices:
        row, runner = choice.chosen, choice.runner_up
        cost = choice.slo_cost(ENERGY)
        if cost is not None:
            costs.append(cost)
        table.rows.append(
            [
                _text(choice.key[0]),
                _text(short_model(str(choice.key[1]))),
                _text(row.config_label if row else "none meets the SLO"),
                _num(row.energy_per_token_j if row else None),
                _num(row.wh_per_query if row else None),
                _ms(row.get(latency.column) if row else None),
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
    key: str, rows: list[AnalysisRow], latency: Metric
) -> tuple[DataTable | None, list[str]]:
    gpus = {row.gpu for row in rows}
    if not {"H100", "B200"} <= gpus:
        return None, []
    constraints = [Constraint(latency, bound) for bound in COMPARE_S]
    cases = compare(rows, "gpu", "H100", "B200", constraints, ENERGY, ("workload", "model"))
    summary = summarize(cases)
    table = DataTable(
        key=f"{key}-compare",
        caption=f"B200 vs H100 at matched {latency.label} (each side's best under the bound)",
        columns=[
            "workload",
            "model",
            "bound",
            "H100 config",
            "B200 config",
            "H100 J/output token",
            "B200 J/output token",
            "change",
        ],
        numeric=[False, False, True, False, False, True, True, True],
        note="change = B200 / H100 − 1; negative means B200 uses less energy per output token.",
    )
    for case in cases:
        table.rows.append(
            [
                _text(case.key[0]),
                _text(short_model(str(case.key[1]))),
                Cell(f"≤ {case.constraint.bound * 1000:g} ms", case.constraint.bound * 1000),
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


def _all_rows_table(key: str, rows: list[AnalysisRow]) -> DataTable:
    columns: list[tuple[str, Callable[[AnalysisRow], Cell], bool]] = [
        ("workload", lambda r: _text(r.workload), False),
        ("model", lambda r: _text(short_model(r.model)), False),
        ("GPU", lambda r: _text(r.gpu), False),
        ("GPUs", lambda r: _num(r.num_gpus, count), True),
        ("batch cap", lambda r: _num(r.batch_cap, count), True),
        ("precision", lambda r: _text(r.precision), False),
        ("engine", lambda r: _text(r.engine), False),
        ("median ITL (ms)", lambda r: _ms(r.median_itl_s), True),
        ("median TPOT (ms)", lambda r: _ms(r.median_tpot_s), True),
        ("interactivity (tok/s/user)", lambda r: _num(r.median_intvty_tok_s), True),
        ("output tok/s", lambda r: _num(r.output_tok_s, count), True),
        ("power", lambda r: _num(r.power_w, lambda v: si(v, "W")), True),
        ("J/output token", lambda r: _num(r.energy_per_token_j), True),
        ("J/token (input + output)", lambda r: _num(r.j_per_token), True),
        ("Wh/query", lambda r: _num(r.wh_per_query), True),
        (
            "energy valid",
            lambda r: _text(None if r.energy_valid is None else r.energy_valid),
            False,
        ),
    ]
    table = DataTable(
        key=f"{key}-all",
        caption=f"All {len(rows)} configurations",
        columns=[name for name, _, _ in columns],
        numeric=[numeric for _, _, numeric in columns],
    )
    table.rows = [[cell(row) for _, cell, _ in columns] for row in rows]
    return table


def usable_rows(family: Family, include_invalid: bool) -> tuple[list[AnalysisRow], int]:
    """Rows with energy (valid ones unless asked otherwise) and how many invalid were left out."""
    rows = [row for row in family.rows if row.energy_per_token_j is not None]
    invalid = sum(row.energy_valid is False for row in rows)
    if invalid and not include_invalid:
        rows = [row for row in rows if row.energy_valid is not False]
    return rows, (invalid if not include_invalid else 0)


def family_section(family: Family, figures: FigureWriter, include_invalid: bool = False) -> Section:
    rows, invalid = usable_rows(family, include_invalid)
    section = Section(family.key, family.title, paragraphs=[family.description])
    if family.simulated:
        section.paragraphs.append(
            "SIMULATED: these watts come from the simulator's power model (tokenergy sim), not "
            "from a meter on real hardware. They are kept apart from measured figures everywhere."
        )
    if invalid:
        section.paragraphs.append(
            f"{invalid} result(s) whose energy the meters marked invalid are left out of the "
            "analysis (listed in the table of all configurations; --include-invalid keeps them)."
        )
    if not rows:
        section.paragraphs.append(
            "None of these results carries energy (measure with a meter, or give a power basis), "
            "so only their latency and throughput are listed."
        )
        section.appendix.append(_all_rows_table(family.key, family.rows))
        return section
    models = len({r.model for r in rows})
    section.paragraphs.append(
        f"{len(rows)} configurations of {models} models; boundary {rows[0].boundary}, "
        f"basis {'simulated' if family.simulated else rows[0].basis}. "
        "Energy per token is per OUTPUT token."
    )
    latency = latency_metric(rows)
    if latency is TPOT:
        section.paragraphs.append(
            "Latency bounds apply to the median TPOT (per request), not the pooled ITL: these "
            "results stream multi-token chunks, which makes chunk gaps a poor latency measure."
        )
    section.tables.append(_energy_by_workload(family.key, rows, latency))
    best, headline = _best_table(family.key, rows, latency)
    section.tables.append(best)
    section.headline.extend(headline)
    compared, compare_headline = _compare_table(family.key, rows, latency)
    if compared is not None:
        section.tables.append(compared)
        section.headline.extend(compare_headline)
    names = workloads(rows)
    for index, workload in enumerate(names):
        members = [r for r in rows if r.workload == workload]
        groups = frontiers(members, latency, ENERGY, ("model", "gpu"))
        if not any(len(g.frontier) for g in groups):
            continue
        section.figures.append(
            figures.block(
                frontier_chart(
                    f"{family.key}-frontier-{index}",
                    f"Time–energy frontiers: {workload}",
                    groups,
                    latency,
                    ENERGY,
                    figures.palette,
                    "Faint points: every configuration; lines: the non-dominated ones. "
                    "One panel per model, one colour per GPU. Hover a point for its values.",
                )
            )
        )
    main = names[0]
    sweep = [r for r in rows if r.workload == main]
    if any(r.batch_cap is not None for r in sweep):
        section.figures.append(
            figures.block(
                sweep_chart(
                    f"{family.key}-batch",
                    f"Energy per output token vs batch cap: {main}",
                    sweep,
                    _BATCH,
                    ENERGY,
                    "num_gpus",
                    figures.palette,
                    x_log=True,
                    caption="One panel per model; colour = GPU, dash = GPU count. Every "
                    "configuration is drawn.",
                )
            )
        )
    if any(r.median_intvty_tok_s is not None for r in sweep):
        section.figures.append(
            figures.block(
                sweep_chart(
                    f"{family.key}-intvty",
                    f"Energy per output token vs interactivity: {main}",
                    sweep,
                    _INTVTY,
                    ENERGY,
                    "precision",
                    figures.palette,
                    lines=False,
                    caption="One panel per model; each point a configuration, colour = GPU. "
                    "Hover a point for its configuration.",
                )
            )
        )
    section.appendix.append(_all_rows_table(family.key, family.rows))
    return section
