"""Streaming log histogram: quantiles within one bin of the exact ones, exact mean."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from tokenergy.estimate.histogram import RELATIVE_QUANTILE_ERROR, LogHistogram


def test_quantiles_within_documented_accuracy_and_exact_mean() -> None:
    draws = np.random.default_rng(3).lognormal(-2.0, 1.2, 300_000)
    histogram = LogHistogram()
    for chunk in np.array_split(draws, 7):
        histogram.add(chunk)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        exact = float(np.quantile(draws, q))
        assert histogram.quantile(q) == pytest.approx(exact, rel=RELATIVE_QUANTILE_ERROR)
    assert histogram.mean == pytest.approx(float(np.mean(draws)), rel=1e-12)
    assert histogram.n == draws.size
    assert (histogram.low, histogram.high) == (draws.min(), draws.max())


def test_constant_draws_give_exact_quantiles() -> None:
    histogram = LogHistogram()
    histogram.add(np.full(1000, 0.123456789))
    assert histogram.quantile(0.05) == 0.123456789
    assert histogram.quantile(0.95) == 0.123456789


def test_merge_pools_counts_and_sums() -> None:
    a, b = LogHistogram(), LogHistogram()
    a.add(np.array([1.0, 2.0]))
    b.add(np.array([4.0]))
    pooled = a.merge(b)
    assert pooled.n == 3
    assert pooled.mean == pytest.approx(7.0 / 3.0)
    assert (pooled.low, pooled.high) == (1.0, 4.0)


def test_out_of_range_values_count_and_clamp_to_extremes() -> None:
    histogram = LogHistogram()
    histogram.add(np.array([1e-20, 1.0, 1e20]))
    assert histogram.counts[0] == 1 and histogram.counts[-1] == 1
    assert histogram.quantile(0.0) == 1e-20
    assert histogram.quantile(1.0) == 1e20


def test_empty_histogram_has_nan_quantiles() -> None:
    assert np.isnan(LogHistogram().quantile(0.5))
    assert np.isnan(LogHistogram().mean)


def test_pickled_as_the_span_of_used_bins() -> None:
    histogram = LogHistogram()
    histogram.add(np.random.default_rng(3).lognormal(0.0, 0.5, 10_000))
    data = pickle.dumps(histogram)
    assert len(data) < histogram.counts.nbytes / 4  # 375 KiB of bins, mostly empty
    back = pickle.loads(data)
    assert np.array_equal(back.counts, histogram.counts)
    assert (back.total, back.n, back.low, back.high) == (
        histogram.total,
        histogram.n,
        histogram.low,
        histogram.high,
    )
    empty = pickle.loads(pickle.dumps(LogHistogram()))
    assert empty.n == 0 and empty.counts.size == histogram.counts.size and not empty.counts.any()
