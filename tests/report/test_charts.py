"""Chart specs from analysis rows, drawn as SVG (inline and standalone) and as PNG."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyze.builders import make_result
from tokenergy.analyze.frontier import frontiers
from tokenergy.analyze.table import Metric, metric, to_row
from tokenergy.errors import ConfigError
from tokenergy.report.charts import MAX_LINES_PER_PANEL, Palette, frontier_chart, sweep_chart
from tokenergy.report.plots import chart_figure, frontier_figure, save_chart, save_figure
from tokenergy.report.svg import chart_document, linear_ticks, log_ticks, panel_svg, wrap

LONG = "meta-llama/Llama-4-Maverick-17B-128E-Instruct-FP8-with-a-very-long-suffix"
ROWS = [
    to_row(
        make_result(
            model=m,
            gpu=g,
            num_gpus=n,
            batch_cap=b,
            median_itl_s=0.01 * b**0.5,
            power_w=300 + 5 * b,
        )
    )
    for m in ("org/a", LONG)
    for g in ("H100", "B200")
    for n in (1, 2)
    for b in (1, 4, 16, 64)
]
ITL, ENERGY = metric("median_itl"), metric("energy_per_token_j")
BATCH = Metric("batch_cap", "batch cap", "")


def test_palette_gives_each_gpu_one_colour_everywhere() -> None:
    palette = Palette(["B200", "H100", "X9"])
    assert palette.colour("H100") == Palette(["H100"]).colour("H100")  # fixed for known GPUs
    assert len({palette.colour(g) for g in ("B200", "H100", "X9")}) == 3
    groups = frontiers(ROWS, ITL, ENERGY, ("model", "gpu"))
    chart = frontier_chart("f", "t", groups, ITL, ENERGY, palette)
    sweep = sweep_chart("s", "t", ROWS, BATCH, ENERGY, "num_gpus", palette)
    for drawn in (chart, sweep):
        for panel in drawn.panels:
            for series in panel.series:
                assert series.colour == palette.colour(series.label.split()[0])


def test_frontier_chart_keeps_every_model_with_its_full_name() -> None:
    groups = frontiers(ROWS, ITL, ENERGY, ("model", "gpu"))
    chart = frontier_chart("f", "t", groups, ITL, ENERGY, Palette(["H100", "B200"]))
    assert [p.title for p in chart.panels] == ["a", LONG.split("/")[1]]
    assert [e.label for e in chart.legend] == ["B200", "H100"]
    assert chart.x.label == "median ITL (ms)"  # latencies in ms, as in the tables
    # every configuration is drawn: on a frontier line or as a faint point
    assert chart.points == len(ROWS)
    first = chart.panels[0].series[1].points[0]
    assert first.x == pytest.approx(10.0)  # 0.01 s → 10 ms
    assert "ms" in first.tip and "J/output token" in first.tip


def test_sweep_chart_facets_instead_of_dropping_lines() -> None:
    many = [
        to_row(make_result(model="m", gpu="H100", num_gpus=n, batch_cap=b, power_w=100 + b))
        for n in range(1, MAX_LINES_PER_PANEL + 3)
        for b in (1, 8)
    ] + [to_row(make_result(model="m", gpu="B200", num_gpus=1, batch_cap=8))]
    chart = sweep_chart("s", "t", many, BATCH, ENERGY, "num_gpus", Palette(["H100", "B200"]))
    assert [p.title for p in chart.panels] == ["m on B200", "m on H100"]
    assert sum(len(p.series) for p in chart.panels) == MAX_LINES_PER_PANEL + 3
    assert chart.points == len(many)
    assert "Dashes repeat" in (chart.caption or "")


def test_ticks_are_round_and_plain() -> None:
    assert linear_ticks(0.0, 10.0) == [0, 2, 4, 6, 8, 10]
    assert log_ticks(0.04, 3) == [0.05, 0.1, 0.2, 0.5, 1, 2]
    assert log_ticks(0.04, 30) == [0.1, 1, 10]
    assert log_ticks(1, 1e9)[:3] == [1, 100, 10_000]
    assert log_ticks(0.5, 0.8) == linear_ticks(0.5, 0.8, 4)
    svg = panel_svg(
        sweep_chart("s", "t", ROWS, BATCH, ENERGY, "num_gpus", Palette([])),
        sweep_chart("s", "t", ROWS, BATCH, ENERGY, "num_gpus", Palette([])).panels[0],
    )
    labels = re.findall(r">([^<>]+)</text>", svg)
    assert labels and not any("×10" in t or "e-" in t or "$" in t for t in labels)


def test_svg_escapes_data_and_marks_hover_points() -> None:
    model = '<img src=x onerror="alert(1)">'
    hostile = [to_row(make_result(model=model, batch_cap=b)) for b in (1, 8)]
    groups = frontiers(hostile, ITL, ENERGY, ("model", "gpu"))
    chart = frontier_chart("f", "t", groups, ITL, ENERGY, Palette(["H100"]))
    document = chart_document(chart)
    assert "<img" not in document and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in document
    assert document.count("data-tip=") == 2


def test_standalone_svg_wraps_long_titles_instead_of_cutting() -> None:
    lines = wrap(LONG, 200, 12)
    assert "".join(lines).replace(" ", "") == LONG.replace(" ", "")
    assert len(lines) > 1


def test_png_and_svg_files(tmp_path: Path) -> None:
    chart = sweep_chart("s", "t", ROWS, BATCH, ENERGY, "num_gpus", Palette(["H100", "B200"]))
    figure = chart_figure(chart)
    assert len(figure.axes) == len(chart.panels)
    save_chart(chart, tmp_path / "c.png")
    save_chart(chart, tmp_path / "c.svg")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "c.svg").read_text().startswith("<svg xmlns")
    groups = frontiers(ROWS, ITL, ENERGY, ("model", "gpu"))
    legacy = frontier_figure(groups, ITL, ENERGY, ("model", "gpu"))
    labels = [t.get_text() for t in legacy.legends[0].get_texts()]
    assert labels == [" / ".join(str(k) for k in g.key) for g in groups]
    save_figure(legacy, tmp_path / "f.svg")
    with pytest.raises(ConfigError, match=r"\.png or \.svg"):
        save_chart(chart, tmp_path / "f.jpg")
