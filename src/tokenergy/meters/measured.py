"""Measured runs: meters attached to ``tokenergy bench`` through the runner's observer hook.

The meters are opened and the idle power measured before any load (so a bad spec or an
unreachable endpoint fails first); during the load they poll on their own threads; when the
runner settles its window (the steady state when reached, else the whole run) the observer
returns that window's energy and keeps the whole run's too — the same windows as the latency
statistics. A meter failing mid-run only makes the energy invalid: latency results are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenergy.load.client import ClockAnchor, RequestRecord
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.load.metrics import Window, whole_run_window
from tokenergy.load.runlog import RUN_FILE, write_json
from tokenergy.load.summary import RunResult, write_run
from tokenergy.meters.meterset import Idle, MeterSet
from tokenergy.meters.record import energy_record, host_energy_j, idle_subtracted_j
from tokenergy.meters.timeline import write_timeline
from tokenergy.records import EnergyMeasurement, ServingResult
from tokenergy.units import J_PER_WH

TIMELINE_FILE = "power_timeline.csv"


def achieved_batch(records: Sequence[RequestRecord], window: Window) -> float:
    """Mean number of requests in flight over the window (send → end, clipped to it)."""
    if window.duration_s <= 0:
        return 0.0
    busy_ns = 0
    for record in records:
        if record.send_ns is None:
            continue
        end_ns = record.end_ns if record.end_ns is not None else window.end_ns
        busy_ns += max(0, min(end_ns, window.end_ns) - max(record.send_ns, window.start_ns))
    return busy_ns / 1e9 / window.duration_s


@dataclass
class MeterObserver(RunObserver):
    """Feeds one load point's windows to the meters and keeps what they measured."""

    meters: MeterSet
    idle: Idle | None = None
    expected_gpus: int | None = None
    concurrency: int | None = None
    anchor: ClockAnchor | None = None
    records: list[RequestRecord] = field(default_factory=list)
    window_energy: EnergyMeasurement | None = None
    whole_energy: EnergyMeasurement | None = None
    failures: list[str] = field(default_factory=list)
    span_s: tuple[float, float] | None = None
    edges_s: dict[str, tuple[float, float]] = field(default_factory=dict)

    def on_start(self, anchor: ClockAnchor) -> None:
        self.anchor = anchor
        self.records = []
        self.meters.mark()  # a reading right at the start of the load

    def on_request_done(self, record: RequestRecord) -> None:
        if not record.warmup:
            self.records.append(record)

    def on_stop(self, stop_ns: int) -> None:
        self.meters.mark()  # and one right after it, so the last edge is bracketed

    def on_window(self, window: Window) -> EnergyMeasurement | None:
        assert self.anchor is not None
        end_s = self.meters.mark()
        self.span_s = (self.anchor.wall_s(0), end_s)
        whole = whole_run_window(self.records)
        try:
            if whole is not None:
                self.whole_energy = self._measure(whole, batch_ratio=None, name="whole_run")
            ratio = None
            if window.steady and self.concurrency:
                ratio = achieved_batch(self.records, window) / self.concurrency
            self.window_energy = self._measure(window, batch_ratio=ratio, name="window")
        except Exception as error:  # a meter bug must not cost the latency results
            self.failures.append(f"metering failed: {type(error).__name__}: {error}")
            return None
        return self.window_energy

    def _measure(
        self, window: Window, batch_ratio: float | None, name: str
    ) -> EnergyMeasurement | None:
        assert self.anchor is not None
        start_s, end_s = self.anchor.wall_s(window.start_ns), self.anchor.wall_s(window.end_ns)
        self.edges_s[name] = (start_s, end_s)
        measured = self.meters.window(
            start_s, end_s, expected_gpus=self.expected_gpus, batch_ratio=batch_ratio
        )
        record = energy_record(measured, self.idle)
        if record is None:
            self.failures.extend(measured.reasons or ["no device yielded energy"])
        return record


def _ratio(value: float | None, per: float | None) -> float | None:
    return None if value is None or not per else value / per


def _scope(result: ServingResult) -> str:
    window = result.extras.get("window") or {}
    if result.extras.get("scope") == "whole run" or not window.get("steady"):
        return "whole run"
    return "steady state"


def figures(result: ServingResult, failures: Sequence[str] = ()) -> dict[str, Any]:
    """The run summary of one window: counts, energy, J/token, Wh/query, validity, labels."""
    energy = result.energy
    counts = result.counts
    duration_s = result.duration_s
    energy_j = result.window_energy_j
    total_tokens = (
        None
        if result.throughput.total_tok_s is None or not duration_s
        else result.throughput.total_tok_s * duration_s
    )
    above_idle_j = (
        None if energy is None or not duration_s else idle_subtracted_j(energy, duration_s)
    )
    output_tokens = (
        None
        if result.throughput.output_tok_s is None or not duration_s
        else result.throughput.output_tok_s * duration_s
    )
    reasons = list(energy.reasons) if energy is not None else list(failures)
    return {
        "scope": _scope(result),
        "duration_s": duration_s,
        "attempted": counts.attempted,
        "completed": counts.completed,
        "failed": counts.failed,
        "total_tokens": total_tokens,
        "output_tokens": output_tokens,
        "energy_j": energy_j,
        "avg_power_w": result.power_w,
        "power_w_per_device": (
            {d.device: d.avg_power_w for d in energy.devices} if energy is not None else {}
        ),
        "j_per_token": result.j_per_token,
        "j_per_output_token": result.j_per_output_token,
        "tokens_per_j": None if not result.j_per_token else 1.0 / result.j_per_token,
        "wh_per_query": result.wh_per_query_measured,
        "wh_per_attempted_query": result.wh_per_attempted_query,
        "idle_power_w": energy.idle_power_w if energy is not None else None,
        "energy_above_idle_j": above_idle_j,
        "j_per_token_above_idle": _ratio(above_idle_j, total_tokens),
        "j_per_output_token_above_idle": _ratio(above_idle_j, output_tokens),
        "wh_per_query_above_idle": _ratio(
            None if above_idle_j is None else above_idle_j / J_PER_WH, counts.completed
        ),
        "host_energy_j": host_energy_j(energy) if energy is not None else None,
        "energy_valid": energy.valid if energy is not None else (False if failures else None),
        "energy_reasons": reasons,
        "boundary": energy.boundary.value if energy is not None else None,
        "basis": energy.basis.value if energy is not None else None,
        "method": energy.method if energy is not None else None,
        "meter": energy.meter if energy is not None else None,
    }


def finish_point(
    config: BenchConfig, outcome: RunResult, observer: MeterObserver | None
) -> dict[str, Any]:
    """Attach the whole run's energy, save the power timeline, and add the summary to run.json.

    Returns the summary: the window's figures at the top level and the whole run's under
    ``whole_run_figures`` (both None-valued for energy when no meter ran).
    """
    failures: list[str] = []
    if observer is not None:
        failures = observer.failures
        outcome.whole_run.energy = observer.whole_energy
        if observer.anchor is not None:
            write_run(config, outcome, observer.anchor)  # run.json again, now with both energies
        if observer.span_s is not None:
            start_s, end_s = observer.span_s
            write_timeline(observer.meters, config.out_dir / TIMELINE_FILE, start_s, end_s)
    summary = figures(outcome.result, failures)
    summary["whole_run_figures"] = figures(outcome.whole_run, failures)
    if observer is not None:  # Unix times, to line windows up with the power timeline
        summary["window_unix_s"] = observer.edges_s.get("window")
        summary["whole_run_figures"]["window_unix_s"] = observer.edges_s.get("whole_run")
    if observer is not None:
        summary["meter_notes"] = observer.meters.notes
        summary["idle_reasons"] = list(observer.idle.reasons) if observer.idle else []
        summary["power_timeline"] = TIMELINE_FILE if observer.span_s else None
    run_path = Path(config.out_dir) / RUN_FILE
    payload = json.loads(run_path.read_text())
    payload["summary"] = summary
    write_json(run_path, payload)
    return summary
