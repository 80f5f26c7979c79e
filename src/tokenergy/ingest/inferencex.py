"""InferenceX / InferenceMAX processed rows (`agg_bmk.json`): single node and disaggregated.

Rows store rates *per GPU* (single node ÷ tp·pp·pcp; disaggregated: total ÷ (P+D), input ÷ P,
output ÷ D). Absolute deployment rates are recovered first (docs/methodology.md §4). Latencies
are seconds.
Newer rows may carry measured GPU power (``power_valid``, ``power_metric_schema_version``,
``avg_power_w`` per GPU, ``avg_total_gpu_power_w``, ``total_gpu_energy_j``, ``joules_per_*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, metric_values
from tokenergy.ingest.fields import RowReader
from tokenergy.ingest.jsonstream import JsonArrayStream
from tokenergy.ingest.options import DEFAULT_RANGE_RATIO, IngestOptions, stated_energy
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
    identity: dict[str, Any] = {
        "model": reader.optional_text("infmax_model_prefix") or reader.text("model"),
        "model_name": reader.text("model"),
        "precision": reader.optional_text("precision"),
        "engine": reader.optional_text("framework"),
        "gpu": canonical_gpu(hw),
        "spec_decoding": reader.optional_text("spec_decoding"),
    }
    if reader.has("num_prefill_gpu") or reader.has("num_decode_gpu"):
        prefill = reader.integer("num_prefill_gpu", minimum=1)
        decode = reader.integer("num_decode_gpu", minimum=1)
        dpa = [reader.flag("prefill_dp_attention"), reader.flag("decode_dp_attention")]
        identity.update(
            num_gpus=prefill + decode,
            num_prefill_gpus=prefill,
            num_decode_gpus=decode,
            dp_attention=None if dpa == [None, None] else any(bool(f) for f in dpa),
        )
        return identity, {"total": prefill + decode, "input": prefill, "output": decode}
    tp = reader.integer("tp", minimum=1)
    pp = reader.optional_integer("pp", minimum=1) or 1
    pcp = reader.optional_integer("pcp_size", minimum=1) or 1
    gpus = tp * pp * pcp
    identity.update(
        num_gpus=gpus,
        tp=tp,
        ep=reader.optional_integer("ep", minimum=1),
        pp=pp if reader.has("pp") else None,
        dp_attention=reader.flag("dp_attention"),
    )
    return identity, {"total": gpus, "input": gpus, "output": gpus}


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
        total_w = per_gpu_w * num_gpus
    if total_w is None:
        per_total = reader.optional_number("joules_per_total_token")
        per_output = reader.optional_number("joules_per_output_token")
        if per_total is not None and total_tok_s:
            total_w = per_total * total_tok_s
        elif per_output is not None and output_tok_s:
            total_w = per_output * output_tok_s
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


def _row(reader: RowReader, options: IngestOptions) -> ServingResult:
    """One row as a ServingResult, its parts gathered as plain values and validated by pydantic
    in one call (13 separate records per row were half of a large ingest)."""
    identity, divisors = _identity(reader)
    per_gpu = {
        "total": reader.number("tput_per_gpu"),
        "input": reader.number("input_tput_per_gpu"),
        "output": reader.number("output_tput_per_gpu"),
    }
    input_tok_s = per_gpu["input"] * divisors["input"]
    output_tok_s = per_gpu["output"] * divisors["output"]
    throughput = {
        "input_tok_s": input_tok_s,
        "output_tok_s": output_tok_s,
        "reported_total_tok_s": per_gpu["total"] * divisors["total"],
    }
    intvty = metric_values(reader, "intvty", skip=("std",))
    latency = {
        "ttft_s": metric_values(reader, "ttft"),
        "tpot_s": metric_values(reader, "tpot"),
        "itl_s": metric_values(reader, "itl"),
        "e2el_s": metric_values(reader, "e2el"),
        "intvty_tok_s": intvty,
        "itl_unit": ItlUnit.CHUNK,
    }
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
    energy = _measured(reader, input_tok_s + output_tok_s, output_tok_s, num_gpus)
    if energy is None:
        energy, why = stated_energy(options, identity["gpu"], num_gpus)
        if why:
            extras["power_missing"] = why
        if reader.optional_integer("power_valid") == 0:
            extras["measured_power_rejected"] = (
                "the row's measured power is marked invalid upstream (power_valid=0) and is not "
                + ("used; the stated basis is used instead" if energy else "used")
            )
    per_query_j = reader.optional_number("joules_per_successful_query")
    if per_query_j is not None and energy is not None and energy.basis is Basis.MEASURED:
        extras["energy_per_query_j"] = per_query_j
    reported_std = reader.optional_number("std_intvty")
    if reported_std is not None:
        extras["reported_std_intvty"] = reported_std
    config = {key: reader.data[key] for key in _CONFIG_KEYS if key in reader.data}
    # a rejected or doubtful measurement stays visible wherever the result travels (store, report)
    notes = [str(extras["measured_power_rejected"])] if "measured_power_rejected" in extras else []
    if energy is not None and energy.basis is Basis.MEASURED and not energy.valid:
        notes += [f"measured power used but marked invalid: {r}" for r in energy.reasons]
    return ServingResult.model_validate(
        {
            "identity": identity,
            "workload": workload,
            "throughput": throughput,
            "latency": latency,
            "energy": energy,
            "provenance": {
                "source": reader.source,
                "source_format": "inferencex",
                "row": reader.row,
                "tool": "InferenceX",
                "hardware": reader.text("hw"),
                "engine_config": config,
                "notes": notes,
            },
            "extras": extras,
        }
    )
