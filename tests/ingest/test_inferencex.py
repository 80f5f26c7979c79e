"""InferenceX processed rows: the public golden and a hand-computed disaggregated row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult
from tokenergy.units import Basis, Boundary

ALLIN = IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))


def _pick(results: list[ServingResult], **want: object) -> ServingResult:
    def matches(r: ServingResult) -> bool:
        summary = r.summary()
        return all(summary[k] == v for k, v in want.items())

    found = [r for r in results if matches(r)]
    assert len(found) == 1, f"{len(found)} rows match {want}"
    return found[0]


def test_public_golden_gptoss_b200_allin(shared_data: Path) -> None:
    """InferenceX run 20218553330: gpt-oss-120b fp4, 1×B200, vLLM, conc 128, 8192/1024."""
    path = shared_data / "inferencex/agg/run_20218553330.json"
    results = load_results([path], ALLIN).results
    row = _pick(
        results,
        model="gptoss",
        precision="fp4",
        gpu="B200",
        engine="vllm",
        num_gpus=1,
        batch_cap=128,
        isl=8192,
        osl=1024,
    )
    assert row.j_per_token == pytest.approx(0.04434, rel=5e-4)
    assert row.wh_per_query_nominal == pytest.approx(0.1135, rel=5e-4)
    assert row.wh_per_query_benchmarked == pytest.approx(0.1022, rel=5e-4)
    # the arithmetic behind it: 2170 W / 48 939.36 tok/s; benchmarked lengths of the
    # bench-serving sampler at R = 0.8: (6553 + 8192)/2 + (819 + 1024)/2 = 8294 tokens
    assert row.tokens_per_query_benchmarked == 8294
    assert row.power_w == 2170.0
    assert row.energy is not None
    assert (row.energy.basis, row.energy.boundary) == (Basis.PROVISIONED, Boundary.FACILITY)


def test_disaggregated_row_recovers_absolute_rates(shared_data: Path) -> None:
    """run_20815591275 row 0: DeepSeek-R1 fp8, MI355X, sglang-disagg, P = 8, D = 16, conc 2048.

    Per-GPU values: total 1730.701161447344 (÷24), input 2595.4824890426285 (÷8 prefill),
    output 1298.3104976497018 (÷16 decode).
      input  = 2595.4824890426285 × 8  = 20 763.859912 tok/s
      output = 1298.3104976497018 × 16 = 20 772.967962 tok/s
      total  = 1730.701161447344 × 24  = 41 536.827875 tok/s  (= input + output)
    All-in MI355X 2.65 kW × 24 GPUs = 63 600 W → 63 600 / 41 536.827875 = 1.531171 J/token.
    Nominal 1024 + 1024 = 2048 tokens → 1.531171 × 2048 / 3600 = 0.871066 Wh/query;
    benchmarked (819 + 1024)/2 × 2 = 1843 tokens → 0.783875 Wh/query.
    The wrong way (adding per-GPU input and output, × 24) would give 93 451 tok/s.
    """
    path = shared_data / "inferencex/agg/run_20815591275.json"
    row = load_results([path], ALLIN).results[0]
    assert (row.identity.num_prefill_gpus, row.identity.num_decode_gpus) == (8, 16)
    assert row.throughput.input_tok_s == pytest.approx(20763.859912, rel=1e-9)
    assert row.throughput.output_tok_s == pytest.approx(20772.967962, rel=1e-9)
    assert row.throughput.total_tok_s == pytest.approx(41536.827875, rel=1e-9)
    assert row.power_w == pytest.approx(63600.0)
    assert row.j_per_token == pytest.approx(1.531171, rel=1e-6)
    assert row.wh_per_query_nominal == pytest.approx(0.871066, rel=1e-6)
    assert row.wh_per_query_benchmarked == pytest.approx(0.783875, rel=1e-6)


def _row(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "hw": "b200-trt",
        "conc": 4,
        "model": "openai/gpt-oss-120b",
        "infmax_model_prefix": "gptoss",
        "framework": "trt",
        "precision": "fp4",
        "isl": 1024,
        "osl": 1024,
        "tp": 2,
        "ep": 1,
        "dp_attention": "false",
        "tput_per_gpu": 1000.0,
        "input_tput_per_gpu": 500.0,
        "output_tput_per_gpu": 500.0,
        "mean_e2el": 10.0,
        "mean_tpot": 0.01,
        "mean_intvty": 100.0,
    }
    base.update(overrides)
    return base


def test_single_node_scales_by_tp_pp_pcp(tmp_path: Path) -> None:
    path = tmp_path / "row.json"
    path.write_text(json.dumps(_row(pp=2, pcp_size=2)))
    row = load_results([path], ALLIN).results[0]
    assert row.identity.num_gpus == 8  # tp 2 × pp 2 × pcp 2
    assert row.throughput.total_tok_s == 8000.0
    assert row.identity.gpu == "B200"  # 'b200-trt' resolves through the catalog


def test_measured_power_row_is_used_over_the_user_basis(tmp_path: Path) -> None:
    """Newer rows with validated measured power: accelerator boundary, measured basis.

    avg_power_w is per GPU: 600 W × 2 GPUs = 1200 W; total 2000 tok/s → 0.6 J/token.
    """
    path = tmp_path / "row.json"
    fields = {
        "power_valid": 1,
        "power_metric_schema_version": 2,
        "avg_power_w": 600.0,
        "joules_per_successful_query": 1234.0,
    }
    path.write_text(json.dumps([_row(**fields)]))
    row = load_results([path], ALLIN).results[0]
    assert row.energy is not None
    assert (row.energy.basis, row.energy.boundary) == (Basis.MEASURED, Boundary.ACCELERATOR)
    assert row.j_per_token == pytest.approx(0.6)
    assert row.extras["energy_per_query_j"] == 1234.0


def test_invalid_measurement_falls_back_to_the_stated_basis(tmp_path: Path) -> None:
    path = tmp_path / "row.json"
    path.write_text(json.dumps(_row(power_valid=0, avg_power_w=600.0)))
    ingested = load_results([path], ALLIN)
    row = ingested.results[0]
    assert row.energy is not None and row.energy.basis is Basis.PROVISIONED
    power = {f.name: f for f in ingested.checks[0]}["power_present"]
    assert power.status == "warn" and "power_valid=0" in power.detail
    assert any("power_valid=0" in note for note in row.provenance.notes)


def test_unknown_power_schema_marks_the_measurement_invalid(tmp_path: Path) -> None:
    path = tmp_path / "row.json"
    fields = {"power_valid": 1, "power_metric_schema_version": 1, "avg_power_w": 600.0}
    path.write_text(json.dumps(_row(**fields)))
    ingested = load_results([path], ALLIN)
    energy = ingested.results[0].energy
    assert energy is not None and energy.basis is Basis.MEASURED and not energy.valid
    assert "schema_version 1" in energy.reasons[0]
    power = {f.name: f for f in ingested.checks[0]}["power_present"]
    assert power.status == "warn"
    notes = ingested.results[0].provenance.notes
    assert any("marked invalid" in n and "schema_version 1" in n for n in notes)


def test_without_a_basis_energy_is_absent_and_said_why(tmp_path: Path) -> None:
    path = tmp_path / "row.json"
    path.write_text(json.dumps(_row()))
    ingested = load_results([path])
    row = ingested.results[0]
    assert row.energy is None and row.j_per_token is None
    power = {f.name: f for f in ingested.checks[0]}["power_present"]
    assert power.status == "warn" and "`basis`" in power.detail  # the CLI shows --basis


def test_rates_pair_with_their_own_tokens(tmp_path: Path) -> None:
    """8192/1024 row on 2 GPUs: total 900/GPU, input 800/GPU, output 100/GPU → 1 800, 1 600, 200.

    At 2 × 2 170 W all-in: J/token 4 340/1 800, J/output-token 4 340/200 = 21.7. Nominal Wh/query
    pairs the total rate with 9 216 tokens: 4 340 × 9 216 / 1 800 / 3600 = 6.1724 Wh; the output
    rate with 1 024 output tokens gives 4 340 × 1 024 / 200 / 3600 = 6.1724 Wh — the same, as
    the rates stand 8:1 like the lengths. Output rate × total tokens would be 9× too high.
    """
    path = tmp_path / "row.json"
    row_data = _row(
        isl=8192,
        osl=1024,
        tput_per_gpu=900.0,
        input_tput_per_gpu=800.0,
        output_tput_per_gpu=100.0,
    )
    path.write_text(json.dumps(row_data))
    row = load_results([path], ALLIN).results[0]
    assert (row.throughput.total_tok_s, row.throughput.output_tok_s) == (1800.0, 200.0)
    assert row.j_per_output_token == pytest.approx(21.7)
    assert row.wh_per_query_nominal == pytest.approx(4340 * 9216 / 1800 / 3600, rel=1e-12)
    assert row.wh_per_query_nominal == pytest.approx(4340 * 1024 / 200 / 3600, rel=1e-12)


def test_each_row_has_its_own_energy_record(tmp_path: Path) -> None:
    """Rows of one deployment share the resolved stated power (made once), never the record: a
    change to one result's energy touches neither the other rows nor later ingests."""
    power = PowerSpec(power_per_gpu_w=700.0, boundary=Boundary.ACCELERATOR, host_overhead=0.1)
    options = IngestOptions(power=power)
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([_row(), _row(conc=8)]))
    first, second = load_results([path], options).results
    assert first.energy is not None and second.energy is not None
    assert first.energy == second.energy and first.energy is not second.energy
    assert first.energy.steps[0] is not second.energy.steps[0]
    first.energy.reasons.append("changed")
    first.energy.steps[0].factor = 2.0
    first.energy.avg_power_w = 1.0
    assert second.energy.reasons == [] and second.energy.steps[0].factor == pytest.approx(1.1)
    again = load_results([path], options).results[0]
    assert again.energy == second.energy


def _refusal(tmp_path: Path, **overrides: object) -> IngestError:
    """The error a one-row file with ``overrides`` raises (keep_going off: it propagates)."""
    path = tmp_path / "row.json"
    path.write_text(json.dumps([_row(**overrides)]))
    with pytest.raises(IngestError) as caught:
        load_results([path], ALLIN, keep_going=False)
    assert caught.value.file == str(path)
    return caught.value


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"pp": 1e308}, "row 0 pp"),  # (was reported as tp: the product overflowed)
        ({"pcp_size": 1e308}, "row 0 pcp_size"),
        ({"tp": 1e308}, "row 0 tp"),
        ({"tp": 1e300, "pp": 1e300}, "row 0 tp"),
        ({"tp": 2**53}, "row 0 tp"),  # an exact JSON integer, one past the exact floats
        ({"isl": 1e308}, "row 0 isl"),  # (was an OverflowError traceback in the lengths)
        ({"osl": 1e308}, "row 0 osl"),
        ({"num_prefill_gpu": 1e308, "num_decode_gpu": 16}, "row 0 num_prefill_gpu"),
        ({"num_prefill_gpu": 8, "num_decode_gpu": 1.7e308}, "row 0 num_decode_gpu"),
    ],
)
def test_a_whole_number_beyond_2_to_the_53_names_its_own_column(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    """1e308 is a whole number, but no count: each integer column refuses it by name."""
    error = _refusal(tmp_path, **overrides)
    assert error.field == field and "number out of range" in error.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tp": 2**40, "pp": 2**40}, "row 0 tp × pp"),
        ({"tp": 2**20, "pp": 2**20, "pcp_size": 2**20}, "row 0 tp × pp × pcp_size"),
        ({"tp": 2**30, "pcp_size": 2**30}, "row 0 tp × pcp_size"),
        (
            {"num_prefill_gpu": 2**52, "num_decode_gpu": 2**52},
            "row 0 num_prefill_gpu + num_decode_gpu",
        ),
    ],
)
def test_a_gpu_count_of_several_columns_beyond_2_to_the_53_names_them(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    """Each column is a valid integer; the count made of them is refused like one column."""
    error = _refusal(tmp_path, **overrides)
    assert error.field == field and "GPU count out of range" in error.message


def test_counts_just_below_2_to_the_53_still_read(tmp_path: Path) -> None:
    """The limit refuses no real count: a whole float 2**53 - 1 and a product 2**52 both read."""
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([_row(tp=float(2**53 - 1)), _row(tp=2**26, pp=2**26)]))
    results = load_results([path], ALLIN, keep_going=False).results
    assert [r.identity.num_gpus for r in results] == [2**53 - 1, 2**52]
    assert results[0].identity.tp == 2**53 - 1 and type(results[0].identity.tp) is int


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tput_per_gpu": 1e308}, "row 0 tput_per_gpu"),
        ({"input_tput_per_gpu": 1e308}, "row 0 input_tput_per_gpu"),
        ({"output_tput_per_gpu": 1.7976931348623157e308}, "row 0 output_tput_per_gpu"),
        (  # each deployment rate finite (tp 1), their sum (the total rate) not
            {"tp": 1, "input_tput_per_gpu": 1e308, "output_tput_per_gpu": 1e308},
            "row 0 input_tput_per_gpu + output_tput_per_gpu",
        ),
        (
            {"num_prefill_gpu": 8, "num_decode_gpu": 16, "input_tput_per_gpu": 1e308},
            "row 0 input_tput_per_gpu",
        ),
    ],
)
def test_a_per_gpu_rate_scaled_beyond_float_range_names_its_column(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    """1e308 tok/s per GPU × 2 GPUs is inf: refused by the adapter, not left for J/token to
    divide by (a UnitError naming no file, which stopped the whole ingest)."""
    error = _refusal(tmp_path, **overrides)
    assert error.field == field and "rate out of range" in error.message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"avg_power_w": 1e308, "power_valid": 1}, "row 0 avg_power_w"),
        ({"joules_per_total_token": 1e308, "power_valid": 1}, "row 0 joules_per_total_token"),
        ({"joules_per_output_token": 1e306, "power_valid": 1}, "row 0 joules_per_output_token"),
    ],
)
def test_a_measured_power_scaled_beyond_float_range_names_its_column(
    tmp_path: Path, overrides: dict[str, object], field: str
) -> None:
    """A power of inf W is no measurement (its J/token and Wh/query would print as inf)."""
    error = _refusal(tmp_path, **overrides)
    assert error.field == field and "power out of range" in error.message
