"""The estimator in the report: the default Monte Carlo for both output regimes, its section and
its distribution charts. The runs are background jobs (``background.py``, one per regime), so they
overlap with the tables and figures of the data.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tokenergy.estimate import EstimateParams, Regime, run_estimate
from tokenergy.estimate.histogram import BINS_PER_DECADE
from tokenergy.estimate.montecarlo import EstimateResult, Summary
from tokenergy.report.background import Background
from tokenergy.report.charts import SPARE_COLOURS, Axis, Chart, LegendEntry, Panel, Point, Series
from tokenergy.report.figures import FigureWriter
from tokenergy.report.model import Cell, DataTable, Section
from tokenergy.report.numbers import count, sig

_BINS_PER_DECADE_SHOWN = 40
REGIMES = (Regime.TRADITIONAL, Regime.TEST_TIME)


def run_defaults() -> dict[Regime, EstimateResult]:
    """The default Monte Carlo of both regimes, pooled over the table's models (a background job:
    one process for both keeps the main process a core of its own on a 2-core machine)."""
    return {
        regime: _histograms_only(run_estimate(EstimateParams(regime=regime, pool=True)))
        for regime in REGIMES
    }


def _without_draws(summary: Summary | None) -> Summary | None:
    return None if summary is None else Summary(summary.histogram, np.empty(0), summary.seed)


def _histograms_only(result: EstimateResult) -> EstimateResult:
    """The report shows histograms, not the kept draws (100,000 per model and as many again
    pooled, ~20 MB in all): they are dropped before the result is pickled back and cached."""
    models = [
        replace(
            estimate,
            baseline=Summary(estimate.baseline.histogram, np.empty(0), estimate.baseline.seed),
            improved=_without_draws(estimate.improved),
        )
        for estimate in result.models
    ]
    return replace(
        result,
        models=models,
        pooled=_without_draws(result.pooled),
        pooled_improved=_without_draws(result.pooled_improved),
    )


JOB = "estimates"


def results(background: Background) -> dict[Regime, EstimateResult] | None:
    """Both regimes' results, or None when the report runs without the estimator."""
    found: dict[Regime, EstimateResult] | None = background.result(JOB)
    return found


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


def estimate_section(by_regime: dict[Regime, EstimateResult], figures: FigureWriter) -> Section:
    """Per model and regime: median, IQR, P5–P95 and mean Wh/query with the default parameters."""
    first = by_regime[REGIMES[0]]
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
    for regime, result in by_regime.items():
        for estimate in result.models:
            table.rows.append(_quantile_row(estimate.model, regime, estimate.baseline))
        if result.pooled is not None:
            table.rows.append(_quantile_row("pooled (all models)", regime, result.pooled))
        section.figures.append(figures.block(estimate_chart(regime, result)))
    section.tables.append(table)
    return section
