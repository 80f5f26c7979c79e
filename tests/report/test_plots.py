from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analyze.builders import make_result
from tokenergy.analyze.frontier import frontiers
from tokenergy.analyze.table import metric, to_row
from tokenergy.errors import ConfigError
from tokenergy.report.plots import (
    batch_figure,
    frontier_figure,
    frontier_panels,
    intvty_figure,
    save_figure,
    svg_text,
    timeline_figure,
)

ROWS = [
    to_row(
        make_result(
            model=m,
            gpu=g,
            batch_cap=b,
            median_itl_s=0.01 * b**0.5,
            power_w=300 + 5 * b,
            median_tpot_s=0.012 * b**0.5,
        )
    )
    for m in ("a", "b")
    for g in ("H100", "B200")
    for b in (1, 4, 16, 64)
]


def test_frontier_figures_draw_one_line_per_group(tmp_path: Path) -> None:
    x, y = metric("median_itl"), metric("energy_per_token_j")
    groups = frontiers(ROWS, x, y, ("model", "gpu"))
    figure = frontier_figure(groups, x, y, ("model", "gpu"))
    (axes,) = figure.axes
    assert len(axes.get_lines()) == 4
    assert [t.get_text() for t in axes.get_legend().get_texts()] == [
        "a / H100",
        "a / B200",
        "b / H100",
        "b / B200",
    ]
    panels = frontier_panels(groups, x, y, 1, "t")
    assert len(panels.axes) == 2
    save_figure(figure, tmp_path / "f.png")
    save_figure(figure, tmp_path / "f.svg")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert svg_text(figure).startswith("<svg")
    with pytest.raises(ConfigError, match=r"\.png or \.svg"):
        save_figure(figure, tmp_path / "f.jpg")


def test_sweeps_distributions_and_timelines() -> None:
    batch = batch_figure(ROWS, ("model", "gpu"), "t")
    line = batch.axes[0].get_lines()[0]
    assert list(line.get_xdata()) == [1, 4, 16, 64]
    intvty = intvty_figure(ROWS, ("model",), "t")
    assert len(intvty.axes[0].get_lines()) == 2
    time_s = np.arange(5.0)
    timeline = timeline_figure({"gpu0": (time_s, time_s * 100)}, "t")
    assert list(timeline.axes[0].get_lines()[0].get_ydata()) == [0, 100, 200, 300, 400]
