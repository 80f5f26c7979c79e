"""Human number formatting for the report: positional notation, never ``1.092e+05``.

Each column keeps one unit (so a reader can scan it); values show three significant digits in
fixed notation, counts get thousands separators, power gets an SI prefix (W, kW, MW) because it
spans a single GPU and a 72-GPU rack in one table.
"""

from __future__ import annotations

import math

DASH = "—"
_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""))


def sig(value: float | int | None, digits: int = 3) -> str:
    """``digits`` significant digits in positional notation: 0.000421, 0.123, 12.3, 1,234."""
    if value is None or not math.isfinite(value):
        return DASH
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    rounded = round(value, decimals)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:  # 9.996 → 10.0 → 10
        decimals = max(0, decimals - 1)
    return f"{value:,.{decimals}f}"


def count(value: float | int | None) -> str:
    """Whole numbers with thousands separators (batch caps, GPUs, rows)."""
    if value is None or not math.isfinite(value):
        return DASH
    return f"{round(value):,}"


def si(value: float | int | None, unit: str, digits: int = 3) -> str:
    """An SI prefix chosen so the number is below 1,000: 109,200 W → '109 kW'."""
    if value is None or not math.isfinite(value):
        return DASH
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{sig(value / scale, digits)} {prefix}{unit}"
    return f"{sig(value, digits)} {unit}"


def ms(seconds: float | None, digits: int = 3) -> str:
    """A duration in milliseconds (every latency in the report is shown in ms)."""
    return DASH if seconds is None else sig(seconds * 1000, digits)


def pct(ratio: float | None) -> str:
    """A signed change: 0.2 → '+20.0%'."""
    if ratio is None or not math.isfinite(ratio):
        return DASH
    return f"{ratio * 100:+.1f}%"


def tick(value: float) -> str:
    """Axis tick labels: short and plain (0.05, 0.6, 20, 1.5k, 2M), never 6×10⁻¹."""
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale or scale == 1.0:
            text = sig(value / scale, 3).replace(",", "")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text + prefix
    raise AssertionError("unreachable: the last prefix has scale 1")
