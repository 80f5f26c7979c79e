"""Reconcile measured, converted and estimated figures of one model (``tokenergy reconcile``).

Every figure is written as the same product, per query of the common workload:

    J/output token = P_gpu · u · host · PUE / t_gpu · λ · r

P_gpu the per-GPU power scale of its basis (catalog TDP for measured and nameplate figures, the
all-in kW/GPU for provisioned ones), u the fraction of it drawn (measured average ÷ TDP; the
estimator's mean utilisation; 1 for a stated basis), host the accelerator → node multiplier, PUE
the node → facility one, t_gpu the output tokens/s per GPU at the lengths the figure was obtained
at, λ the length adjustment to the common workload (throughput surface at the figure's lengths ÷
at the workload's), r a residual (the Monte Carlo's sampling noise). Wh/query = J/output token ×
the workload's output length / 3600.

The ratio of a figure to the reference is then the product of the ratios of these terms — throughput
per GPU (t_ref/t), power per GPU, utilisation, lengths, host, PUE, residual — exact by construction
(log-additive). GPU count cancels from J/token once power and throughput are both per GPU; its
effect (parallel efficiency) is inside throughput per GPU, and the counts are shown in ``config``.
Sources and choices: docs/methodology.md §11.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from tokenergy import catalog, units
from tokenergy.analyze.modelkey import ModelKey, model_key, normal_precision
from tokenergy.catalog import DEFAULT_THROUGHPUT_TABLE, catalog_path
from tokenergy.errors import CatalogError, ConfigError
from tokenergy.estimate.calibrate import calibration_points, fit_calibrated
from tokenergy.estimate.distributions import LogNormal, Point
from tokenergy.estimate.ladder import deployment_power
from tokenergy.estimate.montecarlo import load_fits, run_estimate
from tokenergy.estimate.params import DEFAULT_LIN_TOKENS, PUE_P5_P95, EstimateParams
from tokenergy.estimate.surface import SurfaceFit, ThroughputPoint, load_throughput_table
from tokenergy.records import ServingResult
from tokenergy.units import Basis, Boundary

MLENERGY_DIR = "reference/mlenergy_v3"
INFERENCEX_DIR = "reference/inferencex"
DEFAULT_PUE = LogNormal.from_p5_p95(*PUE_P5_P95).median  # 1.212, the estimator's median PUE
ESTIMATE_SAMPLES = 200_000
_ORDER = (Boundary.ACCELERATOR, Boundary.NODE, Boundary.FACILITY)
FACTOR_NAMES = (
    "throughput per GPU",
    "power per GPU",
    "utilisation",
    "lengths",
    "host",
    "PUE",
    "residual",
)


class Method(StrEnum):
    MEASURED = "measured"
    CONVERTED = "converted"
    ESTIMATED = "estimated"


@dataclass(frozen=True)
class Workload:
    """The common workload every figure is normalised to: mean input and output tokens."""

    input_len: float
    output_len: float


@dataclass(frozen=True)
class Figure:
    """One figure written as the product of named terms (module docstring)."""

    method: Method
    source: str
    config: str
    model: str
    gpu: str | None
    gpus: int
    boundary: Boundary
    basis: Basis
    power_per_gpu_w: float
    utilisation: float
    host: float
    pue: float
    output_tok_s_per_gpu: float
    input_len: float | None  # lengths the throughput was obtained at; None: unknown
    output_len: float | None
    lengths: float = 1.0  # J/token multiplier from the figure's lengths to the workload's
    residual: float = 1.0
    length_class: str = ""
    batch: float | None = None  # concurrency cap of a measured or benchmarked point
    notes: tuple[str, ...] = ()

    @property
    def j_per_output_token(self) -> float:
        return (
            self.power_per_gpu_w
            * self.utilisation
            * self.host
            * self.pue
            / self.output_tok_s_per_gpu
            * self.lengths
            * self.residual
        )

    @property
    def own_j_per_output_token(self) -> float:
        """At the figure's own lengths (before the length adjustment)."""
        return self.j_per_output_token / self.lengths

    def terms(self) -> dict[str, float]:
        """Each named term, oriented so that the figure's J/token is proportional to it."""
        return {
            "throughput per GPU": 1.0 / self.output_tok_s_per_gpu,
            "power per GPU": self.power_per_gpu_w,
            "utilisation": self.utilisation,
            "lengths": self.lengths,
            "host": self.host,
            "PUE": self.pue,
            "residual": self.residual,
        }


@dataclass(frozen=True)
class Factor:
    name: str
    ratio: float


@dataclass(frozen=True)
class ReconcileRow:
    figure: Figure
    wh_per_query: float
    ratio: float
    factors: list[Factor]

    def to_dict(self) -> dict[str, Any]:
        f = self.figure
        return {
            "method": f.method.value,
            "source": f.source,
            "config": f.config,
            "boundary": f.boundary.value,
            "basis": f.basis.value,
            "wh_per_query": self.wh_per_query,
            "energy_per_token_j": f.j_per_output_token,
            "ratio": self.ratio,
            "factors": [{"name": x.name, "ratio": x.ratio} for x in self.factors],
            "components": {
                "gpu": f.gpu,
                "num_gpus": f.gpus,
                "power_per_gpu_w": f.power_per_gpu_w,
                "utilisation": f.utilisation,
                "host": f.host,
                "pue": f.pue,
                "output_tok_s_per_gpu": f.output_tok_s_per_gpu,
                "input_len": f.input_len,
                "output_len": f.output_len,
                "lengths": f.lengths,
                "residual": f.residual,
                "own_energy_per_token_j": f.own_j_per_output_token,
            },
            "notes": list(f.notes),
        }


@dataclass(frozen=True)
class Reconciliation:
    """Every figure of one model at one workload and boundary, explained against a reference."""

    model: str
    boundary: Boundary
    workload: Workload
    reference: ReconcileRow
    reference_choice: str
    rows: list[ReconcileRow]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        reference = self.reference.to_dict()
        for key in ("ratio", "factors"):
            reference.pop(key)
        reference["choice"] = self.reference_choice
        return {
            "model": self.model,
            "boundary": self.boundary.value,
            "workload": {
                "input_len": self.workload.input_len,
                "output_len": self.workload.output_len,
            },
            "reference": reference,
            "rows": [row.to_dict() for row in self.rows],
            "notes": self.notes,
        }


def decompose(figure: Figure, reference: Figure) -> tuple[float, list[Factor]]:
    """Ratio figure/reference and its named factors (their product equals the ratio exactly)."""
    mine, theirs = figure.terms(), reference.terms()
    factors = [Factor(name, mine[name] / theirs[name]) for name in FACTOR_NAMES]
    factors = [f for f in factors if f.name != "residual" or abs(math.log(f.ratio)) > 1e-12]
    return figure.j_per_output_token / reference.j_per_output_token, factors


# --- gathering figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """What every figure is normalised to: boundary and the overheads needed to reach it."""

    boundary: Boundary
    host_overhead: float | None
    pue: float

    def host(self) -> float:
        if self.boundary is Boundary.ACCELERATOR:
            return 1.0
        if self.host_overhead is None:
            raise ConfigError(
                f"the {self.boundary} boundary needs a host share for accelerator figures: "
                "give host_overhead (e.g. 0.15 for 15 %)",
                field="host_overhead",
            )
        return 1.0 + self.host_overhead

    def facility_pue(self) -> float:
        return self.pue if self.boundary is Boundary.FACILITY else 1.0


def _tdp(gpu: str | None) -> float | None:
    if gpu is None:
        return None
    try:
        return catalog.tdp_w(gpu)
    except CatalogError:
        return None


def _allin(gpu: str | None) -> float | None:
    if gpu is None:
        return None
    try:
        return catalog.allin_w(gpu)
    except CatalogError:
        return None


def _length_class(result: ServingResult) -> str:
    w = result.workload
    if w.task:
        return w.task
    if w.isl is not None and w.osl is not None:
        return f"{w.isl}/{w.osl}"
    lengths = w.benchmarked_lengths()
    return f"{lengths[0]:.0f}/{lengths[1]:.0f}" if lengths else "unknown lengths"


def _config(
    gpus: int, gpu: str | None, precision: str | None, engine: str | None, rest: str
) -> str:
    parts = [f"{gpus}×{gpu or '?'}", precision or "", engine or ""]
    return " ".join(p for p in parts if p) + (f", {rest}" if rest else "")


def _source_label(result: ServingResult) -> str:
    tool = result.provenance.tool or result.provenance.source_format or "result"
    return f"{tool}: {Path(result.provenance.source).name}"


def _result_figure(
    result: ServingResult, setting: _Setting, gpu_hint: str | None
) -> tuple[Figure | None, str | None]:
    """A measured or converted figure from one result, or None and why it cannot be one."""
    ident = result.identity
    gpus = ident.num_gpus or ident.tp
    output = result.throughput.output_tok_s
    if not gpus or not output:
        return None, "no GPU count or output rate"
    gpu = ident.gpu or gpu_hint
    lengths = result.workload.benchmarked_lengths()
    input_len = lengths[0] if lengths else result.workload.mean_input_len
    output_len = lengths[1] if lengths else result.workload.mean_output_len
    energy = result.energy
    batch = result.workload.concurrency
    rest = _length_class(result) + (f", batch {batch}" if batch else "")
    config = _config(gpus, gpu, normal_precision(ident.precision), ident.engine, rest)
    common = {
        "source": _source_label(result),
        "config": config,
        "model": ident.model_name or ident.model,
        "gpu": gpu,
        "gpus": gpus,
        "boundary": setting.boundary,
        "output_tok_s_per_gpu": output / gpus,
        "input_len": input_len,
        "output_len": output_len,
        "length_class": _length_class(result),
        "batch": float(batch) if batch else None,
    }
    if energy is not None and energy.basis is Basis.MEASURED:
        power = result.power_w
        if not energy.valid or power is None:
            return None, "measured energy not valid"
        if energy.boundary not in _ORDER or _ORDER.index(energy.boundary) > _ORDER.index(
            setting.boundary
        ):
            return None, f"measured at the {energy.boundary} boundary (never moved inward)"
        per_gpu = power / gpus
        tdp = _tdp(gpu)
        scale, util = (tdp, per_gpu / tdp) if tdp else (per_gpu, 1.0)
        notes = () if tdp else ("no TDP known: utilisation not separated from power",)
        host = setting.host() if energy.boundary is Boundary.ACCELERATOR else 1.0
        return (
            Figure(
                method=Method.MEASURED,
                basis=Basis.MEASURED,
                power_per_gpu_w=scale,
                utilisation=util,
                host=host,
                pue=setting.facility_pue(),
                notes=notes,
                **common,  # type: ignore[arg-type]
            ),
            None,
        )
    converted = _catalog_power(gpu, setting)
    if converted is None:
        return None, f"no catalog power for GPU {gpu!r}"
    scale, basis, host, pue = converted
    return (
        Figure(
            method=Method.CONVERTED,
            basis=basis,
            power_per_gpu_w=scale,
            utilisation=1.0,
            host=host,
            pue=pue,
            **common,  # type: ignore[arg-type]
        ),
        None,
    )


def _catalog_power(gpu: str | None, setting: _Setting) -> tuple[float, Basis, float, float] | None:
    """(per-GPU power, basis, host, PUE) of a converted figure at the setting's boundary.

    Accelerator and node: TDP (nameplate) with the host share at node; facility: the all-in
    provisioned kW/GPU when known (it already holds host and facility overhead), else TDP × host ×
    PUE.
    """
    if setting.boundary is Boundary.FACILITY:
        allin = _allin(gpu)
        if allin is not None:
            return allin, Basis.PROVISIONED, 1.0, 1.0
    tdp = _tdp(gpu)
    if tdp is None:
        return None
    return tdp, Basis.NAMEPLATE, setting.host(), setting.facility_pue()


def _table_figure(
    point: ThroughputPoint, gpu: str, source: str, setting: _Setting
) -> Figure | None:
    converted = _catalog_power(gpu, setting)
    if converted is None:
        return None
    scale, basis, host, pue = converted
    lengths = f"{point.lin:g}/{point.lout:g}"
    return Figure(
        method=Method.CONVERTED,
        source=source,
        config=_config(point.tp, gpu, normal_precision(point.quant), None, lengths),
        model=point.model,
        gpu=gpu,
        gpus=point.tp,
        boundary=setting.boundary,
        basis=basis,
        power_per_gpu_w=scale,
        utilisation=1.0,
        host=host,
        pue=pue,
        output_tok_s_per_gpu=point.tps / point.tp,
        input_len=point.lin,
        output_len=point.lout,
        length_class=lengths,
    )


def _estimated_figure(
    fit: SurfaceFit,
    table: str,
    gpu: str | None,
    workload: Workload,
    setting: _Setting,
    seed: int,
) -> Figure:
    """The Monte Carlo at the workload's fixed lengths, on the estimator's boundary ladder.

    Accelerator: GPUs × TDP × u; node: × (1 + host overhead); facility: × PUE (estimate/ladder.py).
    Its mean (expected energy per query) is the figure; utilisation and PUE terms are the
    analytic means of their distributions, so the residual is the Monte Carlo's sampling noise.
    """
    defaults = EstimateParams()
    params = EstimateParams(
        models=[fit.model],
        table=table,
        lin=Point(value=workload.input_len),
        lout=Point(value=workload.output_len),
        boundary=setting.boundary,
        gpu=gpu,
        host_overhead=(None if setting.boundary is Boundary.ACCELERATOR else setting.host() - 1.0),
        pue=defaults.pue if setting.boundary is Boundary.FACILITY else Point(value=1.0),
        samples=ESTIMATE_SAMPLES,
        seed=seed,
    )
    node = deployment_power(fit, params)
    if node.power_per_gpu_w is None:  # the ladder names the missing GPU otherwise
        raise ConfigError(f"{fit.model}: no per-GPU power for the estimate", field="table_gpu")
    summary = run_estimate(params, fits=[fit]).models[0].baseline
    j_per_token = summary.mean_wh * units.J_PER_WH / workload.output_len
    tps = float(fit.tps(workload.input_len, workload.output_len))
    util = params.util.mean if node.applies_util else 1.0
    figure = Figure(
        method=Method.ESTIMATED,
        source=f"estimator: {Path(table).name}",
        config=_config(
            fit.gpus,
            node.gpu,
            None,
            None,
            f"{workload.input_len:.0f}/{workload.output_len:.0f} fixed",
        ),
        model=fit.model,
        gpu=node.gpu,
        gpus=fit.gpus,
        boundary=setting.boundary,
        basis=Basis.MODELED,
        power_per_gpu_w=node.power_per_gpu_w,
        utilisation=util,
        host=node.host_factor or 1.0,
        pue=params.pue.mean if node.applies_pue else 1.0,
        output_tok_s_per_gpu=tps / fit.gpus,
        input_len=workload.input_len,
        output_len=workload.output_len,
        length_class="workload",
        notes=(
            f"power: {node.method}; mean of {ESTIMATE_SAMPLES:,} draws (seed {seed}); u lognormal "
            f"P5–P95 {defaults.util.quantile(0.05):.2g}–{defaults.util.quantile(0.95):.2g}",
        ),
    )
    return replace(figure, residual=j_per_token / figure.j_per_output_token)


def _calibrated_figure(
    reference: Figure, matched: list[ServingResult], workload: Workload, setting: _Setting
) -> tuple[Figure | None, str]:
    """The calibrated estimator (estimate/calibrate.py) for the reference's deployment, fitted on
    the other measured configurations of that deployment (leave-one-out: the reference's own point
    is not in the fit), predicted at the reference's batch and the workload's lengths."""
    points = [
        p
        for p in calibration_points(matched)
        if p.gpu == reference.gpu and p.gpus == reference.gpus
    ]
    held_out = [
        p
        for p in points
        if not (
            p.batch == reference.batch
            and reference.output_len is not None
            and math.isclose(p.lout, reference.output_len, rel_tol=1e-9)
        )
    ]
    if len(held_out) < 2 or len(held_out) == len(points) or reference.batch is None:
        return None, f"fewer than 2 other measured points of {reference.gpus}×{reference.gpu}"
    surface = fit_calibrated(reference.model, held_out)
    lin = workload.input_len if "ln_lin" in surface.terms else None
    prediction = surface.predict(lout=workload.output_len, batch=reference.batch, lin=lin)
    tdp = _tdp(reference.gpu)
    per_gpu = prediction.power_per_gpu_w
    scale, util = (tdp, per_gpu / tdp) if tdp else (per_gpu, 1.0)
    figure = Figure(
        method=Method.ESTIMATED,
        source=f"calibrated: {len(held_out)} other points",
        config=_config(
            reference.gpus,
            reference.gpu,
            None,
            None,
            f"batch {reference.batch:g}, {workload.input_len:.0f}/{workload.output_len:.0f}",
        ),
        model=reference.model,
        gpu=reference.gpu,
        gpus=reference.gpus,
        boundary=setting.boundary,
        basis=Basis.MODELED,
        power_per_gpu_w=scale,
        utilisation=util,
        host=reference.host,
        pue=reference.pue,
        output_tok_s_per_gpu=prediction.output_tok_s / reference.gpus,
        input_len=workload.input_len,
        output_len=workload.output_len,
        length_class="workload",
        batch=reference.batch,
        notes=(
            f"calibrated estimator fitted leave-one-out on {len(held_out)} other measured "
            f"configurations; ln TPS and ln W/GPU on {', '.join(surface.terms) or 'a constant'}",
        ),
    )
    return figure, ""


def _length_factor(figure: Figure, fit: SurfaceFit | None, workload: Workload) -> Figure:
    """λ = surface(figure's lengths) / surface(workload): J/token moved to the workload."""
    if figure.output_len is None:
        return replace(figure, notes=(*figure.notes, "output length unknown: not adjusted"))
    if fit is None:
        return replace(figure, notes=(*figure.notes, "no throughput surface: lengths not adjusted"))
    input_len = figure.input_len if figure.input_len is not None else workload.input_len
    own = float(fit.tps(input_len, figure.output_len))
    target = float(fit.tps(workload.input_len, workload.output_len))
    notes = figure.notes
    if figure.input_len is None:
        notes = (*notes, f"input length unknown: taken as the workload's {workload.input_len:g}")
    return replace(figure, lengths=own / target, notes=notes)


# --- selection -----------------------------------------------------------------------------------


def _distance(figure: Figure, workload: Workload) -> float:
    """Log distance of a figure's lengths from the workload (unknown lengths count as equal)."""
    total = 0.0
    for own, target in (
        (figure.input_len, workload.input_len),
        (figure.output_len, workload.output_len),
    ):
        if own is not None and own > 0:
            total += math.log(own / target) ** 2
    return math.sqrt(total)


def _group(figure: Figure) -> tuple[Any, ...]:
    return (
        figure.method,
        figure.source,
        figure.model,
        figure.gpu,
        figure.gpus,
        figure.config.split(",")[0],
    )


def _pick(figures: list[Figure], workload: Workload) -> Figure:
    """Within one configuration: the length class nearest the workload, then the least J/token.

    The least J/token of a concurrency sweep is its saturated point, which is what throughput
    tables and the estimator describe.
    """
    by_class: dict[str, list[Figure]] = {}
    for figure in figures:
        by_class.setdefault(figure.length_class, []).append(figure)

    def class_distance(members: list[Figure]) -> float:
        return sum(_distance(f, workload) for f in members) / len(members)

    nearest = min(by_class.values(), key=class_distance)
    return min(nearest, key=lambda f: f.own_j_per_output_token)


def _matches(key: ModelKey, precision: str | None, name: str, figure_precision: str | None) -> bool:
    if not key.matches(model_key(name)):
        return False
    wanted = precision or key.precision
    own = normal_precision(figure_precision) or model_key(name).precision
    return wanted is None or own == wanted


def embedded_results() -> list[ServingResult]:
    """The embedded reference data: ML.ENERGY v3 tasks (measured) and the InferenceX snapshot."""
    from tokenergy.ingest import load_results  # the adapters only when data is read

    return load_results([catalog_path(MLENERGY_DIR), catalog_path(INFERENCEX_DIR)]).results


def _candidates(
    key: ModelKey,
    precision: str | None,
    results: Iterable[ServingResult],
    gpu: str | None,
    gpus: int | None,
    setting: _Setting,
    skipped: list[str],
    matched: list[ServingResult],
) -> list[Figure]:
    """Measured and converted figures of the results that match; ``matched`` collects those."""
    figures = []
    wanted_gpu = catalog.canonical_gpu(gpu) if gpu else None
    for result in results:
        ident = result.identity
        names = {ident.model, ident.model_name or ident.model}
        if not any(_matches(key, precision, name, ident.precision) for name in names):
            continue
        if wanted_gpu is not None and (ident.gpu is None or _canonical(ident.gpu) != wanted_gpu):
            continue
        if gpus is not None and (ident.num_gpus or ident.tp) != gpus:
            continue
        matched.append(result)
        figure, why = _result_figure(result, setting, gpu)
        if figure is None:
            skipped.append(f"{_source_label(result)}: {why}")
            continue
        figures.append(figure)
    return figures


def _canonical(gpu: str) -> str | None:
    try:
        return catalog.canonical_gpu(gpu)
    except CatalogError:
        return None


def reconcile(
    model: str,
    results: Sequence[ServingResult] | None = None,
    *,
    gpu: str | None = None,
    gpus: int | None = None,
    precision: str | None = None,
    isl: float | None = None,
    osl: float | None = None,
    boundary: Boundary | None = None,
    host_overhead: float | None = None,
    pue: float = DEFAULT_PUE,
    table: str | None = None,
    table_gpu: str | None = None,
    estimate: bool = True,
    calibrated: bool = False,
    all_points: bool = False,
    seed: int = 0,
) -> Reconciliation:
    """Every figure for ``model`` at one workload and boundary, each explained against a reference.

    ``results``: ServingResults to draw measured and converted figures from (default: the embedded
    ML.ENERGY v3 and InferenceX data; add stored runs yourself). ``table``: throughput table for
    the converted table rows, the estimator and the length adjustment (default: the packaged 8×H100
    FP8 table; a table without a ``gpu`` column needs ``table_gpu``). ``gpu``/``gpus``/``precision``
    filter measured and converted figures. The reference is the measured figure with the least
    J/output token (a concurrency sweep's saturated point); without measurements, a converted one,
    else the estimate. ``calibrated`` adds the calibrated estimator's leave-one-out prediction of
    the reference's deployment (``estimate/calibrate.py``). The workload defaults to the
    reference's lengths (500 input tokens when unknown). ``boundary`` defaults to accelerator
    (where measured GPU energy lives); node and facility need ``host_overhead``; facility uses
    ``pue`` for measured and nameplate figures (default 1.212, the estimator's median) and all-in
    kW/GPU for converted ones.
    """
    key = model_key(model)
    if not key.core:
        raise ConfigError("empty model name", field="model")
    wanted_precision = normal_precision(precision) if precision else key.precision
    if results is None:
        results = embedded_results()
    table_path = table or str(catalog_path(DEFAULT_THROUGHPUT_TABLE))
    fits = [fit for fit in load_fits(table_path, []) if key.matches(model_key(fit.model))]
    fit = fits[0] if fits else None
    notes: list[str] = []
    skipped: list[str] = []
    target = boundary or Boundary.ACCELERATOR
    setting = _Setting(target, host_overhead, pue)
    matched: list[ServingResult] = []
    figures = _candidates(key, wanted_precision, results, gpu, gpus, setting, skipped, matched)
    if table_path.lower().endswith(".csv"):
        figures += _table_figures(
            key, wanted_precision, table_path, table_gpu, gpu, gpus, setting, skipped
        )
    workload = _workload(figures, isl, osl)
    figures = [_length_factor(f, fit, workload) for f in figures]
    if not all_points:
        groups: dict[tuple[Any, ...], list[Figure]] = {}
        for figure in figures:
            groups.setdefault(_group(figure), []).append(figure)
        kept = [_pick(members, workload) for members in groups.values()]
        dropped = len(figures) - len(kept)
        if dropped:
            notes.append(
                f"{dropped} other point(s) of the same configurations left out: per "
                "configuration, the lengths nearest the workload and the least J/output token "
                "(the saturated point) are kept"
            )
        figures = kept
    if estimate and fit is not None:
        estimate_gpu = table_gpu or fit.gpu or gpu
        figures.append(_estimated_figure(fit, table_path, estimate_gpu, workload, setting, seed))
    elif estimate:
        notes.append(f"no estimate: {model!r} is not in the throughput table {table_path}")
    if not figures:
        raise ConfigError(f"no figure found for model {model!r}", field="model")
    reference, choice = _reference(figures)
    if calibrated and reference.method is Method.MEASURED:
        fitted, why = _calibrated_figure(reference, matched, workload, setting)
        if fitted is not None:
            figures.append(fitted)
        else:
            notes.append(f"no calibrated estimate: {why}")
    figures.sort(key=lambda f: (list(Method).index(f.method), f.j_per_output_token))
    rows = [_row(f, reference, workload) for f in figures]
    notes.extend(sorted(set(skipped))[:10])
    return Reconciliation(
        model=model,
        boundary=target,
        workload=workload,
        reference=_row(reference, reference, workload),
        reference_choice=choice,
        rows=rows,
        notes=notes,
    )


def _table_figures(
    key: ModelKey,
    precision: str | None,
    table: str,
    table_gpu: str | None,
    gpu: str | None,
    gpus: int | None,
    setting: _Setting,
    skipped: list[str],
) -> list[Figure]:
    """Converted figures from the table's rows; a row's GPU is its ``gpu`` column, else
    ``table_gpu``, else ``gpu``."""
    figures = []
    for point in load_throughput_table(Path(table)):
        if not _matches(key, precision, point.model, point.quant):
            continue
        row_gpu = table_gpu or point.gpu or gpu
        if gpu is not None and (row_gpu is None or _canonical(row_gpu) != _canonical(gpu)):
            continue
        if gpus is not None and point.tp != gpus:
            continue
        source = f"table: {Path(table).name}"
        figure = None if row_gpu is None else _table_figure(point, row_gpu, source, setting)
        if figure is None:
            skipped.append(f"{source}: no GPU or no catalog power for {point.model}")
            continue
        figures.append(figure)
    return figures


def _workload(figures: list[Figure], isl: float | None, osl: float | None) -> Workload:
    """Given lengths, else the lengths of the would-be reference."""
    for name, value in (("isl", isl), ("osl", osl)):
        if value is not None and not (value >= 1 and math.isfinite(value)):
            raise ConfigError(f"must be a number >= 1, got {value:g}", field=name)
    if isl is not None and osl is not None:
        return Workload(isl, osl)
    measured = [f for f in figures if f.method is Method.MEASURED] or figures
    best = min(measured, key=lambda f: f.own_j_per_output_token) if measured else None
    input_len = isl or (best.input_len if best and best.input_len else DEFAULT_LIN_TOKENS)
    output_len = osl or (best.output_len if best and best.output_len else 300.0)
    return Workload(input_len, output_len)


def _reference(figures: list[Figure]) -> tuple[Figure, str]:
    for method in Method:
        candidates = [f for f in figures if f.method is method]
        if candidates:
            best = min(candidates, key=lambda f: f.j_per_output_token)
            return best, (
                f"{method.value} (the least J/output token of {len(candidates)} {method.value} "
                "figure(s); "
                + (
                    "measured figures are preferred)"
                    if method is Method.MEASURED
                    else "no measured figure was found)"
                )
            )
    raise AssertionError("no figures")  # reconcile() refuses an empty list first


def _row(figure: Figure, reference: Figure, workload: Workload) -> ReconcileRow:
    ratio, factors = decompose(figure, reference)
    wh = figure.j_per_output_token * workload.output_len / units.J_PER_WH
    return ReconcileRow(figure, wh, ratio, factors)


def reconcilable_models(results: Sequence[ServingResult] | None = None) -> list[str]:
    """Models with a measured and a converted or estimated figure, as :func:`reconcile` takes them.

    ``results`` default to the embedded data; one name per model (any precision).

    For ``tokenergy report``'s "Reconciliation" section: call ``reconcile(name)`` for each.
    """
    if results is None:
        results = embedded_results()
    fits = load_fits(str(catalog_path(DEFAULT_THROUGHPUT_TABLE)), [])
    table_keys = [model_key(fit.model) for fit in fits]
    measured: dict[tuple[str, ...], str] = {}
    other: list[ModelKey] = list(table_keys)
    for result in results:
        name = result.identity.model_name or result.identity.model
        energy = result.energy
        if energy is not None and energy.basis is Basis.MEASURED and energy.valid:
            key = model_key(name)
            short = name.rsplit("/", 1)[-1]
            current = measured.get(key.family)
            if current is None or _plainer(short, current):
                measured[key.family] = short
        elif result.throughput.output_tok_s:
            other.append(model_key(result.identity.model))
    return sorted(
        name for name in measured.values() if any(model_key(name).matches(k) for k in other)
    )


def _plainer(name: str, than: str) -> bool:
    """Prefer names without a precision (they match every precision), then shorter ones."""

    def rank(text: str) -> tuple[bool, int]:
        return model_key(text).precision is not None, len(text)

    return rank(name) < rank(than)
