"""Power timelines of measured runs: CSV or Parquet files next to run.json, if the meter wrote any.

Expected columns (those of ``tokenergy.meters.timeline``): a time in seconds (``t_s``, ``time_s``
or ``timestamp_s``; shifted to start at 0), ``power_w`` (empty cells skipped), and optionally
``device`` (one line per device). Files are found by name:
``power*.csv|parquet`` or ``timeline*.csv|parquet``. A run without such files has no timeline.

A simulated run's timeline (a ``device_t_s`` column filled on every power row: the simulator's
clock) is drawn against simulated seconds, its watts labelled per simulated second: the time
base of the simulator's counter and gauge and of the bench's mean power, at any ``--speed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tokenergy.errors import IngestError
from tokenergy.report.charts import timeline_chart
from tokenergy.report.figures import FigureWriter
from tokenergy.report.model import Section
from tokenergy.units import TimeBase

_TIME_COLUMNS = ("time_s", "t_s", "timestamp_s")
_PATTERNS = ("power*.csv", "power*.parquet", "timeline*.csv", "timeline*.parquet")

Timeline = dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]


def timeline_files(run_dir: Path) -> list[Path]:
    return sorted({path for pattern in _PATTERNS for path in run_dir.glob(pattern)})


def read_timeline(path: Path) -> Timeline:
    """Per device: (seconds from the first sample, watts)."""
    return read_power_timeline(path)[0]


_DEVICE_CLOCK = "device_t_s"  # tokenergy.meters.timeline: a simulator's own clock


def read_power_timeline(path: Path) -> tuple[Timeline, TimeBase]:
    """Per device: (seconds from the first sample, watts), and whose seconds those are."""
    import pyarrow as pa  # only reports with timelines read them
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise IngestError(f"cannot read power timeline: {error}", file=str(path)) from None
    names = table.column_names
    time_column = next((c for c in _TIME_COLUMNS if c in names), None)
    if time_column is None or "power_w" not in names:
        raise IngestError(
            f"needs a time column ({', '.join(_TIME_COLUMNS)}) and power_w; has {', '.join(names)}",
            file=str(path),
        )
    time_s = np.asarray(table.column(time_column).to_numpy(), dtype=np.float64)
    power_w = np.asarray(table.column("power_w").to_numpy(), dtype=np.float64)
    time_base = TimeBase.WALL
    if _DEVICE_CLOCK in names:
        device_s = np.asarray(table.column(_DEVICE_CLOCK).to_numpy(), dtype=np.float64)
        powered = np.isfinite(power_w)
        if powered.any() and np.isfinite(device_s[powered]).all():
            time_s, time_base = device_s, TimeBase.SIMULATED
    devices = (
        [str(d) for d in table.column("device").to_pylist()]
        if "device" in names
        else ["all"] * len(time_s)
    )
    known = np.isfinite(power_w)  # the meters leave power empty before a second counter reading
    timed = np.isfinite(time_s)
    start = float(time_s[timed].min()) if timed.any() else 0.0
    out: Timeline = {}
    labels = np.asarray(devices)
    for device in dict.fromkeys(devices):
        mask = (labels == device) & known
        order = np.argsort(time_s[mask])
        out[device] = (time_s[mask][order] - start, power_w[mask][order])
    return out, time_base


MAX_TIMELINES = 12
MAX_POINTS = 2000


def _thin(timeline: Timeline) -> tuple[Timeline, bool]:
    """At most MAX_POINTS per device for drawing: each bucket keeps its min and max (peaks stay)."""
    out: Timeline = {}
    thinned = False
    for device, (time_s, power_w) in timeline.items():
        if len(time_s) <= MAX_POINTS:
            out[device] = (time_s, power_w)
            continue
        thinned = True
        buckets = np.array_split(np.arange(len(time_s)), MAX_POINTS // 2)
        keep = np.unique(
            np.concatenate(
                [[b[np.argmin(power_w[b])], b[np.argmax(power_w[b])]] for b in buckets if len(b)]
            )
        )
        out[device] = (time_s[keep], power_w[keep])
    return out, thinned


def timeline_section(run_dirs: Sequence[Path], figures: FigureWriter) -> Section:
    """One chart per power timeline file found next to the runs (the first MAX_TIMELINES)."""
    section = Section("timelines", "Power timelines of measured runs")
    found = [(run, path) for run in run_dirs for path in timeline_files(run)]
    if not found:
        section.paragraphs.append(
            "No power timeline files (power*.csv|parquet or timeline*.csv|parquet with time_s and "
            "power_w columns) were found next to the runs in these sources."
        )
        return section
    if len(found) > MAX_TIMELINES:
        section.paragraphs.append(
            f"{len(found)} timeline files; the first {MAX_TIMELINES} are drawn: "
            + ", ".join(str(path) for _, path in found[MAX_TIMELINES:])
            + " are not."
        )
    for index, (run, path) in enumerate(found[:MAX_TIMELINES]):
        read, time_base = read_power_timeline(path)
        timeline, thinned = _thin(read)
        notes = []
        if time_base is TimeBase.SIMULATED:
            notes.append(
                "Simulated run: time and watts per simulated second (the simulator's clock, as "
                "its DCGM gauge and the bench's mean power), at any --speed."
            )
        if thinned:
            notes.append(
                f"Drawn with at most {MAX_POINTS} points per device (each bucket's min and max)."
            )
        chart = timeline_chart(
            f"timeline-{index}",
            f"{run.name}: {path.name}",
            timeline,
            " ".join(notes) or None,
            simulated=time_base is TimeBase.SIMULATED,
        )
        section.figures.append(figures.block(chart))
    return section
