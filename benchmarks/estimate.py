"""Speed and memory of the per-query Monte Carlo (issue 7 targets: 1e8 draws < 30 s, < 1 GiB RSS).

Runs, side by side in one process:
1. the streamed, vectorised estimator (``run_estimate``) on ``--samples`` draws of one model;
2. a straightforward per-query Python loop (``random`` + ``math``, one query at a time) of the same
   model on ``--loop-samples`` draws;
and prints draws/s of both, the speed-up, the peak RSS, and both means (they must agree within
Monte Carlo error, else the comparison would be of different computations).

    .venv/bin/python benchmarks/estimate.py            # 1e8 draws
    .venv/bin/python benchmarks/estimate.py --samples 1e7 --loop-samples 1e5
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import time

from tokenergy.estimate import EstimateParams, run_estimate
from tokenergy.estimate.distributions import LogNormal
from tokenergy.estimate.montecarlo import load_fits, node_power
from tokenergy.estimate.surface import SurfaceFit

MODEL = "Llama 3.1 70B"


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=float, default=1e8)
    parser.add_argument("--loop-samples", type=float, default=2e5)
    args = parser.parse_args()
    samples, loop_samples = int(args.samples), int(args.loop_samples)
    params = EstimateParams(models=[MODEL], samples=samples)
    fit = load_fits(params.table, params.models)[0]
    rss_before = peak_rss_mib()

    start = time.perf_counter()
    result = run_estimate(params, fits=[fit])
    vector_s = time.perf_counter() - start
    rss_after = peak_rss_mib()
    summary = result.models[0].baseline

    start = time.perf_counter()
    loop_mean = python_loop_mean_wh(fit, params, loop_samples)
    loop_s = time.perf_counter() - start

    vector_rate, loop_rate = samples / vector_s, loop_samples / loop_s
    print(f"model: {MODEL}, traditional regime, default parameters")
    print(f"vectorised: {samples:.3g} draws in {vector_s:.2f} s = {vector_rate:,.0f} draws/s")
    print(f"python loop: {loop_samples:.3g} draws in {loop_s:.2f} s = {loop_rate:,.0f} draws/s")
    print(f"speed-up: {vector_rate / loop_rate:.0f}x")
    print(f"peak RSS: {rss_after:.0f} MiB (before the run {rss_before:.0f} MiB)")
    print(f"mean Wh/query: vectorised {summary.mean_wh:.5f}, loop {loop_mean:.5f}")
    print(
        f"median {summary.quantile_wh(0.5):.5f} Wh, P5-P95 "
        f"{summary.quantile_wh(0.05):.5f}-{summary.quantile_wh(0.95):.5f} Wh"
    )
    print(
        f"targets: < 30 s -> {'met' if vector_s < 30 else 'MISSED'} (for this --samples); "
        f"< 1024 MiB -> {'met' if rss_after < 1024 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
