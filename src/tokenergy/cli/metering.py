"""``tokenergy bench --meter …``: the meter options' help and the energy table of a point."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from tokenergy.cli.render import fmt, one_line

METER_HELP = (
    "Energy meter (repeatable): nvml[:0,1|:UUID], dcgm:http://HOST:PORT/metrics, "
    "prometheus:http://HOST:PORT[?selector={...}], rapl, zeus, constant:700W."
)
IDLE_HELP = "Seconds of idle power measured before the load (0 = skip)."
EXPECT_GPUS_HELP = "GPUs serving; energy is invalid when the meters see another number."
MIN_WINDOW_HELP = "Shortest window whose energy counts as valid (NVML updates every ~100 ms)."


def energy_table(summary: dict[str, Any]) -> Table:
    """Energy of the window and of the whole run, labelled with boundary, basis and validity."""
    whole = summary["whole_run_figures"]
    table = Table(title=f"energy ({summary['boundary']}, {summary['basis']}): {summary['meter']}")
    table.add_column("metric")
    table.add_column("whole run", justify="right")
    table.add_column(summary["scope"], justify="right")
    simulated = summary.get("power_time_base") == "simulated"
    per = " (W, simulated time)" if simulated else " (W)"  # a simulator's own seconds
    rows = (
        ("energy (J)", "energy_j"),
        (f"mean power{per}", "power_w"),
        ("J/token (total)", "j_per_token"),
        ("J/output token", "energy_per_token_j"),
        ("tokens/J", "tokens_per_j"),
        ("Wh/query (successful)", "wh_per_query"),
        ("Wh/query (attempted)", "wh_per_attempted_query"),
        (f"idle power{per}", "idle_power_w"),
        ("J/token above idle", "j_per_token_above_idle"),
        ("Wh/query above idle", "wh_per_query_above_idle"),
        ("host CPU+DRAM (J)", "host_energy_j"),
    )
    for label, key in rows:
        table.add_row(label, fmt(whole.get(key)), fmt(summary.get(key)))
    for device, power_w in summary["power_w_per_device"].items():
        table.add_row(
            f"  {device}{per}", fmt(whole["power_w_per_device"].get(device)), fmt(power_w)
        )
    valid = {True: "valid", False: "INVALID", None: "—"}
    table.add_row("energy", valid[whole["energy_valid"]], valid[summary["energy_valid"]])
    # a reason may carry a multi-line message (a meter's parse error): one line each here
    reasons = [f"{summary['scope']}: {one_line(r)}" for r in summary["energy_reasons"]]
    reasons += [f"whole run: {one_line(r)}" for r in whole["energy_reasons"]]
    reasons += [f"idle: {one_line(r)}" for r in summary.get("idle_reasons") or []]
    notes = list(summary.get("meter_notes") or [])
    if simulated:
        notes.append(
            "W per simulated second (the simulator's clock, as its DCGM gauge); tok/s and "
            "latencies per wall second; J/token = energy / tokens in both"
        )
    table.caption = "\n".join(reasons + notes) or None
    return table
