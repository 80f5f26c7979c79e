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

NOT_RESULT_YAML = "YAML that is not a known result format"


def yaml_skip_reason(document: Document) -> str | None:
    """The reason to skip a YAML document found in a directory or a zip before parsing it,
    when no adapter that reads YAML (``reads_yaml(document)``) recognises its text; else None.
    Configs and profiles travel with results: the shared data's four are not parsed (nor yaml
    imported: ~18 ms). A file named on the command line is parsed, so a broken one says so."""
    if document.suffix not in YAML_SUFFIXES or document.explicit:
        return None
    for adapter in ADAPTERS.values():
        reads_yaml = getattr(adapter, "reads_yaml", None)
        if reads_yaml is not None and reads_yaml(document):
            return None
    return NOT_RESULT_YAML


def detect(data: Any, document: Document) -> Adapter:
    """The adapter for a parsed document; an empty array is recognised as holding no rows."""
    for adapter in ADAPTERS.values():
        if adapter.sniff(data, document):
            return adapter
    if isinstance(data, list) and not data:
        raise NotResults("empty array: no rows")
    if document.suffix in YAML_SUFFIXES:  # configs and profiles travel with results
        raise NotResults(NOT_RESULT_YAML)
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
