"""Chart specs drawn with matplotlib, for PNG files (``report --png``, ``frontier --plot``).

Bare Figures on the Agg canvas (no pyplot state). Ticks use plain labels (``numbers.tick``: no
math text, no minor-tick labels), titles wrap instead of being cut, and the legend lists every
series. The HTML report draws the same specs as light SVG (``svg.py``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from matplotlib.typing import LineStyleType

from tokenergy.analyze.frontier import GroupFrontier
from tokenergy.analyze.table import Metric
from tokenergy.errors import ConfigError
from tokenergy.report.charts import Chart, groups_chart
from tokenergy.report.numbers import tick
from tokenergy.report.svg import chart_document

_PANEL_IN = (3.4, 2.6)
_WIDE_IN = (8.0, 4.2)


def _dashes(dash: str) -> LineStyleType:
    return (0, tuple(float(part) for part in dash.split())) if dash else "-"


def chart_figure(chart: Chart, columns: int = 4) -> Figure:
    """Every panel and series of the chart, with one legend for the whole figure."""
    wide = len(chart.panels) <= 1
    columns = 1 if wide else min(columns, len(chart.panels))
    rows = max(1, -(-len(chart.panels) // columns))
    panel_w, panel_h = _WIDE_IN if wide else _PANEL_IN
    legend_rows = -(-len(chart.legend) // 4) if chart.legend else 0
    title_lines = max((len(textwrap.wrap(p.title, 40)) for p in chart.panels), default=1)
    head_in = 0.45 + 0.2 * legend_rows + 0.14 * title_lines  # suptitle, legend, panel titles
    width_in, height_in = panel_w * columns, panel_h * rows + head_in
    figure = Figure(figsize=(width_in, height_in))
    FigureCanvasAgg(figure)
    figure.subplots_adjust(
        left=0.7 / width_in,
        right=1 - 0.15 / width_in,
        bottom=0.45 / height_in,
        top=1 - head_in / height_in,
        hspace=0.3 + 0.2 * title_lines,
        wspace=0.35,
    )
    figure.suptitle(textwrap.fill(chart.title, 110), fontsize=11, y=0.995, va="top")
    plain = FuncFormatter(lambda value, _: tick(value))
    for index, panel in enumerate(chart.panels):
        axes = figure.add_subplot(rows, columns, index + 1)
        for series in panel.series:
            xs = [p.x for p in series.points]
            ys = [p.y for p in series.points]
            if series.markers:
                axes.scatter(xs, ys, s=10, color=series.colour, alpha=0.3 if series.faint else 1)
            if series.line:
                axes.plot(xs, ys, color=series.colour, linestyle=_dashes(series.dash), lw=1.3)
        for scale, log, axis in (
            (axes.set_xscale, chart.x.log, axes.xaxis),
            (axes.set_yscale, chart.y.log, axes.yaxis),
        ):
            if log:  # 1-2-5 majors so narrow ranges keep labels; no minor-tick labels
                scale("log")
                axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0), numticks=7))
                axis.set_minor_locator(NullLocator())
            axis.set_major_formatter(plain)
        axes.set_title(textwrap.fill(panel.title, 40), fontsize=8, y=1.0)
        axes.tick_params(labelsize=7)
        axes.grid(alpha=0.3)
        axes.set_xlabel(chart.x.label, fontsize=7)
        axes.set_ylabel(chart.y.label, fontsize=7)
    if chart.legend:
        handles = [
            Line2D([], [], color=e.colour, linestyle=_dashes(e.dash), label=e.label)
            for e in chart.legend
        ]
        figure.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 1 - 0.35 / height_in),
            ncol=min(4, len(handles)),
            fontsize=7,
            frameon=False,
        )
    return figure


def frontier_figure(
    groups: Sequence[GroupFrontier], x: Metric, y: Metric, group_by: tuple[str, ...]
) -> Figure:
    """All configurations (faint) and each group's frontier (line), every group in the legend."""
    return chart_figure(groups_chart(groups, x, y, group_by))


def save_figure(figure: Figure, path: Path) -> None:
    """PNG or SVG chosen by the file suffix."""
    suffix = _suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=suffix, dpi=120)


def save_chart(chart: Chart, path: Path) -> None:
    """A chart to a file: SVG drawn directly (fast), PNG through matplotlib."""
    if _suffix(path) == "svg":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(chart_document(chart), encoding="utf-8")
    else:
        save_figure(chart_figure(chart), path)


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in ("png", "svg"):
        raise ConfigError(f"plot files must end in .png or .svg, got {path.name!r}", field="plot")
    return suffix
