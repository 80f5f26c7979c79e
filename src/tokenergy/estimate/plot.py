"""Plot the Wh/query distributions of an estimate (PNG or SVG by the file's suffix).

Drawn from the streaming histograms, so a 10⁸-draw run plots all its draws: the fine log bins are
merged into ``MERGED_BINS_PER_DECADE`` per decade and shown as a density per decade.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tokenergy.errors import ConfigError
from tokenergy.estimate.histogram import BINS_PER_DECADE, LogHistogram
from tokenergy.estimate.montecarlo import EstimateResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
    from matplotlib.typing import ColorType

MERGED_BINS_PER_DECADE = 40
_SUFFIXES = (".png", ".svg")


def check_plot_path(path: Path) -> None:
    """Refuse a file type we cannot write before spending time on the run."""
    if path.suffix.lower() not in _SUFFIXES:
        raise ConfigError(f"plot file must end in {' or '.join(_SUFFIXES)}", field="plot")


def plot_estimate(result: EstimateResult, path: Path) -> None:
    """Write one density curve per model (dashed: with levers; thick: pooled).

    matplotlib is imported here, not at module level: it costs every CLI start ~0.2 s otherwise.
    """
    check_plot_path(path)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axes = figure.add_subplot()
    for estimate in result.models:
        (line,) = _curve(axes, estimate.baseline.histogram, estimate.model)
        if estimate.improved is not None:
            _curve(
                axes,
                estimate.improved.histogram,
                f"{estimate.model} (levers)",
                line.get_color(),
                style="--",
            )
    if result.pooled is not None:
        _curve(axes, result.pooled.histogram, "pooled", "black", width=2.5)
    axes.set_xscale("log")
    axes.set_xlabel(f"Wh per query ({result.boundary.value} boundary, {result.basis.value})")
    axes.set_ylabel("share of queries per decade")
    axes.set_title(f"tokenergy estimate — {result.params.regime.value} regime")
    figure.legend(loc="outside right upper", fontsize="small")
    try:
        figure.savefig(path)
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror}", field="plot") from None


def _curve(
    axes: Axes,
    histogram: LogHistogram,
    label: str,
    color: ColorType | None = None,
    width: float = 1.5,
    style: str = "-",
) -> list[Line2D]:
    merge = BINS_PER_DECADE // MERGED_BINS_PER_DECADE
    counts = histogram.counts[1:-1].reshape(-1, merge).sum(axis=1)
    edges = histogram.edges()[::merge]
    density = counts / max(histogram.n, 1) * MERGED_BINS_PER_DECADE
    used = np.flatnonzero(counts)
    if used.size:
        lo, hi = used[0], used[-1] + 1
        counts_view, edges_view = density[lo:hi], edges[lo : hi + 1]
    else:
        counts_view, edges_view = density[:1], edges[:2]
    centres = np.sqrt(edges_view[:-1] * edges_view[1:])
    lines: list[Line2D] = axes.plot(
        centres, counts_view, style, label=label, color=color, linewidth=width
    )
    return lines
