"""The block a report opens with: how much energy a typical chat and a typical reasoning query
take, from every kind of figure the report holds (measured, provisioned, estimated, simulated),
each with its boundary and basis — side by side, never merged.

A workload is chat-like when its mean output is below ``REASONING_OUTPUT_TOKENS`` (the geometric
midpoint of the estimator's regimes: median 300 and 5,000 output tokens), reasoning-like above.
Per family and class the workload with the most configurations stands for the class; its typical
figure is the median Wh/query over those configurations, with P10–P90 as the spread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from tokenergy import units
from tokenergy.analyze.table import AnalysisRow
from tokenergy.estimate import Regime
from tokenergy.estimate.montecarlo import EstimateResult
from tokenergy.footprint import Grid, footprint
from tokenergy.report.charts import short_model
from tokenergy.report.families import Family, usable_rows, workloads
from tokenergy.report.model import Headline, HeadlineFigure, QueryClass
from tokenergy.report.numbers import count, sig
from tokenergy.units import Boundary

REASONING_OUTPUT_TOKENS = math.sqrt(300 * 5000)  # ≈ 1,225
BOUNDARIES = {b.value for b in Boundary}


def _mean_output(rows: Sequence[AnalysisRow]) -> float | None:
    lengths = [r.avg_output_len for r in rows if r.avg_output_len is not None]
    return sum(lengths) / len(lengths) if lengths else None


def _is_reasoning(rows: Sequence[AnalysisRow]) -> bool | None:
    mean = _mean_output(rows)
    return None if mean is None else mean >= REASONING_OUTPUT_TOKENS


def family_figure(
    family: Family, reasoning: bool, include_invalid: bool = False
) -> HeadlineFigure | None:
    """The typical Wh/query of the family's main workload of one class, or None if it has none."""
    rows, _ = usable_rows(family, include_invalid)
    rows = [r for r in rows if r.wh_per_query is not None]
    for workload in workloads(rows):
        members = [r for r in rows if r.workload == workload]
        if _is_reasoning(members) is not reasoning:
            continue
        wh = np.array([r.wh_per_query for r in members], dtype=float)
        j = [r.energy_per_token_j for r in members if r.energy_per_token_j is not None]
        models = sorted({short_model(r.model) for r in members})
        gpus = sorted({r.gpu or "?" for r in members})
        first = members[0]
        return HeadlineFigure(
            wh_per_query=float(np.median(wh)),
            low_wh=float(np.percentile(wh, 10)),
            high_wh=float(np.percentile(wh, 90)),
            spread=f"P10–P90 over {count(len(members))} configurations",
            j_per_output_token=float(np.median(j)) if j else None,
            output_tokens=_mean_output(members),
            boundary=first.boundary or "unknown",
            basis="simulated" if family.simulated else (first.basis or "unknown"),
            source=family.title,
            detail=(
                f"workload {workload}: {len(models)} model{'s' if len(models) > 1 else ''} "
                f"on {', '.join(gpus)}, every configuration counts once"
                if not family.simulated
                else f"workload {workload}: simulated runs of {', '.join(models)}"
            ),
        )
    return None


def estimate_figure(result: EstimateResult) -> HeadlineFigure | None:
    summary = result.pooled
    if summary is None:
        return None
    regime = result.params.regime
    return HeadlineFigure(
        wh_per_query=summary.quantile_wh(0.5),
        low_wh=summary.quantile_wh(0.05),
        high_wh=summary.quantile_wh(0.95),
        spread=f"P5–P95 of {count(summary.samples)} draws over {len(result.models)} models",
        j_per_output_token=None,
        output_tokens=result.params.regime.lout_median / math.log(2),
        boundary=result.boundary.value,
        basis=result.basis.value,
        source="bottom-up estimate (default settings)",
        detail=(
            f"{regime.value} regime: exponential output lengths, median "
            f"{count(regime.lout_median)} tokens (mean shown), 500 input tokens"
        ),
    )


def with_footprint(figure: HeadlineFigure, grid: Grid) -> HeadlineFigure:
    """gCO2e and litres per query at the figure's own boundary (``tokenergy.footprint``)."""
    result = footprint(
        units.wh_to_j(figure.wh_per_query),
        grid,
        boundary=Boundary(figure.boundary) if figure.boundary in BOUNDARIES else None,
    )
    return replace(figure, gco2e_per_query=result.gco2e, water_l_per_query=result.water_l)


def _grid_text(grid: Grid) -> str:
    text = f"{sig(grid.gco2e_per_kwh)} gCO2e/kWh ({grid.source})"
    if grid.water_l_per_kwh is not None:
        text += f", {sig(grid.water_l_per_kwh)} L/kWh generating it ({grid.water_source})"
    if grid.wue_onsite_l_per_kwh is not None:
        text += f", {sig(grid.wue_onsite_l_per_kwh)} L/kWh on site"
    return text


def build_headline(
    families: Sequence[Family],
    estimates: dict[Regime, EstimateResult] | None,
    include_invalid: bool = False,
    grid: Grid | None = None,
) -> Headline:
    classes = [
        QueryClass(
            "Chat query",
            f"a workload whose mean output is below {count(REASONING_OUTPUT_TOKENS)} tokens",
        ),
        QueryClass(
            "Reasoning query",
            f"a workload whose mean output is {count(REASONING_OUTPUT_TOKENS)} tokens or more",
        ),
    ]
    for query, reasoning in zip(classes, (False, True), strict=True):
        for family in families:
            figure = family_figure(family, reasoning, include_invalid)
            if figure is not None:
                query.figures.append(figure)
        regime = Regime.TEST_TIME if reasoning else Regime.TRADITIONAL
        if estimates is not None and regime in estimates:
            figure = estimate_figure(estimates[regime])
            if figure is not None:
                query.figures.append(figure)
    notes = [
        "Each figure states its boundary (accelerator ⊂ node ⊂ facility: what the energy covers) "
        "and basis (where the watts came from). Figures at different boundaries or bases are "
        "shown side by side, not averaged: a facility figure includes host and cooling energy "
        "an accelerator figure leaves out.",
    ]
    grid_text = None
    if grid is not None:
        for query in classes:
            query.figures = [with_footprint(figure, grid) for figure in query.figures]
        grid_text = _grid_text(grid)
        notes.append(
            f"Carbon and water use the grid {grid_text}; operational and location-based, at "
            "each figure's own boundary (an accelerator figure's carbon leaves out the host and "
            "cooling); embodied emissions are not included."
        )
    if any(f.basis == "simulated" for q in classes for f in q.figures):
        notes.append(
            "Simulated figures come from the simulator's power model and are not measurements."
        )
    return Headline(classes, notes, grid_text)
