"""Content-based format detection: the first registered adapter whose ``sniff`` accepts."""

from __future__ import annotations

from typing import Any

from tokenergy.errors import IngestError
from tokenergy.ingest import (  # noqa: F401 - importing registers the adapters
    aiperf,
    bench_serving,
    genai_perf,
    guidellm,
    inferencex,
    jsonl,
    llmperf,
    metadata,
    mlenergy,
    throughput_table,
)
from tokenergy.ingest.registry import ADAPTERS, Adapter, NotResults
from tokenergy.ingest.sources import YAML_SUFFIXES, Document


def detect(data: Any, document: Document) -> Adapter:
    """The adapter for a parsed document; an empty array is recognised as holding no rows."""
    for adapter in ADAPTERS.values():
        if adapter.sniff(data, document):
            return adapter
    if isinstance(data, list) and not data:
        raise NotResults("empty array: no rows")
    if document.suffix in YAML_SUFFIXES:  # configs and profiles travel with results
        raise NotResults("YAML that is not a known result format")
    shape = type(data).__name__
    if isinstance(data, dict):
        keys = ", ".join(sorted(data)[:6])
        shape = f"object with keys {keys}{'…' if len(data) > 6 else ''}"
    elif isinstance(data, list) and isinstance(data[0], dict):
        shape = f"rows with columns {', '.join(sorted(data[0])[:6])}"
    raise IngestError(
        f"unknown format ({shape}); known: {', '.join(sorted(ADAPTERS))}", file=document.name
    )


def adapter_named(name: str) -> Adapter:
    """An adapter by its registry name (to force a format instead of detecting it)."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise IngestError(
            f"unknown format {name!r}; known: {', '.join(sorted(ADAPTERS))}", field="fmt"
        ) from None
