"""Saturated-node throughput tables (model, tp, quant, tps, lin, lout, source), e.g. TensorRT-LLM.

``tps`` is total (input + output) tokens/s of the whole node at fixed lengths ``lin``/``lout``;
``tp`` GPUs serve. The GPU model is not in the rows: it comes from a name such as ``h100x8`` or
from ``--gpu``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tokenergy.ingest.common import canonical_gpu, known_gpu
from tokenergy.ingest.fields import RowReader
from tokenergy.ingest.options import IngestOptions, stated_energy
from tokenergy.ingest.registry import register
from tokenergy.ingest.sources import Document
from tokenergy.records import (
    Identity,
    LengthSampler,
    Provenance,
    ServingResult,
    Throughput,
    Workload,
)

_COLUMNS = {"model", "tp", "tps", "lin", "lout"}
_GPU_X = re.compile(r"(?<![0-9a-z])([a-z]+\d+[a-z]*)x\d+", re.IGNORECASE)


@register
class ThroughputTable:
    name: ClassVar[str] = "throughput-table"

    def sniff(self, data: Any, document: Document) -> bool:
        return isinstance(data, list) and bool(data) and set(data[0]) >= _COLUMNS

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        named = _GPU_X.search(document.path.stem)
        gpu = options.gpu or (known_gpu(named[1]) if named else None)
        return [
            _row(RowReader(row, document.name, index, from_text=True), gpu, options)
            for index, row in enumerate(data)
        ]


def _row(reader: RowReader, gpu: str | None, options: IngestOptions) -> ServingResult:
    tp = reader.integer("tp", minimum=1)
    lin, lout = reader.integer("lin"), reader.integer("lout")
    source = reader.optional_text("source")
    identity = Identity(
        model=reader.text("model"),
        precision=reader.optional_text("quant"),
        engine="trt-llm" if source and "tensorrt" in source.lower() else None,
        gpu=canonical_gpu(gpu),
        num_gpus=options.gpus or tp,
        tp=tp,
    )
    extras: dict[str, Any] = {}
    energy, why = stated_energy(options, identity.gpu, identity.num_gpus)
    if why:
        extras["power_missing"] = why
    return ServingResult(
        identity=identity,
        workload=Workload(
            isl=lin,
            osl=lout,
            mean_input_len=float(lin),
            mean_output_len=float(lout),
            sampler=LengthSampler.FIXED,
        ),
        throughput=Throughput(reported_total_tok_s=reader.number("tps")),
        energy=energy,
        provenance=Provenance(
            source=reader.source,
            source_format="throughput-table",
            row=reader.row,
            notes=[f"source: {source}"] if source else [],
        ),
        extras=extras,
    )
