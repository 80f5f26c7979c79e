"""`tokenergy ingest` of each peer adapter's file with every numeric field it reads replaced by a
hostile value (inf, -inf, nan, 10**400 as a JSON number, 1e308, 2**53, true, "x"): exit 0 or 2,
one error line naming the file and the field, no traceback, and the good file beside them still
written. Non-finite values and 10**400 are always refused (they once crashed AIPerf's nominal
lengths, guidellm's strategy and dates, bench-serving's request rate, genai-perf's config)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]
GOOD = "peers/llmperf/tinyLlama-TinyLlama-1-1B-Chat-v1-0_256_100_summary.json"
GENAI = Path(__file__).parents[1] / "ingest/data/profile_export_genai_perf.json"
_STATS = ("avg", "p50", "p90", "p99", "std")
_LATENCY = ("ttft", "tpot", "itl", "e2el")
_BENCH = [
    "num_prompts",
    "max_concurrency",
    "request_rate",
    "duration",
    "completed",
    "total_input_tokens",
    "total_output_tokens",
    "total_token_throughput",
    *(f"{stat}_{metric}_ms" for metric in _LATENCY for stat in ("mean", "median", "p99")),
]
_GUIDELLM_METRICS = ("request_latency", "time_to_first_token_ms", "inter_token_latency_ms")
# adapter: (its file (shared data, or the tests' own), the numeric fields it reads as key paths)
FILES: dict[str, tuple[str, list[str]]] = {
    "aiperf": (
        "peers/aiperf-0.13/profile_export_aiperf.json",
        [
            *(
                f"{metric}|{stat}"
                for metric in (
                    "request_latency",
                    "time_to_first_token",
                    "inter_token_latency",
                    "inter_chunk_latency",
                    "output_token_throughput_per_user",
                )
                for stat in _STATS
            ),
            *(
                f"{key}|avg"
                for key in (
                    "request_count",
                    "completed_request_count",
                    "benchmark_duration",
                    "total_isl",
                    "total_osl",
                    "total_usage_prompt_tokens",
                    "total_usage_completion_tokens",
                    "nvidia_total_gpu_energy",
                    "nvidia_energy_per_output_token",
                )
            ),
            "telemetry_data|endpoints|127.0.0.1:18201/dcgm|gpus|gpu_0|metrics|"
            "nvidia_energy_consumption|avg",
            "input_config|datasets|0|prompts|isl|mean",
            "input_config|datasets|0|prompts|osl|mean",
            "input_config|phases|0|concurrency",
            "input_config|phases|0|request_rate",
        ],
    ),
    "guidellm": (
        "peers/guidellm-0.8.1/benchmarks.json",
        [
            "config|spec|data|0|prompt_tokens",
            "config|spec|data|0|output_tokens",
            "benchmarks|0|config|strategy|streams",
            "benchmarks|0|start_time",
            "benchmarks|0|duration",
            *(
                f"benchmarks|0|metrics|request_totals|{key}"
                for key in ("successful", "errored", "incomplete", "total")
            ),
            *(
                f"benchmarks|0|metrics|{key}|successful|total_sum"
                for key in ("prompt_token_count", "output_token_count")
            ),
            *(
                f"benchmarks|0|metrics|{metric}|successful|{stat}"
                for metric in _GUIDELLM_METRICS
                for stat in ("mean", "median", "std_dev", "percentiles|p90", "percentiles|p99")
            ),
        ],
    ),
    "llmperf": (
        GOOD,
        [
            "mean_input_tokens",
            "mean_output_tokens",
            "num_concurrent_requests",
            "timestamp",
            "results_number_input_tokens_mean",
            "results_number_output_tokens_mean",
            "results_num_requests_started",
            "results_number_errors",
            "results_mean_output_throughput_token_per_s",
            "results_num_completed_requests",
            "results_num_completed_requests_per_min",
            *(
                f"results_{metric}_{stat}"
                for metric in ("inter_token_latency_s", "ttft_s", "end_to_end_latency_s")
                for stat in ("mean", "quantiles_p50")
            ),
        ],
    ),
    "bench-serving": (
        "inferencex/raw/pr1208_gptoss120b_disagg_raw/"
        "concurrency_128_req_rate_inf_gpus_16_ctx_8_gen_8.json",
        _BENCH,
    ),
    "sglang-jsonl": (
        "peers/sglang-bench-serving/sglang_two.jsonl",
        [f"1|{key}" for key in _BENCH if "e2el" not in key and "p90" not in key],
    ),
    "genai-perf": (
        str(GENAI),
        [
            *(
                f"input_config|{key}"
                for key in (
                    "concurrency",
                    "output_tokens_mean",
                    "synthetic_input_tokens_mean",
                    "request_rate",
                )
            ),
            *(
                f"{metric}|avg"
                for metric in (
                    "request_throughput",
                    "input_sequence_length",
                    "output_sequence_length",
                    "output_token_throughput",
                )
            ),
            *(
                f"{metric}|{stat}"
                for metric in ("time_to_first_token", "request_latency")
                for stat in ("avg", "p50", "p99")
            ),
            "telemetry_stats|gpu_power_usage|gpu0|avg",
        ],
    ),
}
# the value as written in the file: JSON's own spellings (Python's json module reads them)
VALUES = {
    "inf": "Infinity",
    "-inf": "-Infinity",
    "nan": "NaN",
    "1e400": "1" + "0" * 400,
    "1e308": "1e308",
    "2**53": str(2**53),
    "true": "true",
    "x": '"x"',
}
REFUSED = {"inf", "-inf", "nan", "1e400"}  # never a figure of a run
_SLOT = "@@hostile@@"


def _mutated(base: Any, path: str, value: str, jsonl: bool) -> str:
    data = json.loads(json.dumps(base))
    steps = [int(step) if step.isdigit() else step for step in path.split("|")]
    node = data
    for step in steps[:-1]:
        node = node[step]
    node[steps[-1]] = _SLOT
    text = "".join(json.dumps(line) + "\n" for line in data) if jsonl else json.dumps(data)
    return text.replace(json.dumps(_SLOT), value)


def _load(path: Path) -> Any:
    text = path.read_text()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


@pytest.mark.parametrize("value", sorted(VALUES))
@pytest.mark.parametrize("adapter", sorted(FILES))
def test_every_numeric_field_with_a_hostile_value(
    cli: Cli, tmp_path: Path, shared_data: Path, adapter: str, value: str
) -> None:
    name, paths = FILES[adapter]
    source = Path(name) if Path(name).is_absolute() else shared_data / name
    base = _load(source)
    folder = tmp_path / "runs"
    mutated: dict[Path, str] = {}
    for index, path in enumerate(paths):
        target = folder / f"case{index:02d}" / source.name  # bench-serving reads its name
        target.parent.mkdir(parents=True)
        target.write_text(_mutated(base, path, VALUES[value], source.suffix == ".jsonl"))
        mutated[target] = path
    good = folder / "good_summary.json"
    good.write_text((shared_data / GOOD).read_text())

    done = cli("ingest", str(folder), "--basis", "allin", "--format", "csv")

    assert done.code in (0, 2) and "Traceback" not in done.stderr, done.stderr[-3000:]
    sources = [row["source"] for row in csv.DictReader(io.StringIO(done.stdout))]
    assert sources.count(str(good)) == 1
    errors = {
        line.split("error: ", 1)[1]
        for line in done.stderr.splitlines()
        if line.lstrip().startswith("error: ")
    }
    for target, path in mutated.items():
        (line,) = [error for error in errors if error.startswith(f"{target}: ")] or [None]
        if line is None:
            assert value not in REFUSED, f"{adapter} {path}={value} was accepted"
            continue
        field = line.removeprefix(f"{target}: ").split(": ", 1)[0]
        # the field names the leaf and what holds it ('request_latency.avg', not 'avg'; guidellm's
        # benchmarks[N] is 'row N')
        steps = [s for s in path.split("|") if not s.isdigit() and s != "benchmarks"][-2:]
        assert all(step in field for step in steps), f"{path}={value}: {line}"
        assert str(target) not in sources, f"{path}={value}: rows written despite {line}"


@pytest.mark.parametrize(
    "strategy", ["concurrent@inf", "concurrent@1e400", "concurrent@nan", "poisson@inf"]
)
def test_a_guidellm_csv_strategy_beyond_range(
    cli: Cli, tmp_path: Path, shared_data: Path, strategy: str
) -> None:
    """The CSV's 'concurrent@N' / 'poisson@R' cell (once an OverflowError, or an inf rate)."""
    rows = list(
        csv.reader(io.StringIO((shared_data / "peers/guidellm-0.8.1/benchmarks.csv").read_text()))
    )
    rows[3][rows[1].index("Strategy")] = strategy
    path = tmp_path / "benchmarks.csv"
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue())
    done = cli("ingest", str(path), "--basis", "allin", "--format", "csv")
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"error: {path}: row 0 Benchmark|Strategy: not a finite number" in done.stderr


def test_a_gpu_count_beyond_2_53_in_a_file_name(
    cli: Cli, tmp_path: Path, shared_data: Path
) -> None:
    """bench-serving reads GPU counts from file names: 200 nines is no count (was 10**200 - 1)."""
    name = FILES["bench-serving"][0]
    path = tmp_path / f"run_gpus_{'9' * 200}.json"
    path.write_text((shared_data / name).read_text())
    done = cli("ingest", str(path), "--basis", "allin", "--format", "csv")
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"error: {path}: file name: count out of range" in done.stderr


@pytest.mark.parametrize("value", ["Infinity", "1" + "0" * 400, '"x"'])
def test_an_aiperf_record_token_count_beyond_range(
    cli: Cli, tmp_path: Path, shared_data: Path, value: str
) -> None:
    """AIPerf's per-request records: token counts were summed with float() (a traceback)."""
    lines = (shared_data / "peers/aiperf-0.13/profile_export.jsonl").read_text().splitlines()
    record = json.loads(lines[0])
    record["metrics"]["input_sequence_length"]["value"] = _SLOT
    lines[0] = json.dumps(record).replace(json.dumps(_SLOT), value)
    path = tmp_path / "profile_export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    done = cli("ingest", str(path), "--basis", "allin", "--format", "csv")
    assert done.code == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert f"error: {path}: row 1 metrics.input_sequence_length.value: " in done.stderr
