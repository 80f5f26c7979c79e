"""The canonical ServingResult that every source produces and every analysis consumes.

Only what was observed or stated is stored; J/token, Wh/query and friends are properties computed
from it (docs/methodology.md §2), so a stored record can never disagree with itself. JSON
round-trips are lossless (``ServingResult.model_validate_json(r.model_dump_json()) == r``).
"""

# no `from __future__ import annotations`: pydantic would compile and evaluate every field's
# annotation string when it builds the models (~1.5 ms CPU at import for the records, measured)
import math
from enum import StrEnum
from typing import Any, Self

from pydantic import Field, model_validator

from tokenergy import units

# the energy models live in tokenergy.energy (convert builds only those); re-exported here
from tokenergy.energy import BoundaryStep as BoundaryStep
from tokenergy.energy import DeviceEnergy as DeviceEnergy
from tokenergy.energy import EnergyMeasurement as EnergyMeasurement
from tokenergy.energy import RecordModel, empty_list
from tokenergy.units import Basis, TimeBase
from tokenergy.units import Boundary as Boundary


class LengthSampler(StrEnum):
    """How request lengths were drawn; the two random lineages have different means.

    See docs/methodology.md §7.
    """

    FIXED = "fixed"
    BENCH_SERVING = "bench-serving"  # uniform integers in [floor(r*L), L]
    VLLM = "vllm"  # uniform in [L*(1-r), L*(1+r)], mean L
    EMPIRICAL = "empirical"
    UNKNOWN = "unknown"


# LengthSampler.X is a metaclass __getattr__ hop on Python 3.11 (~75 ns; 3 per call of
# benchmarked_lengths, which an ingest makes twice per row)
_BENCH_SERVING, _UNKNOWN_SAMPLER = LengthSampler.BENCH_SERVING, LengthSampler.UNKNOWN
_SIMULATED_TIME = TimeBase.SIMULATED


def expected_mean_length(nominal: int, sampler: LengthSampler, range_ratio: float | None) -> float:
    """Mean of the lengths a sampler draws for an advertised length L (docs/methodology.md §7)."""
    if sampler is _BENCH_SERVING:
        ratio = 1.0 if range_ratio is None else range_ratio
        return (math.floor(ratio * nominal) + nominal) / 2.0
    return float(nominal)


class RateBasis(StrEnum):
    """What a token rate counts: output tokens only, or input + output tokens.

    An output rate pairs with output tokens, a total rate with input + output tokens
    (docs/methodology.md §2); dividing a power by one and multiplying by the other's tokens is the
    classic basis error.
    """

    OUTPUT = "output"
    TOTAL = "total"


class Identity(RecordModel):
    """What was served on what: the configuration that a result describes."""

    model: str = Field(description="stable model key, e.g. 'gptoss' or 'meta-llama/Llama-3.1-8B'")
    model_name: str | None = Field(default=None, description="model as written by the source")
    precision: str | None = None
    engine: str | None = None
    engine_version: str | None = None
    gpu: str | None = Field(default=None, description="accelerator model, e.g. 'B200'")
    num_gpus: int | None = Field(default=None, ge=1, description="all GPUs serving")
    num_prefill_gpus: int | None = Field(default=None, ge=1)
    num_decode_gpus: int | None = Field(default=None, ge=1)
    tp: int | None = Field(default=None, ge=1)
    ep: int | None = Field(default=None, ge=1)
    pp: int | None = Field(default=None, ge=1)
    dp_attention: bool | None = None
    spec_decoding: str | None = None

    @property
    def disaggregated(self) -> bool:
        return self.num_prefill_gpus is not None and self.num_decode_gpus is not None

    @model_validator(mode="after")
    def _gpu_split_adds_up(self) -> Self:
        prefill, decode, total = self.num_prefill_gpus, self.num_decode_gpus, self.num_gpus
        if prefill is None or decode is None or total is None:  # not disaggregated, or no total
            return self
        if prefill + decode != total:
            raise ValueError("num_prefill_gpus + num_decode_gpus must equal num_gpus")
        return self


class Workload(RecordModel):
    """The requests that were sent: advertised vs actual lengths and the load shape."""

    task: str | None = None
    isl: int | None = Field(default=None, ge=0, description="nominal (advertised) input length")
    osl: int | None = Field(default=None, ge=0, description="nominal (advertised) output length")
    mean_input_len: float | None = Field(default=None, ge=0, description="mean actually run")
    mean_output_len: float | None = Field(default=None, ge=0, description="mean actually run")
    sampler: LengthSampler = LengthSampler.UNKNOWN
    range_ratio: float | None = Field(default=None, ge=0)
    concurrency: int | None = Field(default=None, ge=1, description="max concurrency / batch cap")
    achieved_concurrency: float | None = Field(default=None, ge=0)
    request_rate: float | None = Field(default=None, gt=0, description="requested req/s; None=inf")
    num_prompts: int | None = Field(default=None, ge=0)
    dataset: str | None = None

    def benchmarked_lengths(self) -> tuple[float, float] | None:
        """Mean input and output lengths actually run: measured, else implied by the sampler."""
        if self.mean_input_len is not None and self.mean_output_len is not None:
            return self.mean_input_len, self.mean_output_len
        isl, osl, sampler, ratio = self.isl, self.osl, self.sampler, self.range_ratio
        if isl is None or osl is None or sampler is _UNKNOWN_SAMPLER:
            return None
        return expected_mean_length(isl, sampler, ratio), expected_mean_length(osl, sampler, ratio)


class Counts(RecordModel):
    """Requests by outcome; attempted = completed + failed + incomplete."""

    attempted: int | None = Field(default=None, ge=0)
    completed: int | None = Field(default=None, ge=0)
    failed: int | None = Field(default=None, ge=0)
    incomplete: int | None = Field(default=None, ge=0)
    failures_by_cause: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _outcomes_add_up(self) -> Self:
        attempted, completed = self.attempted, self.completed
        failed, incomplete = self.failed, self.incomplete
        if attempted is None or completed is None or failed is None or incomplete is None:
            return self  # a partial count has no sum to check
        if completed + failed + incomplete != attempted:
            raise ValueError("attempted must equal completed + failed + incomplete")
        return self

    @property
    def failure_rate(self) -> float | None:
        if self.attempted in (None, 0) or self.completed is None:
            return None
        assert self.attempted is not None
        return 1.0 - self.completed / self.attempted


class Throughput(RecordModel):
    """Absolute token rates of the whole deployment over the window (never per GPU)."""

    input_tok_s: float | None = Field(default=None, ge=0)
    output_tok_s: float | None = Field(default=None, ge=0)
    reported_total_tok_s: float | None = Field(
        default=None, ge=0, description="total as the source reported it (checked, or used alone)"
    )
    request_per_s: float | None = Field(default=None, ge=0)
    stated_rate: RateBasis | None = Field(
        default=None,
        description="the one rate the source stated when the others are implied by fixed lengths "
        "(throughput tables); None when each rate was measured or reported as such",
    )

    @classmethod
    def from_fixed_lengths(
        cls, rate_tok_s: float, rate: RateBasis, lin: float, lout: float
    ) -> "Throughput":
        """All three rates from one stated rate at fixed lengths.

        With every request ``lin`` tokens in and ``lout`` out, the steady-state rates stand in the
        ratio lin : lout, so output = total · lout/(lin + lout) and input = output · lin/lout.
        """
        output = rate_tok_s if rate is RateBasis.OUTPUT else rate_tok_s * lout / (lin + lout)
        return cls(input_tok_s=output * lin / lout, output_tok_s=output, stated_rate=rate)

    @property
    def total_tok_s(self) -> float | None:
        if self.input_tok_s is not None and self.output_tok_s is not None:
            return self.input_tok_s + self.output_tok_s
        return self.reported_total_tok_s


class MetricStats(RecordModel):
    """Summary statistics of one latency metric, in the metric's unit (seconds or tok/s)."""

    mean: float | None = None
    median: float | None = None
    std: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None


class ItlUnit(StrEnum):
    """ITL gaps are between streamed chunks, or spread evenly over the tokens a chunk carried."""

    CHUNK = "chunk"
    TOKEN = "token"
    UNKNOWN = "unknown"


class LatencyStats(RecordModel):
    """vLLM-definition latencies in seconds; interactivity in tok/s/user.

    See docs/methodology.md §7.
    """

    ttft_s: MetricStats | None = None
    tpot_s: MetricStats | None = None
    itl_s: MetricStats | None = None
    e2el_s: MetricStats | None = None
    intvty_tok_s: MetricStats | None = None
    itl_unit: ItlUnit = ItlUnit.UNKNOWN
    failures_as_inf: bool = Field(
        default=False, description="True when failed requests count as +inf latency"
    )


class Provenance(RecordModel):
    """Where a result came from, so any number can be traced to its source."""

    source: str = Field(description="file path or URL")
    source_format: str
    row: int | None = Field(default=None, description="index of the row within the source")
    date: str | None = None
    tool: str | None = None
    tool_version: str | None = None
    hardware: str | None = None
    engine_config: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=empty_list)
    label: str | None = Field(
        default=None, description="the user's name for this run (bench --label), for comparisons"
    )
    metadata: dict[str, str] = Field(
        default_factory=dict, description="the user's key=value notes (bench --metadata)"
    )
    simulated: bool = Field(
        default=False,
        description="served by a simulator (tokenergy sim labels every response); the energy "
        "of such a result has basis 'simulated', never 'measured'",
    )


class ServingResult(RecordModel):
    """One serving configuration under one workload, with its energy accounting."""

    schema_version: int = 1
    identity: Identity
    workload: Workload = Field(default_factory=Workload)
    counts: Counts = Field(default_factory=Counts)
    throughput: Throughput = Field(default_factory=Throughput)
    duration_s: float | None = Field(default=None, gt=0, description="window the rates cover")
    latency: LatencyStats = Field(default_factory=LatencyStats)
    energy: EnergyMeasurement | None = None
    provenance: Provenance
    extras: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _simulated_is_not_measured(self) -> Self:
        """A meter reading a simulator's power model measures the model, not hardware: the basis
        becomes ``simulated`` (also for run.json files written before the basis existed)."""
        if self.provenance.simulated and self.energy and self.energy.basis is Basis.MEASURED:
            self.energy.basis = Basis.SIMULATED
        return self

    @property
    def simulated(self) -> bool:
        """True when a simulator served this result: show it apart from real runs (its energy
        basis is ``simulated``; ``summary()`` and analysis rows carry ``simulated``)."""
        return self.provenance.simulated

    # --- derived (never stored) ---------------------------------------------------------------

    @property
    def power_w(self) -> float | None:
        """Mean power of all serving devices over the window, per second of the energy's time
        base: a simulator's per simulated second (``energy.time_base``), else per wall second."""
        energy = self.energy
        if energy is None:
            return None
        if energy.time_base is _SIMULATED_TIME and energy.energy_j is not None:
            return energy.avg_power_w
        return _window_figures(energy, self.duration_s)[0]

    @property
    def _rate_power_w(self) -> float | None:
        """Energy per second of the window the rates cover (wall seconds, as the client
        measured): what pairs with tok/s, so J/token = energy / tokens in every time base."""
        energy = self.energy
        return None if energy is None else _window_figures(energy, self.duration_s)[0]

    @property
    def j_per_token(self) -> float | None:
        """Energy per total (input + output) token."""
        return _per_token(self._rate_power_w, self.throughput.total_tok_s)

    @property
    def j_per_output_token(self) -> float | None:
        return _per_token(self._rate_power_w, self.throughput.output_tok_s)

    @property
    def window_energy_j(self) -> float | None:
        """Energy over the window: measured, else stated power × window duration."""
        energy = self.energy
        return None if energy is None else _window_figures(energy, self.duration_s)[1]

    @property
    def wh_per_query_measured(self) -> float | None:
        """Window energy / completed queries (preferred whenever counts exist)."""
        return _per_query(self.window_energy_j, self.counts.completed)

    @property
    def wh_per_attempted_query(self) -> float | None:
        return _per_query(self.window_energy_j, self.counts.attempted)

    @property
    def tokens_per_query_nominal(self) -> int | None:
        if self.workload.isl is None or self.workload.osl is None:
            return None
        return self.workload.isl + self.workload.osl

    @property
    def tokens_per_query_benchmarked(self) -> float | None:
        lengths = self.workload.benchmarked_lengths()
        return None if lengths is None else lengths[0] + lengths[1]

    @property
    def wh_per_query_nominal(self) -> float | None:
        """J/token × (ISL + OSL), else J/output-token × OSL: a rate only meets its own tokens."""
        work = self.workload
        return _wh_from_lengths(self.j_per_token, self.j_per_output_token, work.isl, work.osl)

    @property
    def wh_per_query_benchmarked(self) -> float | None:
        lengths = self.workload.benchmarked_lengths()
        if lengths is None:
            return None
        return _wh_from_lengths(self.j_per_token, self.j_per_output_token, *lengths)

    @property
    def kwh_per_mtok(self) -> float | None:
        jpt = self.j_per_token
        return None if jpt is None else units.kwh_per_mtok(jpt)

    def summary(self) -> dict[str, Any]:
        """Flat dict of identity, workload and derived energy figures for tables and JSON.

        Its keys are the row vocabulary of ``analyze.table.AnalysisRow`` (docs/architecture.md,
        "Row vocabulary"); the keys it had before are in :data:`LEGACY_ROW_KEYS`.
        """
        return self.summary_with(self.workload.benchmarked_lengths())

    def summary_with(self, lengths: tuple[float, float] | None) -> dict[str, Any]:
        """:meth:`summary` with ``workload.benchmarked_lengths()`` already worked out: an ingest
        needs them for its checks and columns too (two calls per row, not four)."""
        # the fields read from the models' __dict__s (vars), each once: a pydantic model's
        # attribute read is ~30 ns, 3× a plain object's (its __getattr__ hook keeps the
        # interpreter from specialising the read), a dict lookup ~17 ns; over ~40 reads a row
        # this measured 0.6-0.9 µs less per row of a large ingest (of ~6-8 µs)
        fields = vars(self)
        ident, work = vars(fields["identity"]), vars(fields["workload"])
        counts, latency = vars(fields["counts"]), vars(fields["latency"])
        provenance = vars(fields["provenance"])
        throughput, energy = fields["throughput"], fields["energy"]
        output_tok_s, total_tok_s = throughput.output_tok_s, throughput.total_tok_s
        if energy is None:
            power = jpt = jpo = window_j = boundary = basis = valid = None
        else:
            # each energy figure once: the properties recompute power, J/token and window
            # energy on every call, which was half of a summary row in a large ingest
            rate_power, window_j = _window_figures(energy, fields["duration_s"])
            measurement = vars(energy)
            power = self.power_w if measurement["time_base"] is _SIMULATED_TIME else rate_power
            jpt = _per_token(rate_power, total_tok_s)
            jpo = _per_token(rate_power, output_tok_s)
            # str() of a StrEnum is its value, without the .value descriptor
            boundary, basis = str(measurement["boundary"]), str(measurement["basis"])
            valid = measurement["valid"]
        isl, osl, completed = work["isl"], work["osl"], counts["completed"]
        intvty, e2el, itl = latency["intvty_tok_s"], latency["e2el_s"], latency["itl_s"]
        return {
            "model": ident["model"],
            "precision": ident["precision"],
            "gpu": ident["gpu"],
            "engine": ident["engine"],
            "num_gpus": ident["num_gpus"],
            "num_prefill_gpus": ident["num_prefill_gpus"],
            "num_decode_gpus": ident["num_decode_gpus"],
            "batch_cap": work["concurrency"],
            "isl": isl,
            "osl": osl,
            "completed": completed,
            "failed": counts["failed"],
            "total_tok_s": total_tok_s,
            "output_tok_s": output_tok_s,
            "mean_intvty_tok_s": intvty.mean if intvty else None,
            "mean_e2el_s": e2el.mean if e2el else None,
            "median_itl_s": itl.median if itl else None,
            "power_w": power,
            "j_per_token": jpt,
            "energy_per_token_j": jpo,
            "kwh_per_mtok": None if jpt is None else units.kwh_per_mtok(jpt),
            "wh_per_query_measured": _per_query(window_j, completed),
            "wh_per_attempted_query": _per_query(window_j, counts["attempted"]),
            "wh_per_query_nominal": _wh_from_lengths(jpt, jpo, isl, osl),
            "wh_per_query_benchmarked": None
            if lengths is None
            else _wh_from_lengths(jpt, jpo, *lengths),
            "boundary": boundary,
            "basis": basis,
            "energy_valid": valid,
            "simulated": provenance["simulated"],
            "source": provenance["source"],
            "row": provenance["row"],
        }


def _window_figures(
    energy: EnergyMeasurement, duration_s: float | None
) -> tuple[float | None, float | None]:
    """(power per second of the window the rates cover, energy over that window): energy /
    duration and energy when energy was measured, else the stated power and power × duration
    (both at once: summary() needs both, and each is a handful of pydantic attribute reads)."""
    energy_j, avg_power_w = energy.energy_j, energy.avg_power_w
    if energy_j is not None:
        return (energy_j / duration_s if duration_s else avg_power_w), energy_j
    if avg_power_w is not None and duration_s:
        return avg_power_w, avg_power_w * duration_s
    return avg_power_w, None


def _per_token(power_w: float | None, tok_s: float | None) -> float | None:
    """J per token of a rate, None without power or tokens."""
    if power_w is None or not tok_s:
        return None
    return units.j_per_token(power_w, tok_s)


def _per_query(energy_j: float | None, queries: int | None) -> float | None:
    """Wh per query of a count, None without energy or queries."""
    if energy_j is None or not queries:
        return None
    return units.wh_per_query_from_counts(energy_j, queries)


def _wh_from_lengths(
    jpt: float | None, jpo: float | None, lin: float | None, lout: float | None
) -> float | None:
    """J/token × (in + out), else J/output-token × out: a rate only meets its own tokens."""
    if jpt is not None and lin is not None and lout is not None:
        return units.wh_per_query_from_tokens(jpt, lin + lout)
    if jpo is not None and lout is not None:
        return units.wh_per_query_from_tokens(jpo, lout)
    return None


# Keys that rows (``summary()``, ingest rows, bench summaries in run.json) used before one row
# vocabulary (main 6b1e0f4) and the names that replaced them (docs/architecture.md, "Row
# vocabulary"); commands that take a column name accept the old one too.
LEGACY_ROW_KEYS: dict[str, str] = {
    "hw": "gpu",
    "framework": "engine",
    "gpus": "num_gpus",
    "prefill_gpus": "num_prefill_gpus",
    "decode_gpus": "num_decode_gpus",
    "conc": "batch_cap",
    "achieved_conc": "achieved_concurrency",
    "mean_intvty": "mean_intvty_tok_s",
    "mean_input_len": "avg_input_len",
    "mean_output_len": "avg_output_len",
    "j_per_output_token": "energy_per_token_j",
    "j_per_output_token_above_idle": "energy_per_token_j_above_idle",
    "avg_power_w": "power_w",
}
