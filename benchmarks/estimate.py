"""Speed and memory of the per-query Monte Carlo, measured side by side in one process.

1. **Overhead** (issue 15 target: ≤ 1.15×): ``run_estimate`` on one core vs a minimal numpy pipeline
   making the same draws (the same per-chunk streams, lognormals as exp of normals, log space) and
   the same histogram — repeated, interleaved, median ratio; also with a progress callback
   (issue 12: it is called per block, so the ratio must not move).
2. **Cores**: ``run_estimate`` with every core vs one core on ``--parallel-samples`` draws (same
   answer by construction: printed).
3. A straightforward per-query Python loop (``random`` + ``math``) for scale, and peak RSS.

    .venv/bin/python benchmarks/estimate.py                       # 2e7 / 1e8 draws
    .venv/bin/python benchmarks/estimate.py --samples 5e6 --parallel-samples 2e7 --reps 3
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import statistics
import time

import numpy as np

from tokenergy.estimate import EstimateParams, run_estimate
from tokenergy.estimate.distributions import LogNormal
from tokenergy.estimate.histogram import BINS_PER_DECADE, LOG10_LOW
from tokenergy.estimate.montecarlo import CHUNK_DRAWS, chunk_rng, load_fits, node_power
from tokenergy.estimate.surface import SurfaceFit
from tokenergy.progress import Progress

MODEL = "Llama 3.1 70B"
N_BINS = int((12.0 - LOG10_LOW) * BINS_PER_DECADE)


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def minimal_pipeline(fit: SurfaceFit, params: EstimateParams, samples: int) -> tuple[float, float]:
    """The same draws and histogram, written as lean numpy with nothing else: (mean, median)."""
    assert isinstance(params.util, LogNormal) and isinstance(params.pue, LogNormal)
    node = node_power(fit, params.pmax_w, params.p_idle_w)
    mean_out = params.lout_distribution().mean
    a = fit.b0 + fit.b1 * math.log(params.lin.mean)
    log_cap, log_scale = math.log(fit.cap_tps), math.log(node.pmax_w / 3600.0)
    k, c = BINS_PER_DECADE / math.log(10.0), 1.0 - LOG10_LOW * BINS_PER_DECADE
    counts = np.zeros(N_BINS + 2, np.int64)
    total = 0.0
    for chunk, start in enumerate(range(0, samples, CHUNK_DRAWS)):
        n = min(CHUNK_DRAWS, samples - start)
        rng = chunk_rng(params.seed, fit.model, chunk)
        log_out = np.log(np.maximum(rng.exponential(mean_out, n), 1.0))
        log_e = log_out - np.minimum(fit.b2 * log_out + a, log_cap) + log_scale
        log_e += params.util.mu + params.util.sigma * rng.standard_normal(n)
        log_e += params.pue.mu + params.pue.sigma * rng.standard_normal(n)
        index = np.clip(log_e * k + c, 0.0, N_BINS + 1.0).astype(np.intp)
        counts += np.bincount(index, minlength=N_BINS + 2)
        total += float(np.exp(log_e).sum())
    half = int(np.searchsorted(np.cumsum(counts), samples / 2))
    return total / samples, 10.0 ** (LOG10_LOW + (half - 0.5) / BINS_PER_DECADE)


def python_loop_mean_wh(fit: SurfaceFit, params: EstimateParams, n: int) -> float:
    """One query at a time: the formula as one would first write it."""
    assert isinstance(params.util, LogNormal) and isinstance(params.pue, LogNormal)
    node = node_power(fit, params.pmax_w, params.p_idle_w)
    lout_mean = params.lout_distribution().mean
    lin = params.lin.mean
    rng = random.Random(params.seed)
    total = 0.0
    for _ in range(n):
        lout = max(rng.expovariate(1.0 / lout_mean), 1.0)
        util = rng.lognormvariate(params.util.mu, params.util.sigma)
        pue = rng.lognormvariate(params.pue.mu, params.pue.sigma)
        log_tps = fit.b0 + fit.b1 * math.log(lin) + fit.b2 * math.log(lout)
        tps = math.exp(min(log_tps, math.log(fit.cap_tps)))
        total += pue * util * node.pmax_w * lout / tps / 3600.0
    return total / n


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(function: object, *args: object, **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)  # type: ignore[operator]
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=float, default=2e7, help="draws of the overhead pair")
    parser.add_argument("--parallel-samples", type=float, default=1e8)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--loop-samples", type=float, default=2e5)
    args = parser.parse_args()
    samples, big = int(args.samples), int(args.parallel_samples)
    params = EstimateParams(models=[MODEL], samples=samples)
    fit = load_fits(params.table, params.models)[0]
    print(f"model: {MODEL}, traditional regime, default parameters, {os.cpu_count()} cores")

    ratios, ours_s, minimal_s, told_ratios = [], [], [], []
    told: list[Progress] = []
    for _ in range(args.reps):
        t_min, (min_mean, min_median) = timed(minimal_pipeline, fit, params, samples)  # type: ignore[misc]
        t_ours, result = timed(run_estimate, params, fits=[fit], workers=1)
        t_told, _ = timed(run_estimate, params, told.append, fits=[fit], workers=1)
        ratios.append(t_ours / t_min)
        told_ratios.append(t_told / t_min)
        ours_s.append(t_ours)
        minimal_s.append(t_min)
    summary = result.models[0].baseline  # type: ignore[attr-defined]
    print(
        f"one core, {samples:.3g} draws, {args.reps} interleaved pairs: tokenergy "
        f"{statistics.median(ours_s):.2f} s, minimal numpy {statistics.median(minimal_s):.2f} s; "
        f"ratio median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max "
        f"{max(ratios):.3f}); target <= 1.15 -> "
        f"{'met' if statistics.median(ratios) <= 1.15 else 'MISSED'}"
    )
    print(
        f"  with a progress callback: ratio median {statistics.median(told_ratios):.3f} (min "
        f"{min(told_ratios):.3f}, max {max(told_ratios):.3f}); "
        f"{len(told) // args.reps} calls per run"
    )
    print(
        f"  same draws: mean {summary.mean_wh:.6f} vs {min_mean:.6f} Wh; "
        f"median {summary.quantile_wh(0.5):.5f} vs {min_median:.5f} Wh"
    )

    workers = os.cpu_count() or 1
    big_params = params.model_copy(update={"samples": big})
    t_one, one = timed(run_estimate, big_params, fits=[fit], workers=1)
    children_before = children_cpu_s()
    t_all, every = timed(run_estimate, big_params, fits=[fit], workers=workers)
    children = children_cpu_s() - children_before
    same = one.to_dict() == every.to_dict()  # type: ignore[attr-defined]
    print(
        f"{big:.3g} draws: 1 worker {t_one:.2f} s ({big / t_one:,.0f}/s), {workers} workers "
        f"{t_all:.2f} s ({big / t_all:,.0f}/s): speed-up {t_one / t_all:.2f}x; "
        f"identical results: {same}"
    )
    print(
        f"  the workers got {children:.2f} CPU-s in {t_all:.2f} s: {children / t_all:.2f} cores on "
        f"average (load average {os.getloadavg()[0]:.1f}: other processes share the cores)"
    )

    loop_samples = int(args.loop_samples)
    t_loop, loop_mean = timed(python_loop_mean_wh, fit, params, loop_samples)
    print(
        f"python loop: {loop_samples:.3g} draws in {t_loop:.2f} s = {loop_samples / t_loop:,.0f}/s "
        f"(one-core vectorised {samples / statistics.median(ours_s) / (loop_samples / t_loop):.0f}x"
        f" faster); mean {loop_mean:.5f} Wh"
    )
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
