"""``tokenergy estimate`` and ``tokenergy fleet``: bottom-up Monte Carlo per query and per fleet."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, TypeVar

import typer
from rich.table import Table

from tokenergy import units
from tokenergy.cli.carbon import (
    add_fleet_footprint,
    estimate_footprint,
    estimate_footprint_lines,
    fleet_footprint_line,
)
from tokenergy.cli.flags import as_flags
from tokenergy.cli.options import GRID_HELP, REGION_HELP, WUE_HELP, grid_option, parse_option
from tokenergy.cli.paths import output_file, writing
from tokenergy.cli.render import console, fmt, print_json, warn
from tokenergy.cli.work_progress import PROGRESS_EVERY_OPTION, QUIET_OPTION, WorkProgress
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Distribution, Exponential, Point
from tokenergy.estimate.fleet import FleetResult, run_fleet
from tokenergy.estimate.histogram import RELATIVE_QUANTILE_ERROR
from tokenergy.estimate.ladder import deployment_power
from tokenergy.estimate.lengthfiles import INPUT, load_lengths
from tokenergy.estimate.levers import Lever, parse_lever
from tokenergy.estimate.montecarlo import (
    EstimateResult,
    Summary,
    Trim,
    load_fits,
    node_power,
    run_estimate,
)
from tokenergy.estimate.params import (
    PUE_P5_P95,
    UTIL_P5_P95,
    EstimateParams,
    FleetParams,
    Leff,
    Regime,
    p5_p95,
)
from tokenergy.estimate.plot import check_plot_path, plot_estimate
from tokenergy.estimate.sensitivity import SensitivityResult, sensitivity
from tokenergy.estimate.sensitivity_plot import plot_sensitivity
from tokenergy.estimate.surface import SurfaceFit
from tokenergy.footprint import Grid
from tokenergy.units import Boundary

_E = TypeVar("_E", Regime, Leff, Trim, Boundary)

MODEL_HELP = "Model of the throughput table (repeatable); none: every model."
TABLE_HELP = "Throughput CSV (model,tp,quant,tps,lin,lout,source); default: packaged 8×H100 FP8."
PMAX_HELP = (
    "Full-draw node power, e.g. 11.3kW; default by the table's tp: 8 GPUs 11.3 kW, 10: 14.1."
)
PUE_HELP = "PUE, {0} (default {1}); facility boundary only."
BOUNDARY_HELP = (
    "accelerator (GPUs × W/GPU × u), node (+ host overhead, or P_max), or facility (node × PUE)."
)
GPU_HELP = "GPU model for its catalog TDP (e.g. H100); default: the table's GPU."
PER_GPU_HELP = "Stated power per GPU, e.g. 700W, instead of the TDP or a measured power."
HOST_HELP = "Host share on top of GPU power, e.g. 30%: node = accelerator × (1 + it)."
BATCH_HELP = "Operating batch of surfaces calibrated on measurements; default: largest measured."
FIT_NOISE_HELP = "Add the surface's own fit error (log residual std) to the uncertainty."
PIDLE_HELP = "Idle node power, e.g. 2.7kW; default 2.7/11.3 of P_max."
CORRELATE_HELP = "Node power rises linearly from idle to u·P_max with TPS/TPS_max (else u·P_max)."
LEFF_HELP = (
    "Tokens charged per query, out or in+out; set by the table's rate (output/s ↔ out, "
    "total/s ↔ in+out): a contradicting value is refused."
)
LEVER_HELP = "Efficiency lever model|serving|hardware|custom:P5,P95 (repeatable; they multiply)."


# --- shared parsing ------------------------------------------------------------------------------


# 1e10 draws take ~12 minutes on 2 cores (1e8: ~7 s); more is a typo, not a plan, and would
# otherwise run for days.
MAX_DRAWS = 10**10


def _count(option: str, text: str, minimum: int = 1, maximum: int = MAX_DRAWS) -> int:
    """A whole number in [minimum, maximum], written as 100000000 or 1e8."""
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"cannot parse {text!r} as a number", field=option) from None
    if not (math.isfinite(value) and value >= minimum and value == int(value)):
        raise ConfigError(f"must be a whole number >= {minimum}, got {text!r}", field=option)
    if value > maximum:
        raise ConfigError(f"at most {maximum:.0e} draws, got {text!r}", field=option)
    return int(value)


def _positive(option: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"cannot parse {text!r} as a number", field=option) from None
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(f"must be a positive number, got {text!r}", field=option)
    return value


FLEET_FLAGS = {
    "util": "--util-p5/--util-p95",
    "pue": "--pue-p5/--pue-p95",
    "beta": "--beta",
    "p_idle_w": "--p-idle",
    "min_load": "--min-load",
    "max_load": "--max-load",
    "redundancy": "--redundancy",
    "network": "--network",
}


def _range(name: Literal["util", "pue"], p5: float, p95: float) -> Distribution:
    with as_flags(FLEET_FLAGS):
        return p5_p95(name, p5, p95)


def _ladder(
    boundary: str,
    pue_p5: float | None,
    pue_p95: float | None,
    gpu: str | None,
    power_per_gpu: str | None,
    host_overhead: str | None,
    batch: float | None,
    fit_noise: bool,
) -> dict[str, object]:
    """The boundary-ladder parameters; a PUE is refused below the facility boundary."""
    chosen = _enum(Boundary, "--boundary", boundary)
    given_pue = pue_p5 is not None or pue_p95 is not None
    if given_pue and chosen is not Boundary.FACILITY:
        raise ConfigError(
            f"a PUE applies at the facility boundary only, not {chosen}", field="--pue-p5"
        )
    p5 = PUE_P5_P95[0] if pue_p5 is None else pue_p5
    p95 = PUE_P5_P95[1] if pue_p95 is None else pue_p95
    if batch is not None and not (math.isfinite(batch) and batch > 0):
        raise ConfigError(f"must be a positive number, got {batch:g}", field="--batch")
    return {
        "pue": _range("pue", p5, p95),
        "boundary": chosen,
        "gpu": gpu,
        "power_per_gpu_w": _power("--power-per-gpu", power_per_gpu),
        "host_overhead": (
            None
            if host_overhead is None
            else parse_option("--host-overhead", units.parse_fraction, host_overhead)
        ),
        "batch": batch,
        "fit_noise": fit_noise,
    }


def _power(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    value = parse_option(option, units.parse_power_w, text)
    if value <= 0:
        raise ConfigError(f"must be positive, got {text!r}", field=option)
    return value


def _levers(texts: list[str]) -> list[Lever]:
    return [parse_lever(text) for text in texts]


def _enum(kind: type[_E], option: str, text: str) -> _E:
    try:
        return kind(text)
    except ValueError:
        names = ", ".join(member.value for member in kind)
        raise ConfigError(f"unknown value {text!r}; use one of {names}", field=option) from None


def _f(value: float | None) -> str:
    """Three significant digits: the inputs are not known better than that."""
    return fmt(value, 3)


def _check_fits(
    fits: list[SurfaceFit],
    pmax_w: float | None,
    p_idle_w: float | None,
    lin: float | None,
    named: bool,
) -> None:
    """Refuse impossible node powers before anything is printed, then warn where it matters.

    A reduced fit is warned about once per model when the user named the model; in a run over
    every model it is a footnote of the table (:func:`_reduced_note`), not a warning each time.
    An input length outside a model's measured range is always warned about: the throughput
    there is extrapolated.
    """
    for fit in fits:
        node_power(fit, pmax_w, p_idle_w)
    if named:
        for fit in fits:
            if fit.warning:
                warn(fit.warning)
    outside = [f for f in fits if lin is not None and not f.lin_range[0] <= lin <= f.lin_range[1]]
    if outside:
        ranges = "; ".join(
            f"{f.model} {f.lin_range[0]:,.0f}–{f.lin_range[1]:,.0f}" for f in outside
        )
        warn(
            f"--lin {lin:,.6g} tokens is outside the input lengths the throughput table measured "
            f"({ranges}): throughput there is extrapolated, treat the result with care"
        )


def _reduced(fits: list[SurfaceFit]) -> dict[str, SurfaceFit]:
    return {fit.model: fit for fit in fits if fit.warning}


def _model_cell(name: str, reduced: dict[str, SurfaceFit]) -> str:
    return f"{name} *" if name in reduced else name


def _reduced_note(reduced: dict[str, SurfaceFit]) -> list[str]:
    """The footnote for rows whose throughput surface is a reduced fit."""
    if not reduced:
        return []
    parts = ", ".join(
        f"{fit.model} ({fit.kind.value}, {fit.n_points} points)" for fit in reduced.values()
    )
    return [
        f"* reduced throughput fit: {parts}; `tokenergy estimate --show-fit` prints the surfaces"
    ]


def _fit_table(fits: list[SurfaceFit], params: EstimateParams) -> Table:
    table = Table(title="Throughput surface: log TPS = b0 + b1·log L_in + b2·log L_out (capped)")
    columns = ("model", "fit", "b0", "b1", "b2", "R²", "σ", "points", "cap tok/s", "GPUs", "P")
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "fit") else "right")
    for fit in fits:
        node = deployment_power(fit, params)
        table.add_row(
            fit.model,
            fit.kind.value,
            fmt(fit.b0),
            fmt(fit.b1),
            fmt(fit.b2),
            fmt(fit.r2),
            fmt(fit.noise_sigma),
            str(fit.n_points),
            f"{fit.cap_tps:,.0f}",
            str(fit.gpus),
            f"{node.pmax_w / 1000:.4g} kW {node.boundary} ({node.basis})",
        )
    table.caption = (
        "σ: residual std of the log fit (--fit-noise draws it); P: the power u scales "
        "(measured power: u not applied); calibrated surfaces: TPS at the operating batch, "
        "normalised to the power at the reference length"
    )
    return table


# --- estimate ------------------------------------------------------------------------------------


def estimate_command(
    model: list[str] = typer.Option([], "--model", help=MODEL_HELP),
    pool: bool = typer.Option(False, "--pool", help="Add a pooled row (models in equal shares)."),
    table: Path | None = typer.Option(None, "--table", help=TABLE_HELP),
    regime: str = typer.Option(
        "traditional",
        "--regime",
        help="traditional (median 300 output tokens) or test-time (5000).",
    ),
    lin: str = typer.Option("500", "--lin", help="Input tokens per query (fixed)."),
    lin_median: str | None = typer.Option(
        None, "--lin-median", help="Median input tokens (exponential), instead of --lin."
    ),
    lin_file: Path | None = typer.Option(
        None, "--lin-file", help="Observed input lengths (input_lens, prompt_tokens …)."
    ),
    lout_median: str | None = typer.Option(
        None, "--lout-median", help="Median output tokens (exponential); default by --regime."
    ),
    lout_file: Path | None = typer.Option(
        None,
        "--lout-file",
        help="Observed output lengths: ML.ENERGY model JSON, requests JSONL, JSON list or text.",
    ),
    leff: str | None = typer.Option(None, "--leff", help=LEFF_HELP),
    pmax: str | None = typer.Option(None, "--pmax", help=PMAX_HELP),
    p_idle: str | None = typer.Option(None, "--p-idle", help=PIDLE_HELP),
    correlate_power: bool = typer.Option(False, "--correlate-power", help=CORRELATE_HELP),
    util_p5: float = typer.Option(UTIL_P5_P95[0], "--util-p5", help="Node utilisation u, P5."),
    util_p95: float = typer.Option(UTIL_P5_P95[1], "--util-p95", help="Node utilisation u, P95."),
    pue_p5: float | None = typer.Option(None, "--pue-p5", help=PUE_HELP.format("P5", 1.05)),
    pue_p95: float | None = typer.Option(None, "--pue-p95", help=PUE_HELP.format("P95", 1.40)),
    boundary: str = typer.Option("facility", "--boundary", help=BOUNDARY_HELP),
    gpu: str | None = typer.Option(None, "--gpu", help=GPU_HELP),
    power_per_gpu: str | None = typer.Option(None, "--power-per-gpu", help=PER_GPU_HELP),
    host_overhead: str | None = typer.Option(None, "--host-overhead", help=HOST_HELP),
    batch: float | None = typer.Option(None, "--batch", help=BATCH_HELP),
    fit_noise: bool = typer.Option(False, "--fit-noise", help=FIT_NOISE_HELP),
    lever: list[str] = typer.Option([], "--lever", help=LEVER_HELP),
    samples: str = typer.Option("1000000", "--samples", help="Draws per model, e.g. 1e8."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random generators."),
    trim: str = typer.Option(
        "none", "--trim", help="none, or paper: Oviedo et al.'s per-model P5–P95 then P10–P90 cut."
    ),
    show_fit: bool = typer.Option(False, "--show-fit", help="Print the fitted throughput surface."),
    plot: Path | None = typer.Option(None, "--plot", help="Write the distributions to PNG/SVG."),
    with_sensitivity: bool = typer.Option(
        False, "--sensitivity", help="Sobol indices of each uncertain input (SALib)."
    ),
    sensitivity_plot: Path | None = typer.Option(
        None, "--sensitivity-plot", help="Bar chart of the Sobol indices (PNG/SVG)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
    quiet: bool = QUIET_OPTION,
    progress_every: float = PROGRESS_EVERY_OPTION,
) -> None:
    """Per-query energy distribution (Wh; accelerator/node/facility boundary) by Monte Carlo."""
    layer = grid_option(grid, region, wue)
    if lout_median is not None and lout_file is not None:
        raise ConfigError("give --lout-median or --lout-file, not both", field="--lout-median")
    if lin_median is not None and lin_file is not None:
        raise ConfigError("give --lin-median or --lin-file, not both", field="--lin-median")
    for path, option in ((plot, "--plot"), (sensitivity_plot, "--sensitivity-plot")):
        if path is not None:
            with as_flags({"plot": option}):
                check_plot_path(path)
            output_file(path, option)
    with_sensitivity = with_sensitivity or sensitivity_plot is not None
    lout: Distribution | None = None
    if lout_median is not None:
        lout = Exponential.from_median(_positive("--lout-median", lout_median), "--lout-median")
    elif lout_file is not None:
        lout = load_lengths(lout_file, "--lout-file")
    params = EstimateParams(
        models=model,
        **({"table": str(table)} if table is not None else {}),
        regime=_enum(Regime, "--regime", regime),
        lin=_lin(lin, lin_median, lin_file),
        lout=lout,
        leff=None if leff is None else _enum(Leff, "--leff", leff),
        pmax_w=_power("--pmax", pmax),
        p_idle_w=_power("--p-idle", p_idle),
        correlate_power=correlate_power,
        util=_range("util", util_p5, util_p95),
        **_ladder(boundary, pue_p5, pue_p95, gpu, power_per_gpu, host_overhead, batch, fit_noise),
        levers=_levers(lever),
        samples=_count("--samples", samples),
        seed=seed,
        pool=pool,
    )
    fits = load_fits(params.table, params.models, params.batch)
    fixed_lin = params.lin.value if isinstance(params.lin, Point) else None
    _check_fits(fits, params.pmax_w, params.p_idle_w, fixed_lin, named=bool(model))
    chosen_trim = _enum(Trim, "--trim", trim)
    with WorkProgress("estimate", quiet=quiet, every_s=progress_every) as progress:
        result = run_estimate(params, progress, fits, chosen_trim)
    if plot is not None:
        with writing(plot, "--plot"):
            plot_estimate(result, plot)
    indices = sensitivity(params, fits) if with_sensitivity else None
    if indices is not None and sensitivity_plot is not None:
        with writing(sensitivity_plot, "--sensitivity-plot"):
            plot_sensitivity(indices, sensitivity_plot)
    if as_json:
        payload = result.to_dict()
        if indices is not None:
            payload["sensitivity"] = indices.to_dict()
        if layer is not None:
            for row in [*payload["models"], *([payload["pooled"]] if "pooled" in payload else [])]:
                row["footprint"] = estimate_footprint(row, layer, result)
        print_json(payload)
        return
    if show_fit:
        console.print(_fit_table(fits, params))
    console.print(_estimate_table(result, _reduced(fits), layer))
    if indices is not None:
        console.print(_sensitivity_table(indices))


def _lin(fixed: str, median: str | None, path: Path | None) -> Distribution:
    """Input tokens: fixed (--lin), exponential by its median, or observed lengths."""
    if median is not None:
        return Exponential.from_median(_positive("--lin-median", median), "--lin-median")
    if path is not None:
        return load_lengths(path, "--lin-file", INPUT)
    return Point(value=_positive("--lin", fixed))


def _sensitivity_table(result: SensitivityResult) -> Table:
    table = Table(title="Sobol sensitivity of Wh/query (share of variance; ± 95 % interval)")
    for column in ("target", "input", "S1 log E", "ST log E", "S1 E", "ST E"):
        table.add_column(column, justify="left" if column in ("target", "input") else "right")
    for row in result.rows:
        for rank, index in enumerate(row.ranked()):
            table.add_row(
                row.target if rank == 0 else "",
                index.name,
                f"{index.s1_log:.3f} ± {index.s1_log_conf:.3f}",
                f"{index.st_log:.3f} ± {index.st_log_conf:.3f}",
                f"{index.s1:.3f} ± {index.s1_conf:.3f}",
                f"{index.st:.3f} ± {index.st_conf:.3f}",
            )
    table.caption = (
        f"Saltelli/Sobol design, N = {result.base_samples:,} (N·(d+2) evaluations), seed "
        f"{result.seed}; fixed inputs carry no variance and are not listed"
    )
    return table


def _estimate_table(
    result: EstimateResult, reduced: dict[str, SurfaceFit], layer: Grid | None = None
) -> Table:
    params = result.params
    has_levers = bool(params.levers)
    # --lout-median/--lout-file replace the regime's lengths, so the regime would mislabel the table
    workload = f"{params.regime.value} regime" if params.lout is None else "given output lengths"
    bases = ", ".join(sorted({e.node.basis.value for e in result.models}))
    table = Table(
        title=f"Wh per query — {workload} ({result.boundary} boundary, modeled; {bases} power)"
    )
    table.add_column("model")
    for column in ("median", "IQR", "P5–P95", "mean"):
        table.add_column(column, justify="right")
    if has_levers:
        for column in ("improved median", "improved P5–P95", "improved mean"):
            table.add_column(column, justify="right")
    rows: list[tuple[str, Summary, Summary | None]] = [
        (e.model, e.baseline, e.improved) for e in result.models
    ]
    if result.pooled is not None:
        rows.append(("pooled", result.pooled, result.pooled_improved))
    for name, base, improved in rows:
        cells = [_model_cell(name, reduced), *_quantile_cells(base)]
        if improved is not None:
            q = improved.quantile_wh
            cells += [_f(q(0.5)), f"{_f(q(0.05))}–{_f(q(0.95))}", _f(improved.mean_wh)]
        table.add_row(*cells)
    lout = params.lout_distribution()
    lout_text = (
        f"exponential, median {lout.median:g}"
        if isinstance(lout, Exponential)
        else f"{lout.kind} ({getattr(lout, 'source', None) or 'given'})"
    )
    pue_text = (
        f"PUE P5–P95 {_f(params.pue.quantile(0.05))}–{_f(params.pue.quantile(0.95))}"
        if result.boundary is Boundary.FACILITY
        else "no PUE (below the facility boundary)"
    )
    lines = [
        f"E = {_formula(result)} · L_eff / TPS(L_in, L_out) / 3600; L_in {_lin_text(params.lin)}, "
        f"L_out {lout_text}, L_eff {_leff_text(result)}",
        *_power_lines(result),
        f"u P5–P95 {_f(params.util.quantile(0.05))}–{_f(params.util.quantile(0.95))} "
        f"(not applied to measured power), {pue_text}"
        + (", power correlated with throughput" if params.correlate_power else "")
        + (", fit residual noise included" if params.fit_noise else ""),
        f"{params.samples:,} draws per model, seed {params.seed}; quantiles within "
        f"{RELATIVE_QUANTILE_ERROR:.2%}, mean exact",
    ]
    if result.trim is Trim.PAPER:
        lines.append(
            "trim paper: each model's draws cut to P5–P95, then P10–P90, before pooling "
            "(Oviedo et al.'s statistics; the mean is of the trimmed draws)"
        )
    if has_levers:
        lines.append("levers: " + ", ".join(_lever_text(lever) for lever in params.levers))
    if layer is not None:
        lines += estimate_footprint_lines(result, layer)
    table.caption = "\n".join(lines + _reduced_note(reduced))
    return table


def _formula(result: EstimateResult) -> str:
    """The power chain actually applied, outermost factor first."""
    pue = "PUE · " if result.boundary is Boundary.FACILITY else ""
    return f"{pue}u · P"


def _power_lines(result: EstimateResult) -> list[str]:
    """One line per model: where P came from, at which boundary, from how many GPUs."""
    lines = []
    for estimate in result.models:
        node = estimate.node
        lines.append(
            f"{estimate.model}: P = {node.pmax_w / 1000:.4g} kW = {node.method} "
            f"({node.basis.value}, {node.gpus} GPUs)"
        )
    return lines


def _leff_text(result: EstimateResult) -> str:
    """The tokens charged, as the surfaces' rate bases set them."""
    rates = {estimate.fit.rate.value for estimate in result.models}
    return " / ".join(
        "L_out (output tok/s)" if rate == "output" else "L_in + L_out (total tok/s)"
        for rate in sorted(rates)
    )


def _lin_text(lin: Distribution) -> str:
    if isinstance(lin, Point):
        return f"{lin.value:g}"
    if isinstance(lin, Exponential):
        return f"exponential, median {lin.median:g}"
    return f"{lin.kind} ({getattr(lin, 'source', None) or 'given'}), mean {lin.mean:.4g}"


def _quantile_cells(summary: Summary) -> list[str]:
    q = summary.quantile_wh
    return [
        _f(q(0.5)),
        f"{_f(q(0.25))}–{_f(q(0.75))}",
        f"{_f(q(0.05))}–{_f(q(0.95))}",
        _f(summary.mean_wh),
    ]


def _lever_text(lever: Lever) -> str:
    return f"{lever.name} α P5–P95 {lever.alpha.p5:.3g}–{lever.alpha.p95:.3g}"


# --- fleet ---------------------------------------------------------------------------------------


def _mix(text: str) -> dict[Regime, float]:
    shares: dict[Regime, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(
                f"cannot parse {part!r}: write e.g. traditional=0.9,test-time=0.1", field="--mix"
            )
        regime = _enum(Regime, "--mix", name.strip())
        if regime in shares:
            raise ConfigError(f"{regime.value} is given twice", field="--mix")
        try:
            share = float(value)
        except ValueError:
            raise ConfigError(f"share {value!r} is not a number", field="--mix") from None
        if not (math.isfinite(share) and share >= 0):
            raise ConfigError(f"share {value!r} must be a finite number >= 0", field="--mix")
        shares[regime] = share
    return shares


def _fraction(option: str, value: float | None) -> float | None:
    if value is not None and not 0 < value <= 1:
        raise ConfigError(f"must be in (0, 1], got {value:g}", field=option)
    return value


def fleet_command(
    queries_per_day: str = typer.Option(
        ..., "--queries-per-day", help="Queries per day, e.g. 1e9."
    ),
    mix: str = typer.Option(
        "traditional=0.9,test-time=0.1", "--mix", help="Regime shares, e.g. traditional=0.9,..."
    ),
    model: list[str] = typer.Option([], "--model", help=MODEL_HELP),
    table: Path | None = typer.Option(None, "--table", help=TABLE_HELP),
    lin: str = typer.Option("500", "--lin", help="Input tokens per query (fixed)."),
    leff: str | None = typer.Option(None, "--leff", help=LEFF_HELP),
    p_idle: str | None = typer.Option(None, "--p-idle", help=PIDLE_HELP),
    pmax: str | None = typer.Option(None, "--pmax", help=PMAX_HELP),
    min_load: float | None = typer.Option(None, "--min-load", help="Diurnal minimum load (0.5)."),
    max_load: float | None = typer.Option(None, "--max-load", help="Diurnal maximum load (1.0)."),
    redundancy: float | None = typer.Option(None, "--redundancy", help="Redundancy factor (1.10)."),
    network: float | None = typer.Option(None, "--network", help="Network overhead (1.12)."),
    beta: float | None = typer.Option(
        None, "--beta", help="β directly, instead of the load profile and overheads."
    ),
    correlate_power: bool = typer.Option(False, "--correlate-power", help=CORRELATE_HELP),
    util_p5: float = typer.Option(UTIL_P5_P95[0], "--util-p5", help="Node utilisation u, P5."),
    util_p95: float = typer.Option(UTIL_P5_P95[1], "--util-p95", help="Node utilisation u, P95."),
    pue_p5: float | None = typer.Option(None, "--pue-p5", help=PUE_HELP.format("P5", 1.05)),
    pue_p95: float | None = typer.Option(None, "--pue-p95", help=PUE_HELP.format("P95", 1.40)),
    boundary: str = typer.Option("facility", "--boundary", help=BOUNDARY_HELP),
    gpu: str | None = typer.Option(None, "--gpu", help=GPU_HELP),
    power_per_gpu: str | None = typer.Option(None, "--power-per-gpu", help=PER_GPU_HELP),
    host_overhead: str | None = typer.Option(None, "--host-overhead", help=HOST_HELP),
    batch: float | None = typer.Option(None, "--batch", help=BATCH_HELP),
    fit_noise: bool = typer.Option(False, "--fit-noise", help=FIT_NOISE_HELP),
    lever: list[str] = typer.Option([], "--lever", help=LEVER_HELP),
    scenarios: str = typer.Option("10000", "--scenarios", help="Scenario draws (u, PUE, α)."),
    length_samples: str = typer.Option(
        "1000000", "--length-samples", help="Per-query length draws per model."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random generators."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
    quiet: bool = QUIET_OPTION,
    progress_every: float = PROGRESS_EVERY_OPTION,
) -> None:
    """Daily fleet energy (GWh/day, fleet boundary, modeled) with scenario-level uncertainty."""
    layer = grid_option(grid, region, wue)
    if beta is not None and beta <= 0:
        raise ConfigError(f"must be positive, got {beta:g}", field="--beta")
    for option, value in (("--redundancy", redundancy), ("--network", network)):
        if value is not None and value < 1:
            raise ConfigError(f"must be >= 1, got {value:g}", field=option)
    overrides = {
        key: value
        for key, value in (
            ("min_load", _fraction("--min-load", min_load)),
            ("max_load", _fraction("--max-load", max_load)),
            ("redundancy", redundancy),
            ("network", network),
        )
        if value is not None
    }
    with as_flags(FLEET_FLAGS, in_message=True):
        params = FleetParams(
            queries_per_day=_positive("--queries-per-day", queries_per_day),
            mix=_mix(mix),
            models=model,
            **({"table": str(table)} if table is not None else {}),
            lin=Point(value=_positive("--lin", lin)),
            leff=None if leff is None else _enum(Leff, "--leff", leff),
            pmax_w=_power("--pmax", pmax),
            p_idle_w=_power("--p-idle", p_idle),
            beta=beta,
            correlate_power=correlate_power,
            util=_range("util", util_p5, util_p95),
            **_ladder(
                boundary, pue_p5, pue_p95, gpu, power_per_gpu, host_overhead, batch, fit_noise
            ),
            levers=_levers(lever),
            scenarios=_count("--scenarios", scenarios),
            length_samples=_count("--length-samples", length_samples, minimum=2),
            seed=seed,
            **overrides,
        )
    fits = load_fits(params.table, params.models, params.batch)
    _check_fits(fits, params.pmax_w, params.p_idle_w, _positive("--lin", lin), named=bool(model))
    _note_mix(params)
    with WorkProgress("fleet", quiet=quiet, every_s=progress_every) as progress:
        result = run_fleet(params, fits, progress)
    if as_json:
        payload = result.to_dict()
        if layer is not None:
            add_fleet_footprint(payload, layer, result)
        print_json(payload)
        return
    console.print(_fleet_table(result, _reduced(fits)))
    for line in _fleet_notes(result):
        console.print(line, highlight=False)
    if layer is not None:
        console.print(fleet_footprint_line(result, layer), highlight=False)


def _note_mix(params: FleetParams) -> None:
    """Shares that do not sum to 1 are normalised: say so, with what they became."""
    total = sum(params.mix.values())
    if not math.isclose(total, 1.0, rel_tol=1e-9):
        shares = ", ".join(f"{r.value} {w:.1%}" for r, w in params.mix_weights().items())
        warn(f"--mix shares sum to {total:g}, not 1; normalised to {shares}")


def _fleet_table(result: FleetResult, reduced: dict[str, SurfaceFit]) -> Table:
    params = result.params
    has_levers = bool(params.levers)
    table = Table(
        title=f"GWh per day for {params.queries_per_day:,.0f} queries/day (fleet boundary, modeled)"
    )
    table.add_column("model")
    for column in ("β", "median", "IQR", "P5–P95", "mean", "MW (continuous)", "Wh/query"):
        table.add_column(column, justify="right")
    if has_levers:
        table.add_column("improved median", justify="right")
        table.add_column("improved P5–P95", justify="right")
    rows = [*result.models, *([result.pooled] if result.pooled is not None else [])]
    for row in rows:
        stats = result.row_dict(row)
        g = stats["gwh_per_day"]
        cells = [
            _model_cell(row.model, reduced),
            _f(row.beta.value) if row.beta is not None else _f(result.beta),
            _f(g["median"]),
            f"{_f(g['q1'])}–{_f(g['q3'])}",
            f"{_f(g['p5'])}–{_f(g['p95'])}",
            _f(g["mean"]),
            _f(stats["comparisons"]["continuous_mw"]),
            _f(stats["comparisons"]["wh_per_query"]),
        ]
        if has_levers:
            improved = stats["improved_gwh_per_day"]
            cells += [_f(improved["median"]), f"{_f(improved['p5'])}–{_f(improved['p95'])}"]
        table.add_row(*cells)
    table.caption = "\n".join(_reduced_note(reduced)) or None
    return table


def _fleet_notes(result: FleetResult) -> list[str]:
    """β terms and everyday comparisons of the headline row (pooled if any, else the last)."""
    params = result.params
    mix = ", ".join(f"{regime.value} {share:.0%}" for regime, share in params.mix_weights().items())
    lines = [
        f"mix: {mix}; {params.scenarios:,} scenarios (u, PUE, α), seed {params.seed}; 'mean' is "
        "queries/day × mean E_query × β (Oviedo et al.'s figure), 'median' the median scenario"
    ]
    first = result.models[0].beta
    if first is not None and first.beta_util is not None:
        lines.append(
            f"β = β_util {first.beta_util:.4g} × redundancy {first.redundancy:g} × network "
            f"{first.network:g}; mean load f̄ = {first.mean_load:.4g} (min {params.min_load:g}, "
            f"max {params.max_load:g})"
        )
    elif params.beta is not None:
        lines.append(f"β = {params.beta:g} (given)")
    headline = result.pooled if result.pooled is not None else result.models[-1]
    c = result.comparisons(headline)
    lines.append(
        f"{headline.model}: median ≈ {c['continuous_mw']:.4g} MW around the clock, i.e. a "
        f"{c['data_centre_mw']:.4g} MW data centre at {c['data_centre_load']:.0%} mean load; "
        f"{c['wh_per_query']:.3g} Wh/query ≈ {c['web_searches_per_query']:.3g} web searches "
        f"at {c['web_search_wh']:g} Wh (Google, 2009)"
    )
    return lines
