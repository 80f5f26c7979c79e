"""``tokenergy reconcile``: every figure of a model at one workload and boundary, explained."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tokenergy import units
from tokenergy.analyze.reconcile import (
    FACTOR_NAMES,
    Reconciliation,
    embedded_results,
    reconcile,
)
from tokenergy.analyze.reconcile_plot import check_plot_path, plot_reconciliation
from tokenergy.analyze.sources import load_sources
from tokenergy.cli.render import console, fmt, print_json
from tokenergy.errors import ConfigError
from tokenergy.records import ServingResult
from tokenergy.store import Store
from tokenergy.units import Basis, Boundary

_SHORT = {
    "throughput per GPU": "throughput/GPU",
    "power per GPU": "power/GPU",
    "utilisation": "util",
}


def reconcile_command(
    sources: list[Path] = typer.Argument(
        None,
        help="Result files/directories (default: the embedded ML.ENERGY v3 + InferenceX data).",
        show_default=False,
    ),
    model: str = typer.Option(..., "--model", help="Model, e.g. Llama-3.1-405B (any spelling)."),
    gpu: str | None = typer.Option(None, "--gpu", help="Keep measured/converted figures on GPU."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="... and with this GPU count."),
    precision: str | None = typer.Option(None, "--precision", help="... and precision, e.g. fp8."),
    isl: float | None = typer.Option(None, "--isl", help="Workload input tokens (default: ref's)."),
    osl: float | None = typer.Option(
        None, "--osl", help="Workload output tokens (default: ref's)."
    ),
    boundary: str = typer.Option(
        "accelerator", "--boundary", help="accelerator|node|facility: every figure moved to it."
    ),
    host_overhead: str | None = typer.Option(
        None, "--host-overhead", help="Host share for node/facility, e.g. 15%."
    ),
    pue: float | None = typer.Option(
        None, "--pue", help="PUE for measured/nameplate figures at facility (default 1.212)."
    ),
    table: Path | None = typer.Option(
        None, "--table", help="Throughput CSV for the estimate (default: packaged 8×H100 FP8)."
    ),
    table_gpu: str | None = typer.Option(None, "--table-gpu", help="GPU of --table's rows."),
    no_estimate: bool = typer.Option(False, "--no-estimate", help="Leave the estimate out."),
    calibrated: bool = typer.Option(
        False, "--calibrated", help="Add a calibrated estimate (leave-one-out on measurements)."
    ),
    no_store: bool = typer.Option(False, "--no-store", help="Leave stored bench runs out."),
    all_points: bool = typer.Option(
        False, "--all-points", help="Every point, not one per configuration."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the estimate."),
    plot: Path | None = typer.Option(None, "--plot", help="Bar chart of ratios/factors (PNG/SVG)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Measured, converted and estimated figures of one model, each ratio split into factors."""
    if plot is not None:
        check_plot_path(plot)
    try:
        target = Boundary(boundary)
    except ValueError:
        raise ConfigError(
            f"unknown boundary {boundary!r}; use accelerator, node or facility", field="--boundary"
        ) from None
    if target is Boundary.FLEET:
        raise ConfigError(
            "reconcile works per query: accelerator, node or facility", field="--boundary"
        )
    if pue is not None and pue < 1:
        raise ConfigError(f"a PUE is at least 1, got {pue:g}", field="--pue")
    overhead = None if host_overhead is None else units.parse_fraction(host_overhead)
    results: list[ServingResult] = load_sources(sources) if sources else embedded_results()
    if not no_store:
        results += [r for r in Store().results() if _measured(r)]
    extra = {"pue": pue} if pue is not None else {}
    result = reconcile(
        model,
        results,
        gpu=gpu,
        gpus=gpus,
        precision=precision,
        isl=isl,
        osl=osl,
        boundary=target,
        host_overhead=overhead,
        table=str(table) if table is not None else None,
        table_gpu=table_gpu,
        estimate=not no_estimate,
        calibrated=calibrated,
        all_points=all_points,
        seed=seed,
        **extra,
    )
    if plot is not None:
        plot_reconciliation(result, plot)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(_table(result))


def _measured(result: ServingResult) -> bool:
    energy = result.energy
    return energy is not None and energy.basis is Basis.MEASURED and energy.valid


def _table(result: Reconciliation) -> Table:
    w = result.workload
    table = Table(
        title=(
            f"{result.model}: {w.input_len:.0f} in / {w.output_len:.0f} out tokens per query, "
            f"{result.boundary} boundary"
        )
    )
    for column in ("method", "source", "config", "basis", "Wh/query", "J/out tok", "ratio"):
        table.add_column(column, justify="right" if column[0] in "WJr" else "left")
    names = [n for n in FACTOR_NAMES if any(f.name == n for r in result.rows for f in r.factors)]
    for name in names:
        table.add_column(_SHORT.get(name, name), justify="right")
    for row in result.rows:
        f = row.figure
        by_name = {x.name: x.ratio for x in row.factors}
        table.add_row(
            f.method.value,
            f.source,
            f.config,
            f.basis.value,
            fmt(row.wh_per_query, 3),
            fmt(f.j_per_output_token, 3),
            "ref" if row.figure == result.reference.figure else f"{row.ratio:.3g}×",
            *[f"{by_name[n]:.3g}" if n in by_name else "—" for n in names],
        )
    table.caption = "\n".join(
        [
            f"reference: {result.reference_choice}",
            "ratio = figure ÷ reference = product of the factors (throughput/GPU is ref ÷ figure)",
            *result.notes,
        ]
    )
    return table
