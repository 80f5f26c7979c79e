"""Matplotlib figures of the analyses, drawn on bare Figures (no pyplot state, Agg canvas).

Each builder returns a Figure; ``save_figure`` writes PNG or SVG by suffix and ``svg_text`` gives
the SVG markup the HTML report inlines.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from tokenergy.analyze.frontier import GroupFrontier
from tokenergy.analyze.table import AnalysisRow, Metric, group_key
from tokenergy.errors import ConfigError

_MAX_PANELS = 24


def _label(metric: Metric) -> str:
    return f"{metric.label} ({metric.unit})"


def _key_text(key: tuple[Any, ...]) -> str:
    return " / ".join(str(part) for part in key if part is not None) or "all"


def _style(index: int) -> tuple[str, str]:
    """Ten colours, then the same colours dashed, so up to twenty lines stay distinguishable."""
    return f"C{index % 10}", "-" if index % 20 < 10 else "--"


def _new(width_in: float, height_in: float, constrained: bool = True) -> Figure:
    figure = Figure(figsize=(width_in, height_in), layout="constrained" if constrained else None)
    FigureCanvasAgg(figure)
    return figure


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _draw_frontier(
    axes: Axes,
    group: GroupFrontier,
    x: Metric,
    y: Metric,
    colour: str,
    label: str,
    size: float,
    dash: Any,
) -> None:
    """Every configuration of a group as faint points, its frontier as a line through them."""
    everyone = group.frontier + group.dominated
    axes.scatter(
        [r.get(x.column) for r in everyone],
        [r.get(y.column) for r in everyone],
        s=size,
        alpha=0.3,
        color=colour,
    )
    axes.plot(
        [r.get(x.column) for r in group.frontier],
        [r.get(y.column) for r in group.frontier],
        marker="o",
        markersize=size / 3,
        label=label,
        color=colour,
        linestyle=dash,
    )


def frontier_figure(
    groups: Sequence[GroupFrontier], x: Metric, y: Metric, group_by: tuple[str, ...]
) -> Figure:
    """All configurations (faint) and each group's frontier (line), one colour per group."""
    figure = _new(8, 5)
    axes = figure.add_subplot()
    for index, group in enumerate(groups[:20]):
        colour, dash = _style(index)
        _draw_frontier(axes, group, x, y, colour, _short(_key_text(group.key)), 12, dash)
    axes.set_xlabel(_label(x))
    axes.set_ylabel(_label(y))
    axes.set_yscale("log")
    axes.grid(alpha=0.3)
    title = f"time–energy frontier by {', '.join(group_by)}" if group_by else "frontier"
    axes.set_title(title + ("" if len(groups) <= 20 else f" (first 20 of {len(groups)})"))
    if groups:
        axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return figure


def frontier_panels(
    groups: Sequence[GroupFrontier], x: Metric, y: Metric, panel_by: int, title: str
) -> Figure:
    """Small multiples: one panel per value of the first ``panel_by`` group keys; lines inside."""
    panels: dict[tuple[Any, ...], list[GroupFrontier]] = {}
    for group in groups:
        panels.setdefault(group.key[:panel_by], []).append(group)
    keys = list(panels)[:_MAX_PANELS]
    columns = min(4, max(1, len(keys)))
    rows = max(1, -(-len(keys) // columns))
    # fixed margins: constrained layout over dozens of log axes costs seconds per figure
    figure = _new(3.4 * columns, 2.7 * rows + 0.8, constrained=False)
    figure.subplots_adjust(
        left=0.07,
        right=0.98,
        bottom=0.1 / rows,
        top=1 - 0.75 / (2.7 * rows + 0.8),
        hspace=0.55,
        wspace=0.3,
    )
    figure.suptitle(title)
    for index, key in enumerate(keys):
        axes = figure.add_subplot(rows, columns, index + 1)
        for line, group in enumerate(panels[key]):
            colour = f"C{line % 10}"
            _draw_frontier(axes, group, x, y, colour, _key_text(group.key[panel_by:]), 8, "-")
        axes.set_title(_short(_key_text(key), 34), fontsize=8)
        axes.tick_params(labelsize=7)
        axes.set_yscale("log")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=6)
        if index % columns == 0:
            axes.set_ylabel(_label(y), fontsize=7)
        axes.set_xlabel(_label(x), fontsize=7)
    return figure


def _lines_by_group(
    axes: Axes,
    rows: Sequence[AnalysisRow],
    x_column: str,
    y_column: str,
    group_by: tuple[str, ...],
    limit: int = 20,
) -> None:
    groups: dict[tuple[Any, ...], list[AnalysisRow]] = {}
    for row in rows:
        if row.get(x_column) is not None and row.get(y_column) is not None:
            groups.setdefault(group_key(row, group_by), []).append(row)
    for index, (key, members) in enumerate(list(groups.items())[:limit]):
        members.sort(key=lambda r: r.get(x_column))
        axes.plot(
            [r.get(x_column) for r in members],
            [r.get(y_column) for r in members],
            marker="o",
            markersize=3,
            label=_short(_key_text(key)),
            color=_style(index)[0],
            linestyle=_style(index)[1],
        )
    if groups:
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def batch_figure(rows: Sequence[AnalysisRow], group_by: tuple[str, ...], title: str) -> Figure:
    """Energy per output token against the batch cap: the main lever of serving efficiency."""
    figure = _new(8, 4.5)
    axes = figure.add_subplot()
    _lines_by_group(axes, rows, "batch_cap", "energy_per_token_j", group_by)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel("batch cap (max concurrent requests)")
    axes.set_ylabel("energy per output token (J)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return figure


def intvty_figure(rows: Sequence[AnalysisRow], group_by: tuple[str, ...], title: str) -> Figure:
    """Energy per output token against interactivity (tok/s per user), one line per group."""
    figure = _new(8, 4.5)
    axes = figure.add_subplot()
    _lines_by_group(axes, rows, "median_intvty_tok_s", "energy_per_token_j", group_by)
    axes.set_yscale("log")
    axes.set_xlabel("median interactivity (tok/s/user)")
    axes.set_ylabel("energy per output token (J)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    return figure


def timeline_figure(
    timelines: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]], title: str
) -> Figure:
    """Power over time per device (seconds from the start, watts)."""
    figure = _new(8, 3.5)
    axes = figure.add_subplot()
    for index, (label, (time_s, power_w)) in enumerate(timelines.items()):
        axes.plot(time_s, power_w, linewidth=0.9, color=f"C{index % 10}", label=label)
    axes.set_xlabel("time (s)")
    axes.set_ylabel("power (W)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    if timelines:
        axes.legend(fontsize=7)
    return figure


def save_figure(figure: Figure, path: Path) -> None:
    """PNG or SVG chosen by the file suffix."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg"):
        raise ConfigError(f"plot files must end in .png or .svg, got {path.name!r}", field="--plot")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=suffix, dpi=120)


def svg_text(figure: Figure) -> str:
    """SVG markup without the XML prolog, ready to inline into HTML."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]
