"""The per-device power timeline of a run, saved as CSV next to ``run.json`` for plots.

One row per reading. ``power_w`` is the sampled power when the source gives one, else the mean
power since the previous counter reading (``power_from`` says which), so counter-only meters plot
too.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tokenergy.errors import MeterError
from tokenergy.meters.base import Reading
from tokenergy.meters.meterset import MeterSet, qualified

COLUMNS = ("t_s", "meter", "device", "kind", "uuid", "energy_j", "power_w", "power_from")


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
                previous = None
                for reading in sorted(readings, key=lambda r: r.t_s):
                    power_w, source = reading.power_w, "sample"
                    if power_w is None and previous is not None:
                        power_w, source = _counter_power_w(previous, reading), "counter"
                    writer.writerow(
                        (
                            f"{reading.t_s:.3f}",
                            session.meter.name,
                            qualified(session.meter, device),
                            device.kind,
                            device.uuid or "",
                            "" if reading.energy_j is None else f"{reading.energy_j:.3f}",
                            "" if power_w is None else f"{power_w:.3f}",
                            source if power_w is not None else "",
                        )
                    )
                    rows += 1
                    previous = reading
    return rows


def _counter_power_w(previous: Reading, reading: Reading) -> float | None:
    if previous.energy_j is None or reading.energy_j is None or reading.t_s <= previous.t_s:
        return None
    return (reading.energy_j - previous.energy_j) / (reading.t_s - previous.t_s)
