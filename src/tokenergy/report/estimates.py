"""The estimator in the report: the default Monte Carlo for both output regimes, its section and
its distribution charts. The runs start in the background as the report begins (one forked process
per regime), so they overlap with the tables and figures of the data.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from tokenergy.estimate import EstimateParams, Regime, run_estimate
from tokenergy.estimate.histogram import BINS_PER_DECADE
from tokenergy.estimate.montecarlo import EstimateResult, Summary
from tokenergy.report.charts import SPARE_COLOURS, Axis, Chart, LegendEntry, Panel, Point, Series
from tokenergy.report.figures import FigureWriter
from tokenergy.report.model import Cell, DataTable, Section
from tokenergy.report.numbers import count, sig

_BINS_PER_DECADE_SHOWN = 40
REGIMES = (Regime.TRADITIONAL, Regime.TEST_TIME)


def _run(regime: Regime) -> EstimateResult:
    return run_estimate(EstimateParams(regime=regime, pool=True))


def _executor() -> Executor:
    """Forked processes where the OS has fork and there are spare cores (the Monte Carlo then
    runs beside the tables and figures); a thread otherwise (numpy releases the GIL in part)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if "fork" in multiprocessing.get_all_start_methods() and (cores or 1) > 1:
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(max_workers=len(REGIMES), mp_context=context)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenergy-estimate")


class Estimates:
    """The default estimates (both regimes), started in the background when the report begins."""

    def __init__(self) -> None:
        executor = _executor()
        self._futures = {regime: executor.submit(_run, regime) for regime in REGIMES}
        executor.shutdown(wait=False)
        self._results: dict[Regime, EstimateResult] | None = None

    def results(self) -> dict[Regime, EstimateResult]:
        if self._results is None:
            self._results = {regime: future.result() for regime, future in self._futures.items()}
        return self._results


def _density(summary: Summary) -> list[Point]:
    """Share of draws per decade, on bins merged to 40 per decade (from the streaming histogram)."""
    histogram = summary.histogram
    merge = BINS_PER_DECADE // _BINS_PER_DECADE_SHOWN
    counts = histogram.counts[1:-1].reshape(-1, merge).sum(axis=1)
    edges = histogram.edges()[::merge]
    used = np.flatnonzero(counts)
    if not used.size:
        return []
    low, high = used[0], used[-1] + 1
    share = counts[low:high] / max(histogram.n, 1) * _BINS_PER_DECADE_SHOWN
    centres = np.sqrt(edges[low:high] * edges[low + 1 : high + 1])
    return [Point(float(x), float(y), "") for x, y in zip(centres, share, strict=True)]


def estimate_chart(regime: Regime, result: EstimateResult) -> Chart:
    """Wh/query distributions, one line per model (colours by model: these are not GPUs)."""
    panel = Panel(f"{regime.value} regime")
    legend = []
    for index, estimate in enumerate(result.models):
        colour = SPARE_COLOURS[index % len(SPARE_COLOURS)]
        panel.series.append(
            Series(estimate.model, colour, points=_density(estimate.baseline), markers=False)
        )
        legend.append(LegendEntry(estimate.model, colour))
    if result.pooled is not None:
        panel.series.append(
            Series("pooled", "#000000", "6 3", _density(result.pooled), markers=False)
        )
        legend.append(LegendEntry("pooled (all models)", "#000000", "6 3"))
    return Chart(
        f"estimate-{regime.value}",
        f"Estimated Wh/query distributions: {regime.value} regime",
        Axis(f"Wh per query ({result.boundary.value} boundary, {result.basis.value})", log=True),
        Axis("share of queries per decade"),
        [panel],
        legend,
    )


def _quantile_row(name: str, regime: Regime, summary: Summary) -> list[Cell]:
    q = summary.quantile_wh
    return [
        Cell(name, name),
        Cell(regime.value, regime.value),
        Cell(sig(q(0.5)), q(0.5)),
        Cell(f"{sig(q(0.25))}–{sig(q(0.75))}", q(0.25)),
        Cell(sig(q(0.05)), q(0.05)),
        Cell(sig(q(0.95)), q(0.95)),
        Cell(sig(summary.mean_wh), summary.mean_wh),
        Cell(count(summary.samples), summary.samples),
    ]


def estimate_section(estimates: Estimates, figures: FigureWriter) -> Section:
    """Per model and regime: median, IQR, P5–P95 and mean Wh/query with the default parameters."""
    results = estimates.results()
    first = results[REGIMES[0]]
    section = Section(
        "estimate",
        f"Bottom-up estimate with the default settings ({first.basis.value})",
        paragraphs=[
            "E_query = PUE · u·P_max · L_out / TPS(L_in, L_out) / 3600 per query, with the "
            "packaged 8×H100 FP8 TensorRT-LLM throughput table, node utilisation u lognormal "
            "(P5–P95 0.4–0.9) of P_max = 11.3 kW per 8 GPUs, PUE lognormal (P5–P95 1.05–1.40), "
            "500 input tokens and exponential output lengths (median 300 tokens: 'traditional'; "
            f"5,000: 'test-time'). {first.boundary.value.capitalize()} boundary, "
            f"{first.basis.value} basis: compare with the measured and provisioned figures above "
            "only with that in mind.",
        ],
    )
    section.paragraphs.extend(e.fit.warning for e in first.models if e.fit.warning)
    table = DataTable(
        key="estimate-quantiles",
        caption="Estimated Wh per query (default settings)",
        columns=["model", "regime", "median", "IQR", "P5", "P95", "mean", "draws"],
        numeric=[False, False, True, False, True, True, True, True],
    )
    for regime, result in results.items():
        for estimate in result.models:
            table.rows.append(_quantile_row(estimate.model, regime, estimate.baseline))
        if result.pooled is not None:
            table.rows.append(_quantile_row("pooled (all models)", regime, result.pooled))
        section.figures.append(figures.block(estimate_chart(regime, result)))
    section.tables.append(table)
    return section
