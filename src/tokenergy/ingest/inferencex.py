"""InferenceX / InferenceMAX processed rows (`agg_bmk.json`): single node and disaggregated.

Rows store rates *per GPU* (single node ÷ tp·pp·pcp; disaggregated: total ÷ (P+D), input ÷ P,
output ÷ D). Absolute deployment rates are recovered first (docs/methodology.md §4). Latencies
are seconds.
Newer rows may carry measured GPU power (``power_valid``, ``power_metric_schema_version``,
``avg_power_w`` per GPU, ``avg_total_gpu_power_w``, ``total_gpu_energy_j``, ``joules_per_*``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from tokenergy.errors import IngestError
from tokenergy.ingest.common import canonical_gpu, present_metrics, stat_keys, validated_result
from tokenergy.ingest.fields import EXACT_INT_LIMIT, FLOAT_MAX, RowReader
from tokenergy.ingest.jsonstream import JsonArrayStream
from tokenergy.ingest.options import DEFAULT_RANGE_RATIO, IngestOptions, stated_energy_fields
from tokenergy.ingest.registry import NotResults, register
from tokenergy.ingest.sources import Document
from tokenergy.records import EnergyMeasurement, ItlUnit, LengthSampler, ServingResult
from tokenergy.units import Basis, Boundary

_MEASURED_KEYS = (  # besides the flags power_valid and power_metric_schema_version
    "avg_power_w",
    "avg_total_gpu_power_w",
    "total_gpu_energy_j",
    "joules_per_total_token",
    "joules_per_output_token",
)
_PER_GPU_KEYS = (
    ("total", "tput_per_gpu"),
    ("input", "input_tput_per_gpu"),
    ("output", "output_tput_per_gpu"),
)
_CONFIG_KEYS = (
    "image",
    "framework",
    "disagg",
    "is_multinode",
    "tp",
    "ep",
    "pp",
    "pcp_size",
    "dp_attention",
    "prefill_tp",
    "prefill_ep",
    "prefill_dp_attention",
    "prefill_num_workers",
    "decode_tp",
    "decode_ep",
    "decode_dp_attention",
    "decode_num_workers",
)


def _is_row(item: Any) -> bool:
    return isinstance(item, dict) and "tput_per_gpu" in item


@register
class InferenceX:
    name: ClassVar[str] = "inferencex"
    streams_rows: ClassVar[bool] = True  # a large array file is read row by row

    def sniff(self, data: Any, document: Document) -> bool:
        if isinstance(data, list):
            return bool(data) and _is_row(data[0])
        return _is_row(data)

    def read(
        self, data: Any, document: Document, options: IngestOptions
    ) -> Iterator[ServingResult]:
        """One result per row, made as the loader asks for it (rows stream through)."""
        rows = data if isinstance(data, list | JsonArrayStream) else [data]
        if not rows:
            raise NotResults("empty array: no rows")
        for index, row in enumerate(rows):
            yield _row(RowReader(row, document.name, index), options)


def _identity(reader: RowReader) -> tuple[dict[str, Any], dict[str, int]]:
    """Identity fields plus the GPU counts that divided each per-GPU rate (total, input, output)."""
    hw = reader.text("hw")
    prefix = reader.optional_text("infmax_model_prefix")
    name = reader.text("model")
    identity: dict[str, Any] = {
        "model": prefix or name,
        "model_name": name,
        "precision": reader.optional_text("precision"),
        "engine": reader.optional_text("framework"),
        "gpu": canonical_gpu(hw),
        "spec_decoding": reader.optional_text("spec_decoding"),
    }
    if reader.has("num_prefill_gpu") or reader.has("num_decode_gpu"):
        prefill = reader.integer("num_prefill_gpu", minimum=1)
        decode = reader.integer("num_decode_gpu", minimum=1)
        if prefill + decode >= EXACT_INT_LIMIT:  # each count is below it, their sum need not be
            raise _count_out_of_range(reader, prefill + decode, "num_prefill_gpu + num_decode_gpu")
        dpa = [reader.flag("prefill_dp_attention"), reader.flag("decode_dp_attention")]
        identity["num_gpus"] = prefill + decode
        identity["num_prefill_gpus"] = prefill
        identity["num_decode_gpus"] = decode
        identity["dp_attention"] = None if dpa == [None, None] else any(bool(f) for f in dpa)
        return identity, {"total": prefill + decode, "input": prefill, "output": decode}
    tp = reader.integer("tp", minimum=1)
    pp = reader.optional_integer("pp", minimum=1)
    pcp = reader.optional_integer("pcp_size", minimum=1)
    gpus = tp * (pp or 1) * (pcp or 1)
    if gpus >= EXACT_INT_LIMIT:  # each count is below it, their product need not be
        keys = " × ".join(key for key, n in (("tp", tp), ("pp", pp), ("pcp_size", pcp)) if n)
        raise _count_out_of_range(reader, gpus, keys)
    identity["num_gpus"] = gpus
    identity["tp"] = tp
    identity["ep"] = reader.optional_integer("ep", minimum=1)
    if pp is not None:  # (absent: the model's default None)
        identity["pp"] = pp
    identity["dp_attention"] = reader.flag("dp_attention")
    return identity, {"total": gpus, "input": gpus, "output": gpus}


def _count_out_of_range(reader: RowReader, gpus: int, keys: str) -> IngestError:
    """A GPU count of several columns (tp 2**40 × pp 2**40) that no float holds exactly: refused
    as each integer column is (2**53 and up), naming the columns it was made of."""
    return reader.error(keys, f"GPU count out of range ({gpus:.3g}): must be below 2**53")


def _measured(
    reader: RowReader, total_tok_s: float, output_tok_s: float, num_gpus: int
) -> EnergyMeasurement | None:
    """Measured accelerator energy when the row carries it and did not fail validation."""
    if reader.data.keys().isdisjoint(_MEASURED_KEYS) or not any(map(reader.has, _MEASURED_KEYS)):
        return None  # (most rows have none of the keys: one set operation tells)
    valid = reader.optional_integer("power_valid")
    if valid == 0:
        return None  # an authoritative 'invalid' verdict: the measured values must not be used
    total_w = reader.optional_number("avg_total_gpu_power_w")
    per_gpu_w = reader.optional_number("avg_power_w")
    if total_w is None and per_gpu_w is not None:
        total_w = _power_w(reader, "avg_power_w", per_gpu_w, num_gpus, ("W per GPU", "GPUs"))
    if total_w is None:
        per_total = reader.optional_number("joules_per_total_token")
        per_output = reader.optional_number("joules_per_output_token")
        if per_total is not None and total_tok_s:
            total_w = _power_w(
                reader, "joules_per_total_token", per_total, total_tok_s, ("J/token", "tok/s")
            )
        elif per_output is not None and output_tok_s:
            total_w = _power_w(
                reader, "joules_per_output_token", per_output, output_tok_s, ("J/token", "tok/s")
            )
    energy_j = reader.optional_number("total_gpu_energy_j")
    if total_w is None and energy_j is None:
        return None
    schema = reader.optional_integer("power_metric_schema_version")
    reasons = [] if valid == 1 else ["legacy row: power not validated upstream (no power_valid)"]
    if schema is not None and schema != 2:
        reasons.append(f"power_metric_schema_version {schema}: joules_per_* may be per role")
    return EnergyMeasurement(
        energy_j=energy_j,
        avg_power_w=total_w,
        boundary=Boundary.ACCELERATOR,
        basis=Basis.MEASURED,
        method="inferencex-measured",
        valid=not reasons,
        reasons=reasons,
    )


def _power_w(
    reader: RowReader, key: str, value: float, factor: float, units: tuple[str, str]
) -> float:
    """A deployment power derived from the row's ``key``, refused beyond float range (1e308 W
    per GPU × 4 GPUs is inf: no J/token or Wh/query to show)."""
    power_w = value * factor
    if power_w > FLOAT_MAX:
        raise reader.error(
            key, f"power out of range ({value:g} {units[0]} × {factor:g} {units[1]})"
        )
    return power_w


def _rate_overflow(
    reader: RowReader, per_gpu: dict[str, float], divisors: dict[str, int]
) -> IngestError:
    """The error for a deployment rate beyond float range (1e308 tok/s per GPU × 4 GPUs is inf,
    which no J/token can divide by), naming the per-GPU column it came from."""
    for kind, key in _PER_GPU_KEYS:
        if per_gpu[kind] * divisors[kind] > FLOAT_MAX:
            rate = f"{per_gpu[kind]:g} tok/s per GPU × {divisors[kind]} GPUs"
            return reader.error(key, f"rate out of range ({rate})")
    keys = "input_tput_per_gpu + output_tput_per_gpu"  # each finite, their sum (the total) not
    return reader.error(keys, "rate out of range (input + output tok/s is beyond float range)")


# (field, its (stat, column) pairs), intvty first: the order a bad value is reported in
_LATENCY_KEYS = (
    ("intvty_tok_s", stat_keys("intvty", skip=("std",))),  # std_intvty is kept in extras
    ("ttft_s", stat_keys("ttft")),
    ("tpot_s", stat_keys("tpot")),
    ("itl_s", stat_keys("itl")),
    ("e2el_s", stat_keys("e2el")),
)


def _row(reader: RowReader, options: IngestOptions) -> ServingResult:
    """One row as a ServingResult, its parts gathered as plain values and validated by pydantic
    in one call (13 separate records per row were half of a large ingest). Absent values are
    left out rather than written as None: pydantic fills in the defaults faster."""
    identity, divisors = _identity(reader)
    per_gpu = {
        "total": reader.number("tput_per_gpu"),
        "input": reader.number("input_tput_per_gpu"),
        "output": reader.number("output_tput_per_gpu"),
    }
    input_tok_s = per_gpu["input"] * divisors["input"]
    output_tok_s = per_gpu["output"] * divisors["output"]
    total_tok_s = per_gpu["total"] * divisors["total"]
    if input_tok_s + output_tok_s > FLOAT_MAX or total_tok_s > FLOAT_MAX:
        raise _rate_overflow(reader, per_gpu, divisors)
    throughput = {
        "input_tok_s": input_tok_s,
        "output_tok_s": output_tok_s,
        "reported_total_tok_s": total_tok_s,
    }
    latency: dict[str, Any] = present_metrics(reader, _LATENCY_KEYS)
    latency["itl_unit"] = ItlUnit.CHUNK
    workload = {
        "isl": reader.integer("isl"),
        "osl": reader.integer("osl"),
        "sampler": options.sampler or LengthSampler.BENCH_SERVING,
        "range_ratio": DEFAULT_RANGE_RATIO if options.range_ratio is None else options.range_ratio,
        "concurrency": reader.integer("conc", minimum=1),
        "dataset": "random",
    }
    num_gpus = identity["num_gpus"]
    extras: dict[str, Any] = {"per_gpu_tok_s": per_gpu}
    # a rejected or doubtful measurement stays visible wherever the result travels (store, report)
    notes: list[str] = []
    measured = _measured(reader, input_tok_s + output_tok_s, output_tok_s, num_gpus)
    energy: EnergyMeasurement | Mapping[str, Any] | None = measured
    basis: Basis | None = None
    if measured is not None:
        basis = measured.basis
        if not measured.valid:
            notes = [f"measured power used but marked invalid: {r}" for r in measured.reasons]
    else:
        energy, why = stated_energy_fields(options, identity["gpu"], num_gpus)
        basis = None if energy is None else energy["basis"]
        if why:
            extras["power_missing"] = why
        if reader.optional_integer("power_valid") == 0:
            rejected = (
                "the row's measured power is marked invalid upstream (power_valid=0) and is not "
                + ("used; the stated basis is used instead" if energy else "used")
            )
            extras["measured_power_rejected"] = rejected
            notes = [rejected]
    per_query_j = reader.optional_number("joules_per_successful_query")
    if per_query_j is not None and basis is Basis.MEASURED:
        extras["energy_per_query_j"] = per_query_j
    reported_std = reader.optional_number("std_intvty")
    if reported_std is not None:
        extras["reported_std_intvty"] = reported_std
    data = reader.data
    return validated_result(
        {
            "identity": identity,
            "workload": workload,
            "counts": {},  # (the default factory's Counts() costs ~0.4 µs more)
            "throughput": throughput,
            "latency": latency,
            "energy": energy,
            "provenance": {
                "source": reader.source,
                "source_format": "inferencex",
                "row": reader.row,
                "tool": "InferenceX",
                "hardware": reader.text("hw"),
                "engine_config": {key: data[key] for key in _CONFIG_KEYS if key in data},
                "notes": notes,
            },
            "extras": extras,
        }
    )
