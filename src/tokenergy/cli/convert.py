"""``tokenergy convert``: throughput + power → J/token, kWh/Mtok, Wh/query, equivalents."""

from __future__ import annotations

import typer
from rich.table import Table

from tokenergy import units
from tokenergy.api import convert
from tokenergy.calculator import Conversion, ThroughputKind, equivalents_of
from tokenergy.cli.carbon import footprint_caption
from tokenergy.cli.flags import as_flags
from tokenergy.cli.options import (
    BASIS_HELP,
    GRID_HELP,
    POWER_FLAGS,
    REGION_HELP,
    WUE_HELP,
)
from tokenergy.cli.render import console, fmt, print_json

CONVERT_FLAGS = {
    **POWER_FLAGS,
    "throughput_tok_s": "--throughput",
    "gpu": "--gpu",
    "isl": "--isl",
    "osl": "--osl",
    "queries": "--queries",
    "grid": "--grid",
    "region": "--region",
    "wue": "--wue",
}


def convert_command(
    throughput: str = typer.Option(
        ..., "--throughput", help="Token rate of the whole deployment, tok/s."
    ),
    throughput_kind: ThroughputKind = typer.Option(
        ThroughputKind.TOTAL, "--throughput-kind", help="total (input+output) or output tokens/s."
    ),
    power: list[str] = typer.Option(
        [], "--power", help="Power of the whole deployment, e.g. 1.5kW; repeat for brackets."
    ),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU model for catalog bases, e.g. H100."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="Number of GPUs serving."),
    basis: str | None = typer.Option(None, "--basis", help=BASIS_HELP),
    boundary: str | None = typer.Option(
        None, "--boundary", help="Boundary a --power figure covers (default node)."
    ),
    host_overhead: str | None = typer.Option(
        None, "--host-overhead", help="Host share on top of GPU power, e.g. 10% (→ node)."
    ),
    pue: str | None = typer.Option(None, "--pue", help="Power usage effectiveness (→ facility)."),
    isl: int | None = typer.Option(None, "--isl", min=0, help="Input tokens per query."),
    osl: int | None = typer.Option(None, "--osl", min=0, help="Output tokens per query."),
    queries: float | None = typer.Option(None, "--queries", min=0, help="Queries, for a total."),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list for several --power)."),
) -> None:
    """Convert a throughput and a power into J/token, kWh per million tokens and Wh/query."""
    with as_flags(CONVERT_FLAGS):
        results = convert(
            throughput,
            list(power) or None,
            kind=throughput_kind,
            gpu=gpu,
            gpus=gpus,
            basis=basis,
            boundary=boundary,
            host_overhead=host_overhead,
            pue=pue,
            isl=isl,
            osl=osl,
            queries=queries,
            grid=grid,
            region=region,
            wue=wue,
        )
    if as_json:
        payload = [r.to_dict() for r in results]
        print_json(payload[0] if len(payload) == 1 else payload)
        return
    console.print(_table(results))


def _table(results: list[Conversion]) -> Table:
    first = results[0]
    per = "token" if first.throughput_kind is ThroughputKind.TOTAL else "output token"
    table = Table(title=f"{fmt(first.throughput_tok_s)} {first.throughput_kind.value} tok/s")
    for column in ("power (W)", f"J/{per}", "kWh/Mtok", "Wh/query"):
        table.add_column(column, justify="right")
    table.add_column("boundary")
    table.add_column("basis")
    has_total = first.total_kwh is not None
    if has_total:
        table.add_column("total kWh", justify="right")
    carbon = first.footprint()
    water = carbon is not None and carbon["water_l_per_query"] is not None
    if carbon is not None:
        table.add_column("gCO2e/query", justify="right")
        table.add_column("kgCO2e/Mtok", justify="right")
        if water:
            table.add_column("L water/query", justify="right")
    for result in results:
        row = [
            fmt(result.power_w),
            fmt(result.j_per_token),
            fmt(units.kwh_per_mtok(result.j_per_token)),
            fmt(result.wh_per_query),
            result.power.boundary.value,
            f"{result.power.basis.value} ({result.power.method})",
        ]
        if has_total:
            row.append(fmt(result.total_kwh))
        figures = result.footprint()
        if figures is not None:
            per_mtok = figures["gco2e_per_mtok"]
            row += [fmt(figures["gco2e_per_query"]), fmt(per_mtok / 1000.0)]
            if water:
                row.append(fmt(figures["water_l_per_query"]))
        table.add_row(*row)
    table.caption = "\n".join(_caption(results)) or None
    return table


def _caption(results: list[Conversion]) -> list[str]:
    """Boundary steps applied and everyday equivalents of one query, per bracket."""
    lines = []
    carbon = results[0].footprint()
    if carbon is not None:
        lines.append(footprint_caption(carbon))
    steps = results[0].power.steps
    if steps:
        lines.append("steps: " + ", ".join(f"{s.name} ×{s.factor:g}" for s in steps))
    for result in results:
        if result.wh_per_query is not None:
            parts = equivalents_of(result.wh_per_query).items()
            lines.append(
                f"{fmt(result.power_w)} W: 1 query ≈ " + "; ".join(f"{v:.3g} {k}" for k, v in parts)
            )
    return lines
