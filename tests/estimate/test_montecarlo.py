"""Per-query Monte Carlo: the formula exactly for fixed inputs, seeds, chunking, levers, pooling."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.estimate import EstimateParams, Leff, Regime, montecarlo, run_estimate
from tokenergy.estimate.distributions import Exponential, LogNormal, Point
from tokenergy.estimate.levers import parse_lever
from tokenergy.estimate.montecarlo import NodePower, query_energy_wh
from tokenergy.estimate.surface import fit_surfaces, load_throughput_table
from tokenergy.progress import Progress

HEADER = "model,tp,quant,tps,lin,lout,source\n"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    """A model whose surface is exactly TPS = e^8 · L_in^-0.5 · L_out^0.25 (cap e^8·...)."""
    rows = []
    for lin, lout in [(100, 100), (100, 10000), (10000, 100), (1000, 1000), (400, 2500)]:
        tps = math.exp(8.0) * lin**-0.5 * lout**0.25
        rows.append(f"toy,8,FP8,{tps!r},{lin},{lout},synthetic\n")
    rows.append("big,10,FP8,1000,500,500,synthetic\n")
    path = tmp_path / "table.csv"
    path.write_text(HEADER + "".join(rows))
    return path


def fixed(table: Path, **overrides: object) -> EstimateParams:
    base: dict[str, object] = {
        "models": ["toy"],
        "table": str(table),
        "lin": Point(value=400.0),
        "lout": Point(value=2500.0),
        "util": Point(value=0.6),
        "pue": Point(value=1.2),
        "samples": 1000,
    }
    base.update(overrides)
    return EstimateParams(**base)  # type: ignore[arg-type]


def test_fixed_inputs_reproduce_the_formula(table: Path) -> None:
    result = run_estimate(fixed(table))
    tps = math.exp(8.0) * 400**-0.5 * 2500**0.25
    expected_wh = 1.2 * 0.6 * 11_300.0 * 2500 / tps / 3600
    row = result.to_dict()["models"][0]
    for key in ("median_wh", "q1_wh", "q3_wh", "p5_wh", "p95_wh", "mean_wh"):
        assert row[key] == pytest.approx(expected_wh, rel=1e-12), key
    assert row["samples"] == 1000
    assert (result.to_dict()["boundary"], result.to_dict()["basis"]) == ("facility", "modeled")


def test_total_rate_table_charges_input_plus_output_and_pmax_override(
    table: Path, tmp_path: Path
) -> None:
    """A table labelled rate=total pairs its rates with L_in + L_out (like with like)."""
    total = tmp_path / "total.csv"
    lines = table.read_text().splitlines()
    total.write_text(
        "\n".join([lines[0] + ",rate", *(line + ",total" for line in lines[1:])]) + "\n"
    )
    result = run_estimate(fixed(total, pmax_w=5000.0))
    tps = math.exp(8.0) * 400**-0.5 * 2500**0.25
    assert result.models[0].baseline.mean_wh == pytest.approx(1.2 * 0.6 * 5000 * 2900 / tps / 3600)
    assert run_estimate(fixed(total, leff=Leff.IN_OUT)).models[0].fit.rate.value == "total"


def test_leff_contradicting_the_table_rate_is_refused(table: Path) -> None:
    with pytest.raises(ConfigError, match=r"output tokens/s.*not L_eff = in\+out"):
        run_estimate(fixed(table, leff=Leff.IN_OUT))


def test_default_pmax_by_node_size(table: Path) -> None:
    result = run_estimate(fixed(table, models=["toy", "big"]))
    assert [m.node.pmax_w for m in result.models] == [11_300.0, 14_100.0]
    assert result.models[1].node.p_idle_w == pytest.approx(2700 * 14.1 / 11.3)
    big = result.models[1].baseline.mean_wh
    assert big == pytest.approx(1.2 * 0.6 * 14_100 * 2500 / 1000 / 3600)  # constant fit, 1 point


def test_correlated_power_rises_linearly_from_idle(table: Path) -> None:
    result = run_estimate(fixed(table, correlate_power=True, p_idle_w=2000.0))
    tps = math.exp(8.0) * 400**-0.5 * 2500**0.25
    cap = math.exp(8.0) * 100**-0.5 * 10000**0.25
    power_w = 2000.0 + (0.6 * 11_300 - 2000.0) * tps / cap
    assert result.models[0].baseline.mean_wh == pytest.approx(1.2 * power_w * 2500 / tps / 3600)


def test_cap_binds_in_the_energy(table: Path) -> None:
    result = run_estimate(fixed(table, lin=Point(value=1.0), lout=Point(value=1e7)))
    cap = math.exp(8.0) * 100**-0.5 * 10000**0.25
    assert result.models[0].baseline.mean_wh == pytest.approx(1.2 * 0.6 * 11_300 * 1e7 / cap / 3600)


def test_seed_reproduces_and_differs_across_seeds(table: Path) -> None:
    params = fixed(table, util=LogNormal.from_p5_p95(0.4, 0.9), lout=None, samples=20_000)
    first = run_estimate(params).to_dict()["models"][0]
    again = run_estimate(params).to_dict()["models"][0]
    other = run_estimate(params.model_copy(update={"seed": 7})).to_dict()["models"][0]
    assert first == again
    assert first["mean_wh"] != other["mean_wh"]


def test_model_results_do_not_depend_on_which_others_are_asked(table: Path) -> None:
    params = fixed(table, util=LogNormal.from_p5_p95(0.4, 0.9), lout=None, samples=5000)
    alone = run_estimate(params).models[0].baseline.mean_wh
    together = run_estimate(params.model_copy(update={"models": ["big", "toy"]})).models[1]
    assert together.baseline.mean_wh == alone


def test_chunked_stream_equals_one_replay_of_the_same_draws(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk draws L_in, L_out, u, PUE from its own stream (seed, model, chunk index)."""
    monkeypatch.setattr(montecarlo, "CHUNK_DRAWS", 1000)
    params = fixed(
        table,
        util=LogNormal.from_p5_p95(0.4, 0.9),
        pue=LogNormal.from_p5_p95(1.05, 1.4),
        lout=None,
        samples=4500,
    )
    result = run_estimate(params)
    fit = result.models[0].fit
    replay = []
    for chunk, n in enumerate((1000, 1000, 1000, 1000, 500)):
        rng = montecarlo.chunk_rng(0, "toy", chunk)
        lin, lout = montecarlo.draw_lengths(params.lin, Exponential(median=300.0), rng, n)
        util, pue = params.util.sample(rng, n), params.pue.sample(rng, n)
        replay.append(query_energy_wh(fit, NodePower(11_300, 2700), lin, lout, util, pue))
    draws = np.concatenate(replay)
    summary = result.models[0].baseline
    assert summary.mean_wh == pytest.approx(float(np.mean(draws)), rel=1e-12)
    assert summary.quantile_wh(0.5) == pytest.approx(float(np.median(draws)), rel=2e-3)
    np.testing.assert_allclose(summary.kept_wh, draws, rtol=1e-12)
    # the general (linear) path draws the same stream and agrees with the log-space one
    correlated = run_estimate(params.model_copy(update={"correlate_power": True}))
    assert correlated.models[0].baseline.samples == 4500


def test_worker_processes_give_the_same_answer(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are merged in order and chunk streams do not depend on who draws them."""
    monkeypatch.setattr(montecarlo, "BLOCK_DRAWS", 2 * montecarlo.CHUNK_DRAWS)
    params = fixed(
        table,
        util=LogNormal.from_p5_p95(0.4, 0.9),
        pue=LogNormal.from_p5_p95(1.05, 1.4),
        lout=None,
        levers=[parse_lever("serving")],
        samples=5 * montecarlo.CHUNK_DRAWS + 123,
    )
    one = run_estimate(params, workers=1).to_dict()
    two = run_estimate(params, workers=2).to_dict()
    assert one == two
    assert one["models"][0]["samples"] == params.samples


def test_regime_sets_the_output_median(table: Path) -> None:
    params = fixed(table, lout=None, pue=Point(value=1.0), regime=Regime.TEST_TIME)
    assert params.lout_distribution() == Exponential(median=5000.0)
    # with b2 = 0.25 the energy is monotone in L_out, so the median query has the median L_out
    result = run_estimate(params.model_copy(update={"samples": 200_000}))
    fit = result.models[0].fit
    at_median = float(1.0 * 0.6 * 11_300 * 5000 / fit.tps(400.0, 5000.0) / 3600)
    assert result.models[0].baseline.quantile_wh(0.5) == pytest.approx(at_median, rel=1e-2)


def test_levers_divide_energy_and_multiply(table: Path) -> None:
    levers = [parse_lever("custom:2,2"), parse_lever("custom:3,3")]
    result = run_estimate(fixed(table, levers=levers))
    base, improved = result.models[0].baseline, result.models[0].improved
    assert improved is not None
    assert improved.mean_wh == pytest.approx(base.mean_wh / 6.0, rel=1e-12)
    assert result.to_dict()["models"][0]["improved"]["median_wh"] == pytest.approx(
        base.quantile_wh(0.5) / 6.0, rel=1e-12
    )


def test_pooled_is_equal_share_mixture(table: Path) -> None:
    result = run_estimate(fixed(table, models=["toy", "big"], pool=True))
    assert result.pooled is not None
    means = [m.baseline.mean_wh for m in result.models]
    assert result.pooled.mean_wh == pytest.approx(sum(means) / 2)
    assert result.pooled.samples == 2000
    assert "pooled" in result.to_dict()


def test_json_carries_the_full_parameter_set(table: Path) -> None:
    payload = run_estimate(fixed(table, levers=[parse_lever("hardware")])).to_dict()
    params = payload["params"]
    assert params["util"] == {"kind": "point", "value": 0.6}
    assert params["levers"][0]["name"] == "hardware"
    assert params["levers"][0]["alpha"]["p95"] == pytest.approx(2.5)
    assert payload["models"][0]["fit"]["kind"] == "full"
    assert EstimateParams.model_validate(params) == fixed(table, levers=[parse_lever("hardware")])


def test_unknown_model_lists_known_ones(table: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'gpt-5'.*known: toy, big"):
        run_estimate(fixed(table, models=["gpt-5"]))


def test_query_energy_is_vectorised_over_draws(table: Path) -> None:
    fit = fit_surfaces(load_throughput_table(table))["toy"]
    lin = np.array([100.0, 1000.0])
    lout = np.array([100.0, 1000.0])
    energy = query_energy_wh(fit, NodePower(10_000, 0), lin, lout, np.ones(2), np.ones(2))
    expected = 10_000 * lout / (math.exp(8.0) * lin**-0.5 * lout**0.25) / 3600
    np.testing.assert_allclose(energy, expected, rtol=1e-12)


def test_progress_counts_draws_per_block_up_to_the_total(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Called per block (never per draw), counts only grow, the last call is the total; the
    numbers are the same with or without a callback."""
    monkeypatch.setattr(montecarlo, "BLOCK_DRAWS", montecarlo.CHUNK_DRAWS)
    params = fixed(table, models=["toy", "big"], samples=3 * montecarlo.CHUNK_DRAWS + 5)
    seen: list[Progress] = []
    told = run_estimate(params, seen.append)
    total = 2 * params.samples
    assert len(seen) == 8  # four blocks per model
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    assert seen[-1] == Progress(total, total, "draws")
    assert {p.total for p in seen} == {total}
    assert told.to_dict() == run_estimate(params).to_dict()


def test_one_pool_draws_every_model_and_the_answer_stays(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every model's blocks go to one pool at once (one block per model still runs in
    parallel across models); merged per model in block order: the serial answer, in order."""
    monkeypatch.setattr(montecarlo, "BLOCK_DRAWS", montecarlo.CHUNK_DRAWS)
    for samples in (montecarlo.CHUNK_DRAWS, 2 * montecarlo.CHUNK_DRAWS + 5):
        params = fixed(table, models=["toy", "big"], samples=samples)
        seen: list[Progress] = []
        pooled = run_estimate(params, seen.append, workers=3).to_dict()
        assert pooled == run_estimate(params, workers=1).to_dict()
        assert [p.done for p in seen] == sorted(p.done for p in seen)
        assert seen[-1].done == 2 * samples
