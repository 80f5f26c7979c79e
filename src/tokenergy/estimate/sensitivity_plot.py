"""Bar chart of Sobol indices (PNG or SVG): one panel per target, S1 and ST on log E and on E."""

from __future__ import annotations

from pathlib import Path

from tokenergy.estimate.plot import check_plot_path
from tokenergy.estimate.sensitivity import SensitivityResult


def plot_sensitivity(result: SensitivityResult, path: Path) -> None:
    """Grouped horizontal bars per input with their 95 % intervals; matplotlib imported lazily."""
    check_plot_path(path)
    from matplotlib.figure import Figure

    rows = [row for row in result.rows if row.indices]
    figure = Figure(figsize=(9, 1.0 + 1.6 * max(len(rows), 1)), layout="constrained")
    axes = figure.subplots(max(len(rows), 1), 1, squeeze=False)[:, 0]
    series = (
        ("S1 (log E)", "s1_log", "s1_log_conf", "#2166ac"),
        ("ST (log E)", "st_log", "st_log_conf", "#92c5de"),
        ("S1 (E)", "s1", "s1_conf", "#b2182b"),
        ("ST (E)", "st", "st_conf", "#f4a582"),
    )
    height = 0.2
    for axis, row in zip(axes, rows, strict=False):
        ranked = row.ranked()
        positions = range(len(ranked))
        for k, (label, value, conf, colour) in enumerate(series):
            axis.barh(
                [p + (k - 1.5) * height for p in positions],
                [getattr(i, value) for i in ranked],
                height=height,
                xerr=[getattr(i, conf) for i in ranked],
                color=colour,
                label=label,
            )
        axis.set_yticks(list(positions), [i.name for i in ranked])
        axis.invert_yaxis()
        axis.set_xlim(0, 1.05)
        axis.set_title(row.target, fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    axes[-1].set_xlabel("Sobol index (share of variance)")
    figure.savefig(path)
