"""Least energy under a latency SLO: per group, argmin energy subject to every latency bound.

The answer carries the runner-up (how close the second choice is) and the SLO's cost: the chosen
energy relative to the group's unconstrained minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenergy import units
from tokenergy.analyze.table import AnalysisRow, Better, Metric, group_key, metric
from tokenergy.errors import ConfigError

Bound = float | str  # seconds (or tok/s/user), or text with a unit: "50ms", "20 tok/s"


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


def latency_metric(name: str, stat: str) -> Metric:
    """The column a latency bound applies to: ``itl`` at ``median`` → median_itl_s."""
    return metric(f"{stat}_{name}_s", "stat")


def slo_constraints(
    *,
    max_itl: Bound | None = None,
    max_tpot: Bound | None = None,
    max_ttft: Bound | None = None,
    min_intvty: Bound | None = None,
    stat: str = "median",
) -> list[Constraint]:
    """A latency SLO from its bounds (seconds or text such as ``"50ms"``); at least one."""
    constraints = []
    for name, parameter, value in (
        ("itl", "max_itl", max_itl),
        ("tpot", "max_tpot", max_tpot),
        ("ttft", "max_ttft", max_ttft),
    ):
        if value is not None:
            bound = units.quantity(parameter, value, units.parse_duration_s)
            constraints.append(Constraint(latency_metric(name, stat), bound))
    if min_intvty is not None:
        rate = units.quantity("min_intvty", min_intvty, units.parse_rate_tok_s)
        constraints.append(Constraint(metric("median_intvty_tok_s"), rate))
    if not constraints:
        raise ConfigError(
            "give at least one bound: ITL, TPOT, TTFT or interactivity", field="max_itl"
        )
    return constraints


def latency_bounds(
    *, at_itl: Sequence[Bound] = (), at_tpot: Sequence[Bound] = (), stat: str = "median"
) -> list[Constraint]:
    """One constraint per bound (a comparison at several matched latencies); at least one."""
    constraints = [
        Constraint(
            latency_metric(name, stat), units.quantity(parameter, bound, units.parse_duration_s)
        )
        for name, parameter, bounds in (("itl", "at_itl", at_itl), ("tpot", "at_tpot", at_tpot))
        for bound in bounds
    ]
    if not constraints:
        raise ConfigError("give at least one ITL or TPOT bound", field="at_itl")
    return constraints


def _config(row: AnalysisRow | None, energy: Metric) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "gpu": row.gpu,
        "num_gpus": row.num_gpus,
        "batch_cap": row.batch_cap,
        "precision": row.precision,
        energy.column: row.get(energy.column),
        "basis": row.basis,
        "boundary": row.boundary,
        "source": row.source,
        "row": row.row,
    }


def choice_dict(
    choice: Choice, group_by: tuple[str, ...], constraints: Sequence[Constraint], energy: Metric
) -> dict[str, Any]:
    """One group's answer; the chosen configuration's fields are at the top level, and the
    runner-up and unconstrained minimum carry the energy metric that was minimised."""
    row = choice.chosen
    keys = dict(zip(group_by, choice.key, strict=True))
    chosen = _config(row, energy) or keys  # nothing chosen: a group column keeps its value
    return {
        **keys,
        "constraint": " and ".join(c.text for c in constraints),
        "energy_metric": energy.column,
        "energy_label": f"{energy.label} ({energy.unit})",
        "gpu": chosen.get("gpu"),
        "num_gpus": chosen.get("num_gpus"),
        "batch_cap": chosen.get("batch_cap"),
        "precision": chosen.get("precision"),
        "energy_per_token_j": None if row is None else row.energy_per_token_j,
        "j_per_token": None if row is None else row.j_per_token,
        "energy_per_response_j": None if row is None else row.energy_per_response_j,
        "wh_per_query": None if row is None else row.wh_per_query,
        "avg_output_len": None if row is None else row.avg_output_len,
        "basis": chosen.get("basis"),
        "boundary": chosen.get("boundary"),
        **{c.metric.column: None if row is None else row.get(c.metric.column) for c in constraints},
        "runner_up": _config(choice.runner_up, energy),
        "unconstrained": _config(choice.unconstrained, energy),
        "slo_cost": choice.slo_cost(energy),
        "feasible": choice.feasible,
        "candidates": choice.candidates,
        "source": chosen.get("source"),
        "row": chosen.get("row"),
    }
