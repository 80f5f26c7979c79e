"""``tokenergy frontier|best|compare``: choose configurations from SOURCES or the store.

Thin: parse options, load rows (SOURCES or, without them, the store), call tokenergy.analyze,
render a rich table or strict JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tokenergy.analyze.frontier import GroupFrontier, frontiers
from tokenergy.analyze.select import FAMILY_COLUMNS, family_groups
from tokenergy.analyze.slo import Choice, Constraint, latency_bounds, slo_constraints
from tokenergy.analyze.table import (
    AnalysisRow,
    Better,
    Metric,
    check_columns,
    metric,
)
from tokenergy.api import Comparison, best_under, compare
from tokenergy.cli.flags import as_flags
from tokenergy.cli.paths import output_file, writing
from tokenergy.cli.render import Column, console, fitted_table, fmt, print_json, warn
from tokenergy.cli.sources import (
    BASIS_OPTION,
    INCLUDE_INVALID_OPTION,
    POWER_PER_GPU_OPTION,
    SOURCES_HELP,
    WHERE_HELP,
    load_rows,
)
from tokenergy.errors import ConfigError

ENERGY_HELP = (
    "Energy to minimise: energy_per_token_j (per output token), j_per_token (per total token), "
    "energy_per_response_j."
)
STAT_HELP = "Statistic the latency bounds apply to: median, p90 (p99 for ITL)."


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


ANALYSIS_FLAGS = {
    "max_itl": "--max-itl",
    "max_tpot": "--max-tpot",
    "max_ttft": "--max-ttft",
    "min_intvty": "--min-intvty",
    "at_itl": "--at-itl",
    "at_tpot": "--at-tpot",
    "stat": "--stat",
    "energy": "--energy",
    "x": "--x",
    "y": "--y",
    "group_by": "--group-by",
    "by": "--by",
    "baseline": "--baseline",
    "candidate": "--candidate",
}


def _labelled(table: Table, rows: list[AnalysisRow]) -> Table:
    """Name in the title what the energy covers and where its watts came from."""
    pairs = sorted({(row.boundary or "unknown", row.basis or "unknown") for row in rows})
    label = "; ".join(f"{boundary} boundary, {basis} basis" for boundary, basis in pairs)
    table.title = f"{table.title} ({label})" if label else table.title
    return table


def _warn_without(rows: list[AnalysisRow], energy: Metric) -> None:
    """Rows without the energy metric cannot be chosen: say how many, never drop them quietly."""
    lacking = sum(row.get(energy.column) is None for row in rows)
    if lacking:
        warn(f"{lacking} of {len(rows)} results lack {energy.column} and are left out")


def _keys(group_by: tuple[str, ...], key: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(group_by, key, strict=True))


def _group_text(key: tuple[Any, ...]) -> str:
    """Group keys for tables; model ids lose their organisation prefix; unknown values show '—'."""
    return " / ".join("—" if part is None else str(part).split("/")[-1] for part in key) or "all"


def _value(metric_: Metric, value: float | None) -> str:
    """Seconds shown as ms in tables (JSON keeps SI)."""
    if value is None:
        return "—"
    return fmt(value * 1000) if metric_.unit == "s" else fmt(value)


def _heading(metric_: Metric) -> str:
    return f"{metric_.label} ({'ms' if metric_.unit == 's' else metric_.unit})"


def _bound_text(constraint: Constraint) -> str:
    """'median ITL ≤ 50 ms' for tables (JSON keeps the column form 'median_itl_s <= 50ms')."""
    metric_ = constraint.metric
    op = "≤" if metric_.better is Better.LOWER else "≥"
    if metric_.unit == "s":
        return f"{metric_.label} {op} {fmt(constraint.bound * 1000)} ms"
    return f"{metric_.label} {op} {fmt(constraint.bound)} {metric_.unit}"


# --- frontier -------------------------------------------------------------------------------


def frontier_command(
    sources: list[Path] = typer.Argument(None, help=SOURCES_HELP),
    x: str = typer.Option(
        "median_itl", "--x", help="Latency axis (lower is better; intvty: higher)."
    ),
    y: str = typer.Option(
        "energy_per_token_j", "--y", help="Energy axis, e.g. energy_per_token_j, j_per_token."
    ),
    group_by: str = typer.Option(
        "model,task,gpu", "--group-by", help="Comma-separated grouping columns."
    ),
    where: list[str] = typer.Option([], "--where", help=WHERE_HELP),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also draw the frontiers to FILE (.png or .svg)."
    ),
    all_points: bool = typer.Option(False, "--all", help="Also list dominated configurations."),
    basis: str | None = BASIS_OPTION,
    power_per_gpu: str | None = POWER_PER_GPU_OPTION,
    include_invalid: bool = INCLUDE_INVALID_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Per group, the configurations not beaten on both latency and energy."""
    x_metric, y_metric = metric(x, "--x"), metric(y, "--y")
    groups_by = check_columns(_split(group_by), "--group-by")
    if plot is not None:
        output_file(plot, "--plot")
    rows = load_rows(sources, where, basis, power_per_gpu, include_invalid)
    groups_by = family_groups(rows, groups_by)
    groups = frontiers(rows, x_metric, y_metric, groups_by)
    missing = sum(group.missing for group in groups)
    if missing:
        total = y_metric.column == "j_per_token"
        hint = " (per total token needs an input rate, which some sources lack)" if total else ""
        warn(
            f"{missing} of {len(rows)} results lack {x_metric.column} or {y_metric.column} "
            f"and are left out{hint}"
        )
    if plot is not None:
        from tokenergy.report.plots import frontier_figure, save_figure

        with writing(plot, "--plot"):
            save_figure(frontier_figure(groups, x_metric, y_metric, groups_by), plot)
    if as_json:
        print_json([_frontier_json(g, groups_by, x_metric, y_metric) for g in groups])
        return
    console.print(_labelled(_frontier_table(groups, x_metric, y_metric, all_points), rows))


def _point_json(row: AnalysisRow, x: Metric, y: Metric) -> dict[str, Any]:
    return {
        "gpu": row.gpu,
        "num_gpus": row.num_gpus,
        "batch_cap": row.batch_cap,
        "precision": row.precision,
        x.column: row.get(x.column),
        y.column: row.get(y.column),
        "basis": row.basis,
        "boundary": row.boundary,
        "source": row.source,
        "row": row.row,
    }


def _frontier_json(
    group: GroupFrontier, group_by: tuple[str, ...], x: Metric, y: Metric
) -> dict[str, Any]:
    return {
        **_keys(group_by, group.key),
        "frontier": [_point_json(r, x, y) for r in group.frontier],
        "dominated": len(group.dominated),
        "missing": group.missing,
    }


def _frontier_table(groups: list[GroupFrontier], x: Metric, y: Metric, all_points: bool) -> Table:
    """Fitted to the terminal: text columns wrap, numbers never do; 'on frontier' only with
    --all (without it every row is on the frontier)."""
    columns = [
        Column("group"),
        Column("configuration"),
        Column(_heading(x), "right", numeric=True),
        Column(_heading(y), "right", numeric=True),
        *([Column("on\nfrontier")] if all_points else []),
    ]
    rows: list[list[str]] = []
    for group in groups:
        listed = [(r, True) for r in group.frontier] + (
            [(r, False) for r in group.dominated] if all_points else []
        )
        for index, (row, kept) in enumerate(listed):
            cells = [
                _group_text(group.key) if index == 0 else "",
                row.config_label,
                _value(x, row.get(x.column)),
                _value(y, row.get(y.column)),
            ]
            rows.append([*cells, "yes" if kept else "no"] if all_points else cells)
    return fitted_table(
        columns,
        rows,
        title=f"time–energy frontier: {y.label} vs {x.label}",
        caption=None if all_points else "dominated configurations are hidden (--all shows them)",
    )


# --- best -----------------------------------------------------------------------------------


def best_command(
    sources: list[Path] = typer.Argument(None, help=SOURCES_HELP),
    max_itl: str | None = typer.Option(None, "--max-itl", help="ITL bound, e.g. 50ms."),
    max_tpot: str | None = typer.Option(None, "--max-tpot", help="TPOT bound, e.g. 40ms."),
    max_ttft: str | None = typer.Option(None, "--max-ttft", help="TTFT bound, e.g. 2s."),
    min_intvty: str | None = typer.Option(
        None, "--min-intvty", help="Interactivity floor, tok/s/user."
    ),
    stat: str = typer.Option("median", "--stat", help=STAT_HELP),
    energy: str = typer.Option("energy_per_token_j", "--energy", help=ENERGY_HELP),
    group_by: str = typer.Option(
        "model,task", "--group-by", help="Comma-separated grouping columns."
    ),
    where: list[str] = typer.Option([], "--where", help=WHERE_HELP),
    basis: str | None = BASIS_OPTION,
    power_per_gpu: str | None = POWER_PER_GPU_OPTION,
    include_invalid: bool = INCLUDE_INVALID_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (one object per group)."),
) -> None:
    """Per group, the least-energy configuration meeting a latency SLO, and what the SLO costs."""
    with as_flags(ANALYSIS_FLAGS):
        slo_constraints(
            max_itl=max_itl, max_tpot=max_tpot, max_ttft=max_ttft, min_intvty=min_intvty, stat=stat
        )  # checked before any file is read
        energy_metric = metric(energy, "energy")
        rows = load_rows(sources, where, basis, power_per_gpu, include_invalid)
        _warn_without(rows, energy_metric)
        answer = best_under(
            rows,
            max_itl=max_itl,
            max_tpot=max_tpot,
            max_ttft=max_ttft,
            min_intvty=min_intvty,
            stat=stat,
            energy=energy,
            group_by=group_by,
            include_invalid=include_invalid,
        )
    if as_json:
        print_json(answer.to_dict())
        return
    console.print(_labelled(_best_table(answer.choices, answer.constraints, answer.energy), rows))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:+.1f}%"


def _best_table(choices: list[Choice], constraints: list[Constraint], energy: Metric) -> Table:
    columns = [
        Column("group"),
        Column("chosen"),
        Column(_heading(energy), "right", numeric=True),
        Column("energy per query (Wh)", "right", numeric=True, drop=2),
        *[Column(_heading(c.metric), "right", numeric=True, drop=3) for c in constraints],
        Column("runner-up (energy)", drop=4),
        Column("SLO cost", "right", numeric=True, drop=1),
        Column("feasible", "right", numeric=True, drop=5),
    ]
    rows: list[list[str]] = []
    for choice in choices:
        row, runner = choice.chosen, choice.runner_up
        feasible = f"{choice.feasible}/{choice.candidates}"
        if row is None:
            blanks = ["—"] * (2 + len(constraints))
            rows.append(
                [_group_text(choice.key), "none meets the SLO", *blanks, "—", "—", feasible]
            )
            continue
        rows.append(
            [
                _group_text(choice.key),
                row.config_label,
                fmt(row.get(energy.column)),
                fmt(row.wh_per_query),
                *[_value(c.metric, row.get(c.metric.column)) for c in constraints],
                f"{runner.config_label} ({fmt(runner.get(energy.column))})" if runner else "—",
                _pct(choice.slo_cost(energy)),
                feasible,
            ]
        )
    return fitted_table(
        columns,
        rows,
        title="least energy under " + " and ".join(_bound_text(c) for c in constraints),
        caption="SLO cost: chosen energy vs the group's unconstrained minimum; --json for all",
    )


# --- compare --------------------------------------------------------------------------------


def compare_command(
    sources: list[Path] = typer.Argument(None, help=SOURCES_HELP),
    by: str = typer.Option(
        "gpu", "--by", help="Dimension to compare across: gpu, precision, num_gpus …"
    ),
    at_itl: str | None = typer.Option(None, "--at-itl", help="ITL bounds, e.g. 50ms,100ms,250ms."),
    at_tpot: str | None = typer.Option(None, "--at-tpot", help="TPOT bounds, e.g. 20ms,50ms."),
    stat: str = typer.Option("median", "--stat", help=STAT_HELP),
    baseline: str | None = typer.Option(
        None, "--baseline", help="Baseline value of --by, e.g. H100."
    ),
    candidate: str | None = typer.Option(
        None, "--candidate", help="Candidate value of --by, e.g. B200."
    ),
    energy: str = typer.Option("energy_per_token_j", "--energy", help=ENERGY_HELP),
    group_by: str = typer.Option(
        "model,task", "--group-by", help="Comma-separated grouping columns."
    ),
    where: list[str] = typer.Option([], "--where", help=WHERE_HELP),
    basis: str | None = BASIS_OPTION,
    power_per_gpu: str | None = POWER_PER_GPU_OPTION,
    include_invalid: bool = INCLUDE_INVALID_OPTION,
    as_json: bool = typer.Option(False, "--json", help="Print {cases, summary} JSON."),
) -> None:
    """Matched-latency comparison: best baseline vs best candidate per group and bound."""
    with as_flags(ANALYSIS_FLAGS):
        (by_column,) = check_columns([by], "by")
        groups_by = check_columns(_split(group_by), "group_by")
        if by_column in groups_by:
            raise ConfigError(
                f"--by {by_column} cannot also be a --group-by column", field="--group-by"
            )
        bounds = {"at_itl": _split(at_itl or ""), "at_tpot": _split(at_tpot or "")}
        latency_bounds(**bounds, stat=stat)  # checked before any file is read
        energy_metric = metric(energy, "energy")
        apart = by_column not in FAMILY_COLUMNS
        rows = load_rows(sources, where, basis, power_per_gpu, include_invalid, apart)
        _warn_without(rows, energy_metric)
        result = compare(
            rows,
            by=by_column,
            **bounds,
            stat=stat,
            baseline=baseline,
            candidate=candidate,
            energy=energy,
            group_by=groups_by,
            include_invalid=include_invalid,
        )
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        _labelled(
            _compare_table(result, by_column),
            rows,
        )
    )


def _compare_table(result: Comparison, by: str) -> Table:
    cases, summary, base, cand = result.cases, result.summary, result.baseline, result.candidate
    energy = _heading(result.energy)
    columns = [
        Column("group"),
        Column("latency bound"),
        Column(f"{base} configuration", drop=2),
        Column(f"{cand} configuration", drop=1),
        Column(f"{base}: {energy}", "right", numeric=True),
        Column(f"{cand}: {energy}", "right", numeric=True),
        Column("energy change", "right", numeric=True),
    ]
    rows = [
        [
            _group_text(case.key),
            _bound_text(case.constraint),
            case.baseline.config_label,
            case.candidate.config_label,
            fmt(case.baseline_energy),
            fmt(case.candidate_energy),
            _pct(case.energy_change),
        ]
        for case in cases
    ]
    caption = (
        f"{cand} uses less energy in {summary.wins} of {summary.cases} cases; "
        f"median {_pct(summary.median_change)}, "
        f"range {_pct(summary.min_change)} … {_pct(summary.max_change)}"
    )
    return fitted_table(
        columns, rows, title=f"{cand} vs {base} ({by}) at matched latency", caption=caption
    )
