"""The per-device power timeline of a run, saved as CSV next to ``run.json`` for plots.

One row per reading. ``power_w`` is the sampled power when the source gives one, else the mean
power since the last counter reading at least ``MIN_COUNTER_SPAN_S`` earlier (``power_from`` says
which), so counter-only meters plot too, without the noise of mJ steps over microseconds.

``device_t_s`` is the device's own clock when it publishes one (tokenergy's simulator:
simulated seconds). Its power is then per simulated second, as its gauge and the bench's
mean power are: a counter-derived power divides by the device clock's seconds, not the wall's.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from tokenergy.errors import MeterError
from tokenergy.meters.base import Reading
from tokenergy.meters.meterset import MeterSet, qualified

COLUMNS = (
    "t_s",
    "meter",
    "device",
    "kind",
    "uuid",
    "energy_j",
    "power_w",
    "power_from",
    "device_t_s",
)
MIN_COUNTER_SPAN_S = 0.05


def _powers(readings: Sequence[Reading]) -> Iterator[tuple[Reading, float | None, str]]:
    """Each reading with its power and where that power came from ('sample', 'counter', '')."""
    base: Reading | None = None
    for reading in sorted(readings, key=lambda r: r.t_s):
        if reading.power_w is not None:
            yield reading, reading.power_w, "sample"
            continue
        if reading.energy_j is None:
            yield reading, None, ""
            continue
        if base is None or base.energy_j is None:
            base = reading
            yield reading, None, ""
            continue
        span_s = _seconds_between(base, reading)
        if span_s < MIN_COUNTER_SPAN_S:
            yield reading, None, ""
            continue
        yield reading, (reading.energy_j - base.energy_j) / span_s, "counter"
        base = reading


def _seconds_between(first: Reading, last: Reading) -> float:
    """Seconds from one reading to a later one: on the device's clock when both carry it."""
    if first.device_time_s is not None and last.device_time_s is not None:
        return last.device_time_s - first.device_time_s
    return last.t_s - first.t_s


def write_timeline(meters: MeterSet, path: Path, start_s: float, end_s: float) -> int:
    """Write every reading between start_s and end_s (with the meters' own grace); return rows."""
    rows = 0
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for session in meters.sessions:
            try:
                series = session.series(start_s, end_s)
            except MeterError:
                continue  # the window's reasons already say this meter failed
            for device, readings in series.items():
                for reading, power_w, source in _powers(readings):
                    writer.writerow(
                        (
                            f"{reading.t_s:.3f}",
                            session.meter.name,
                            qualified(session.meter, device),
                            device.kind,
                            device.uuid or "",
                            "" if reading.energy_j is None else f"{reading.energy_j:.3f}",
                            "" if power_w is None else f"{power_w:.3f}",
                            source,
                            "" if reading.device_time_s is None else f"{reading.device_time_s:.6f}",
                        )
                    )
                    rows += 1
    return rows
