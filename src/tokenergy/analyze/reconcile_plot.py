"""Plot a reconciliation: Wh/query per figure and each ratio's factors (log scale, PNG or SVG).

Left: one bar per figure, the reference marked. Right: the log10 of each factor stacked per figure
(a waterfall on a log axis: the segments add up to the log of the ratio, marked by a dot).
"""

from __future__ import annotations

import math
from pathlib import Path

from tokenergy.analyze.reconcile import FACTOR_NAMES, ReconcileRow, Reconciliation
from tokenergy.errors import ConfigError

_SUFFIXES = (".png", ".svg")
LOG_SPREAD = 20.0  # Wh/query bars go on a log axis when the largest is this many times the least
_METHOD_COLOURS = {"measured": "#1b7837", "converted": "#2166ac", "estimated": "#b2182b"}


def check_plot_path(path: Path) -> None:
    """Refuse a file type we cannot write before any work is done."""
    if path.suffix.lower() not in _SUFFIXES:
        raise ConfigError(f"plot file must end in {' or '.join(_SUFFIXES)}", field="plot")


def plot_reconciliation(result: Reconciliation, path: Path) -> None:
    """Write the two panels; matplotlib is imported here to keep CLI start-up fast."""
    check_plot_path(path)
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    rows = result.rows
    labels = [f"{r.figure.method.value}: {r.figure.config}"[:60] for r in rows]
    height = 1.2 + 0.35 * len(rows)
    figure = Figure(figsize=(13, height), layout="constrained")
    left, right = figure.subplots(1, 2, sharey=True, width_ratios=[1, 1.4])
    positions = list(range(len(rows)))[::-1]
    left.barh(
        positions,
        [r.wh_per_query for r in rows],
        color=[_METHOD_COLOURS[r.figure.method.value] for r in rows],
    )
    values = [r.wh_per_query for r in rows]
    if max(values) / min(values) > LOG_SPREAD:
        left.set_xscale("log")
        left.xaxis.set_minor_formatter(NullFormatter())
    left.set_yticks(positions, labels, fontsize=8)
    left.set_xlabel(f"Wh per query ({result.boundary} boundary)")
    reference_wh = result.reference.wh_per_query
    left.axvline(reference_wh, color="black", linewidth=0.8, linestyle="--")
    colours = colormaps["tab10"]
    for index, name in enumerate(FACTOR_NAMES):
        values = [math.log10(_ratio(row, name)) for row in rows]
        if not any(values):
            continue
        starts = [_start(row, name, value >= 0) for row, value in zip(rows, values, strict=True)]
        right.barh(positions, values, left=starts, color=colours(index), label=name)
    right.scatter(
        [math.log10(r.ratio) for r in rows], positions, color="black", zorder=3, s=12, label="ratio"
    )
    right.axvline(0.0, color="black", linewidth=0.8)
    right.set_xlabel("log10(factor): stacked, they add up to log10(ratio to the reference)")
    right.legend(fontsize=7, loc="best")
    figure.suptitle(
        f"{result.model}: {result.workload.input_len:.0f}/{result.workload.output_len:.0f} tokens, "
        f"reference {result.reference.figure.method.value} ({result.reference.figure.config})",
        fontsize=10,
    )
    figure.savefig(path)


def _ratio(row: ReconcileRow, name: str) -> float:
    return next((f.ratio for f in row.factors if f.name == name), 1.0)


def _start(row: ReconcileRow, name: str, positive: bool) -> float:
    """Where a factor's segment starts: after the same-signed segments of earlier factors."""
    earlier = [math.log10(_ratio(row, n)) for n in FACTOR_NAMES[: FACTOR_NAMES.index(name)]]
    return sum(value for value in earlier if (value >= 0) == positive)
