"""Saturated-node throughput tables (model, tp, quant, tps, lin, lout, source[, rate, gpu]).

``tps`` is the token rate of the whole node at fixed lengths ``lin``/``lout`` with ``tp`` GPUs
serving. The optional ``rate`` column says what it counts: ``output`` (output tokens/s, the
default: TensorRT-LLM's perf overviews report "Total Output Throughput") or ``total`` (input +
output tokens/s). The other rates follow from the fixed lengths. The GPU model comes from an
optional ``gpu`` column, ``--gpu``, or a name such as ``h100x8``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, known_gpu
from tokenergy.ingest.fields import FLOAT_MAX, RowReader
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import register
from tokenergy.ingest.sources import Document
from tokenergy.records import (
    Identity,
    LengthSampler,
    Provenance,
    RateBasis,
    ServingResult,
    Throughput,
    Workload,
)

_COLUMNS = {"model", "tp", "tps", "lin", "lout"}
_GPU_X = re.compile(r"(?<![0-9a-z])([a-z]+\d+[a-z]*)x\d+", re.IGNORECASE)
DEFAULT_RATE = RateBasis.OUTPUT  # the TensorRT-LLM layout: "Total Output Throughput (tokens/sec)"


def rate_basis(reader: RowReader, key: str = "rate") -> RateBasis:
    """The row's ``rate`` cell (output|total); absent or empty: output (TensorRT-LLM layout)."""
    text = reader.optional_text(key)
    if text is None:
        return DEFAULT_RATE
    try:
        return RateBasis(text.strip().lower())
    except ValueError:
        raise reader.error(key, f"expected output or total, got {text!r}") from None


@register
class ThroughputTable:
    name: ClassVar[str] = "throughput-table"

    def sniff(self, data: Any, document: Document) -> bool:
        return (
            isinstance(data, list)
            and bool(data)
            and isinstance(data[0], dict)  # ([null] has no columns: set(None) would raise)
            and set(data[0]) >= _COLUMNS
        )

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        named = _GPU_X.search(document.path.stem)
        gpu = options.gpu or (known_gpu(named[1]) if named else None)
        return [
            _row(RowReader(row, document.name, index, from_text=True), gpu, options)
            for index, row in enumerate(data)
        ]


def _row(reader: RowReader, gpu: str | None, options: IngestOptions) -> ServingResult:
    tp = reader.integer("tp", minimum=1)
    lin, lout = reader.integer("lin", minimum=1), reader.integer("lout", minimum=1)
    source = reader.optional_text("source")
    rate = rate_basis(reader)
    identity = Identity(
        model=reader.text("model"),
        precision=reader.optional_text("quant"),
        engine="trt-llm" if source and "tensorrt" in source.lower() else None,
        gpu=canonical_gpu(options.gpu or reader.optional_text("gpu") or gpu),
        num_gpus=options.gpus or tp,
        tp=tp,
    )
    extras: dict[str, Any] = {}
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    if why:
        extras["power_missing"] = why
    implied = "input" if rate is RateBasis.OUTPUT else "input and output"
    notes = [f"tps is {rate.value} tokens/s; {implied} rate implied by the fixed lengths"]
    tps = reader.number("tps")
    throughput = Throughput.from_fixed_lengths(tps, rate, lin, lout)
    if (throughput.total_tok_s or 0.0) > FLOAT_MAX:  # 1e308 × lin/lout is inf
        raise reader.error("tps", f"rate out of range ({tps:g} tok/s at lengths {lin}/{lout})")
    return ServingResult(
        identity=identity,
        workload=Workload(
            isl=lin,
            osl=lout,
            mean_input_len=float(lin),
            mean_output_len=float(lout),
            sampler=LengthSampler.FIXED,
        ),
        throughput=throughput,
        energy=energy,
        provenance=Provenance(
            source=reader.source,
            source_format="throughput-table",
            row=reader.row,
            notes=([f"source: {source}"] if source else []) + notes,
        ),
        extras=extras,
    )
