"""Time–energy frontier: the configurations no other configuration beats on both latency and energy.

A point dominates another when it is no worse on both axes and strictly better on one
(docs/methodology.md §10).
Identical points do not dominate each other, so duplicates stay on the frontier together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tokenergy.analyze.table import AnalysisRow, Better, Metric, group_key


def _oriented(value: float, better: Better) -> float:
    """Both axes become 'lower is better' (interactivity and throughput are flipped)."""
    return value if better is Better.LOWER else -value


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """a dominates b when minimising both coordinates."""
    return a[0] <= b[0] and a[1] <= b[1] and (a[0] < b[0] or a[1] < b[1])


def pareto_indices(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points (minimising both), in increasing first coordinate.

    One sort and a sweep: after sorting by (x, y), a point is kept when its y beats every earlier
    y, or equals the point that set the best y at the same x (an exact duplicate).
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], points[i][1]))
    kept: list[int] = []
    best: tuple[float, float] | None = None
    for index in order:
        x, y = points[index]
        if best is None or y < best[1]:
            best = (x, y)
            kept.append(index)
        elif (x, y) == best:
            kept.append(index)
    return kept


@dataclass(frozen=True)
class GroupFrontier:
    """The frontier of one group plus what was left out and why."""

    key: tuple[Any, ...]
    frontier: list[AnalysisRow]
    dominated: list[AnalysisRow]
    missing: int  # rows lacking the x or y metric


def frontiers(
    rows: Sequence[AnalysisRow], x: Metric, y: Metric, group_by: tuple[str, ...]
) -> list[GroupFrontier]:
    """Per group, split rows into frontier and dominated on (x, y); groups in first-seen order."""
    groups: dict[tuple[Any, ...], list[AnalysisRow]] = {}
    for row in rows:
        groups.setdefault(group_key(row, group_by), []).append(row)
    result = []
    for key, members in groups.items():
        usable = [r for r in members if r.get(x.column) is not None and r.get(y.column) is not None]
        points = [
            (_oriented(r.get(x.column), x.better), _oriented(r.get(y.column), y.better))
            for r in usable
        ]
        kept = pareto_indices(points)
        kept_set = set(kept)
        result.append(
            GroupFrontier(
                key=key,
                frontier=[usable[i] for i in kept],
                dominated=[r for i, r in enumerate(usable) if i not in kept_set],
                missing=len(members) - len(usable),
            )
        )
    return result
