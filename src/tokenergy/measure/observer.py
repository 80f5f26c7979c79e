"""One load point's recorder: meters attached through the runner's observer hook, and the
summary (counts, energy, J/token, Wh/query, validity) that goes into run.json.

The meters are opened and the idle power measured before any load (see ``bench.py``); during
the load they poll on their own threads; when the runner settles its window (the steady state
when reached, else the whole run) this observer returns that window's energy, then the whole
run's — the same windows as the latency statistics. A meter failing mid-run only makes the
energy invalid: latency results are kept. run.json is written once, by the runner, with the
``summary`` section this observer supplies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenergy.load.client import ClockAnchor, RequestRecord
from tokenergy.load.driver import RunObserver
from tokenergy.load.metrics import Window
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
class PointObserver(RunObserver):
    """Feeds one load point's windows to the meters (if any) and writes its run.json summary."""

    out_dir: Path
    meters: MeterSet | None = None
    idle: Idle | None = None
    expected_gpus: int | None = None
    concurrency: int | None = None
    anchor: ClockAnchor | None = None
    records: list[RequestRecord] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    span_s: tuple[float, float] | None = None
    edges_s: dict[str, tuple[float, float]] = field(default_factory=dict)

    def on_start(self, anchor: ClockAnchor) -> None:
        self.anchor = anchor
        self.records = []
        if self.meters is not None:
            self.meters.mark()  # a reading right at the start of the load

    def on_request_done(self, record: RequestRecord) -> None:
        if not record.warmup:
            self.records.append(record)

    def on_stop(self, stop_ns: int) -> None:
        if self.meters is not None:
            self.meters.mark()  # and one right after it, so the last edge is bracketed

    def on_window(self, window: Window) -> EnergyMeasurement | None:
        if self.meters is None or self.anchor is None:
            return None
        self.span_s = (self.anchor.wall_s(0), self.meters.mark())
        ratio = None
        if window.steady and self.concurrency:
            ratio = achieved_batch(self.records, window) / self.concurrency
        return self._measure(window, batch_ratio=ratio, name="window")

    def on_whole_run(self, window: Window) -> EnergyMeasurement | None:
        if self.meters is None or self.anchor is None:
            return None
        return self._measure(window, batch_ratio=None, name="whole_run")

    def _measure(
        self, window: Window, batch_ratio: float | None, name: str
    ) -> EnergyMeasurement | None:
        assert self.meters is not None and self.anchor is not None
        start_s, end_s = self.anchor.wall_s(window.start_ns), self.anchor.wall_s(window.end_ns)
        self.edges_s[name] = (start_s, end_s)
        try:
            measured = self.meters.window(
                start_s, end_s, expected_gpus=self.expected_gpus, batch_ratio=batch_ratio
            )
            record = energy_record(measured, self.idle)
        except Exception as error:  # a meter bug must not cost the latency results
            self.failures.append(f"metering failed: {type(error).__name__}: {error}")
            return None
        if record is None:
            self.failures.extend(measured.reasons or ["no device yielded energy"])
        return record

    def run_sections(self, result: ServingResult, whole_run: ServingResult) -> dict[str, Any]:
        """run.json's ``summary``: the window's figures, the whole run's under
        ``whole_run_figures``; also saves the power timeline next to it."""
        summary = figures(result, self.failures)
        summary["whole_run_figures"] = figures(whole_run, self.failures)
        if self.meters is not None:
            if self.span_s is not None:
                start_s, end_s = self.span_s
                write_timeline(self.meters, self.out_dir / TIMELINE_FILE, start_s, end_s)
            # Unix times, to line windows up with the power timeline
            summary["window_unix_s"] = self.edges_s.get("window")
            summary["whole_run_figures"]["window_unix_s"] = self.edges_s.get("whole_run")
            summary["meter_notes"] = self.meters.notes
            summary["idle_reasons"] = list(self.idle.reasons) if self.idle else []
            summary["power_timeline"] = TIMELINE_FILE if self.span_s else None
        return {"summary": summary}


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
        "power_w": result.power_w,
        # whose seconds the powers are per: a simulator's own ('simulated': a real GPU's watts
        # at any --speed), else 'wall'; tok/s and latencies are always per wall second
        "power_time_base": energy.time_base.value if energy is not None else None,
        "power_duration_s": energy.duration_s if energy is not None else None,
        "power_w_per_device": (
            {d.device: d.avg_power_w for d in energy.devices} if energy is not None else {}
        ),
        "j_per_token": result.j_per_token,
        "energy_per_token_j": result.j_per_output_token,
        "tokens_per_j": None if not result.j_per_token else 1.0 / result.j_per_token,
        "wh_per_query": result.wh_per_query_measured,
        "wh_per_attempted_query": result.wh_per_attempted_query,
        "idle_power_w": energy.idle_power_w if energy is not None else None,
        "energy_above_idle_j": above_idle_j,
        "j_per_token_above_idle": _ratio(above_idle_j, total_tokens),
        "energy_per_token_j_above_idle": _ratio(above_idle_j, output_tokens),
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
