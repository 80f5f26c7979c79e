"""Matched-constraint comparisons across one dimension (GPU model, precision, GPU count).

For each group and each latency bound, the best configuration under the bound is found separately
for the baseline and the candidate value of the dimension; a case exists when both meet the bound.
energy_change = candidate / baseline − 1, so negative means the candidate saves energy.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenergy.analyze.slo import Constraint, best_under
from tokenergy.analyze.table import AnalysisRow, Metric, group_key
from tokenergy.errors import ConfigError


@dataclass(frozen=True)
class Case:
    key: tuple[Any, ...]
    constraint: Constraint
    baseline: AnalysisRow
    candidate: AnalysisRow
    energy: Metric

    @property
    def baseline_energy(self) -> float:
        return float(self.baseline.get(self.energy.column))

    @property
    def candidate_energy(self) -> float:
        return float(self.candidate.get(self.energy.column))

    @property
    def energy_change(self) -> float:
        return self.candidate_energy / self.baseline_energy - 1.0


@dataclass(frozen=True)
class Summary:
    wins: int
    cases: int
    median_change: float | None
    min_change: float | None
    max_change: float | None


def pick_sides(
    rows: Sequence[AnalysisRow], by: str, baseline: str | None, candidate: str | None
) -> tuple[str, str]:
    """Baseline and candidate values of the dimension; inferred only when exactly two exist."""
    values = sorted({str(row.get(by)) for row in rows if row.get(by) is not None})
    if baseline is None and candidate is None:
        if len(values) != 2:
            raise ConfigError(
                f"{by} has values {', '.join(values) or 'none'}; name `baseline` and `candidate`",
                field="baseline",
            )
        return values[0], values[1]
    for name, value in (("baseline", baseline), ("candidate", candidate)):
        if value is not None and value.lower() not in {v.lower() for v in values}:
            raise ConfigError(f"{by}={value!r} not in the data ({', '.join(values)})", field=name)
    others = [v for v in values if v.lower() not in {str(baseline).lower(), str(candidate).lower()}]
    if baseline is None:
        if len(others) != 1:
            raise ConfigError("cannot infer the baseline; give `baseline`", field="baseline")
        baseline = others[0]
    if candidate is None:
        if len(others) != 1:
            raise ConfigError("cannot infer the candidate; give `candidate`", field="candidate")
        candidate = others[0]
    return baseline, candidate


def compare(
    rows: Sequence[AnalysisRow],
    by: str,
    baseline: str,
    candidate: str,
    constraints: Sequence[Constraint],
    energy: Metric,
    group_by: tuple[str, ...],
) -> list[Case]:
    """Cases in (group first-seen, constraint) order; groups lacking a side are skipped."""
    keys: dict[tuple[Any, ...], None] = {group_key(r, group_by): None for r in rows}
    sides = {
        name: [r for r in rows if str(r.get(by)).lower() == value.lower()]
        for name, value in (("baseline", baseline), ("candidate", candidate))
    }
    cases = []
    for constraint in constraints:
        chosen = {
            name: {c.key: c.chosen for c in best_under(side, [constraint], energy, group_by)}
            for name, side in sides.items()
        }
        for key in keys:
            base, cand = chosen["baseline"].get(key), chosen["candidate"].get(key)
            if base is not None and cand is not None:
                cases.append(Case(key, constraint, base, cand, energy))
    position = {key: index for index, key in enumerate(keys)}
    cases.sort(key=lambda c: position[c.key])
    return cases


def summarize(cases: Sequence[Case]) -> Summary:
    changes = [case.energy_change for case in cases]
    return Summary(
        wins=sum(change < 0 for change in changes),
        cases=len(changes),
        median_change=statistics.median(changes) if changes else None,
        min_change=min(changes) if changes else None,
        max_change=max(changes) if changes else None,
    )


def comparison_dict(
    cases: Sequence[Case], summary: Summary, group_by: tuple[str, ...], energy: Metric
) -> dict[str, Any]:
    """Cases and their summary; energies are keyed by the metric compared (``energy_metric``)."""
    return {
        "energy_metric": energy.column,
        "energy_label": f"{energy.label} ({energy.unit})",
        "cases": [
            {
                **dict(zip(group_by, case.key, strict=True)),
                "constraint": case.constraint.text,
                "baseline": case.baseline.config_label,
                "candidate": case.candidate.config_label,
                f"baseline_{energy.column}": case.baseline_energy,
                f"candidate_{energy.column}": case.candidate_energy,
                "energy_change": case.energy_change,
                "baseline_basis": case.baseline.basis,
                "baseline_boundary": case.baseline.boundary,
                "candidate_basis": case.candidate.basis,
                "candidate_boundary": case.candidate.boundary,
            }
            for case in cases
        ],
        "summary": {
            "wins": summary.wins,
            "cases": summary.cases,
            "median_change": summary.median_change,
            "min_change": summary.min_change,
            "max_change": summary.max_change,
        },
    }
