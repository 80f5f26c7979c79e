"""What a figure shows, independent of how it is drawn: panels of series of points.

The report draws these specs as light inline SVG (``svg.py``: fast, hover values, no network);
PNG files and ``frontier --plot`` draw the same specs with matplotlib (``plots.py``). Every
series is kept: a figure with many groups is faceted into panels, never truncated.

Colours follow the GPU everywhere (``Palette``), so H100 is the same colour in every panel and
every figure of a report; line dashes follow a second attribute (GPU count, precision).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokenergy.analyze.frontier import GroupFrontier
from tokenergy.analyze.table import AnalysisRow, Metric
from tokenergy.report.numbers import ms, sig

# Okabe–Ito and Tableau colours: distinguishable, and fixed for the GPUs people compare most.
_FIXED = {
    "H100": "#1f77b4",
    "B200": "#d62728",
    "H200": "#2ca02c",
    "GB200": "#9467bd",
    "A100": "#8c564b",
    "MI300X": "#ff7f0e",
    "MI325X": "#e377c2",
    "MI355X": "#bcbd22",
    "L40S": "#17becf",
}
SPARE_COLOURS = (
    "#7f7f7f",
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#000000",
)
DASHES = ("", "6 3", "2 2", "8 3 2 3", "4 4", "1 3")


class Palette:
    """One colour per GPU name for a whole report (known GPUs fixed, others in sorted order)."""

    def __init__(self, names: Iterable[str]) -> None:
        spare = list(SPARE_COLOURS)
        self._colours: dict[str, str] = {}
        for name in sorted(set(names)):
            if name in _FIXED:
                self._colours[name] = _FIXED[name]
        for name in sorted(set(names)):
            if name not in self._colours:
                self._colours[name] = spare.pop(0) if spare else "#444444"

    def colour(self, name: str | None) -> str:
        if name is None or name not in self._colours:
            return "#444444"
        return self._colours[name]


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    tip: str  # the hover text: what the point is and its values


@dataclass
class Series:
    label: str
    colour: str
    dash: str = ""
    points: list[Point] = field(default_factory=list)
    line: bool = True  # join the points (frontiers, sweeps); False: markers only
    faint: bool = False  # context points (dominated configurations)
    markers: bool = True  # False: a line only (dense timelines), no hover targets


@dataclass
class Panel:
    title: str
    series: list[Series] = field(default_factory=list)


@dataclass(frozen=True)
class Axis:
    label: str
    log: bool = False


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    dash: str = ""


@dataclass
class Chart:
    key: str
    title: str
    x: Axis
    y: Axis
    panels: list[Panel]
    legend: list[LegendEntry] = field(default_factory=list)
    caption: str | None = None

    @property
    def points(self) -> int:
        return sum(len(s.points) for p in self.panels for s in p.series)


def short_model(model: str) -> str:
    """The model name without its organisation prefix (shown whole: never cut)."""
    return model.split("/")[-1]


def _axis_value(row: AnalysisRow, metric: Metric) -> float | None:
    """Latencies are drawn in ms, like the tables; everything else in its own unit."""
    value = row.get(metric.column)
    if not isinstance(value, int | float):
        return None
    return float(value) * 1000 if metric.unit == "s" else float(value)


def axis_label(metric: Metric) -> str:
    unit = "ms" if metric.unit == "s" else metric.unit
    return f"{metric.label} ({unit})" if unit else metric.label


def tip(row: AnalysisRow, latency: Metric | None = None) -> str:
    """Hover text of one configuration: its name, then latency and energy with units."""
    parts = [f"{short_model(row.model)} · {row.config_label}"]
    value = row.get(latency.column) if latency is not None else None
    if latency is not None and isinstance(value, int | float):
        shown = f"{ms(value)} ms" if latency.unit == "s" else f"{sig(value)} {latency.unit}"
        parts.append(f"{latency.label} {shown}")
    if row.median_intvty_tok_s is not None and (latency is None or "intvty" not in latency.column):
        parts.append(f"{sig(row.median_intvty_tok_s)} tok/s/user")
    parts.append(f"{sig(row.energy_per_token_j)} J/output token")
    if row.wh_per_query is not None:
        parts.append(f"{sig(row.wh_per_query)} Wh/query")
    return " · ".join(parts)


def _points(
    rows: Iterable[AnalysisRow], x: Callable[[AnalysisRow], float | None], y: Metric, text: Any
) -> list[Point]:
    out = []
    for row in rows:
        x_value, y_value = x(row), _axis_value(row, y)
        if x_value is not None and y_value is not None:
            out.append(Point(x_value, y_value, text(row)))
    return out


def _gpu_legend(palette: Palette, gpus: Iterable[str | None]) -> list[LegendEntry]:
    return [LegendEntry(str(g), palette.colour(g)) for g in sorted({g or "unknown" for g in gpus})]


def frontier_chart(
    key: str,
    title: str,
    groups: Sequence[GroupFrontier],
    x: Metric,
    y: Metric,
    palette: Palette,
    caption: str | None = None,
) -> Chart:
    """One panel per model; per GPU its configurations (faint) and its frontier (line)."""
    panels: dict[str, Panel] = {}
    gpus = []
    for group in groups:
        if not group.frontier:
            continue
        first = group.frontier[0]
        panel = panels.setdefault(first.model, Panel(short_model(first.model)))
        colour = palette.colour(first.gpu)
        gpus.append(first.gpu)
        x_of = lambda row: _axis_value(row, x)  # noqa: E731
        panel.series.append(
            Series(
                f"{first.gpu}",
                colour,
                points=_points(group.dominated, x_of, y, lambda r: tip(r, x)),
                line=False,
                faint=True,
            )
        )
        frontier = sorted(group.frontier, key=lambda r: r.get(x.column))
        panel.series.append(
            Series(f"{first.gpu}", colour, points=_points(frontier, x_of, y, lambda r: tip(r, x)))
        )
    return Chart(
        key,
        title,
        Axis(axis_label(x)),
        Axis(axis_label(y), log=True),
        list(panels.values()),
        _gpu_legend(palette, gpus),
        caption,
    )


MAX_LINES_PER_PANEL = 8


def sweep_chart(
    key: str,
    title: str,
    rows: Sequence[AnalysisRow],
    x: Metric,
    y: Metric,
    dash_by: str,
    palette: Palette,
    *,
    x_log: bool = False,
    lines: bool = True,
    caption: str | None = None,
) -> Chart:
    """One panel per model (per model and GPU when a model has more than MAX_LINES_PER_PANEL
    lines); one line per (GPU, ``dash_by``) through every configuration.

    Colour = GPU, dash = the value of ``dash_by`` (GPU count, precision) with its own legend
    entries, so no group is ever left out. ``lines=False`` draws markers only (for points that
    are not a one-parameter sweep).
    """
    dash_values = sorted({str(row.get(dash_by)) for row in rows}, key=_natural)
    dash_of = {value: DASHES[i % len(DASHES)] for i, value in enumerate(dash_values)}
    groups: dict[tuple[str, str | None, str], list[AnalysisRow]] = {}
    for row in rows:
        if row.get(x.column) is not None and row.get(y.column) is not None:
            groups.setdefault((row.model, row.gpu, str(row.get(dash_by))), []).append(row)
    per_model = Counter(model for model, _, _ in groups)
    panels: dict[str, Panel] = {}
    for (model, gpu, value), members in sorted(groups.items(), key=lambda i: _line_order(i[0])):
        members.sort(key=lambda r: r.get(x.column))
        split = lines and per_model[model] > MAX_LINES_PER_PANEL
        name = f"{short_model(model)} on {gpu}" if split else short_model(model)
        panel = panels.setdefault(name, Panel(name))
        panel.series.append(
            Series(
                f"{gpu} {_dash_label(dash_by, value)}",
                palette.colour(gpu),
                dash_of[value] if lines else "",
                _points(members, lambda r: _axis_value(r, x), y, lambda r: tip(r, None)),
                line=lines,
            )
        )
    legend = _gpu_legend(palette, (gpu for _, gpu, _ in groups))
    if lines and len(dash_values) > 1:
        legend += [LegendEntry(_dash_label(dash_by, v), "#555555", dash_of[v]) for v in dash_values]
    if lines and len(dash_values) > len(DASHES):
        caption = (caption or "") + (
            f" Dashes repeat after {len(DASHES)} values of {dash_by.replace('_', ' ')}: hover a "
            "point for its configuration."
        )
    return Chart(
        key,
        title,
        Axis(axis_label(x), log=x_log),
        Axis(axis_label(y), log=True),
        list(panels.values()),
        legend,
        caption,
    )


def _dash_label(column: str, value: str) -> str:
    return f"×{value} GPUs" if column == "num_gpus" else value


def _natural(text: str) -> tuple[float, str]:
    try:
        return float(text), ""
    except ValueError:
        return float("inf"), text


def _line_order(key: tuple[str, str | None, str]) -> tuple[str, str, tuple[float, str]]:
    model, gpu, value = key
    return model, gpu or "", _natural(value)


def timeline_chart(
    key: str,
    title: str,
    timelines: dict[str, tuple[Any, Any]],
    caption: str | None = None,
    *,
    simulated: bool = False,
) -> Chart:
    """Power over time per device, one panel (devices get the spare colours, not GPU ones);
    ``simulated``: time and watts are per simulated second (a simulator's own clock)."""
    panel = Panel(title)
    legend = []
    for index, (device, (time_s, power_w)) in enumerate(timelines.items()):
        colour = SPARE_COLOURS[index % len(SPARE_COLOURS)]
        points = [
            Point(float(t), float(p), f"{device} · {sig(float(t))} s · {sig(float(p))} W")
            for t, p in zip(time_s, power_w, strict=True)
        ]
        panel.series.append(Series(device, colour, points=points, markers=False))
        legend.append(LegendEntry(device, colour))
    time_axis, power_axis = (
        ("time (simulated s)", "power (W, simulated time)")
        if simulated
        else ("time (s)", "power (W)")
    )
    return Chart(key, title, Axis(time_axis), Axis(power_axis), [panel], legend, caption)


_CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def groups_chart(
    groups: Sequence[GroupFrontier], x: Metric, y: Metric, group_by: tuple[str, ...]
) -> Chart:
    """One panel, one colour/dash per group, for any grouping (``frontier --plot``)."""
    panel = Panel("")
    legend = []
    x_of = lambda row: _axis_value(row, x)  # noqa: E731
    for index, group in enumerate(groups):
        label = " / ".join(str(part) for part in group.key if part is not None) or "all"
        colour = _CYCLE[index % len(_CYCLE)]
        dash = DASHES[(index // len(_CYCLE)) % len(DASHES)]
        panel.series.append(
            Series(
                label,
                colour,
                dash,
                _points(group.dominated, x_of, y, lambda r: tip(r, x)),
                line=False,
                faint=True,
            )
        )
        frontier = sorted(group.frontier, key=lambda r: r.get(x.column))
        panel.series.append(
            Series(label, colour, dash, _points(frontier, x_of, y, lambda r: tip(r, x)))
        )
        legend.append(LegendEntry(label, colour, dash))
    title = f"time–energy frontier by {', '.join(group_by)}" if group_by else "time–energy frontier"
    return Chart(
        "frontier", title, Axis(axis_label(x)), Axis(axis_label(y), log=True), [panel], legend
    )
