"""Streaming summary of positive draws: a fixed-bin log histogram plus the exact sum, min and max.

Monte Carlo runs of 10⁸ draws cannot keep their samples, so each chunk is binned and dropped.
Bins are uniform in log10 with ``BINS_PER_DECADE`` per decade over [10⁻¹², 10¹²]; a quantile is
interpolated linearly in log space within its bin and clamped to the exact [min, max], so its
relative error is below one bin width, 10^(1/2000) − 1 ≈ 0.115 %. The mean is exact (a running sum).
Draws outside the range are counted in under/overflow bins and still enter sum, min and max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

BINS_PER_DECADE = 2000
LOG10_LOW = -12.0
LOG10_HIGH = 12.0
_N_BINS = int((LOG10_HIGH - LOG10_LOW) * BINS_PER_DECADE)
RELATIVE_QUANTILE_ERROR = 10 ** (1 / BINS_PER_DECADE) - 1
_BINS_PER_NEPER = BINS_PER_DECADE / math.log(10.0)
_POSITION_OFFSET = 1.0 - LOG10_LOW * BINS_PER_DECADE  # + 1: index 0 is the underflow bin


def _index(log_value: float) -> int:
    """The bin index of one value given by its natural log (same arithmetic as the arrays)."""
    position = log_value * _BINS_PER_NEPER + _POSITION_OFFSET
    return int(min(max(position, 0.0), _N_BINS + 1.0))


@dataclass
class LogHistogram:
    """Counts over log-uniform bins; index 0 is underflow, the last index overflow."""

    counts: NDArray[np.int64] = field(default_factory=lambda: np.zeros(_N_BINS + 2, np.int64))
    total: float = 0.0
    n: int = 0
    low: float = math.inf
    high: float = -math.inf

    def __getstate__(self) -> dict[str, Any]:
        """Pickled as the span of non-empty bins: a worker's block of draws or a model's run fills
        a few thousand of the 48,002 bins, so 375 KiB of mostly zeros need not cross a pipe."""
        used = np.flatnonzero(self.counts)
        start, stop = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
        return {
            "bins": self.counts.size,
            "start": start,
            "span": self.counts[start:stop].copy(),
            "total": self.total,
            "n": self.n,
            "low": self.low,
            "high": self.high,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        counts = np.zeros(state["bins"], np.int64)
        span = state["span"]
        counts[state["start"] : state["start"] + span.size] = span
        self.counts, self.total, self.n = counts, state["total"], state["n"]
        self.low, self.high = state["low"], state["high"]

    def add(self, values: NDArray[np.float64]) -> None:
        """Add draws; sum, min and max are taken from the values themselves (exact)."""
        if values.size == 0:
            return
        with np.errstate(divide="ignore"):
            logs = np.log(values)
        self._count(logs, float(logs.min()))
        self.total += float(np.sum(values, dtype=np.float64))
        self.n += int(values.size)
        self.low = min(self.low, float(values.min()))
        self.high = max(self.high, float(values.max()))

    def add_log(self, log_values: NDArray[np.float64]) -> None:
        """Add draws given by their natural logarithms (the Monte Carlo works in log space).

        The sum needs exp(ln x) once per draw (relative error ~1e-16 per draw).
        """
        if log_values.size == 0:
            return
        log_low, log_high = float(log_values.min()), float(log_values.max())
        buffer = self._count(log_values, log_low)
        self.total += float(np.exp(log_values, out=buffer).sum())
        self.n += int(log_values.size)
        self.low = min(self.low, math.exp(log_low))
        self.high = max(self.high, math.exp(log_high))

    def _count(self, log_values: NDArray[np.float64], log_low: float) -> NDArray[np.float64]:
        """Bin by ln x: index ⌊(ln x / ln 10 − LOG10_LOW)·BINS_PER_DECADE⌋ + 1, clipped to the
        under/overflow bins, as a truncation of a value clipped to [0, N + 1] (no floor pass);
        only the span of bins from the smallest draw's is counted. Returns the scratch buffer.
        """
        position = log_values * _BINS_PER_NEPER
        position += _POSITION_OFFSET
        np.clip(position, 0.0, _N_BINS + 1.0, out=position)
        low_index = _index(log_low)
        index = position.astype(np.intp)
        if low_index:
            index -= low_index
        counts = np.bincount(index)
        self.counts[low_index : low_index + counts.size] += counts
        return position

    def merge(self, other: LogHistogram) -> LogHistogram:
        """A new histogram holding both sets of draws (pooling)."""
        return LogHistogram(
            counts=self.counts + other.counts,
            total=self.total + other.total,
            n=self.n + other.n,
            low=min(self.low, other.low),
            high=max(self.high, other.high),
        )

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    def quantile(self, q: float) -> float:
        """The q-quantile (0 ≤ q ≤ 1), within one bin width of the exact sample quantile."""
        if self.n == 0:
            return math.nan
        rank = q * self.n
        cumulative = np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, rank, side="left"))
        index = min(max(index, 0), len(self.counts) - 1)
        if index in (0, len(self.counts) - 1):  # under/overflow: only the exact extremes are known
            return self.low if index == 0 else self.high
        before = float(cumulative[index - 1])
        inside = float(self.counts[index])
        fraction = (rank - before) / inside if inside else 0.0
        log10_value = LOG10_LOW + (index - 1 + fraction) / BINS_PER_DECADE
        return float(min(max(10.0**log10_value, self.low), self.high))

    def trimmed(self, low_q: float, high_q: float) -> LogHistogram:
        """The draws ranked between the low_q and high_q quantiles (a trim by rank, exact counts).

        The sum of a trimmed histogram is rebuilt from bin centres (the dropped draws are gone), so
        its mean is within one bin width, like its quantiles.
        """
        if self.n == 0:
            return LogHistogram()
        low_rank, high_rank = round(low_q * self.n), round(high_q * self.n)
        cumulative = np.cumsum(self.counts)
        kept = np.clip(cumulative, low_rank, high_rank) - low_rank
        counts = np.diff(kept, prepend=0).astype(np.int64)
        low, high = self.quantile(low_q), self.quantile(high_q)
        centres = 10.0 ** (LOG10_LOW + (np.arange(_N_BINS) + 0.5) / BINS_PER_DECADE)
        values = np.concatenate([[low], centres, [high]])
        values = np.clip(values, low, high)
        return LogHistogram(
            counts=counts,
            total=float(np.dot(counts, values)),
            n=int(counts.sum()),
            low=low,
            high=high,
        )

    def edges(self) -> NDArray[np.float64]:
        """Bin edges of the regular bins (for plotting)."""
        return np.asarray(10.0 ** (LOG10_LOW + np.arange(_N_BINS + 1) / BINS_PER_DECADE))
