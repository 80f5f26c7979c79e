"""Surfaces calibrated on measurements: output rate and measured power per (model, GPU, GPU count).

ML.ENERGY v3 rows and metered ``tokenergy bench`` runs give, per configuration, the output rate,
the measured mean power of all GPUs, the GPU count, the batch (cap, else achieved) and the mean
lengths actually run. Per deployment two least-squares fits on the same terms,

    ln TPS_out  = a · x        ln (P / GPU) = c · x,
    x = [1, ln B, (ln B)², ln L_out, ln L_in]   (the terms the points can identify),

predict J per output token = GPUs · P/GPU / TPS_out, and Wh/query = J/output-token × L_out / 3600
(accelerator boundary, measured basis). A quadratic in ln B follows the saturation of throughput
and power with batch; L_out separates tasks of different lengths; L_in enters only when measured
(ML.ENERGY publishes none); a length is used only when it varies ×1.5 or more. Terms are dropped,
richest set first, until the design has full rank and at least one residual degree of freedom.
σ = the residual standard deviation of ln J (n − p degrees of freedom) is the surface's own
error, drawn with ``--fit-noise``.

Library use (e.g. for reconciliation)::

    surfaces = calibrated_surfaces(load_results([path]).results)
    prediction = surfaces["meta-llama/Llama-3.1-70B-Instruct (4×H100)"].predict(lout=360, batch=128)
    prediction.j_per_output_token, prediction.wh_per_query, prediction.at_boundary(...)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tokenergy.errors import ConfigError
from tokenergy.estimate.surface import FitKind, SurfaceFit, deployment_label
from tokenergy.records import RateBasis, ServingResult
from tokenergy.units import Basis, Boundary

TERMS = ("ln_batch", "ln_batch_sq", "ln_lout", "ln_lin")
MIN_LENGTH_SPREAD = 1.5  # max/min of a length below which its slope is noise, not a trend
# richest first; the first identifiable set (full rank, >= 1 residual dof) is used
TERM_SETS: tuple[tuple[str, ...], ...] = (
    ("ln_batch", "ln_batch_sq", "ln_lout", "ln_lin"),
    ("ln_batch", "ln_batch_sq", "ln_lout"),
    ("ln_batch", "ln_batch_sq"),
    ("ln_batch", "ln_lout"),
    ("ln_batch",),
    ("ln_lout", "ln_lin"),
    ("ln_lout",),
    (),
)


@dataclass(frozen=True)
class CalibrationPoint:
    """One measured configuration: what the surface is fitted on."""

    model: str
    gpu: str | None
    gpus: int
    batch: float
    lout: float
    lin: float | None
    output_tok_s: float
    power_w: float  # all GPUs, measured, accelerator boundary
    source: str

    @property
    def j_per_output_token(self) -> float:
        return self.power_w / self.output_tok_s


def calibration_points(results: Iterable[ServingResult]) -> list[CalibrationPoint]:
    """Points from results with a measured accelerator power, an output rate, a GPU count, a batch
    and a mean output length. Identical configurations seen twice (an ML.ENERGY task file and
    its per-model file) are kept once."""
    points: dict[tuple[object, ...], CalibrationPoint] = {}
    for result in results:
        energy, ident, work = result.energy, result.identity, result.workload
        output = result.throughput.output_tok_s
        power = result.power_w
        if energy is None or energy.basis is not Basis.MEASURED or not energy.valid:
            continue
        if energy.boundary is not Boundary.ACCELERATOR or not output or not power:
            continue
        gpus = ident.num_gpus or ident.tp
        batch = work.concurrency or work.achieved_concurrency
        lengths = work.benchmarked_lengths()
        lout = lengths[1] if lengths else work.mean_output_len
        if gpus is None or not batch or not lout:
            continue
        point = CalibrationPoint(
            model=ident.model,
            gpu=ident.gpu,
            gpus=gpus,
            batch=float(batch),
            lout=float(lout),
            lin=lengths[0] if lengths and lengths[0] > 0 else None,
            output_tok_s=output,
            power_w=power,
            source=result.provenance.source,
        )
        key = (point.model, point.gpu, point.gpus, point.batch, point.lout, point.output_tok_s)
        points.setdefault(key, point)
    return list(points.values())


def _features(terms: tuple[str, ...], batch: float, lout: float, lin: float | None) -> list[float]:
    values = {
        "ln_batch": math.log(batch),
        "ln_batch_sq": math.log(batch) ** 2,
        "ln_lout": math.log(lout),
        "ln_lin": math.log(lin) if lin else math.nan,
    }
    return [1.0, *(values[term] for term in terms)]


@dataclass(frozen=True)
class Prediction:
    """Predicted operation of one deployment at (L_in, L_out, batch); accelerator, measured."""

    model: str
    gpu: str | None
    gpus: int
    batch: float
    lin: float | None
    lout: float
    output_tok_s: float
    power_per_gpu_w: float
    boundary: Boundary = Boundary.ACCELERATOR
    basis: Basis = Basis.MEASURED

    @property
    def power_w(self) -> float:
        return self.gpus * self.power_per_gpu_w

    @property
    def j_per_output_token(self) -> float:
        return self.power_w / self.output_tok_s

    @property
    def wh_per_query(self) -> float:
        """J/output-token × L_out / 3600 (the output rate charges output tokens)."""
        return self.j_per_output_token * self.lout / 3600.0

    def at_boundary(
        self, boundary: Boundary, host_overhead: float | None = None, pue: float | None = None
    ) -> float:
        """J per output token moved outward: node × (1 + host_overhead), facility × PUE too.

        Each step needs its factor (0 states the host is ignored); nothing is assumed.
        """
        order = (Boundary.ACCELERATOR, Boundary.NODE, Boundary.FACILITY)
        if boundary not in order:
            raise ConfigError(f"no boundary {boundary} for a prediction", field="boundary")
        value = self.j_per_output_token
        if order.index(boundary) >= 1:
            if host_overhead is None:
                raise ConfigError("the node boundary needs a host overhead", field="host_overhead")
            value *= 1.0 + host_overhead
        if boundary is Boundary.FACILITY:
            if pue is None or pue < 1:
                raise ConfigError("the facility boundary needs a PUE >= 1", field="pue")
            value *= pue
        return value


@dataclass(frozen=True)
class CalibratedSurface:
    """ln TPS_out and ln W/GPU of one deployment, linear in the same ``terms``."""

    model: str
    gpu: str | None
    gpus: int
    terms: tuple[str, ...]
    tps_coef: tuple[float, ...]
    power_coef: tuple[float, ...]
    n_points: int
    batch_range: tuple[float, float]
    lout_range: tuple[float, float]
    lin_range: tuple[float, float] | None
    cap_tps: float  # fastest measured output rate
    max_tps_per_gpu_w: float  # most output tok/s per W per GPU measured (= fewest J/token)
    sigma: float | None  # residual std of ln J/output-token; None without residual dof
    sources: tuple[str, ...] = field(default_factory=tuple)

    def predict(
        self, lout: float, batch: float | None = None, lin: float | None = None
    ) -> Prediction:
        """Output rate and power per GPU at (L_in, L_out, batch); batch default: the largest
        measured. The rate is capped at the fastest measured point."""
        batch = self.batch_range[1] if batch is None else batch
        if "ln_lin" in self.terms and lin is None:
            raise ConfigError(f"{self.model}: the surface needs an input length", field="lin")
        x = np.array(_features(self.terms, batch, lout, lin))
        tps = min(math.exp(float(x @ np.array(self.tps_coef))), self.cap_tps)
        power = math.exp(float(x @ np.array(self.power_coef)))
        return Prediction(self.model, self.gpu, self.gpus, batch, lin, lout, tps, power)

    def surface_fit(self, batch: float | None = None) -> SurfaceFit:
        """The estimator's view at one operating batch: ln TPS_eff = b0 + b1 ln L_in + b2 ln L_out
        with the measured power per GPU at the reference length L_ref (geometric mean of the
        measured L_out). TPS_eff = TPS · P(L_ref)/P(L_out), so GPUs · P(L_ref) · L / TPS_eff is the
        predicted accelerator energy exactly, wherever power varies with length too."""
        batch = self.batch_range[1] if batch is None else batch
        lref = math.sqrt(self.lout_range[0] * self.lout_range[1])
        names = ("const", *self.terms)
        coef = dict(zip(names, np.subtract(self.tps_coef, self.power_coef), strict=True))
        pcoef = dict(zip(names, self.power_coef, strict=True))
        ln_b = math.log(batch)
        b0 = coef["const"] + coef.get("ln_batch", 0.0) * ln_b
        b0 += coef.get("ln_batch_sq", 0.0) * ln_b**2
        log_p = pcoef["const"] + pcoef.get("ln_batch", 0.0) * ln_b
        log_p += pcoef.get("ln_batch_sq", 0.0) * ln_b**2 + pcoef.get("ln_lout", 0.0) * math.log(
            lref
        )
        lin_known = "ln_lin" in self.terms
        kind = FitKind.FULL if lin_known else FitKind.OUTPUT_ONLY
        if "ln_lout" not in self.terms:
            kind = FitKind.INPUT_ONLY if lin_known else FitKind.CONSTANT
        warning = None
        if not lin_known:
            warning = (
                f"{self.model}: calibrated without input lengths (none measured); its throughput "
                "does not depend on L_in"
            )
        return SurfaceFit(
            model=self.model,
            kind=kind,
            b0=b0 + log_p,  # ln TPS_eff in tok/s at P(L_ref): b0 of TPS − ln P + ln P(L_ref)
            b1=coef.get("ln_lin", 0.0),
            b2=coef.get("ln_lout", 0.0),
            r2=None,
            n_points=self.n_points,
            cap_tps=self.max_tps_per_gpu_w * math.exp(log_p),  # never fewer J/token than measured
            gpus=self.gpus,
            lin_range=self.lin_range or (0.0, math.inf),
            lout_range=self.lout_range,
            warning=warning,
            rate=RateBasis.OUTPUT,
            gpu=self.gpu,
            power_per_gpu_w=math.exp(log_p),
            batch=batch,
            noise_sigma=self.sigma,
        )


def fit_calibrated(model: str, points: list[CalibrationPoint]) -> CalibratedSurface:
    """Least squares of ln TPS_out and ln W/GPU on the richest identifiable term set."""
    if not points:
        raise ConfigError(f"{model}: no calibration points", field="table")
    deployments = {(p.gpu, p.gpus) for p in points}
    if len(deployments) > 1:
        raise ConfigError(f"{model}: points of several deployments {sorted(map(str, deployments))}")
    log_tps = np.log([p.output_tok_s for p in points])
    log_power = np.log([p.power_w / p.gpus for p in points])
    has_lin = all(p.lin for p in points)
    terms, design = _terms(points, has_lin)
    p_count = design.shape[1]
    tps_coef = _lstsq(design, log_tps)
    power_coef = _lstsq(design, log_power)
    dof = len(points) - p_count
    residual = (log_power - design @ power_coef) - (log_tps - design @ tps_coef)
    sigma = math.sqrt(float(residual @ residual) / dof) if dof > 0 else None
    gpu, gpus = deployments.pop()
    lins = [p.lin for p in points if p.lin]
    return CalibratedSurface(
        model=model,
        gpu=gpu,
        gpus=gpus,
        terms=terms,
        tps_coef=tuple(float(c) for c in tps_coef),
        power_coef=tuple(float(c) for c in power_coef),
        n_points=len(points),
        batch_range=(min(p.batch for p in points), max(p.batch for p in points)),
        lout_range=(min(p.lout for p in points), max(p.lout for p in points)),
        lin_range=(min(lins), max(lins)) if has_lin and lins else None,
        cap_tps=max(p.output_tok_s for p in points),
        max_tps_per_gpu_w=max(p.output_tok_s * p.gpus / p.power_w for p in points),
        sigma=sigma,
        sources=tuple(dict.fromkeys(p.source for p in points)),
    )


def _terms(
    points: list[CalibrationPoint], has_lin: bool
) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """The richest term set with a full-rank design and a residual degree of freedom."""
    lengths = {
        "ln_lout": [p.lout for p in points],
        "ln_lin": [p.lin or 0.0 for p in points] if has_lin else [],
    }
    spread = {
        name: bool(values) and min(values) > 0 and max(values) / min(values) >= MIN_LENGTH_SPREAD
        for name, values in lengths.items()
    }
    for terms in TERM_SETS:
        if any(term in spread and not spread[term] for term in terms):
            continue
        design = np.array([_features(terms, p.batch, p.lout, p.lin) for p in points])
        count = design.shape[1]
        if np.linalg.matrix_rank(design) == count and len(points) >= count + (count > 1):
            return terms, design
    return (), np.ones((len(points), 1))


def _lstsq(design: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.linalg.lstsq(design, y, rcond=None)[0], dtype=np.float64)


def calibrated_surfaces(results: Iterable[ServingResult]) -> dict[str, CalibratedSurface]:
    """One surface per (model, GPU, GPU count) of the measured results, in order of appearance.

    Keys are the model, or 'model (8×H100)' when the model was measured on several deployments.
    """
    groups: dict[tuple[str, str | None, int], list[CalibrationPoint]] = {}
    for point in calibration_points(results):
        groups.setdefault((point.model, point.gpu, point.gpus), []).append(point)
    counts: dict[str, int] = {}
    for model, _, _ in groups:
        counts[model] = counts.get(model, 0) + 1
    surfaces = {}
    for (model, gpu, gpus), points in groups.items():
        label = model if counts[model] == 1 else f"{model} ({deployment_label(gpu, gpus)})"
        surfaces[label] = fit_calibrated(label, points)
    return surfaces
