"""JSON-lines files whose every line is a result of a known format (SGLang ``bench_serving``
appends one JSON object per run to its ``--output-file``): each line is read by its own adapter.

Registered last, so formats that own a whole JSON-lines file (AIPerf per-request records) win.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tokenergy.errors import IngestError
from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.registry import ADAPTERS, Adapter, NotResults, register
from tokenergy.ingest.sources import Document, JsonLines
from tokenergy.records import ServingResult


def _line_adapter(line: Any, document: Document) -> Adapter | None:
    for adapter in ADAPTERS.values():
        if adapter.name != JsonLinesAdapter.name and adapter.sniff(line, document):
            return adapter
    return None


@register
class JsonLinesAdapter:
    name: ClassVar[str] = "jsonl"

    def sniff(self, data: Any, document: Document) -> bool:
        return isinstance(data, JsonLines)

    def read(self, data: Any, document: Document, options: IngestOptions) -> list[ServingResult]:
        if not data:
            raise NotResults("empty JSON-lines file: no rows")
        results: list[ServingResult] = []
        for index, line in enumerate(data):
            where = f"line {index + 1}"
            adapter = _line_adapter(line, document)
            if adapter is None and index == 0 and not document.explicit:
                # logs travel with results (tokenergy's requests.jsonl): listed, not an error
                raise NotResults("JSON lines of no known result format")
            if adapter is None:
                shape = ", ".join(sorted(line)[:6]) if isinstance(line, dict) else "not an object"
                raise IngestError(f"unknown format ({shape})", file=document.name, field=where)
            try:
                read = list(adapter.read(line, document, options))
            except IngestError as error:
                field = f"{where} {error.field}" if error.field else where
                raise IngestError(error.message, file=document.name, field=field) from None
            for result in read:
                result.provenance.row = index
                results.append(result)
        return results
