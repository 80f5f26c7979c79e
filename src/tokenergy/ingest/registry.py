"""Adapters by format name; adding a format is one module with one ``@register`` class.

An adapter says whether a parsed document is its format (``sniff``, by content) and turns it into
ServingResults (``read``: a list, or a generator for rows that stream). Documents that hold no
results by design raise :class:`NotResults`. An adapter with ``streams_rows = True`` is given a
large JSON array file as a JsonArrayStream (iterated once, row by row) instead of a list. An
adapter's optional ``skip_unparsed(document) -> str | None`` names a document to skip before it
is parsed (a slow-to-parse twin of a file read on its own); one that reads YAML says by
``reads_yaml(document) -> bool`` whether a YAML's text could be its format (YAML that no adapter
recognises is skipped unparsed when found in a directory).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Protocol

from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.sources import Document
from tokenergy.records import ServingResult


class NotResults(Exception):
    """A recognised document that carries no serving results (metadata, non-LLM task, empty)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Adapter(Protocol):
    name: ClassVar[str]

    def sniff(self, data: Any, document: Document) -> bool: ...

    def read(
        self, data: Any, document: Document, options: IngestOptions
    ) -> Iterable[ServingResult]: ...


ADAPTERS: dict[str, Adapter] = {}


def register(cls: Callable[[], Adapter]) -> Callable[[], Adapter]:
    adapter = cls()
    ADAPTERS[adapter.name] = adapter
    return cls
