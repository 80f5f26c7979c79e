"""Draw chart specs (``charts.py``) as plain SVG: small, fast, and hoverable.

A panel is one ``<svg>`` with a viewBox, so the HTML report lays panels out in a CSS grid (titles
and legends are HTML there, wrapping instead of being cut). Every marker carries its values in a
``data-tip`` attribute, which the report's inline script shows on hover; nothing is fetched.
``chart_document`` composes the same panels into one standalone SVG file.

Why not matplotlib here: its text layout of ~80 log-scaled panels took ~15 s of a 20 s report;
these panels take milliseconds. PNG output still goes through matplotlib (``plots.py``).
"""

from __future__ import annotations

import math
from html import escape

from tokenergy.report.charts import Axis, Chart, Panel, Series
from tokenergy.report.numbers import tick

PANEL_SIZE = (340, 230)
WIDE_SIZE = (760, 300)
_LEFT, _RIGHT, _TOP, _BOTTOM = 50, 10, 8, 40
_FONT = 11
_CHAR_W = 0.56  # average glyph width of a sans-serif font, in em (for wrapping in files)


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def linear_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round values (1, 2, 2.5, 5 × 10^k steps) inside [low, high]."""
    if high <= low:
        return [low]
    step = _nice_step(high - low, target)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    index = first
    while index * step <= high + step * 1e-9:
        ticks.append(round(index * step, 12))
        index += 1
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Decades (every k-th when there are many), 1-2-5 within one or two decades, else linear."""
    decades = math.log10(high) - math.log10(low)
    if decades < 0.6:
        return linear_ticks(low, high, 4)
    subs = (1.0,) if decades >= 2.5 else (1.0, 2.0, 5.0)
    every = max(1, math.ceil(decades / 6))
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        if exponent % every:
            continue
        for sub in subs:
            value = sub * 10.0**exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks if len(ticks) >= 2 else linear_ticks(low, high, 4)


class _Scale:
    """Data → pixel along one axis, with 5 % padding (in log space for log axes)."""

    def __init__(self, values: list[float], axis: Axis, start_px: float, end_px: float) -> None:
        self.log = axis.log
        usable = [v for v in values if v > 0] if self.log else values
        low, high = (min(usable), max(usable)) if usable else (1.0, 10.0)
        if self.log:
            low, high = math.log10(low), math.log10(high)
        span = high - low
        pad = span * 0.05 if span > 0 else (abs(low) * 0.1 or 1.0)
        self.low, self.high = low - pad, high + pad
        self.start_px, self.end_px = start_px, end_px

    def usable(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or not self.log)

    def px(self, value: float) -> float:
        t = math.log10(value) if self.log else value
        return self.start_px + (t - self.low) / (self.high - self.low) * (
            self.end_px - self.start_px
        )

    def ticks(self) -> list[float]:
        if self.log:
            return log_ticks(10**self.low, 10**self.high)
        return linear_ticks(self.low, self.high)


def _series_svg(series: Series, x: _Scale, y: _Scale) -> str:
    points = [p for p in series.points if x.usable(p.x) and y.usable(p.y)]
    coords = [(x.px(p.x), y.px(p.y)) for p in points]
    parts = []
    if series.line and len(coords) > 1:
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        path = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{series.colour}" '
            f'stroke-width="1.6"{dash}/>'
        )
    if series.markers and coords:
        opacity = ' fill-opacity="0.3"' if series.faint else ""
        radius = 2.6 if series.faint else 3.0
        circles = "".join(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius}" data-tip="{escape(p.tip)}"/>'
            for (cx, cy), p in zip(coords, points, strict=True)
        )
        parts.append(f'<g fill="{series.colour}"{opacity}>{circles}</g>')
    return "".join(parts)


def panel_svg(chart: Chart, panel: Panel, size: tuple[int, int] = PANEL_SIZE) -> str:
    """One panel: frame, grid, tick labels, axis labels and the series (markers hoverable)."""
    width, height = size
    right, bottom = width - _RIGHT, height - _BOTTOM
    xs = [p.x for s in panel.series for p in s.points]
    ys = [p.y for s in panel.series for p in s.points]
    x, y = _Scale(xs, chart.x, _LEFT, right), _Scale(ys, chart.y, bottom, _TOP)
    out = [
        f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(panel.title)}" font-size="{_FONT}">',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{right - _LEFT}" height="{bottom - _TOP}" '
        'fill="none" stroke="#999"/>',
    ]
    grid, labels = [], []
    for value in x.ticks():
        px = x.px(value)
        if _LEFT - 0.5 <= px <= right + 0.5:
            grid.append(f"M{px:.1f} {_TOP}V{bottom}")
            labels.append(
                f'<text x="{px:.1f}" y="{bottom + 14}" text-anchor="middle">{tick(value)}</text>'
            )
    for value in y.ticks():
        py = y.px(value)
        if _TOP - 0.5 <= py <= bottom + 0.5:
            grid.append(f"M{_LEFT} {py:.1f}H{right}")
            labels.append(
                f'<text x="{_LEFT - 4}" y="{py + 3.5:.1f}" text-anchor="end">{tick(value)}</text>'
            )
    out.append(f'<path d="{"".join(grid)}" stroke="#e3e3e3" fill="none"/>')
    out.append(f'<g fill="#333">{"".join(labels)}</g>')
    out.extend(_series_svg(series, x, y) for series in panel.series)
    out.append(
        f'<text x="{(_LEFT + right) / 2:.0f}" y="{height - 6}" text-anchor="middle" '
        f'fill="#333">{escape(chart.x.label)}</text>'
    )
    out.append(
        f'<text transform="translate(12 {(_TOP + bottom) / 2:.0f}) rotate(-90)" '
        f'text-anchor="middle" fill="#333">{escape(chart.y.label)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def wrap(text: str, width_px: float, font_px: float) -> list[str]:
    """Greedy word wrap by an average glyph width (files only; HTML wraps by itself)."""
    limit = max(8, int(width_px / (font_px * _CHAR_W)))
    lines: list[str] = []
    for word in text.split():
        while len(word) > limit:  # a single over-long word is broken, never cut
            lines.append(word[:limit])
            word = word[limit:]
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def chart_document(chart: Chart, columns: int = 4) -> str:
    """The whole chart as one standalone SVG file: title, legend, then the panel grid."""
    wide = len(chart.panels) == 1
    panel_w, panel_h = WIDE_SIZE if wide else PANEL_SIZE
    columns = 1 if wide else max(1, min(columns, len(chart.panels)))
    width = panel_w * columns
    body: list[str] = []
    y = 6.0
    for line in wrap(chart.title, width - 20, 15):
        y += 19
        body.append(
            f'<text x="10" y="{y:.0f}" font-size="15" font-weight="bold">{escape(line)}</text>'
        )
    y += 8
    x = 10.0
    for entry in chart.legend:
        label_w = len(entry.label) * _FONT * _CHAR_W + 40
        if x + label_w > width - 10 and x > 10:
            x, y = 10.0, y + 18
        dash = f' stroke-dasharray="{entry.dash}"' if entry.dash else ""
        body.append(
            f'<line x1="{x:.0f}" y1="{y + 10:.0f}" x2="{x + 24:.0f}" y2="{y + 10:.0f}" '
            f'stroke="{entry.colour}" stroke-width="2.5"{dash}/>'
            f'<text x="{x + 30:.0f}" y="{y + 14:.0f}">{escape(entry.label)}</text>'
        )
        x += label_w
    y += 24
    for start in range(0, len(chart.panels), columns):
        row = chart.panels[start : start + columns]
        titles = [wrap(panel.title, panel_w - 20, 12) for panel in row]
        top = y + 15 * max(len(lines) for lines in titles) + 4
        for column, (panel, lines) in enumerate(zip(row, titles, strict=True)):
            centre = column * panel_w + panel_w / 2
            for number, line in enumerate(lines):
                body.append(
                    f'<text x="{centre:.0f}" y="{y + 15 * (number + 1):.0f}" font-size="12" '
                    f'text-anchor="middle">{escape(line)}</text>'
                )
            body.append(
                f'<svg x="{column * panel_w}" y="{top:.0f}" width="{panel_w}" '
                f'height="{panel_h}">{panel_svg(chart, panel, (panel_w, panel_h))}</svg>'
            )
        y = top + panel_h + 8
    height = math.ceil(y + 6)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Arial, sans-serif" '
        f'font-size="{_FONT}"><rect width="100%" height="100%" fill="white"/>'
        + "".join(body)
        + "</svg>\n"
    )
