"""Speed and memory of the per-query Monte Carlo, measured side by side in one process.

1. **Overhead** (issue 15 target: ≤ 1.15×): ``run_estimate`` on one core vs a minimal numpy pipeline
   making the same draws (the same per-chunk streams, lognormals as exp of normals, log space) and
   the same histogram — repeated, interleaved, median ratio of CPU times (wall beside it); also
   with a progress callback (issue 12: it is called per block, so the ratio must not move).
2. **Cores**: ``run_estimate`` with every core vs one core on ``--parallel-samples`` draws,
   ``--parallel-reps`` interleaved pairs (same answer by construction: printed), with the CPU of
   the parent and its joined workers: the wall speed-up split into the cores the machine gave
   each run and the implementation's CPU efficiency (serial CPU / parallel CPU), which a busy
   machine does not distort.
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
from machine import autogroup_note

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


def accounted(params: EstimateParams, fit: SurfaceFit, workers: int) -> tuple[float, float, object]:
    """(wall s, CPU s of this process and of the workers it forked and joined, result)."""
    cpu, children = time.process_time(), children_cpu_s()
    wall, result = timed(run_estimate, params, fits=[fit], workers=workers)
    return wall, time.process_time() - cpu + children_cpu_s() - children, result


def parallel(params: EstimateParams, fit: SurfaceFit, reps: int) -> None:
    """Every core vs one, interleaved pairs, with CPU accounting.

    On a shared machine the wall-time speed-up is the product of two factors measured apart:
    the cores the machine gave each run (CPU s / wall s) and how much CPU the parallel run
    spent for the same draws (serial CPU / parallel CPU: forking, pickling blocks back, merging).
    Only the second is the implementation's; the first is the load of everything else.
    """
    workers = os.cpu_count() or 1
    rows = []
    for _ in range(reps):
        one_wall, one_cpu, one = accounted(params, fit, 1)
        all_wall, all_cpu, every = accounted(params, fit, workers)
        same = one.to_dict() == every.to_dict()  # type: ignore[attr-defined]
        rows.append((one_wall, one_cpu, all_wall, all_cpu, same))
        print(
            f"  1 worker {one_wall:6.2f} s wall, {one_cpu:6.2f} CPU-s ({one_cpu / one_wall:.2f} "
            f"cores); {workers} workers {all_wall:6.2f} s wall, {all_cpu:6.2f} CPU-s "
            f"({all_cpu / all_wall:.2f} cores); identical results: {same}"
        )
    speedup = statistics.median(r[0] / r[2] for r in rows)
    obtained = statistics.median((r[3] / r[2]) / (r[1] / r[0]) for r in rows)
    cpu_efficiency = statistics.median(r[1] / r[3] for r in rows)
    print(
        f"{params.samples:.3g} draws, {reps} interleaved pairs, median: wall speed-up "
        f"{speedup:.2f}x = cores obtained {obtained:.2f}x (parallel run's cores / serial run's) "
        f"x CPU efficiency {cpu_efficiency:.3f} (serial CPU / parallel CPU); parallel "
        f"efficiency serial wall / (parallel wall x {workers}) = {speedup / workers:.2f}"
    )
    print(
        f"  -> bound on {workers} idle cores: <= {workers * cpu_efficiency:.2f}x (workers x CPU "
        f"efficiency; memory bandwidth shared by the cores and the last block's tail are not in "
        f"it: an upper bound, not a measurement); load average "
        f"{os.getloadavg()[0]:.1f}; identical results in every pair: {all(r[4] for r in rows)}"
    )
    print(f"  {autogroup_note()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=float, default=2e7, help="draws of the overhead pair")
    parser.add_argument("--parallel-samples", type=float, default=1e8)
    parser.add_argument("--parallel-reps", type=int, default=3)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--loop-samples", type=float, default=2e5)
    args = parser.parse_args()
    samples, big = int(args.samples), int(args.parallel_samples)
    params = EstimateParams(models=[MODEL], samples=samples)
    fit = load_fits(params.table, params.models)[0]
    print(f"model: {MODEL}, traditional regime, default parameters, {os.cpu_count()} cores")

    ratios, cpu_ratios, told_ratios, ours_s, minimal_s = [], [], [], [], []
    told: list[Progress] = []
    for _ in range(args.reps):
        cpu = time.process_time()
        t_min, (min_mean, min_median) = timed(minimal_pipeline, fit, params, samples)  # type: ignore[misc]
        cpu_min, cpu = time.process_time() - cpu, time.process_time()
        t_ours, result = timed(run_estimate, params, fits=[fit], workers=1)
        cpu_ours, cpu = time.process_time() - cpu, time.process_time()
        run_estimate(params, told.append, fits=[fit], workers=1)
        cpu_told = time.process_time() - cpu
        ratios.append(t_ours / t_min)
        cpu_ratios.append(cpu_ours / cpu_min)
        told_ratios.append(cpu_told / cpu_min)
        ours_s.append(t_ours)
        minimal_s.append(t_min)
    summary = result.models[0].baseline  # type: ignore[attr-defined]
    cpu_ratio = statistics.median(cpu_ratios)
    print(
        f"one core, {samples:.3g} draws, {args.reps} interleaved pairs: tokenergy "
        f"{statistics.median(ours_s):.2f} s, minimal numpy {statistics.median(minimal_s):.2f} s "
        f"wall; CPU-time ratio median {cpu_ratio:.3f} (min {min(cpu_ratios):.3f}, max "
        f"{max(cpu_ratios):.3f}), wall ratio median {statistics.median(ratios):.3f}; target "
        f"<= 1.15 (CPU time: what one core spends) -> {'met' if cpu_ratio <= 1.15 else 'MISSED'}"
    )
    print(
        f"  with a progress callback: CPU-time ratio median {statistics.median(told_ratios):.3f} "
        f"(min {min(told_ratios):.3f}, max {max(told_ratios):.3f}); "
        f"{len(told) // args.reps} calls per run"
    )
    print(
        f"  same draws: mean {summary.mean_wh:.6f} vs {min_mean:.6f} Wh; "
        f"median {summary.quantile_wh(0.5):.5f} vs {min_median:.5f} Wh"
    )

    parallel(params.model_copy(update={"samples": big}), fit, args.parallel_reps)

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
