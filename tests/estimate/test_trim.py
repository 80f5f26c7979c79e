"""Paper-compatible statistics: the per-model trim and the fleet's two named daily totals."""

from __future__ import annotations

import numpy as np
import pytest

from tokenergy.estimate import EstimateParams, FleetParams, run_estimate
from tokenergy.estimate.distributions import LogNormal
from tokenergy.estimate.fleet import run_fleet
from tokenergy.estimate.histogram import RELATIVE_QUANTILE_ERROR, LogHistogram
from tokenergy.estimate.montecarlo import Trim

FRONTIER = ["Llama 3.1 405B", "DeepSeek-R1", "Llama-3.1 Nemotron Ultra 253B"]


def test_histogram_trim_keeps_the_ranks_between_the_quantiles() -> None:
    values = np.random.default_rng(1).lognormal(0.0, 1.0, 100_000)
    histogram = LogHistogram()
    histogram.add(values)
    trimmed = histogram.trimmed(0.05, 0.95)
    ordered = np.sort(values)
    kept = ordered[5_000:95_000]
    assert trimmed.n == kept.size
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert trimmed.quantile(q) == pytest.approx(
            np.quantile(kept, q), rel=2 * RELATIVE_QUANTILE_ERROR
        )
    assert trimmed.mean == pytest.approx(kept.mean(), rel=RELATIVE_QUANTILE_ERROR)


def test_paper_trim_is_p5_p95_then_p10_p90_per_model_before_pooling() -> None:
    params = EstimateParams(models=FRONTIER[:2], pool=True, samples=200_000)
    plain = run_estimate(params)
    trimmed = run_estimate(params, trim=Trim.PAPER)
    for before, after in zip(plain.models, trimmed.models, strict=True):
        # P5–P95 then P10–P90 of the rest: the original P14–P86, 72 % of the draws
        assert after.baseline.samples == pytest.approx(0.72 * before.baseline.samples, abs=2)
        assert after.baseline.quantile_wh(0.0) == pytest.approx(
            before.baseline.quantile_wh(0.14), rel=2 * RELATIVE_QUANTILE_ERROR
        )
        assert after.baseline.quantile_wh(1.0) == pytest.approx(
            before.baseline.quantile_wh(0.86), rel=2 * RELATIVE_QUANTILE_ERROR
        )
    assert trimmed.pooled is not None and plain.pooled is not None
    assert trimmed.pooled.samples == sum(m.baseline.samples for m in trimmed.models)
    assert trimmed.to_dict()["trim"] == "paper"


def test_paper_trim_with_the_v1_inputs_gives_the_papers_pooled_iqr() -> None:
    """v1 (arXiv 2509.20241v1): median 0.34 Wh, IQR 0.18–0.67, run with PUE P5–P95 1.05–1.60."""
    params = EstimateParams(
        models=FRONTIER, pool=True, pue=LogNormal.from_p5_p95(1.05, 1.60), samples=1_000_000
    )
    result = run_estimate(params, trim=Trim.PAPER)
    assert result.pooled is not None
    q = result.pooled.quantile_wh
    assert q(0.25) == pytest.approx(0.18, rel=0.05)
    assert q(0.75) == pytest.approx(0.67, rel=0.05)
    assert q(0.5) == pytest.approx(0.34, rel=0.05)
    plain = run_estimate(params)
    assert plain.pooled is not None
    assert plain.pooled.quantile_wh(0.25) < 0.95 * 0.18  # without the trim the IQR is wider


def test_fleet_names_the_papers_mean_times_beta_and_the_scenario_median() -> None:
    params = FleetParams(queries_per_day=1e9, models=FRONTIER[:1], length_samples=100_000)
    result = run_fleet(params)
    row = result.to_dict()["models"][0]
    totals = row["daily_total"]
    assert totals["mean_x_beta_gwh_per_day"] == pytest.approx(row["gwh_per_day"]["mean"])
    assert totals["scenario_median_gwh_per_day"] == pytest.approx(row["gwh_per_day"]["median"])
    assert totals["mean_x_beta_gwh_per_day"] > totals["scenario_median_gwh_per_day"]
