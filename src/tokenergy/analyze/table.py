"""ServingResult → AnalysisRow: one flat record with the same columns whatever the source.

Energy per token is per OUTPUT token here (``energy_per_token_j``), the ML.ENERGY convention: the
latency metrics that constrain serving (ITL, TPOT, interactivity) are decode metrics, and sources
such as ML.ENERGY do not report input throughput. Energy per total token (the J/token of
docs/methodology.md §2) is the separate column ``j_per_token``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from tokenergy import units
from tokenergy.errors import ConfigError
from tokenergy.ingest.common import canonical_gpu
from tokenergy.records import MetricStats, ServingResult


class Better(StrEnum):
    LOWER = "lower"
    HIGHER = "higher"


@dataclass(frozen=True)
class Metric:
    """A numeric column that analyses can constrain or optimise, with its direction and unit."""

    column: str
    label: str
    unit: str
    better: Better = Better.LOWER


METRICS: dict[str, Metric] = {
    m.column: m
    for m in (
        Metric("median_itl_s", "median ITL", "s"),
        Metric("p90_itl_s", "p90 ITL", "s"),
        Metric("p99_itl_s", "p99 ITL", "s"),
        Metric("median_tpot_s", "median TPOT", "s"),
        Metric("p90_tpot_s", "p90 TPOT", "s"),
        Metric("median_ttft_s", "median TTFT", "s"),
        Metric("p90_ttft_s", "p90 TTFT", "s"),
        Metric("median_e2el_s", "median E2E latency", "s"),
        Metric("median_intvty_tok_s", "median interactivity", "tok/s/user", Better.HIGHER),
        Metric("energy_per_token_j", "energy per output token", "J"),
        Metric("j_per_token", "energy per total token", "J"),
        Metric("energy_per_response_j", "energy per response", "J"),
        Metric("wh_per_query", "energy per query", "Wh"),
        Metric("output_tok_s", "output throughput", "tok/s", Better.HIGHER),
    )
}

# Short names users type (`--x median_itl --y j_per_token`) → columns.
_ALIASES = {
    "median_itl": "median_itl_s",
    "itl": "median_itl_s",
    "p90_itl": "p90_itl_s",
    "p99_itl": "p99_itl_s",
    "median_tpot": "median_tpot_s",
    "tpot": "median_tpot_s",
    "p90_tpot": "p90_tpot_s",
    "median_ttft": "median_ttft_s",
    "ttft": "median_ttft_s",
    "p90_ttft": "p90_ttft_s",
    "median_e2el": "median_e2el_s",
    "intvty": "median_intvty_tok_s",
    "median_intvty": "median_intvty_tok_s",
    "j_per_output_token": "energy_per_token_j",
    "energy_per_token": "energy_per_token_j",
    "energy_per_response": "energy_per_response_j",
    "j_per_response": "energy_per_response_j",
}


def metric(name: str, option: str = "metric") -> Metric:
    """Look up a metric by column or short name; unknown names list the valid ones."""
    column = _ALIASES.get(name, name)
    if column not in METRICS:
        known = sorted(set(METRICS) | set(_ALIASES))
        raise ConfigError(f"unknown metric {name!r}; use one of {', '.join(known)}", field=option)
    return METRICS[column]


@dataclass(frozen=True)
class AnalysisRow:
    """One configuration under one workload, flattened; None means the source did not say."""

    source: str
    row: int | None
    model: str
    task: str | None
    workload: str | None
    gpu: str | None
    num_gpus: int | None
    batch_cap: int | None
    precision: str | None
    engine: str | None
    isl: int | None
    osl: int | None
    avg_output_len: float | None
    median_itl_s: float | None
    p90_itl_s: float | None
    p99_itl_s: float | None
    median_tpot_s: float | None
    p90_tpot_s: float | None
    median_ttft_s: float | None
    p90_ttft_s: float | None
    median_e2el_s: float | None
    median_intvty_tok_s: float | None
    output_tok_s: float | None
    power_w: float | None
    energy_per_token_j: float | None
    j_per_token: float | None
    energy_per_response_j: float | None
    energy_per_response_basis: str | None
    wh_per_query: float | None
    boundary: str | None
    basis: str | None
    energy_valid: bool | None
    simulated: bool
    label: str | None = None
    metadata: str | None = None  # 'k=v;k2=v2', the provenance's metadata as text

    def get(self, column: str) -> Any:
        return getattr(self, column)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def config_label(self) -> str:
        """Short human label of the configuration: 'B200×2 cap 64 bfloat16'."""
        parts = [f"{self.gpu or '?'}×{self.num_gpus or '?'}"]
        if self.batch_cap is not None:
            parts.append(f"cap {self.batch_cap}")
        if self.precision:
            parts.append(self.precision)
        return " ".join(parts)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(AnalysisRow))


def _stat(stats: MetricStats | None, name: str) -> float | None:
    return None if stats is None else getattr(stats, name)


def _response_energy(result: ServingResult) -> tuple[float | None, str | None]:
    """Energy per response: measured per completed request, else J/output-token × output length."""
    energy, completed = result.window_energy_j, result.counts.completed
    if energy is not None and completed and result.energy and result.energy.energy_j is not None:
        return energy / completed, "measured-per-completed"
    per_token = result.j_per_output_token
    output_len = _output_len(result)
    if per_token is not None and output_len is not None:
        return per_token * output_len, "per-output-token×benchmarked-output-len"
    jpt, tokens = result.j_per_token, result.tokens_per_query_benchmarked
    if jpt is not None and tokens is not None:
        return jpt * tokens, "per-token×benchmarked-tokens"
    if per_token is not None and result.workload.osl is not None:
        return per_token * result.workload.osl, "per-output-token×nominal-osl"
    return None, None


def _hardware(result: ServingResult) -> tuple[str | None, int | None]:
    """GPU model and count as stated, else as metered: the GPU devices a meter read (bench runs
    know their devices only through the meter)."""
    gpu, count = result.identity.gpu, result.identity.num_gpus
    devices = [d for d in result.energy.devices if d.kind == "gpu"] if result.energy else []
    if gpu is None:
        models = {d.model for d in devices if d.model}
        gpu = canonical_gpu(models.pop()) if len(models) == 1 else None
    if count is None and devices:
        count = len(devices)
    return gpu, count


def _workload(result: ServingResult) -> str | None:
    """The task name, else the advertised lengths as 'ISL/OSL' (InferenceX-style sweeps)."""
    work = result.workload
    if work.task:
        return work.task
    if work.isl is not None and work.osl is not None:
        return f"{work.isl}/{work.osl}"
    return work.dataset


def _output_len(result: ServingResult) -> float | None:
    """Mean output length actually run: measured, else implied by the sampler."""
    if result.workload.mean_output_len is not None:
        return result.workload.mean_output_len
    lengths = result.workload.benchmarked_lengths()
    return None if lengths is None else lengths[1]


def _interactivity(result: ServingResult) -> float | None:
    """Median tok/s/user; 1/median TPOT is exact for medians (a monotone transform)."""
    stated = _stat(result.latency.intvty_tok_s, "median")
    if stated is not None:
        return stated
    tpot = _stat(result.latency.tpot_s, "median")
    return 1.0 / tpot if tpot else None


def to_row(result: ServingResult) -> AnalysisRow:
    ident, work, latency, energy = result.identity, result.workload, result.latency, result.energy
    response_j, response_basis = _response_energy(result)
    gpu, num_gpus = _hardware(result)
    return AnalysisRow(
        source=result.provenance.source,
        row=result.provenance.row,
        model=ident.model,
        task=work.task,
        workload=_workload(result),
        gpu=gpu,
        num_gpus=num_gpus,
        batch_cap=work.concurrency,
        precision=ident.precision,
        engine=ident.engine,
        isl=work.isl,
        osl=work.osl,
        avg_output_len=_output_len(result),
        median_itl_s=_stat(latency.itl_s, "median"),
        p90_itl_s=_stat(latency.itl_s, "p90"),
        p99_itl_s=_stat(latency.itl_s, "p99"),
        median_tpot_s=_stat(latency.tpot_s, "median"),
        p90_tpot_s=_stat(latency.tpot_s, "p90"),
        median_ttft_s=_stat(latency.ttft_s, "median"),
        p90_ttft_s=_stat(latency.ttft_s, "p90"),
        median_e2el_s=_stat(latency.e2el_s, "median"),
        median_intvty_tok_s=_interactivity(result),
        output_tok_s=result.throughput.output_tok_s,
        power_w=result.power_w,
        energy_per_token_j=result.j_per_output_token,
        j_per_token=result.j_per_token,
        energy_per_response_j=response_j,
        energy_per_response_basis=response_basis,
        wh_per_query=None if response_j is None else units.j_to_wh(response_j),
        boundary=energy.boundary.value if energy else None,
        basis=energy.basis.value if energy else None,
        energy_valid=energy.valid if energy else None,
        simulated=result.provenance.simulated,
        label=result.provenance.label,
        metadata=";".join(f"{k}={v}" for k, v in result.provenance.metadata.items()) or None,
    )


def row_with_summary(result: ServingResult) -> dict[str, Any]:
    """The analysis row with the summary's further figures (counts, total rate, Wh/query by
    each method): one vocabulary, so ``runs show`` says what ``runs list`` lists (the GPU a
    meter read included)."""
    return {**result.summary(), **to_row(result).as_dict()}


def to_rows(results: Iterable[ServingResult]) -> list[AnalysisRow]:
    return [to_row(result) for result in results]


def group_key(row: AnalysisRow, group_by: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(row.get(column) for column in group_by)


def check_columns(columns: Iterable[str], option: str) -> tuple[str, ...]:
    """Validate column names given on the command line (group-by, where)."""
    chosen = tuple(columns)
    unknown = [c for c in chosen if c not in COLUMNS]
    if unknown:
        raise ConfigError(
            f"unknown column {unknown[0]!r}; use one of {', '.join(COLUMNS)}", field=option
        )
    return chosen


def parse_where(clauses: Iterable[str]) -> dict[str, str]:
    """'gpu=B200' clauses → {column: value}; values compare as text, case-insensitively."""
    parsed: dict[str, str] = {}
    for clause in clauses:
        column, sep, value = clause.partition("=")
        if not sep or not column.strip():
            raise ConfigError(f"expected COLUMN=VALUE, got {clause!r}", field="where")
        check_columns([column.strip()], "where")
        parsed[column.strip()] = value.strip()
    return parsed


def filter_rows(rows: Iterable[AnalysisRow], where: dict[str, str]) -> list[AnalysisRow]:
    def keep(row: AnalysisRow) -> bool:
        return all(str(row.get(col)).lower() == value.lower() for col, value in where.items())

    return [row for row in rows if keep(row)]
