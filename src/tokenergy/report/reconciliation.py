"""The "Reconciliation" and "Sensitivity" sections: measured, converted and estimated figures of
each model explained against one reference (``tokenergy.analyze.reconcile``), and which uncertain
input drives the estimate (Sobol indices, ``tokenergy.estimate.sensitivity``).

Both are background jobs (``background.py``) started with the report.
"""

from __future__ import annotations

from tokenergy.analyze.reconcile import (
    FACTOR_NAMES,
    Reconciliation,
    embedded_results,
    reconcilable_models,
    reconcile,
)
from tokenergy.estimate import EstimateParams, Regime
from tokenergy.estimate.sensitivity import SensitivityResult, sensitivity
from tokenergy.report.model import Cell, DataTable, Section
from tokenergy.report.numbers import DASH, sig

SENSITIVITY_BASE_SAMPLES = 1024  # N of the Saltelli design: N·(d + 2) evaluations per target


def reconcile_embedded() -> list[Reconciliation]:
    """Every model of the embedded data with a measured and a converted or estimated figure."""
    results = embedded_results()
    return [reconcile(name, results) for name in reconcilable_models(results)]


def default_sensitivity() -> dict[Regime, SensitivityResult]:
    """Sobol indices of the default estimate of both regimes, per model and pooled (a background
    job: SALib's import of scipy.stats alone takes ~3 s, so it is opt-in)."""
    return {
        regime: sensitivity(
            EstimateParams(regime=regime, pool=True), base_samples=SENSITIVITY_BASE_SAMPLES
        )
        for regime in (Regime.TRADITIONAL, Regime.TEST_TIME)
    }


RECONCILE_JOB = "reconcile"
SENSITIVITY_JOB = "sensitivity"


def _ratio(value: float) -> Cell:
    return Cell(f"×{sig(value)}", value)


def reconciliation_table(result: Reconciliation, index: int) -> DataTable:
    reference = result.reference.figure
    table = DataTable(
        key=f"reconcile-{index}",
        caption=(
            f"{result.model}: every figure at {sig(result.workload.input_len)} input and "
            f"{sig(result.workload.output_len)} output tokens, {result.boundary.value} boundary"
        ),
        columns=[
            "method",
            "source",
            "config",
            "basis",
            "Wh/query",
            "J/output token",
            "ratio to reference",
            *FACTOR_NAMES,
        ],
        numeric=[False, False, False, False, True, True, True, *[True] * len(FACTOR_NAMES)],
        note=(
            f"Reference: {reference.method.value} {reference.config} ({result.reference_choice}). "
            "Each ratio is the exact product of the factors to its right (log-additive)."
            + (" " + " ".join(result.notes) if result.notes else "")
        ),
    )
    for row in result.rows:
        figure = row.figure
        factors = {factor.name: factor.ratio for factor in row.factors}
        table.rows.append(
            [
                Cell(figure.method.value, figure.method.value),
                Cell(figure.source, figure.source),
                Cell(figure.config, figure.config),
                Cell(figure.basis.value, figure.basis.value),
                Cell(sig(row.wh_per_query), row.wh_per_query),
                Cell(sig(figure.j_per_output_token), figure.j_per_output_token),
                _ratio(row.ratio),
                *[
                    _ratio(factors[name]) if name in factors else Cell(DASH, None)
                    for name in FACTOR_NAMES
                ],
            ]
        )
    return table


def reconciliation_section(results: list[Reconciliation]) -> Section:
    section = Section(
        "reconciliation",
        "Reconciliation: measured vs converted vs estimated, explained",
        paragraphs=[
            "For every model of the embedded data that has a measured figure and a converted or "
            "estimated one, all figures are normalised to one workload (the reference's lengths) "
            "and one boundary, and each is compared with a reference (the measured figure with "
            "the least J/output token). The ratio splits into named factors that multiply "
            "exactly to it: throughput per GPU, power per GPU, utilisation, lengths, host, PUE "
            "and a residual (the Monte Carlo's sampling noise). Method and sources: "
            "`tokenergy reconcile --help` and docs/methodology.md.",
        ],
    )
    for index, result in enumerate(results):
        section.tables.append(reconciliation_table(result, index))
        low = min(results[index].rows, key=lambda r: r.ratio)
        high = max(results[index].rows, key=lambda r: r.ratio)
        section.headline.append(
            f"{result.model}: {len(result.rows)} figures from ×{sig(low.ratio)} to "
            f"×{sig(high.ratio)} the reference ({sig(result.reference.wh_per_query)} Wh/query, "
            f"{result.boundary.value} boundary)."
        )
    if not results:
        section.paragraphs.append("No model of these data has both kinds of figure.")
    return section


def _bar(value: float, conf: float) -> Cell:
    shown = max(0.0, min(1.0, value))
    return Cell(f"{value:.2f} ± {conf:.2f}", value, bar=shown)


def sensitivity_section(by_regime: dict[Regime, SensitivityResult]) -> Section:
    section = Section(
        "sensitivity",
        "Sensitivity: what drives the estimate (Sobol indices)",
        paragraphs=[
            "Sobol first-order (S1: the input alone) and total-order (ST: with its interactions) "
            "shares of the variance of log E and of E (Wh/query) for the default estimate, per "
            "model and pooled over the models (SALib, Saltelli design with "
            f"{SENSITIVITY_BASE_SAMPLES:,} base samples; ± the 95 % bootstrap interval). Fixed "
            "inputs (here the input length, 500 tokens) carry no variance and are not listed.",
        ],
    )
    for regime, result in by_regime.items():
        table = DataTable(
            key=f"sensitivity-{regime.value}",
            caption=f"Sobol indices, {regime.value} regime (ranked by ST on log E)",
            columns=["target", "input", "S1 (log E)", "ST (log E)", "S1 (E)", "ST (E)"],
            numeric=[False, False, True, True, True, True],
        )
        for row in result.rows:
            for index in row.ranked():
                table.rows.append(
                    [
                        Cell(row.target, row.target),
                        Cell(index.name, index.name),
                        _bar(index.s1_log, index.s1_log_conf),
                        _bar(index.st_log, index.st_log_conf),
                        _bar(index.s1, index.s1_conf),
                        _bar(index.st, index.st_conf),
                    ]
                )
        pooled = next((row for row in result.rows if row.target == "pooled"), None)
        if pooled is not None and pooled.indices:
            first = pooled.ranked()[0]
            section.headline.append(
                f"{regime.value} regime, pooled: {first.name} explains the most of the spread "
                f"of log Wh/query (ST {first.st_log:.2f})."
            )
        section.tables.append(table)
    return section
