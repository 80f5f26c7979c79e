"""Peer tools' result files (../shared/data/peers): guidellm, AIPerf, llmperf, SGLang JSON lines,
and GenAI-Perf (a file constructed from its documented field set). Every expected figure is
worked out by hand from the file's own fields, in the docstrings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.ingest.sources import Document
from tokenergy.power import PowerSpec
from tokenergy.records import ServingResult
from tokenergy.units import Basis, Boundary

PEERS = "peers"
DATA = Path(__file__).parent / "data"
ONE_KW = IngestOptions(power=PowerSpec(power_w=1000.0))


def _only(paths: list[Path], options: IngestOptions | None = None) -> ServingResult:
    ingested = load_results(paths, options)
    assert not ingested.failed, ingested.failed
    assert len(ingested.results) == 1
    return ingested.results[0]


# --- AIPerf ----------------------------------------------------------------------------------


def test_aiperf_summary_energy_is_measured_accelerator(shared_data: Path) -> None:
    """profile_export_aiperf.json: nvidia_total_gpu_energy 2286.34399999994 J over
    benchmark_duration 2.51451776 s; total_osl 888, total_isl 5120, 40 of 40 requests.

    J/output token = 2286.344 / 888 = 2.574712 J (AIPerf: 2574.7117 mJ/token);
    J/total token = 2286.344 / (5120 + 888) = 0.380550 J (AIPerf: 380.5499 mJ/token);
    power = 2286.344 / 2.51451776 = 909.2574 W; output rate = 888 / 2.51451776 = 353.1492 tok/s;
    Wh/query = 2286.344 / 40 / 3600 = 0.01587739 Wh; mean lengths 5120/40 = 128, 888/40 = 22.2.
    """
    row = _only([shared_data / PEERS / "aiperf-0.13" / "profile_export_aiperf.json"])
    assert row.energy is not None
    assert (row.energy.basis, row.energy.boundary) == (Basis.MEASURED, Boundary.ACCELERATOR)
    assert row.energy.valid and row.energy.energy_j == pytest.approx(2286.34399999994)
    assert row.j_per_output_token == pytest.approx(2286.34399999994 / 888)
    assert round(row.j_per_output_token or 0, 3) == 2.575
    assert row.j_per_token == pytest.approx(2286.34399999994 / 6008)
    assert row.power_w == pytest.approx(909.2574, rel=1e-6)
    assert row.throughput.output_tok_s == pytest.approx(353.1492, rel=1e-6)
    assert row.wh_per_query_measured == pytest.approx(0.01587739, rel=1e-6)
    assert row.workload.benchmarked_lengths() == (128.0, 22.2)
    assert (row.counts.attempted, row.counts.completed, row.counts.failed) == (40, 40, 0)
    assert row.identity.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert (row.identity.gpu, row.identity.num_gpus) == ("H100", 1)
    assert (row.workload.isl, row.workload.osl, row.workload.concurrency) == (128, 64, 4)
    assert row.latency.ttft_s is not None and row.latency.ttft_s.median == pytest.approx(
        0.014065382
    )
    assert row.latency.tpot_s is not None and row.latency.tpot_s.mean == pytest.approx(
        0.009714889647164643
    )
    # the server counted other tokens (its tokenizer): kept, not used
    assert row.extras["server_usage_tokens"] == {"prompt": 12266.0, "completion": 2267.0}


def test_aiperf_csv_and_records_agree_with_the_summary(shared_data: Path, tmp_path: Path) -> None:
    """profile_export_aiperf.csv rounds to 2 decimals: Total GPU Energy 2286.34 J, Total Output
    Sequence Length 888 → 2286.34 / 888 = 2.574707 J/output token.
    profile_export.jsonl: 40 profiling records, first request_start_ns 1795899472432851915…
    span (max end − min start) = 2.514517637 s; Σ ISL = 40 × 128 = 5120, Σ OSL = 888 →
    output rate 888 / 2.514517637 = 353.1492 tok/s; no energy in the records."""
    source = shared_data / PEERS / "aiperf-0.13"
    csv_row = _only([source / "profile_export_aiperf.csv"])
    assert csv_row.energy is not None and csv_row.energy.basis is Basis.MEASURED
    assert csv_row.j_per_output_token == pytest.approx(2286.34 / 888)
    assert csv_row.counts.completed == 40 and csv_row.duration_s == 2.51
    records = _only([source / "profile_export.jsonl"])
    assert records.duration_s == pytest.approx(2.514517637, rel=1e-9)
    assert records.throughput.output_tok_s == pytest.approx(888 / 2.514517637)
    assert records.workload.benchmarked_lengths() == (128.0, 22.2)
    assert records.counts.attempted == 40 and records.energy is None
    assert records.latency.intvty_tok_s is not None  # per-request spread, not 1/std


def test_aiperf_artifact_directory_is_one_run(shared_data: Path) -> None:
    ingested = load_results([shared_data / PEERS / "aiperf-0.13"])
    assert [r.provenance.source_format for r in ingested.results] == ["aiperf"]
    assert not ingested.failed
    reasons = {Path(s.name).name: s.reason for s in ingested.skipped}
    assert "same run" in reasons["profile_export.jsonl"]
    assert "same run" in reasons["profile_export_aiperf.csv"]
    assert "telemetry" in reasons["gpu_telemetry_export.jsonl"]


def test_aiperf_disagreeing_energy_per_token_is_flagged(shared_data: Path, tmp_path: Path) -> None:
    data = json.loads((shared_data / PEERS / "aiperf-0.13/profile_export_aiperf.json").read_text())
    data["nvidia_energy_per_output_token"]["avg"] = 1000.0
    path = tmp_path / "profile_export_aiperf.json"
    path.write_text(json.dumps(data))
    row = _only([path])
    assert row.energy is not None and not row.energy.valid
    assert "1000 mJ/output token" in row.energy.reasons[0]


# --- guidellm --------------------------------------------------------------------------------


def test_guidellm_json_yaml_csv_hand_computed(shared_data: Path) -> None:
    """benchmarks.json, one benchmark (concurrent@4): duration 2.637983560562134 s; request
    totals 40 successful, 0 errored, 0 incomplete, 40 total; prompt tokens Σ 13446, output Σ 2560.

    input rate 13446 / 2.637983560562134 = 5097.0750 tok/s; output 2560 / 2.63798… = 970.4382;
    at a stated 1 kW: J/token = 1000 / (5097.0750 + 970.4382) = 1000 / 6067.5132 = 0.1648122 J;
    Wh/query = 1000 × 2.637983560562134 / 40 / 3600 = 0.01831933 Wh;
    mean lengths 13446 / 40 = 336.15, 2560 / 40 = 64; TTFT median 18.578290939331055 ms;
    inter_token_latency median 3.526388652740963 ms is vLLM's TPOT."""
    folder = shared_data / PEERS / "guidellm-0.8.1"
    rows = [_only([folder / f"benchmarks.{ext}"], ONE_KW) for ext in ("json", "yaml", "csv")]
    for row in rows:
        assert row.identity.model == "meta-llama/Llama-3.1-8B-Instruct"
        assert row.workload.concurrency == 4
        assert (row.counts.attempted, row.counts.completed) == (40, 40)
        assert (row.counts.failed, row.counts.incomplete) == (0, 0)
        assert row.duration_s == pytest.approx(2.637983560562134)
        assert row.throughput.input_tok_s == pytest.approx(5097.0750, rel=1e-7)
        assert row.throughput.output_tok_s == pytest.approx(970.4382, rel=1e-7)
        assert row.j_per_token == pytest.approx(0.1648122, rel=1e-6)
        assert row.wh_per_query_measured == pytest.approx(0.01831933, rel=1e-6)
        benchmarked = row.workload.benchmarked_lengths()
        assert benchmarked == pytest.approx((336.15, 64.0))
        assert row.latency.ttft_s is not None and row.latency.tpot_s is not None
        assert row.latency.ttft_s.median == pytest.approx(0.018578290939331055)
        assert row.latency.ttft_s.p90 == pytest.approx(0.026949405670166016)
        assert row.latency.tpot_s.median == pytest.approx(0.003526388652740963)
        assert row.provenance.tool == "guidellm"
    assert (rows[0].workload.isl, rows[0].workload.osl) == (128, 64)  # synthetic data config


def test_guidellm_every_benchmark_and_failures_kept(shared_data: Path, tmp_path: Path) -> None:
    """A report with two benchmarks, the second with 3 errored + 2 incomplete of 45."""
    data = json.loads((shared_data / PEERS / "guidellm-0.8.1/benchmarks.json").read_text())
    second = json.loads(json.dumps(data["benchmarks"][0]))
    second["metrics"]["request_totals"] = {
        "successful": 40,
        "errored": 3,
        "incomplete": 2,
        "total": 45,
    }
    second["config"]["strategy"] = {"type_": "constant", "rate": 5.0}
    data["benchmarks"].append(second)
    path = tmp_path / "two.json"
    path.write_text(json.dumps(data))
    first, failing = load_results([path], ONE_KW).results
    assert (first.provenance.row, failing.provenance.row) == (0, 1)
    assert (failing.counts.attempted, failing.counts.failed, failing.counts.incomplete) == (
        45,
        3,
        2,
    )
    assert failing.workload.request_rate == 5.0 and failing.workload.concurrency is None
    assert failing.wh_per_attempted_query == pytest.approx(1000 * 2.637983560562134 / 45 / 3600)
    data["benchmarks"][0]["metrics"]["request_totals"]["total"] = 41
    path.write_text(json.dumps(data))
    with pytest.raises(IngestError, match=r"row 0 metrics.request_totals.total.*41"):
        load_results([path], keep_going=False)


def test_guidellm_twins_in_a_directory_are_read_once(shared_data: Path) -> None:
    ingested = load_results([shared_data / PEERS / "guidellm-0.8.1"])
    assert len(ingested.results) == 1
    assert sorted(Path(s.name).name for s in ingested.skipped) == [
        "benchmarks.csv",
        "benchmarks.yaml",
    ]


def _yaml_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the YAML documents parsed from now on, in order."""
    parsed: list[str] = []
    original = Document._yaml

    def counted(document: Document) -> object:
        parsed.append(Path(document.name).name)
        return original(document)

    monkeypatch.setattr(Document, "_yaml", counted)
    return parsed


def test_guidellm_yaml_twin_is_skipped_before_it_is_parsed(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The JSON report beside it tells the YAML is its twin: the YAML is never parsed (its
    parsing was a quarter of ingesting the shared data); a YAML beside a JSON that is not a
    guidellm report is still parsed."""
    parsed = _yaml_parses(monkeypatch)
    ingested = load_results([shared_data / PEERS / "guidellm-0.8.1"])
    assert len(ingested.results) == 1 and parsed == []
    reasons = {Path(s.name).name: s.reason for s in ingested.skipped}
    assert (
        reasons["benchmarks.yaml"]
        == "guidellm: same benchmarks as benchmarks.json (read from there)"
    )
    folder = tmp_path / "other"
    folder.mkdir()
    shutil.copy(shared_data / PEERS / "guidellm-0.8.1/benchmarks.yaml", folder / "run.yaml")
    (folder / "run.json").write_text('{"not": "guidellm"}')
    ingested = load_results([folder / "run.yaml"])  # named: read whatever sits beside it
    assert parsed == ["run.yaml"] and len(ingested.results) == 1
    parsed.clear()
    load_results([folder])
    assert parsed == ["run.yaml"]  # the twin is no guidellm report: the YAML is parsed


# --- llmperf ---------------------------------------------------------------------------------


def test_llmperf_summary_hand_computed(shared_data: Path) -> None:
    """50 started, 50 completed, 0 errors; 202.3737797988183 completed/min →
    window = 50 × 60 / 202.3737797988183 = 14.824055 s; output rate 335.40081105324157 tok/s
    (× window = 4972.0 = 99.44 × 50 ✓); input rate = 259.78 × 50 / 14.824055 = 876.2110 tok/s.
    At 1 kW: J/token = 1000 / (876.2110 + 335.4008) = 0.8253469 J;
    Wh/query = 1000 × 14.824055 / 50 / 3600 = 0.08235586 Wh."""
    path = (
        shared_data / PEERS / "llmperf" / "tinyLlama-TinyLlama-1-1B-Chat-v1-0_256_100_summary.json"
    )
    row = _only([path], ONE_KW)
    assert row.identity.model == "tinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert row.duration_s == pytest.approx(14.824055, rel=1e-7)
    assert row.throughput.output_tok_s * row.duration_s == pytest.approx(99.44 * 50)  # type: ignore[operator]
    assert row.throughput.input_tok_s == pytest.approx(876.2110, rel=1e-6)
    assert row.j_per_token == pytest.approx(0.8253469, rel=1e-6)
    assert row.wh_per_query_measured == pytest.approx(0.08235586, rel=1e-6)
    assert (row.counts.attempted, row.counts.completed, row.counts.failed) == (50, 50, 0)
    assert (row.workload.isl, row.workload.osl, row.workload.concurrency) == (256, 100, 5)
    assert row.latency.ttft_s is not None and row.latency.ttft_s.p99 == pytest.approx(
        0.5874693769191432
    )


# --- SGLang bench_serving JSON lines ---------------------------------------------------------


def test_sglang_jsonl_every_line_is_a_run(shared_data: Path, tmp_path: Path) -> None:
    """Each line: 1000 completed over 204.53694480800186 s, 302118 input and 195775 output tokens
    → 1477.0828 and 957.1620 tok/s (the file's input_throughput/output_throughput agree);
    at 1 kW J/token = 1000 / 2434.2448 = 0.4108050 J; Wh/query = 1000 × 204.536945 / 1000 /
    3600 = 0.05681582 Wh. No num_prompts in SGLang lines: attempted stays unknown."""
    source = shared_data / PEERS / "sglang-bench-serving" / "sglang_two.jsonl"
    for path in (source, shutil.copy(source, tmp_path / "sglang.json")):
        rows = load_results([path], ONE_KW).results
        assert [r.provenance.row for r in rows] == [0, 1]
        for row in rows:
            assert row.identity.engine == "sglang"
            assert row.throughput.input_tok_s == pytest.approx(1477.0827846460556)
            assert row.throughput.output_tok_s == pytest.approx(957.162043188693)
            assert row.j_per_token == pytest.approx(0.4108050, rel=1e-6)
            assert row.wh_per_query_measured == pytest.approx(0.05681582, rel=1e-6)
            assert row.counts.completed == 1000 and row.counts.attempted is None
            e2el = row.latency.e2el_s  # SGLang names it e2e_latency (vLLM: e2el)
            assert e2el is not None and e2el.mean == pytest.approx(2.409499004891637)
            assert e2el.median == pytest.approx(1.5378948565048631)
            assert e2el.p99 == pytest.approx(9.81389673267491)
    directory = tmp_path / "dir"
    directory.mkdir()
    shutil.copy(source, directory / "runs.jsonl")
    assert len(load_results([directory]).results) == 2  # .jsonl is read inside directories


def test_bad_jsonl_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "runs.jsonl"
    good = {"completed": 1, "duration": 1.0, "total_input_tokens": 1, "total_output_tokens": 1}
    bad = dict(good, duration="slow")
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n{oops\n")
    with pytest.raises(IngestError, match="line 3"):
        load_results([path], keep_going=False)
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(IngestError, match=r"line 2 duration: expected a number"):
        load_results([path], keep_going=False)


# --- GenAI-Perf (constructed from its documented fields) -------------------------------------


def test_genai_perf_constructed_from_docs() -> None:
    """data/profile_export_genai_perf.json (constructed, see data/README.md): GPU power
    400 + 350 = 750 W (gpu_power_usage avg per GPU), 2.5 req/s, 750 output tok/s, mean ISL 550,
    OSL 300. Input rate = 2.5 × 550 = 1375 tok/s; J/output token = 750 / 750 = 1.0 J;
    J/token = 750 / (1375 + 750) = 0.3529412 J; Wh/query = 0.3529412 × 850 / 3600 = 0.08333 Wh
    (= 750 W / 2.5 req/s / 3600: the two routes agree)."""
    row = _only([DATA / "profile_export_genai_perf.json"])
    assert row.energy is not None
    assert (row.energy.basis, row.energy.boundary) == (Basis.MEASURED, Boundary.ACCELERATOR)
    assert row.identity.num_gpus == 2 and row.identity.engine is None  # service_kind openai
    assert row.j_per_output_token == pytest.approx(1.0)
    assert row.j_per_token == pytest.approx(750 / 2125)
    assert row.wh_per_query_benchmarked == pytest.approx(750 / 2.5 / 3600)
    assert row.wh_per_query_measured is None  # no counts, no window in GenAI-Perf's JSON
    assert (row.workload.isl, row.workload.osl, row.workload.concurrency) == (550, 300, 4)
    assert row.latency.tpot_s is not None and row.latency.tpot_s.median == pytest.approx(0.0049)
    assert row.latency.intvty_tok_s is not None and row.latency.intvty_tok_s.median == 204.0


def test_yaml_that_is_not_a_result_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "profile.yaml").write_text("name: x\nsteps: [1, 2]\n")
    ingested = load_results([tmp_path])
    assert not ingested.results and not ingested.failed
    assert ingested.skipped[0].reason == "YAML that is not a known result format"


def test_yaml_in_a_directory_is_parsed_only_when_an_adapter_could_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A YAML found in a directory whose text no YAML-reading adapter recognises is skipped
    without parsing it, broken or not; named on the command line it is parsed (a broken one is
    an error); one that could be a guidellm report is parsed."""
    parsed = _yaml_parses(monkeypatch)
    (tmp_path / "profile.yaml").write_text("name: x\nsteps: [1, 2]\n")
    (tmp_path / "broken.yml").write_text("a: [1, 2\n")
    ingested = load_results([tmp_path])
    assert parsed == [] and not ingested.failed
    assert {s.reason for s in ingested.skipped} == {"YAML that is not a known result format"}
    with pytest.raises(IngestError, match="invalid YAML"):
        load_results([tmp_path / "broken.yml"], keep_going=False)
    assert parsed == ["broken.yml"]
    parsed.clear()
    (tmp_path / "report.yaml").write_text("benchmarks:\n- metrics: {request_totals: [1, 2\n")
    ingested = load_results([tmp_path])
    assert parsed == ["report.yaml"]
    assert [s.name for s in ingested.failed] == [str(tmp_path / "report.yaml")]


def test_unknown_json_lines_in_a_directory_are_listed_not_failed(tmp_path: Path) -> None:
    """A run directory's own log (tokenergy requests.jsonl) travels with results: skipped with a
    reason inside a directory, an error when named explicitly."""
    log = tmp_path / "requests.jsonl"
    log.write_text('{"index": 0, "send_ns": 1}\n{"index": 1, "send_ns": 2}\n')
    ingested = load_results([tmp_path])
    assert not ingested.results and not ingested.failed
    assert "no known result format" in ingested.skipped[0].reason
    with pytest.raises(IngestError, match="line 1: unknown format"):
        load_results([log], keep_going=False)


def test_a_csv_of_another_format_beside_a_guidellm_report_is_still_read(
    shared_data: Path, tmp_path: Path
) -> None:
    """Only a guidellm export is skipped as the JSON report's twin: a TensorRT-LLM throughput
    table that happens to share the report's file stem keeps its 38 rows (it was dropped as
    'same benchmarks as run.json')."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(shared_data / PEERS / "guidellm-0.8.1/benchmarks.json", folder / "run.json")
    shutil.copy(shared_data / "throughput/h100x8_fp8_trtllm.csv", folder / "run.csv")
    ingested = load_results([folder])
    formats = [r.provenance.source_format for r in ingested.results]
    assert formats.count("guidellm") == 1 and len(formats) == 39
    assert not any("same benchmarks" in s.reason for s in ingested.skipped)
