"""Least energy under a latency SLO: per group, argmin energy subject to every latency bound.

The answer carries the runner-up (how close the second choice is) and the SLO's cost: the chosen
energy relative to the group's unconstrained minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenergy.analyze.table import AnalysisRow, Better, Metric, group_key


@dataclass(frozen=True)
class Constraint:
    """metric ≤ bound (lower-is-better metrics) or metric ≥ bound (interactivity)."""

    metric: Metric
    bound: float

    def holds(self, row: AnalysisRow) -> bool:
        value = row.get(self.metric.column)
        if value is None:
            return False
        return bool(
            value <= self.bound if self.metric.better is Better.LOWER else value >= self.bound
        )

    @property
    def text(self) -> str:
        op = "<=" if self.metric.better is Better.LOWER else ">="
        if self.metric.unit == "s":
            return f"{self.metric.column} {op} {self.bound * 1000:g}ms"
        return f"{self.metric.column} {op} {self.bound:g}"


@dataclass(frozen=True)
class Choice:
    """The outcome for one group; ``chosen`` is None when no configuration meets the SLO."""

    key: tuple[Any, ...]
    chosen: AnalysisRow | None
    runner_up: AnalysisRow | None
    unconstrained: AnalysisRow | None
    candidates: int
    feasible: int

    def slo_cost(self, energy: Metric) -> float | None:
        """chosen / unconstrained minimum − 1 (0 when the SLO costs nothing)."""
        if self.chosen is None or self.unconstrained is None:
            return None
        best = self.unconstrained.get(energy.column)
        return float(self.chosen.get(energy.column) / best - 1.0) if best else None


def _cheapest_first(rows: list[AnalysisRow], energy: Metric) -> list[AnalysisRow]:
    """By energy; ties keep input order (sorted is stable) so results are reproducible."""
    return sorted(rows, key=lambda r: r.get(energy.column))


def best_under(
    rows: Sequence[AnalysisRow],
    constraints: Sequence[Constraint],
    energy: Metric,
    group_by: tuple[str, ...],
) -> list[Choice]:
    """Per group (first-seen order), the least-energy row meeting all constraints."""
    groups: dict[tuple[Any, ...], list[AnalysisRow]] = {}
    for row in rows:
        if row.get(energy.column) is not None:
            groups.setdefault(group_key(row, group_by), []).append(row)
    choices = []
    for key, members in groups.items():
        ranked = _cheapest_first(members, energy)
        feasible = [r for r in ranked if all(c.holds(r) for c in constraints)]
        choices.append(
            Choice(
                key=key,
                chosen=feasible[0] if feasible else None,
                runner_up=feasible[1] if len(feasible) > 1 else None,
                unconstrained=ranked[0],
                candidates=len(members),
                feasible=len(feasible),
            )
        )
    return choices
