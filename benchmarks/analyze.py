"""Frontier sweep vs the O(n²) definition, and the default report against its 60 s budget.

Run: `.venv/bin/python benchmarks/analyze.py`. Prints times measured side by side in one run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from tokenergy.analyze.frontier import dominates, pareto_indices
from tokenergy.report.build import make_report

REPORT_BUDGET_S = 60.0


def naive(points: Sequence[tuple[float, float]]) -> list[int]:
    """The definition: keep a point no other point dominates."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]


def best_of(repeats: int, job: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    for n in (500, 2000):
        xs = rng.lognormal(size=n)
        points = [(float(x), float(1 / x + rng.lognormal(sigma=0.3))) for x in xs]
        assert sorted(pareto_indices(points)) == naive(points)
        sweep_s = best_of(5, partial(pareto_indices, points))
        naive_s = best_of(1, partial(naive, points))
        print(
            f"frontier of {n:>5} points: sweep {sweep_s * 1e3:7.2f} ms, "
            f"O(n²) definition {naive_s * 1e3:8.1f} ms -> {naive_s / sweep_s:,.0f}× faster"
        )

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        make_report([], Path(tmp))
        total = time.perf_counter() - start
        size_mb = (Path(tmp) / "index.html").stat().st_size / 1e6
    print(
        f"default report (in process): {total:.2f} s = {total / REPORT_BUDGET_S:.0%} of the "
        f"{REPORT_BUDGET_S:.0f} s budget; index.html {size_mb:.1f} MB "
        "(benchmarks/report.py: the CLI against its 5 s target, split by step)"
    )


if __name__ == "__main__":
    main()
