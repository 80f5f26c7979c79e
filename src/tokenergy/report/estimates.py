"""The estimator section of the report: the default Monte Carlo settings, both output regimes."""

from __future__ import annotations

from pathlib import Path

from tokenergy.estimate import EstimateParams, Regime, run_estimate
from tokenergy.estimate.plot import plot_estimate
from tokenergy.report.model import Cell, DataTable, FigureBlock, Section


def _wh(value: float) -> Cell:
    return Cell(f"{value:.3g}", value)


def estimate_section(out: Path) -> Section:
    """Per model and regime: median, IQR, P5–P95 and mean Wh/query with the default parameters."""
    section = Section(
        "estimate",
        "Bottom-up estimate with the default settings (modeled)",
        paragraphs=[
            "E_query = PUE · u·P_max · L_out / TPS(L_in, L_out) / 3600 per query, with the "
            "packaged 8×H100 FP8 TensorRT-LLM throughput table, node utilisation u lognormal "
            "(P5–P95 0.4–0.9) of P_max = 11.3 kW per 8 GPUs, PUE lognormal (P5–P95 1.05–1.40), "
            "500 input tokens and exponential output lengths (median 300 tokens: 'traditional'; "
            "5,000: 'test-time'). Facility boundary, modeled basis: compare with the measured "
            "and provisioned figures above only with that in mind.",
        ],
    )
    table = DataTable(
        key="estimate-quantiles",
        caption="Estimated Wh per query (default settings)",
        columns=["model", "regime", "median", "IQR", "P5", "P95", "mean", "draws"],
        numeric=[False, False, True, False, True, True, True, True],
    )
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    for regime in (Regime.TRADITIONAL, Regime.TEST_TIME):
        result = run_estimate(EstimateParams(regime=regime))
        if regime is Regime.TRADITIONAL:
            section.paragraphs.extend(e.fit.warning for e in result.models if e.fit.warning)
        for estimate in result.models:
            q = estimate.baseline.quantile_wh
            table.rows.append(
                [
                    Cell(estimate.model, estimate.model),
                    Cell(regime.value, regime.value),
                    _wh(q(0.5)),
                    Cell(f"{q(0.25):.3g}–{q(0.75):.3g}", q(0.25)),
                    _wh(q(0.05)),
                    _wh(q(0.95)),
                    _wh(estimate.baseline.mean_wh),
                    Cell(f"{estimate.baseline.samples:,}", estimate.baseline.samples),
                ]
            )
        path = figures_dir / f"estimate-{regime.value}.svg"
        plot_estimate(result, path)
        svg = path.read_text(encoding="utf-8")
        section.figures.append(
            FigureBlock(
                f"estimate-{regime.value}",
                f"Estimated Wh/query distributions: {regime.value} regime",
                svg[svg.index("<svg") :],
                [f"figures/{path.name}"],
            )
        )
    section.tables.append(table)
    return section
