"""``tokenergy.sweep``: every configuration of a spec, one executor, one store, one verdict.

The out directory holds ``spec.json`` (the spec as run), one directory per configuration
(``outcome.json``, ``server.log``, ``points/…`` run directories) and nothing else. Re-running with
``resume=True`` skips configurations whose outcome is ``ok`` and runs the rest; running a different
spec into the same directory is refused. The verdict — frontier and least energy under the SLO with
its runner-up — is the existing analysis (``tokenergy.analyze``) over every point that completed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from tokenergy.analyze.frontier import GroupFrontier, frontiers
from tokenergy.analyze.slo import Choice, Constraint, choice_dict, slo_constraints
from tokenergy.analyze.slo import best_under as best_rows
from tokenergy.analyze.table import AnalysisRow, metric, to_row
from tokenergy.errors import ConfigError
from tokenergy.load.runlog import RUN_FILE, read_run_json
from tokenergy.store import Store
from tokenergy.sweep.hooks import SweepHooks
from tokenergy.sweep.outcome import ConfigOutcome, read_outcome
from tokenergy.sweep.spec import SweepSpec

SPEC_FILE = "spec.json"
GROUP_BY = ("model",)  # one verdict across every server configuration of the model


class Executor(StrEnum):
    LOCAL = "local"
    RAY = "ray"


@dataclass(frozen=True)
class SweepResult:
    spec: SweepSpec
    out_dir: Path
    outcomes: list[ConfigOutcome]
    rows: list[AnalysisRow]
    frontier: list[GroupFrontier]
    best: list[Choice]
    constraints: list[Constraint]
    skipped: list[str] = field(default_factory=list)  # ids already done (resume)

    @property
    def failed(self) -> list[ConfigOutcome]:
        return [o for o in self.outcomes if not o.done]

    def to_dict(self) -> dict[str, Any]:
        energy = metric(self.spec.slo.energy, "energy")
        return {
            "name": self.spec.name,
            "out_dir": str(self.out_dir),
            "configurations": [o.to_dict() for o in self.outcomes],
            "skipped": self.skipped,
            "best": [choice_dict(c, GROUP_BY, self.constraints, energy) for c in self.best],
            "frontier": [
                {"key": list(g.key), "frontier": [point_name(r) for r in g.frontier]}
                for g in self.frontier
            ],
        }


def sweep(
    spec: SweepSpec,
    out_dir: Path | str,
    *,
    executor: Executor | str = Executor.LOCAL,
    resume: bool = False,
    store: Store | None = None,
    address: str | None = None,
    hooks: SweepHooks | None = None,
) -> SweepResult:
    """Run every configuration of ``spec`` into ``out_dir`` and pick the winner under its SLO."""
    constraints = _constraints(spec)  # a bad SLO fails before any server starts
    try:
        chosen = Executor(executor)
    except ValueError:
        raise ConfigError(
            f"unknown executor {executor!r}: local or ray", field="executor"
        ) from None
    out_dir = Path(out_dir)
    hooks = hooks or SweepHooks()
    _claim(spec, out_dir, resume)
    configs = spec.configurations()
    done = {c.id: o for c in configs if (o := read_outcome(out_dir / c.id)) and o.done}
    todo = [(i, c) for i, c in enumerate(configs, 1) if c.id not in done]
    for index, config in enumerate(configs, 1):
        if config.id in done:
            hooks.config_done(index, len(configs), done[config.id], skipped=True)
    if chosen is Executor.RAY:
        from tokenergy.sweep.ray_executor import run_on_ray

        ran = run_on_ray(spec, todo, len(configs), out_dir, store, address, hooks)
    else:
        from tokenergy.sweep.local import run_locally

        ran = run_locally(spec, todo, len(configs), out_dir, store, hooks)
    outcomes = [done.get(c.id) or ran[c.id] for c in configs]
    rows = _rows(out_dir, outcomes)
    energy = metric(spec.slo.energy, "energy")
    return SweepResult(
        spec=spec,
        out_dir=out_dir,
        outcomes=outcomes,
        rows=rows,
        frontier=frontiers(rows, metric(spec.slo.metric, "x"), energy, GROUP_BY),
        best=best_rows(rows, constraints, energy, GROUP_BY),
        constraints=constraints,
        skipped=sorted(done),
    )


def point_name(row: AnalysisRow) -> str:
    """A sweep point in words: its configuration's label and the client concurrency."""
    name = row.label or row.source
    return name if row.batch_cap is None else f"{name} c={row.batch_cap}"


def _constraints(spec: SweepSpec) -> list[Constraint]:
    name = metric(spec.slo.metric, "slo.metric").column
    bound = {"median_itl_s": "max_itl", "median_tpot_s": "max_tpot", "median_ttft_s": "max_ttft"}
    if name not in bound:
        raise ConfigError("use median_itl, median_tpot or median_ttft", field="slo.metric")
    return slo_constraints(**{bound[name]: spec.slo.max})


def _claim(spec: SweepSpec, out_dir: Path, resume: bool) -> None:
    """Write spec.json, or check it: resuming needs the same spec; a fresh run an unused dir."""
    recorded = out_dir / SPEC_FILE
    current = spec.model_dump(mode="json")
    if recorded.exists():
        if not resume:
            raise ConfigError(
                f"{out_dir} holds a sweep already: resume it or choose another directory",
                field="resume",
            )
        try:
            previous = json.loads(recorded.read_text())
        except (OSError, ValueError) as error:
            raise ConfigError(f"unreadable: {error}", file=str(recorded)) from None
        if previous != current:
            raise ConfigError(
                "the spec differs from the one this directory was run with; use another directory",
                file=str(recorded),
            )
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    recorded.write_text(json.dumps(current, indent=2))


def _rows(out_dir: Path, outcomes: list[ConfigOutcome]) -> list[AnalysisRow]:
    """Analysis rows of every point of every configuration that completed, leaving out points
    whose energy the meters marked invalid (as ``tokenergy best`` does by default)."""
    rows = []
    for outcome in outcomes:
        if not outcome.done:
            continue
        for point in outcome.points:
            rows.append(to_row(read_run_json(out_dir / outcome.id / point / RUN_FILE)))
    return [row for row in rows if row.energy_valid is not False]
