"""Per-query Monte Carlo: E[Wh] = PUE · P_node · L_eff / TPS(L_in, L_out) / 3600 (DESIGN §3).

Draws are made in chunks of ``CHUNK_DRAWS`` with numpy and folded into a streaming log histogram,
so memory stays bounded whatever ``samples`` is; the mean is exact, quantiles within 0.115 %.
Each model has its own generator seeded from (seed, CRC32 of the model name), so a model's numbers
do not depend on which other models were asked for. Results are at the facility boundary (PUE
applied) on a modeled basis.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from tokenergy import units
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Distribution, FloatArray
from tokenergy.estimate.histogram import RELATIVE_QUANTILE_ERROR, LogHistogram
from tokenergy.estimate.levers import sample_alpha
from tokenergy.estimate.params import EstimateParams, Leff, default_p_idle_w, default_pmax_w
from tokenergy.estimate.surface import (
    SurfaceFit,
    fit_surfaces,
    load_throughput_table,
    points_from_results,
    select,
    why_no_points,
)
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.units import Basis, Boundary

CHUNK_DRAWS = 1_000_000
KEPT_DRAWS = 100_000  # the first draws are kept (they are i.i.d.) for plots and reports
MIN_LENGTH_TOKENS = 1.0  # a query has at least one token; continuous draws below are raised to it

Progress = Callable[[int], None]


class Trim(StrEnum):
    """Per-model trim of the draws before pooling.

    ``paper``: Oviedo et al.'s (arXiv 2509.20241) — each model's draws cut to their P5–P95, then the
    remainder to its P10–P90 (together: the original P14–P86), before the models are pooled. Their
    text does not state it; it is what reproduces their pooled IQR (docs/methodology.md §6.6).
    """

    NONE = "none"
    PAPER = "paper"


PAPER_TRIM_STEPS = ((0.05, 0.95), (0.10, 0.90))


@dataclass(frozen=True)
class NodePower:
    """Full-draw and idle power of the node a model runs on."""

    pmax_w: float
    p_idle_w: float


def node_power(fit: SurfaceFit, pmax_w: float | None, p_idle_w: float | None) -> NodePower:
    """The given powers, or the defaults for the node size in the throughput table."""
    pmax = pmax_w if pmax_w is not None else default_pmax_w(fit.gpus)
    idle = p_idle_w if p_idle_w is not None else default_p_idle_w(pmax)
    if idle >= pmax:
        raise ConfigError(
            f"idle power {idle:g} W must be below P_max {pmax:g} W ({fit.model})", field="--p-idle"
        )
    return NodePower(pmax, idle)


def rng_for(seed: int, model: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(model.encode())])


def draw_lengths(
    lin: Distribution, lout: Distribution, rng: np.random.Generator, n: int
) -> tuple[FloatArray, FloatArray]:
    """Input and output lengths, at least one token each."""
    lin_tokens = np.maximum(lin.sample(rng, n), MIN_LENGTH_TOKENS)
    lout_tokens = np.maximum(lout.sample(rng, n), MIN_LENGTH_TOKENS)
    return lin_tokens, lout_tokens


def charged_tokens(lin: FloatArray, lout: FloatArray, leff: Leff) -> FloatArray:
    return lout if leff is Leff.OUT else lin + lout


def node_power_w(
    util: FloatArray, tps: FloatArray, fit: SurfaceFit, node: NodePower, correlate: bool
) -> FloatArray:
    """u·P_max, or with correlation P_idle + (u·P_max − P_idle)·TPS/TPS_max (never below idle)."""
    full_w = util * node.pmax_w
    if not correlate:
        return full_w
    return node.p_idle_w + np.maximum(full_w - node.p_idle_w, 0.0) * (tps / fit.cap_tps)


def query_energy_wh(
    fit: SurfaceFit,
    node: NodePower,
    lin: FloatArray,
    lout: FloatArray,
    util: FloatArray,
    pue: FloatArray,
    leff: Leff,
    correlate: bool = False,
) -> FloatArray:
    """E[Wh] = PUE · P_node · L_eff / TPS(L_in, L_out) / 3600, element-wise."""
    tps = fit.tps(lin, lout)
    power_w = node_power_w(util, tps, fit, node, correlate)
    return pue * power_w * charged_tokens(lin, lout, leff) / tps / units.J_PER_WH


class Summary:
    """Distribution of Wh/query from a streamed run: quantiles, exact mean, kept draws."""

    def __init__(self, histogram: LogHistogram, kept_wh: FloatArray, seed: int) -> None:
        self.histogram = histogram
        self.kept_wh = kept_wh
        self.seed = seed

    def quantile_wh(self, q: float) -> float:
        return self.histogram.quantile(q)

    @property
    def mean_wh(self) -> float:
        return self.histogram.mean

    @property
    def samples(self) -> int:
        return self.histogram.n

    def to_dict(self) -> dict[str, Any]:
        q = self.quantile_wh
        return {
            "median_wh": q(0.5),
            "q1_wh": q(0.25),
            "q3_wh": q(0.75),
            "p5_wh": q(0.05),
            "p95_wh": q(0.95),
            "mean_wh": self.mean_wh,
            "min_wh": self.histogram.low,
            "max_wh": self.histogram.high,
            "samples": self.samples,
            "seed": self.seed,
        }

    def trimmed(self, steps: tuple[tuple[float, float], ...]) -> Summary:
        """The draws left after cutting to each (low, high) quantile pair in turn."""
        histogram, kept = self.histogram, self.kept_wh
        for low_q, high_q in steps:
            low, high = histogram.quantile(low_q), histogram.quantile(high_q)
            histogram = histogram.trimmed(low_q, high_q)
            kept = kept[(kept >= low) & (kept <= high)]
        return Summary(histogram, kept, self.seed)

    def pooled_with(self, other: Summary) -> Summary:
        return Summary(
            self.histogram.merge(other.histogram),
            np.concatenate([self.kept_wh, other.kept_wh]),
            self.seed,
        )


@dataclass(frozen=True)
class ModelEstimate:
    model: str
    fit: SurfaceFit
    node: NodePower
    baseline: Summary
    improved: Summary | None  # with the levers applied; None without levers


@dataclass(frozen=True)
class EstimateResult:
    """Per-model (and optionally pooled) Wh/query distributions and the parameters behind them."""

    params: EstimateParams
    models: list[ModelEstimate]
    pooled: Summary | None
    pooled_improved: Summary | None
    trim: Trim = Trim.NONE
    boundary: Boundary = Boundary.FACILITY
    basis: Basis = Basis.MODELED

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for estimate in self.models:
            row: dict[str, Any] = {
                "model": estimate.model,
                **estimate.baseline.to_dict(),
                "pmax_w": estimate.node.pmax_w,
                "p_idle_w": estimate.node.p_idle_w,
                "node_gpus": estimate.fit.gpus,
                "fit": fit_dict(estimate.fit),
            }
            if estimate.improved is not None:
                row["improved"] = estimate.improved.to_dict()
            rows.append(row)
        payload: dict[str, Any] = {
            "boundary": self.boundary.value,
            "basis": self.basis.value,
            "unit": "Wh/query",
            "quantile_relative_error": RELATIVE_QUANTILE_ERROR,
            "trim": self.trim.value,
            "models": rows,
            "params": self.params.model_dump(mode="json"),
            "lout": self.params.lout_distribution().model_dump(mode="json"),
        }
        if self.pooled is not None:
            payload["pooled"] = self.pooled.to_dict()
            if self.pooled_improved is not None:
                payload["pooled"]["improved"] = self.pooled_improved.to_dict()
        return payload


def fit_dict(fit: SurfaceFit) -> dict[str, Any]:
    return {
        "kind": fit.kind.value,
        "b0": fit.b0,
        "b1": fit.b1,
        "b2": fit.b2,
        "r2": fit.r2,
        "points": fit.n_points,
        "cap_tps": fit.cap_tps,
        "lin_range": list(fit.lin_range),
        "lout_range": list(fit.lout_range),
        "warning": fit.warning,
    }


def load_fits(table: str, models: list[str]) -> list[SurfaceFit]:
    """Fit the table and pick the requested models (all of them when none is named).

    A ``.csv`` is read as a throughput table; anything else goes through the ingest adapters
    (InferenceX, bench-serving JSON, run directories …) and is reduced to saturated points.
    """
    path = Path(table)
    if path.suffix.lower() == ".csv":
        points = load_throughput_table(path)
    else:
        ingested = load_results([path], IngestOptions(), keep_going=False)
        points = points_from_results(ingested.results)
        if not points:
            raise ConfigError(why_no_points(ingested.results), file=table)
    return select(fit_surfaces(points), models, table)


def run_estimate(
    params: EstimateParams,
    progress: Progress | None = None,
    fits: list[SurfaceFit] | None = None,
    trim: Trim = Trim.NONE,
) -> EstimateResult:
    """Run the per-query Monte Carlo for every requested model; ``progress`` gets draws done.

    ``fits`` (from :func:`load_fits`) saves refitting when the caller already has them. ``trim``
    cuts each model's draws before pooling (:class:`Trim`); every row is then the trimmed one.
    """
    if fits is None:
        fits = load_fits(params.table, params.models)
    estimates = [_run_model(fit, params, progress) for fit in fits]
    if trim is Trim.PAPER:
        estimates = [_trimmed(estimate) for estimate in estimates]
    pooled = pooled_improved = None
    if params.pool and len(estimates) > 1:
        pooled = estimates[0].baseline
        for estimate in estimates[1:]:
            pooled = pooled.pooled_with(estimate.baseline)
        if estimates[0].improved is not None:
            pooled_improved = estimates[0].improved
            for estimate in estimates[1:]:
                assert estimate.improved is not None
                pooled_improved = pooled_improved.pooled_with(estimate.improved)
    return EstimateResult(params, estimates, pooled, pooled_improved, trim)


def _trimmed(estimate: ModelEstimate) -> ModelEstimate:
    improved = estimate.improved
    return replace(
        estimate,
        baseline=estimate.baseline.trimmed(PAPER_TRIM_STEPS),
        improved=None if improved is None else improved.trimmed(PAPER_TRIM_STEPS),
    )


def _run_model(fit: SurfaceFit, params: EstimateParams, progress: Progress | None) -> ModelEstimate:
    node = node_power(fit, params.pmax_w, params.p_idle_w)
    rng = rng_for(params.seed, fit.model)
    lout_dist = params.lout_distribution()
    baseline, improved = LogHistogram(), LogHistogram()
    kept: list[FloatArray] = []
    kept_improved: list[FloatArray] = []
    remaining = params.samples
    while remaining > 0:
        n = min(CHUNK_DRAWS, remaining)
        lin, lout = draw_lengths(params.lin, lout_dist, rng, n)
        util = params.util.sample(rng, n)
        pue = params.pue.sample(rng, n)
        energy_wh = query_energy_wh(
            fit, node, lin, lout, util, pue, params.leff, params.correlate_power
        )
        baseline.add(energy_wh)
        room = max(KEPT_DRAWS - (params.samples - remaining), 0)
        kept.append(energy_wh[:room].copy())
        alpha = sample_alpha(params.levers, rng, n)
        if alpha is not None:
            energy_wh /= alpha
            improved.add(energy_wh)
            kept_improved.append(energy_wh[:room].copy())
        remaining -= n
        if progress is not None:
            progress(n)
    has_levers = bool(params.levers)
    return ModelEstimate(
        model=fit.model,
        fit=fit,
        node=node,
        baseline=Summary(baseline, np.concatenate(kept), params.seed),
        improved=(
            Summary(improved, np.concatenate(kept_improved), params.seed) if has_levers else None
        ),
    )
