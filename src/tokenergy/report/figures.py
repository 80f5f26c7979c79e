"""Figures of a report: each chart's panels drawn once as SVG (inlined in the HTML), the whole
chart written to ``out/figures/<key>.svg`` and, on request, ``.png`` (matplotlib, slower)."""

from __future__ import annotations

from pathlib import Path

from tokenergy.errors import ConfigError
from tokenergy.report.charts import Chart, Palette
from tokenergy.report.files import prepare_out, write_text
from tokenergy.report.model import FigureBlock
from tokenergy.report.svg import PANEL_SIZE, WIDE_SIZE, chart_document, panel_svg


class FigureWriter:
    """Writes every figure of one report with one GPU palette, so colours agree across figures."""

    def __init__(self, out: Path, palette: Palette, png: bool = False) -> None:
        self.dir = out / "figures"
        self.palette = palette
        self.png = png

    def block(self, chart: Chart) -> FigureBlock:
        size = WIDE_SIZE if len(chart.panels) == 1 else PANEL_SIZE
        panels = [panel_svg(chart, panel, size) for panel in chart.panels]
        prepare_out(self.dir)
        files = [f"figures/{chart.key}.svg"]
        write_text(self.dir / f"{chart.key}.svg", chart_document(chart))
        if self.png:
            from tokenergy.report.plots import save_chart  # matplotlib only when PNGs are asked

            try:
                save_chart(chart, self.dir / f"{chart.key}.png")
            except OSError as error:
                raise ConfigError(
                    f"cannot write {self.dir / chart.key}.png: {error.strerror or error}",
                    field="out",
                ) from None
            files.append(f"figures/{chart.key}.png")
        return FigureBlock(chart.key, chart.title, chart, panels, files, chart.caption)
