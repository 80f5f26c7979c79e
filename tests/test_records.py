"""ServingResult: lossless JSON, derived figures computed (never stored), invariants enforced."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tokenergy.records import (
    Counts,
    EnergyMeasurement,
    Identity,
    LatencyStats,
    LengthSampler,
    MetricStats,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
    expected_mean_length,
)
from tokenergy.units import Basis, Boundary


def _b200_row() -> ServingResult:
    """gpt-oss-120b fp4 on 1×B200, conc 128, 8192/1024 at an all-in 2.17 kW (InferenceX-like)."""
    return ServingResult(
        identity=Identity(model="gptoss", precision="fp4", engine="vllm", gpu="B200", num_gpus=1),
        workload=Workload(
            isl=8192,
            osl=1024,
            sampler=LengthSampler.BENCH_SERVING,
            range_ratio=0.8,
            concurrency=128,
        ),
        throughput=Throughput(input_tok_s=44000.0, output_tok_s=4940.0),
        latency=LatencyStats(e2el_s=MetricStats(mean=20.0, median=19.0)),
        energy=EnergyMeasurement(
            avg_power_w=2170.0,
            boundary=Boundary.FACILITY,
            basis=Basis.PROVISIONED,
            method="catalog-allin",
        ),
        provenance=Provenance(source="x.json", source_format="inferencex", row=3),
    )


def test_json_round_trip_is_lossless() -> None:
    result = _b200_row()
    again = ServingResult.model_validate_json(result.model_dump_json())
    assert again == result
    assert again.model_dump() == result.model_dump()


def test_list_defaults_are_fresh_and_stay_out_of_the_schema() -> None:
    """The records' list default factory (energy.empty_list) gives each record its own list and,
    as ``default_factory=list`` did, no default in the JSON schema."""
    first, second = _b200_row(), _b200_row()
    assert first.energy is not None and second.energy is not None
    first.energy.reasons.append("x")
    first.provenance.notes.append("y")
    assert second.energy.reasons == [] and second.provenance.notes == []
    assert second.energy.steps == [] and second.energy.devices == []
    schema = ServingResult.model_json_schema()["$defs"]
    for model, field in (
        ("EnergyMeasurement", "devices"),
        ("EnergyMeasurement", "steps"),
        ("EnergyMeasurement", "reasons"),
        ("Provenance", "notes"),
    ):
        assert "default" not in schema[model]["properties"][field]


def test_derived_figures_by_hand() -> None:
    result = _b200_row()
    # J/token = 2170 / (44000 + 4940) = 0.044340
    assert result.j_per_token == pytest.approx(2170 / 48940)
    assert result.j_per_output_token == pytest.approx(2170 / 4940)
    # nominal: 9216 tokens; benchmarked: (6553+8192)/2 + (819+1024)/2 = 8294 tokens
    assert result.tokens_per_query_nominal == 9216
    assert result.tokens_per_query_benchmarked == pytest.approx(8294.0)
    assert result.wh_per_query_nominal == pytest.approx(2170 / 48940 * 9216 / 3600)
    assert result.wh_per_query_benchmarked == pytest.approx(2170 / 48940 * 8294 / 3600)
    assert result.wh_per_query_measured is None  # no counts, no window: not measurable
    assert "j_per_token" not in result.model_dump()


def test_measured_wh_per_query_uses_window_energy_and_counts() -> None:
    result = _b200_row().model_copy(
        update={
            "counts": Counts(attempted=10, completed=8, failed=2, incomplete=0),
            "duration_s": 100.0,
            "energy": EnergyMeasurement(
                energy_j=36000.0,
                boundary=Boundary.ACCELERATOR,
                basis=Basis.MEASURED,
                method="nvml-counter",
            ),
        }
    )
    assert result.power_w == 360.0
    assert result.wh_per_query_measured == pytest.approx(36000 / 8 / 3600)
    assert result.wh_per_attempted_query == pytest.approx(36000 / 10 / 3600)
    assert result.counts.failure_rate == pytest.approx(0.2)


def test_sampler_means() -> None:
    assert expected_mean_length(1024, LengthSampler.BENCH_SERVING, 0.8) == 921.5
    assert expected_mean_length(1024, LengthSampler.VLLM, 0.8) == 1024.0
    assert expected_mean_length(1024, LengthSampler.FIXED, None) == 1024.0
    assert Workload(isl=10, osl=10).benchmarked_lengths() is None  # unknown sampler: no guess
    measured = Workload(isl=10, osl=10, mean_input_len=9.5, mean_output_len=8.0)
    assert measured.benchmarked_lengths() == (9.5, 8.0)


def test_invariants() -> None:
    with pytest.raises(ValidationError, match="attempted"):
        Counts(attempted=10, completed=5, failed=1, incomplete=0)
    with pytest.raises(ValidationError, match="num_prefill_gpus"):
        Identity(model="m", num_gpus=16, num_prefill_gpus=8, num_decode_gpus=4)
    with pytest.raises(ValidationError):
        EnergyMeasurement(boundary=Boundary.NODE, basis=Basis.MEASURED, method="x")
    with pytest.raises(ValidationError):
        Throughput(output_tok_s=-1.0)
    assert Throughput(reported_total_tok_s=10.0).total_tok_s == 10.0
    assert Identity(model="m", num_gpus=16, num_prefill_gpus=8, num_decode_gpus=8).disaggregated
    # partial counts and a split without its total have nothing to add up
    assert Counts(attempted=10, completed=5, failed=1).completed == 5
    assert Identity(model="m", num_prefill_gpus=8, num_decode_gpus=4).disaggregated


def test_a_simulated_result_is_never_measured() -> None:
    """A meter reading the simulator's counter measures its power model: basis 'simulated', on
    construction, on assignment (bench attaches the whole run's energy later) and on reload."""
    energy = EnergyMeasurement(
        energy_j=3600.0, boundary=Boundary.ACCELERATOR, basis=Basis.MEASURED, method="dcgm-counter"
    )
    simulated = Provenance(source="http://127.0.0.1:8000", source_format="x", simulated=True)
    result = ServingResult(identity=Identity(model="m"), energy=energy, provenance=simulated)
    assert result.energy is not None and result.energy.basis is Basis.SIMULATED
    assert result.simulated and result.summary()["basis"] == "simulated"
    assert result.summary()["simulated"] is True
    later = ServingResult(identity=Identity(model="m"), provenance=simulated)
    later.energy = energy.model_copy(update={"basis": Basis.MEASURED})
    assert later.energy.basis is Basis.SIMULATED
    stored = result.model_dump(mode="json")
    stored["energy"]["basis"] = "measured"  # a run.json written before the basis existed
    assert ServingResult.model_validate(stored).energy.basis is Basis.SIMULATED  # type: ignore[union-attr]
    real = ServingResult(
        identity=Identity(model="m"),
        energy=energy.model_copy(update={"basis": Basis.MEASURED}),
        provenance=Provenance(source="gpu-host", source_format="x"),
    )
    assert real.energy is not None and real.energy.basis is Basis.MEASURED
