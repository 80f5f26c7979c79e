"""``tokenergy sweep``: launch, measure and tear down one server per configuration of a spec, then
print the frontier and the least-energy configuration under the spec's SLO."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.table import Table

from tokenergy.analyze.table import metric
from tokenergy.cli.render import console, err_console, fmt, print_json
from tokenergy.errors import ConfigError
from tokenergy.store import Store
from tokenergy.sweep import (
    ConfigOutcome,
    Configuration,
    Executor,
    SweepHooks,
    SweepResult,
    load_spec,
    parse_spec,
    sweep,
)
from tokenergy.sweep.driver import point_name
from tokenergy.sweep.spec import SweepSpec


class _Progress(SweepHooks):
    """One line per configuration: i/N, its label, elapsed and an ETA from the finished ones."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.started = time.monotonic()
        self.finished = 0

    def _say(self, text: str) -> None:
        if not self.quiet:
            err_console.print(text, highlight=False)

    def config_started(self, index: int, total: int, config: Configuration) -> None:
        self._say(f"[{index}/{total}] {config.label}: starting ({self._times(total)})")

    def config_done(self, index: int, total: int, outcome: ConfigOutcome, skipped: bool) -> None:
        if skipped:
            self._say(f"[{index}/{total}] {outcome.label}: done in an earlier run, skipped")
            return
        self.finished += 1
        what = "ok" if outcome.done else f"{outcome.status}: {outcome.cause} ({outcome.message})"
        points = f", {len(outcome.points)} point(s)" if outcome.points else ""
        self._say(f"[{index}/{total}] {outcome.label}: {what}{points} ({self._times(total)})")

    def _times(self, total: int) -> str:
        elapsed = time.monotonic() - self.started
        text = f"elapsed {elapsed:.0f} s"
        if self.finished:
            left = max(total - self.finished, 0)
            text += f", ETA {elapsed / self.finished * left:.0f} s"
        return text


def _overrides(
    command: str | None,
    params: list[str],
    concurrency: str | None,
    isl: int | None,
    osl: int | None,
    num_prompts: int | None,
    meters: list[str],
    max_itl: str | None,
) -> dict[str, Any]:
    """Flags as spec keys: a spec file and flags merge, flags winning."""
    document: dict[str, Any] = {}
    if command is not None:
        document.setdefault("server", {})["command"] = command
    for item in params:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ConfigError(f"expected NAME=V1,V2…, got {item!r}", field="--param")
        document.setdefault("parameters", {})[name.strip()] = [
            _value(v.strip()) for v in values.split(",")
        ]
    workload: dict[str, Any] = {}
    if concurrency is not None:
        try:
            workload["concurrency"] = [int(c) for c in concurrency.split(",")]
        except ValueError:
            raise ConfigError(
                f"expected integers, got {concurrency!r}", field="--concurrency"
            ) from None
    for key, value in (("isl", isl), ("osl", osl), ("num_prompts", num_prompts)):
        if value is not None:
            workload[key] = value
    if workload:
        document["workload"] = workload
    if meters:
        document["meters"] = {"specs": meters}
    if max_itl is not None:
        document["slo"] = {"metric": "median_itl", "max": max_itl}
    return document


def _value(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _spec(spec_file: Path | None, overrides: dict[str, Any]) -> SweepSpec:
    if spec_file is None:
        if not overrides:
            raise ConfigError("give a spec file or --command and --param", field="SPEC")
        return parse_spec(overrides)
    spec = load_spec(spec_file)
    if not overrides:
        return spec
    return parse_spec(_merge(spec.model_dump(mode="json"), overrides), source=str(spec_file))


def sweep_command(
    spec_file: Path | None = typer.Argument(None, metavar="SPEC", help="Sweep spec (TOML)."),
    out: Path = typer.Option(..., "--out", help="Sweep directory (one sub-directory per config)."),
    executor: Executor = typer.Option(Executor.LOCAL, "--executor", help="local or ray."),
    address: str | None = typer.Option(
        None, "--address", help="Ray cluster to join (default: start a local one)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Skip configurations already done in --out."
    ),
    command: str | None = typer.Option(None, "--command", help="Server command template."),
    param: list[str] = typer.Option(
        [], "--param", help="A grid parameter: NAME=V1,V2,… (repeatable)."
    ),
    concurrency: str | None = typer.Option(None, "--concurrency", help="Client concurrencies."),
    isl: int | None = typer.Option(None, "--isl", min=1, help="Input tokens per request."),
    osl: int | None = typer.Option(None, "--osl", min=1, help="Output tokens per request."),
    num_prompts: int | None = typer.Option(None, "--num-prompts", min=1, help="Per point."),
    meter: list[str] = typer.Option([], "--meter", help="Meter spec template (repeatable)."),
    max_itl: str | None = typer.Option(None, "--max-itl", help="SLO: median ITL bound, e.g. 50ms."),
    save: bool = typer.Option(True, "--save/--no-save", help="Add every point to the store."),
    as_json: bool = typer.Option(False, "--json", help="Print the sweep's outcome as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Find the least-energy serving configuration: one server per configuration of a grid."""
    spec = _spec(
        spec_file, _overrides(command, param, concurrency, isl, osl, num_prompts, meter, max_itl)
    )
    terminated: list[bool] = []

    def on_term(signum: int, frame: FrameType | None) -> None:
        terminated.append(True)
        os.kill(os.getpid(), signal.SIGINT)  # stop like Ctrl-C: servers stopped, results kept

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        result = sweep(
            spec,
            out,
            executor=executor,
            resume=resume,
            store=Store() if save else None,
            address=address,
            hooks=_Progress(quiet or as_json),
        )
    except KeyboardInterrupt:
        err_console.print(f"interrupted: finished configurations kept in {out}", highlight=False)
        raise typer.Exit(143 if terminated else 130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        print_json(result.to_dict())
    else:
        _render(result)
    if result.outcomes and len(result.failed) == len(result.outcomes):
        raise typer.Exit(1)  # nothing was measured: a script must not take this for success


def _render(result: SweepResult) -> None:
    table = Table(
        title=f"{result.spec.name}: {len(result.outcomes)} configurations in {result.out_dir}"
    )
    for heading in ("configuration", "outcome", "points", "ready (s)", "stop (s)"):
        table.add_column(heading)
    for outcome in result.outcomes:
        status = "ok" if outcome.done else f"{outcome.status}: {outcome.cause}"
        table.add_row(
            outcome.label,
            status,
            str(len(outcome.points)),
            fmt(outcome.ready_s),
            fmt(outcome.stop_s),
        )
    console.print(table)
    slo = " and ".join(c.text for c in result.constraints)
    if not result.rows:
        console.print(
            "no completed point has valid energy (see energy_reasons in each run.json): no verdict",
            highlight=False,
        )
    for group in result.frontier:
        names = ", ".join(point_name(row) for row in group.frontier)
        console.print(f"frontier ({', '.join(map(str, group.key))}): {names}", highlight=False)
    for choice in result.best:
        if choice.chosen is None:
            console.print(f"no configuration meets {slo}", highlight=False)
            continue
        energy = metric(result.spec.slo.energy, "energy")
        chosen = choice.chosen
        line = (
            f"least energy under {slo}: {point_name(chosen)} "
            f"({fmt(chosen.get(energy.column))} {energy.unit} {energy.label}; "
            f"{chosen.boundary} boundary, {chosen.basis} basis)"
        )
        if choice.runner_up is not None:
            runner = choice.runner_up
            line += f"; runner-up {point_name(runner)} ({fmt(runner.get(energy.column))})"
        console.print(line, highlight=False)
