"""Per-query Monte Carlo: E[Wh] = PUE · P_node · L_eff / TPS(L_in, L_out) / 3600.

See docs/methodology.md §6.1 and §6.3.

Draws are made in chunks of ``CHUNK_DRAWS`` with numpy and folded into a streaming log histogram,
so memory stays bounded whatever ``samples`` is; the mean is exact, quantiles within 0.115 %.
Each model has its own generator seeded from (seed, CRC32 of the model name), so a model's numbers
do not depend on which other models were asked for. Results are at the boundary the parameters
state (estimate/ladder.py: accelerator, node, or facility with PUE) on a modeled basis.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from tokenergy import units
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Distribution, FloatArray, Point
from tokenergy.estimate.histogram import RELATIVE_QUANTILE_ERROR, LogHistogram
from tokenergy.estimate.ladder import NodePower, deployment_power, model_params
from tokenergy.estimate.ladder import node_power as node_power  # re-exported
from tokenergy.estimate.levers import Lever
from tokenergy.estimate.params import EstimateParams, Leff
from tokenergy.estimate.surface import (
    SurfaceFit,
    fit_surfaces,
    load_throughput_table,
    points_from_results,
    select,
    why_no_points,
)
from tokenergy.progress import ProgressCallback, Tally
from tokenergy.records import RateBasis
from tokenergy.units import Basis, Boundary

CHUNK_DRAWS = 1 << 16  # 65,536 draws: each array (512 KiB) stays in a core's L2 cache
KEPT_DRAWS = 100_000  # the first draws are kept (they are i.i.d.) for plots and reports
MIN_LENGTH_TOKENS = 1.0  # a query has at least one token; continuous draws below are raised to it

DrawsDone = Callable[[int], None]  # told the draws of each block as it is merged


class Trim(StrEnum):
    """Per-model trim of the draws before pooling.

    ``paper``: Oviedo et al.'s (arXiv 2509.20241) — each model's draws cut to their P5–P95, then the
    remainder to its P10–P90 (together: the original P14–P86), before the models are pooled. Their
    text does not state it; it is what reproduces their pooled IQR (docs/methodology.md §6.6).
    """

    NONE = "none"
    PAPER = "paper"


PAPER_TRIM_STEPS = ((0.05, 0.95), (0.10, 0.90))


def rng_for(seed: int, model: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(model.encode())])


def draw_lengths(
    lin: Distribution, lout: Distribution, rng: np.random.Generator, n: int
) -> tuple[FloatArray, FloatArray]:
    """Input and output lengths, at least one token each."""
    lin_tokens = np.maximum(lin.sample(rng, n), MIN_LENGTH_TOKENS)
    lout_tokens = np.maximum(lout.sample(rng, n), MIN_LENGTH_TOKENS)
    return lin_tokens, lout_tokens


def check_leff(fits: list[SurfaceFit], leff: Leff | None) -> None:
    """Refuse charging tokens the surface's rate does not count (e.g. in+out against output/s)."""
    if leff is None:
        return
    for fit in fits:
        if fit.rate is not leff.rate:
            raise ConfigError(
                f"{fit.model}: the table's rates are {fit.rate.value} tokens/s, which pair with "
                f"{'output' if fit.rate.value == 'output' else 'input + output'} tokens, "
                f"not L_eff = {leff.value}",
                field="leff",
            )


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
    correlate: bool = False,
) -> FloatArray:
    """E[Wh] = PUE · P_node · L_eff / TPS(L_in, L_out) / 3600, element-wise.

    L_eff is the tokens the surface's rate counts: L_out for output rates, L_in + L_out for total.
    """
    tps = fit.tps(lin, lout)
    power_w = node_power_w(util, tps, fit, node, correlate)
    return pue * power_w * fit.charged_tokens(lin, lout) / tps / units.J_PER_WH


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
                "boundary": estimate.node.boundary.value,
                "power_basis": estimate.node.basis.value,
                "power": estimate.node.to_dict(),
                "fit": fit_dict(estimate.fit),
            }
            if estimate.improved is not None:
                row["improved"] = estimate.improved.to_dict()
            rows.append(row)
        payload: dict[str, Any] = {
            "boundary": self.boundary.value,
            "basis": self.basis.value,
            "power_bases": sorted({e.node.basis.value for e in self.models}),
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
        "rate": fit.rate.value,
        "gpu": fit.gpu,
        "num_gpus": fit.gpus,
        "batch": fit.batch,
        "power_per_gpu_w": fit.power_per_gpu_w,
        "noise_sigma": fit.noise_sigma,
    }


def load_fits(table: str, models: list[str], batch: float | None = None) -> list[SurfaceFit]:
    """Fit the table and pick the requested models (all of them when none is named).

    A ``.csv`` is read as a throughput table; anything else goes through the ingest adapters.
    Results with measured accelerator power and a batch (ML.ENERGY, metered bench runs) give
    surfaces calibrated on the measurements (estimate/calibrate.py) at operating ``batch``
    (default: the largest measured); others (InferenceX, bench-serving JSON) saturated points.
    """
    path = Path(table)
    if path.suffix.lower() == ".csv":
        points = load_throughput_table(path)
    else:
        # imported here: worker processes then start without the ingest adapters
        from tokenergy.estimate.calibrate import calibrated_surfaces
        from tokenergy.ingest import IngestOptions, load_results

        ingested = load_results([path], IngestOptions(), keep_going=False)
        calibrated = calibrated_surfaces(ingested.results)
        if calibrated:
            fits = {name: surface.surface_fit(batch) for name, surface in calibrated.items()}
            return select(fits, models, table)
        points = points_from_results(ingested.results)
        if not points:
            raise ConfigError(why_no_points(ingested.results), file=table)
    return select(fit_surfaces(points), models, table)


def run_estimate(
    params: EstimateParams,
    progress: ProgressCallback | None = None,
    fits: list[SurfaceFit] | None = None,
    trim: Trim = Trim.NONE,
    workers: int | None = None,
) -> EstimateResult:
    """Run the per-query Monte Carlo for every requested model.

    ``progress`` is told the draws done of the total (samples × models) as each block of
    ``BLOCK_DRAWS`` is merged: per block, never per draw, so the hot loop is untouched.

    ``fits`` (from :func:`load_fits`) saves refitting when the caller already has them. ``trim``
    cuts each model's draws before pooling (:class:`Trim`); every row is then the trimmed one.
    ``workers``: processes drawing in parallel (default: every core from 10⁸ draws per model);
    the numbers do not depend on it.
    """
    if fits is None:
        fits = load_fits(params.table, params.models, params.batch)
    check_leff(fits, params.leff)
    workers = default_workers(params.samples) if workers is None else max(workers, 1)
    draws = Tally(progress, params.samples * len(fits), "draws")
    blocks = _blocks(params.samples)
    plans = [_plan(fit, params) for fit in fits]
    with _pool(workers, len(blocks) * len(plans)) as pool:
        # every model's blocks are queued at once: one pool, no idle worker between models
        streams = [_map_blocks(plan, blocks, pool) for plan in plans]
        estimates = [
            _collect(plan, params, stream, draws.add)
            for plan, stream in zip(plans, streams, strict=True)
        ]
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
    return EstimateResult(params, estimates, pooled, pooled_improved, trim, params.boundary)


def _trimmed(estimate: ModelEstimate) -> ModelEstimate:
    improved = estimate.improved
    return replace(
        estimate,
        baseline=estimate.baseline.trimmed(PAPER_TRIM_STEPS),
        improved=None if improved is None else improved.trimmed(PAPER_TRIM_STEPS),
    )


def _plan(fit: SurfaceFit, params: EstimateParams) -> _Plan:
    node = deployment_power(fit, params)
    return _Plan(fit, node, model_params(params, node))


def _blocks(samples: int) -> list[tuple[int, int]]:
    return [(start, min(start + BLOCK_DRAWS, samples)) for start in range(0, samples, BLOCK_DRAWS)]


def _collect(
    plan: _Plan, params: EstimateParams, stream: Iterator[_Block], progress: DrawsDone
) -> ModelEstimate:
    """Merge one model's blocks, in block order: each chunk's stream depends only on (seed,
    model, chunk index), so the result is the same for any number of workers."""
    fit, node = plan.fit, plan.node
    baseline, improved = LogHistogram(), LogHistogram()
    kept: list[FloatArray] = []
    kept_improved: list[FloatArray] = []
    for block in stream:
        baseline = baseline.merge(block.baseline)
        kept.append(block.kept)
        if block.improved is not None:
            improved = improved.merge(block.improved)
            kept_improved.append(block.kept_improved)
        progress(block.baseline.n)
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


# --- the streamed draws --------------------------------------------------------------------------

BLOCK_DRAWS = 64 * CHUNK_DRAWS  # one task of a worker process: ~4 M draws, ~0.3 s
PARALLEL_FROM_DRAWS = (
    100_000_000  # per model: below this, process start-up costs more than it saves
)


def default_workers(samples: int) -> int:
    """Every core for runs of at least ``PARALLEL_FROM_DRAWS`` draws per model, else one."""
    return (os.cpu_count() or 1) if samples >= PARALLEL_FROM_DRAWS else 1


def chunk_rng(seed: int, model: str, chunk: int) -> np.random.Generator:
    """The independent stream of one chunk: (seed, CRC32 of the model name, chunk index)."""
    return np.random.default_rng([seed, zlib.crc32(model.encode()), chunk])


@dataclass(frozen=True)
class _Plan:
    """What a worker needs to draw any chunk of one model (picklable); constants hoisted."""

    fit: SurfaceFit
    node: NodePower
    params: EstimateParams

    @property
    def log_fast(self) -> bool:
        """E factorises in log space unless power depends on throughput or inputs are charged."""
        return not self.params.correlate_power and self.fit.rate is RateBasis.OUTPUT


@dataclass(frozen=True)
class _Block:
    baseline: LogHistogram
    improved: LogHistogram | None
    kept: FloatArray
    kept_improved: FloatArray


@contextlib.contextmanager
def _pool(workers: int, blocks: int) -> Iterator[Executor | None]:
    """Worker processes for every model's blocks (None: draw here).

    Forked where the platform can (the children only draw numbers: no re-import of ``__main__``,
    which a spawned child needs and which fails from a notebook cell, stdin or an unguarded
    script); spawned elsewhere.
    """
    if workers <= 1 or blocks <= 1:
        yield None
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(min(workers, blocks), mp_context=context)
    try:
        yield pool
    except BaseException:  # an error or Ctrl-C: the queued blocks of every model are dropped
        pool.shutdown(cancel_futures=True)
        raise
    pool.shutdown()


def _map_blocks(
    plan: _Plan, blocks: list[tuple[int, int]], pool: Executor | None
) -> Iterator[_Block]:
    """The model's blocks in order: drawn here as they are asked for, or submitted to ``pool``
    now (``Executor.map`` queues them all) and handed back in order as they complete."""
    if pool is None:
        return (_draw_block(plan, start, stop) for start, stop in blocks)
    starts, stops = zip(*blocks, strict=True)
    return pool.map(_draw_block, [plan] * len(blocks), starts, stops)


def _draw_block(plan: _Plan, start: int, stop: int) -> _Block:
    """Draws [start, stop) of the model, chunk by chunk, folded into histograms."""
    params = plan.params
    baseline = LogHistogram()
    improved = LogHistogram() if params.levers else None
    kept: list[FloatArray] = []
    kept_improved: list[FloatArray] = []
    constants = _Constants.of(plan)
    for offset in range(start, stop, CHUNK_DRAWS):
        n = min(CHUNK_DRAWS, stop - offset)
        rng = chunk_rng(params.seed, plan.fit.model, offset // CHUNK_DRAWS)
        log_wh = _log_energy_wh(plan, constants, rng, n)
        room = max(KEPT_DRAWS - offset, 0)
        if room:
            kept.append(np.exp(log_wh[:room]))
        log_alpha = _log_alpha(params.levers, rng, n)
        baseline.add_log(log_wh)
        if improved is not None and log_alpha is not None:
            log_wh -= log_alpha
            improved.add_log(log_wh)
            if room:
                kept_improved.append(np.exp(log_wh[:room]))
    empty = np.empty(0)
    return _Block(
        baseline,
        improved,
        np.concatenate(kept) if kept else empty,
        np.concatenate(kept_improved) if kept_improved else empty,
    )


@dataclass(frozen=True)
class _Constants:
    """Per-model constants of ln E = ln L_out − min(b2·ln L_out + a, ln cap) + ln(P_max/3600)
    + ln u + ln PUE, with a = b0 + b1·ln L_in when L_in is fixed (hoisted out of the loop)."""

    log_lin: float | None
    log_cap: float
    log_scale: float

    @classmethod
    def of(cls, plan: _Plan) -> _Constants:
        lin = plan.params.lin
        return cls(
            log_lin=math.log(max(lin.value, MIN_LENGTH_TOKENS)) if isinstance(lin, Point) else None,
            log_cap=math.log(plan.fit.cap_tps),
            log_scale=math.log(plan.node.pmax_w / units.J_PER_WH),
        )


def _log_energy_wh(
    plan: _Plan, constants: _Constants, rng: np.random.Generator, n: int
) -> FloatArray:
    """ln E (Wh) of ``n`` queries; draws in the order L_in, L_out, u, PUE (then α by the caller)."""
    params, fit = plan.params, plan.fit
    lin = None
    if constants.log_lin is None:
        lin = np.maximum(params.lin.sample(rng, n), MIN_LENGTH_TOKENS)
    lout = params.lout_distribution().sample(rng, n)
    np.maximum(lout, MIN_LENGTH_TOKENS, out=lout)
    if not plan.log_fast:
        lin_tokens = lin if lin is not None else np.full(n, math.exp(constants.log_lin or 0.0))
        util, pue = params.util.sample(rng, n), params.pue.sample(rng, n)
        energy = query_energy_wh(
            fit, plan.node, lin_tokens, lout, util, pue, params.correlate_power
        )
        return _with_fit_noise(plan, np.log(energy, out=energy), rng, n)
    log_lout = np.log(lout, out=lout)
    log_wh = np.multiply(log_lout, fit.b2)
    if lin is None:
        log_wh += fit.b0 + fit.b1 * (constants.log_lin or 0.0)
    else:
        log_wh += fit.b0 + fit.b1 * np.log(lin)
    np.minimum(log_wh, constants.log_cap, out=log_wh)  # ln TPS, capped
    np.subtract(log_lout, log_wh, out=log_wh)
    log_wh += constants.log_scale
    log_wh += params.util.log_sample(rng, n)
    log_wh += params.pue.log_sample(rng, n)
    return _with_fit_noise(plan, log_wh, rng, n)


def _with_fit_noise(
    plan: _Plan, log_wh: FloatArray, rng: np.random.Generator, n: int
) -> FloatArray:
    """Adds the surface's own error, ln E += σ·N(0, 1) (``fit_noise``; σ = fit residual std)."""
    sigma = plan.fit.noise_sigma
    if plan.params.fit_noise and sigma:
        log_wh += sigma * rng.standard_normal(n)
    return log_wh


def _log_alpha(levers: list[Lever], rng: np.random.Generator, n: int) -> FloatArray | None:
    """ln of the product of the levers' α draws; None without levers."""
    if not levers:
        return None
    log_alpha = levers[0].alpha.log_sample(rng, n)
    for lever in levers[1:]:
        log_alpha += lever.alpha.log_sample(rng, n)
    return log_alpha
