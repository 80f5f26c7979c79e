"""Each check on a hand-built result: one that passes and one that trips it."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from tokenergy.ingest import IngestOptions, checks
from tokenergy.ingest.checks import Status
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
)
from tokenergy.units import Basis, Boundary

OPTIONS = IngestOptions()


def result(**parts: Any) -> ServingResult:
    fields: dict[str, Any] = {
        "identity": Identity(model="m", num_gpus=1),
        "provenance": Provenance(source="test", source_format="test"),
    }
    fields.update(parts)
    return ServingResult(**fields)


def check(fn: checks.CheckFn, r: ServingResult, options: IngestOptions = OPTIONS) -> checks.Finding:
    """One check on ``r`` as row_checks runs it (with the result's benchmarked lengths)."""
    return fn(r, options, r.workload.benchmarked_lengths())


def test_total_is_sum() -> None:
    ok = result(throughput=Throughput(input_tok_s=80, output_tok_s=20, reported_total_tok_s=100))
    bad = result(throughput=Throughput(input_tok_s=80, output_tok_s=20, reported_total_tok_s=50))
    assert check(checks.total_is_sum, ok).status is Status.PASS
    assert check(checks.total_is_sum, bad).status is Status.FAIL
    assert check(checks.total_is_sum, result()).status is Status.SKIP


def test_length_ratio_uses_benchmarked_lengths() -> None:
    """8192/1024 at R = 0.8 runs 7372.5/921.5 on average: ratio 8.0005, not 8."""
    work = Workload(isl=8192, osl=1024, sampler=LengthSampler.BENCH_SERVING, range_ratio=0.8)
    ok = result(workload=work, throughput=Throughput(input_tok_s=8000.5, output_tok_s=1000))
    off = result(workload=work, throughput=Throughput(input_tok_s=9000, output_tok_s=1000))
    assert check(checks.length_ratio, ok).status is Status.PASS
    assert check(checks.length_ratio, off).status is Status.WARN


def test_disagg_identity_catches_inconsistent_per_gpu_values() -> None:
    identity = Identity(model="m", num_gpus=3, num_prefill_gpus=1, num_decode_gpus=2)
    good = {"total": 100.0, "input": 200.0, "output": 50.0}  # 1·200 + 2·50 = 3·100
    bad = {"total": 100.0, "input": 200.0, "output": 100.0}
    consistent = result(identity=identity, extras={"per_gpu_tok_s": good})
    inconsistent = result(identity=identity, extras={"per_gpu_tok_s": bad})
    assert check(checks.disagg_identity, consistent).status is Status.PASS
    assert check(checks.disagg_identity, inconsistent).status is Status.FAIL


def _little(rate: float, e2el_s: float, cap: int) -> Status:
    r = result(
        workload=Workload(concurrency=cap),
        throughput=Throughput(request_per_s=rate),
        latency=LatencyStats(e2el_s=MetricStats(mean=e2el_s)),
    )
    return check(checks.littles_law, r).status


def test_littles_law() -> None:
    assert _little(6.0, 21.0, 128) is Status.PASS  # 126 in flight of 128
    assert _little(6.0, 21.0, 64) is Status.FAIL  # 126 in flight with a cap of 64: rates wrong
    assert _little(1.0, 21.0, 128) is Status.WARN  # 21 of 128: cap never reached


def test_failure_rate_gate() -> None:
    five = result(counts=Counts(attempted=100, completed=95, failed=5))
    six = result(counts=Counts(attempted=100, completed=94, failed=6))
    none = result(counts=Counts(attempted=10, completed=0, failed=10))
    assert check(checks.failure_rate, five).status is Status.PASS
    assert check(checks.failure_rate, six).status is Status.FAIL
    assert check(checks.failure_rate, six, IngestOptions(failure_gate=0.1)).status is Status.PASS
    assert "0 of 10" in check(checks.failure_rate, none).detail
    for empty in (Counts(attempted=0, completed=0), Counts(completed=5), Counts(attempted=5)):
        assert check(checks.failure_rate, result(counts=empty)).status is Status.SKIP


def test_reciprocal_spread() -> None:
    latency = LatencyStats(intvty_tok_s=MetricStats(mean=44.0))
    bug = result(latency=latency, extras={"reported_std_intvty": 468.9})
    fine = result(latency=latency, extras={"reported_std_intvty": 4.0})
    assert check(checks.reciprocal_spread, bug).status is Status.WARN
    assert check(checks.reciprocal_spread, fine).status is Status.PASS


def test_itl_vs_tpot() -> None:
    chunked = LatencyStats(itl_s=MetricStats(mean=0.05), tpot_s=MetricStats(mean=0.017))
    streamed = LatencyStats(itl_s=MetricStats(mean=0.017), tpot_s=MetricStats(mean=0.017))
    assert check(checks.itl_vs_tpot, result(latency=chunked)).status is Status.WARN
    assert check(checks.itl_vs_tpot, result(latency=streamed)).status is Status.PASS


def test_counts_and_power_presence() -> None:
    assert check(checks.counts_present, result()).status is Status.WARN
    counted = result(counts=Counts(completed=3))
    assert check(checks.counts_present, counted).status is Status.PASS
    zero = EnergyMeasurement(
        avg_power_w=0.0, boundary=Boundary.NODE, basis=Basis.MEASURED, method="t"
    )
    assert check(checks.power_present, result(energy=zero)).status is Status.FAIL
    assert check(checks.power_present, result()).status is Status.WARN


def test_power_present_without_power_says_why_in_its_detail() -> None:
    """Energy over a window of unknown length has no power: the verdict warns and its detail
    renders (it was a TypeError formatting None as a number in JSON output and `check`)."""
    energy_only = EnergyMeasurement(
        energy_j=5.0e6, boundary=Boundary.ACCELERATOR, basis=Basis.MEASURED, method="t"
    )
    found = check(checks.power_present, result(energy=energy_only))
    assert found.status is Status.WARN
    assert found.detail == (
        "5e+06 J over an unknown window, so no power and no J/token (measured, accelerator, t)"
    )


def test_shared_verdicts_refuse_changes_and_compare_by_value() -> None:
    """A verdict without numbers is one object given to every row: changing it would change
    every row's, so it refuses; it equals a Finding of the same values."""
    first, second = (check(checks.failure_rate, result()) for _ in range(2))
    assert first is second and isinstance(first, checks.SharedFinding)
    with pytest.raises(AttributeError, match="shared status of a verdict cannot be changed"):
        first.status = Status.FAIL
    assert first.status is Status.SKIP
    assert first == checks.Finding("failure_rate", Status.SKIP, "no request counts")
    assert checks.Finding("failure_rate", Status.SKIP, "no request counts") == first
    assert first != checks.Finding("failure_rate", Status.WARN, "no request counts")
    own = checks.Finding("failure_rate", Status.SKIP, "no request counts")
    own.status = Status.WARN  # a Finding of one's own can be changed
    assert own.status is Status.WARN


def test_power_present_fails_figures_beyond_float_range() -> None:
    """Finite but absurd inputs make J/token or the window's energy infinite: the row fails."""
    power = EnergyMeasurement(
        avg_power_w=1e300, boundary=Boundary.NODE, basis=Basis.MEASURED, method="t"
    )
    tiny_rate = Throughput(input_tok_s=1e-300, output_tok_s=1e-300)
    found = check(checks.power_present, result(energy=power, throughput=tiny_rate))
    assert found.status is Status.FAIL and "not finite" in found.detail
    long = check(checks.power_present, result(energy=power, duration_s=1e308))
    assert long.status is Status.FAIL
    fine = check(checks.power_present, result(energy=power, duration_s=1.0))
    assert fine.status is Status.PASS


@pytest.mark.parametrize(
    ("per_gpu_w", "status"),
    [(700e3, Status.FAIL), (7001.0, Status.FAIL), (6999.0, Status.PASS), (14.0, Status.PASS),
     (13.9, Status.FAIL), (0.7, Status.FAIL)],
)  # fmt: skip
def test_power_present_fails_a_power_no_gpu_draws(per_gpu_w: float, status: Status) -> None:
    """Outside 2 %–10× of the GPU's TDP (H100 SXM5: 700 W) per GPU: a W/kW slip, at any
    boundary; a GPU the catalog lacks, or an unknown count, is not judged."""
    power = EnergyMeasurement(
        avg_power_w=8 * per_gpu_w, boundary=Boundary.NODE, basis=Basis.PROVISIONED, method="t"
    )
    eight_h100 = Identity(model="m", gpu="H100", num_gpus=8)
    found = check(checks.power_present, result(identity=eight_h100, energy=power))
    assert found.status is status
    if status is Status.FAIL:
        share = per_gpu_w / 700
        assert found.detail == (
            f"{per_gpu_w:.5g} W per GPU (provisioned, node, t) is {share:.3g}× the 700 W TDP "
            "of the H100 SXM5: no GPU draws that serving (a W/kW slip?)"
        )
    unknown_gpu = Identity(model="m", gpu="Gaudi9", num_gpus=8)
    assert check(checks.power_present, result(identity=unknown_gpu, energy=power)).status is (
        Status.PASS
    )
    no_count = Identity(model="m", gpu="H100")
    assert check(checks.power_present, result(identity=no_count, energy=power)).status is (
        Status.PASS
    )


def test_power_present_does_not_judge_a_power_made_from_the_catalog() -> None:
    """TDP × a host overhead and a PUE the user gave is not a unit slip (the band is for stated
    and measured powers): 12× TDP from --basis tdp --host-overhead 100% --pue 6 passes."""
    power = EnergyMeasurement(
        avg_power_w=8 * 700 * 12, boundary=Boundary.FACILITY, basis=Basis.NAMEPLATE,
        method="catalog-tdp",
    )  # fmt: skip
    eight_h100 = Identity(model="m", gpu="H100", num_gpus=8)
    found = check(checks.power_present, result(identity=eight_h100, energy=power))
    assert found.status is Status.PASS


def test_shared_verdicts_copy_pickle_and_replace_as_values() -> None:
    """A shared verdict survives copy, deepcopy and pickle (as itself or an equal one); replace
    gives a new verdict; deleting a field is refused like changing it."""
    shared = check(checks.failure_rate, result())
    assert copy.copy(shared) is shared and copy.deepcopy([shared])[0] is shared
    assert pickle.loads(pickle.dumps(shared)) == shared
    changed = dataclasses.replace(shared, status=Status.WARN)
    assert changed.status is Status.WARN and shared.status is Status.SKIP
    with_args = dataclasses.replace(shared, text="{0} requests", args=(3,))
    assert pickle.loads(pickle.dumps(with_args)).detail == "3 requests"
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del shared.text
    assert shared.text == "no request counts"


def test_model_spellings_across_a_call() -> None:
    a = result(identity=Identity(model="dsr1", model_name="deepseek-ai/DeepSeek-R1"))
    b = result(identity=Identity(model="dsr1", model_name="/models/DeepSeek-R1"))
    c = result(identity=Identity(model="gptoss", model_name="openai/gpt-oss-120b"))
    found = checks.model_spellings([a, b, c])
    assert [f.status for f in found] == [Status.WARN, Status.WARN, Status.PASS]
    assert "written 2 ways" in found[0].detail


def test_run_checks_aligns_and_worst_orders() -> None:
    findings = checks.run_checks([result(), result()], OPTIONS)
    assert len(findings) == 2
    names = [check.__name__ for check in checks.CHECKS]  # row_checks calls each by name
    assert [finding.name for finding in findings[0]] == [*names, "model_spellings"]
    assert checks.worst(findings[0]) is Status.WARN  # no counts, no power


def test_one_model_under_several_keys() -> None:
    a = result(identity=Identity(model="gptoss", model_name="openai/gpt-oss-120b"))
    b = result(identity=Identity(model="openai/gpt-oss-120b", model_name="/models/gpt-oss-120b/"))
    found = checks.model_spellings([a, b])
    assert all(f.status is Status.WARN for f in found)
    assert "several keys: gptoss, openai/gpt-oss-120b" in found[0].detail


def _details(r: ServingResult) -> dict[str, str]:
    return {f.name: f.detail for f in checks.row_checks(r, OPTIONS)}


def test_details_formatted_when_read_say_what_the_eager_texts_said() -> None:
    """Details are formatted only when read (CSV and tables never read them); they read word for
    word and digit for digit as the f-strings made per row before."""
    work = Workload(isl=8192, osl=1024, sampler=LengthSampler.BENCH_SERVING, range_ratio=0.8)
    lengths = (7372.5, 921.5)
    measured = EnergyMeasurement(
        avg_power_w=6920.0,
        boundary=Boundary.ACCELERATOR,
        basis=Basis.MEASURED,
        method="inferencex-measured",
        valid=False,
        reasons=["legacy row {braces}", "schema 1"],
    )
    r = result(
        identity=Identity(model="m", num_gpus=3, num_prefill_gpus=1, num_decode_gpus=2),
        workload=work.model_copy(update={"concurrency": 64}),
        throughput=Throughput(
            input_tok_s=8123.4567, output_tok_s=1000.25, reported_total_tok_s=9100.0
        ),
        latency=LatencyStats(
            e2el_s=MetricStats(mean=30.123),
            itl_s=MetricStats(mean=0.0512345),
            tpot_s=MetricStats(mean=0.017),
            intvty_tok_s=MetricStats(mean=44.25),
        ),
        counts=Counts(attempted=100, completed=94, failed=6),
        energy=measured,
        extras={
            "reported_std_intvty": 468.875,
            "per_gpu_tok_s": {"total": 3, "input": 2, "output": 1},
        },
    )
    total, rate = 8123.4567 + 1000.25, 1000.25 / lengths[1]
    ratio, expected_ratio = 8123.4567 / 1000.25, lengths[0] / lengths[1]
    off_ratio = abs(ratio - expected_ratio) / expected_ratio
    effective = rate * 30.123
    assert _details(r) == {
        "total_is_sum": f"input + output = {total:.6g} tok/s vs total {9100.0:.6g} "
        f"({abs(total - 9100) / 9100:.2%} off)",
        "length_ratio": f"in/out rate ratio {ratio:.4g} vs benchmarked lengths "
        f"{lengths[0]:.6g}/{lengths[1]:.6g} = {expected_ratio:.4g} ({off_ratio:.1%} off)",
        "disagg_identity": f"P·in + D·out = {4.0:.6g} vs (P+D)·total = {9.0:.6g} (P=1, D=2)",
        "littles_law": f"effective concurrency {effective:.4g} ({rate:.4g} req/s × {30.123:.4g} s)"
        f" = {effective / 64:.0%} of nominal 64: the cap was not reached",
        "failure_rate": f"{0.06:.1%} of 100 requests did not complete (gate {0.05:.0%})",
        "reciprocal_spread": f"std_intvty {468.875:.4g} > mean {44.25:.4g}: it is 1/std(TPOT); "
        "dropped",
        "itl_vs_tpot": f"mean ITL {0.0512345 * 1e3:.4g} ms = {0.0512345 / 0.017:.2f}× TPOT: "
        "server-side chunking or speculative decoding; use TPOT for per-token latency",
        "counts_present": "94 completed requests",
        "power_present": f"{6920.0:.5g} W (measured, accelerator, inferencex-measured); "
        "legacy row {braces}; schema 1",
    }
    achieved = r.model_copy(
        update={
            "throughput": Throughput(),
            "workload": Workload(concurrency=8, achieved_concurrency=9.5),
            "energy": None,
            "extras": {"power_missing": "no {basis} given"},
            "counts": Counts(attempted=7, completed=0, failed=7),
        }
    )
    details = _details(achieved)
    assert details["littles_law"] == (
        f"effective concurrency {9.5:.4g} (achieved batch as reported) = {9.5 / 8:.0%} of "
        "nominal 8: more in flight than allowed; rates wrong?"
    )
    assert details["failure_rate"] == "0 of 7 requests completed"
    assert details["power_present"] == "no energy figures: no {basis} given"
