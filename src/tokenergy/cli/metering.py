"""``tokenergy bench --meter …``: open the meters before the load, measure idle, render energy.

The bench command stays the load generator's; this module is the one place it calls into the
meters, so the options, the idle phase and the energy table live here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from tokenergy.cli.render import err_console, fmt
from tokenergy.errors import ConfigError
from tokenergy.load.config import BenchConfig
from tokenergy.load.runlog import RUN_FILE
from tokenergy.load.summary import RunResult
from tokenergy.meters.measured import MeterObserver, finish_point
from tokenergy.meters.meterset import Idle, MeterSet
from tokenergy.meters.window import WindowRules

METER_HELP = (
    "Energy meter (repeatable): nvml[:0,1|:UUID], dcgm:http://HOST:PORT/metrics, "
    "prometheus:http://HOST:PORT[?selector={...}], rapl, zeus, constant:700W."
)
IDLE_HELP = "Seconds of idle power measured before the load (0 = skip)."
EXPECT_GPUS_HELP = "GPUs serving; energy is invalid when the meters see another number."
MIN_WINDOW_HELP = "Shortest window whose energy counts as valid (NVML updates every ~100 ms)."


@dataclass
class Metering:
    """Meters opened for a whole bench invocation (all points of a sweep share them)."""

    meters: MeterSet
    idle: Idle | None
    expected_gpus: int | None

    def observer(self, concurrency: int | None) -> MeterObserver:
        return MeterObserver(
            self.meters, self.idle, expected_gpus=self.expected_gpus, concurrency=concurrency
        )

    def close(self) -> None:
        self.meters.stop()
        self.meters.close()


def open_metering(
    specs: list[str], idle_seconds: float, expected_gpus: int | None, min_window_s: float
) -> Metering | None:
    """Open and start every meter, then measure idle power; None when no meter is given."""
    if not specs:
        return None
    if idle_seconds < 0:
        raise ConfigError("must be >= 0", field="--idle-seconds")
    if expected_gpus is not None and expected_gpus < 1:
        raise ConfigError("must be >= 1", field="--expect-gpus")
    meters = MeterSet.from_specs(specs, WindowRules(min_duration_s=min_window_s))
    meters.open()
    meters.start()
    idle = None
    if idle_seconds > 0:
        with err_console.status(f"measuring idle power for {idle_seconds:g} s"):
            idle = meters.measure_idle(idle_seconds)
    return Metering(meters, idle, expected_gpus)


def finish(
    config: BenchConfig, outcome: RunResult, observer: MeterObserver | None
) -> dict[str, Any]:
    """Summary of one point (also written into run.json), merged into its JSON for ``--json``."""
    summary = finish_point(config, outcome, observer)
    payload = json.loads((Path(config.out_dir) / RUN_FILE).read_text())
    payload.pop("summary", None)
    return {**payload, **summary}


def energy_table(summary: dict[str, Any]) -> Table:
    """Energy of the window and of the whole run, labelled with boundary, basis and validity."""
    whole = summary["whole_run_figures"]
    table = Table(title=f"energy ({summary['boundary']}, {summary['basis']}): {summary['meter']}")
    table.add_column("metric")
    table.add_column("whole run", justify="right")
    table.add_column(summary["scope"], justify="right")
    rows = (
        ("energy (J)", "energy_j"),
        ("mean power (W)", "avg_power_w"),
        ("J/token (total)", "j_per_token"),
        ("J/output token", "j_per_output_token"),
        ("tokens/J", "tokens_per_j"),
        ("Wh/query (successful)", "wh_per_query"),
        ("Wh/query (attempted)", "wh_per_attempted_query"),
        ("idle power (W)", "idle_power_w"),
        ("J/token above idle", "j_per_token_above_idle"),
        ("Wh/query above idle", "wh_per_query_above_idle"),
        ("host CPU+DRAM (J)", "host_energy_j"),
    )
    for label, key in rows:
        table.add_row(label, fmt(whole.get(key)), fmt(summary.get(key)))
    for device, power_w in summary["power_w_per_device"].items():
        table.add_row(f"  {device} (W)", fmt(whole["power_w_per_device"].get(device)), fmt(power_w))
    valid = {True: "valid", False: "INVALID", None: "—"}
    table.add_row("energy", valid[whole["energy_valid"]], valid[summary["energy_valid"]])
    reasons = [f"{summary['scope']}: {r}" for r in summary["energy_reasons"]]
    reasons += [f"whole run: {r}" for r in whole["energy_reasons"]]
    reasons += [f"idle: {r}" for r in summary.get("idle_reasons") or []]
    notes = summary.get("meter_notes") or []
    table.caption = "\n".join(reasons + notes) or None
    return table
