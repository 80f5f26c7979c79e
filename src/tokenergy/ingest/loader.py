"""Paths → ServingResults with their checks, plus what was skipped and why.

Two ways in: :func:`ingest_into` hands results one at a time to a :class:`ResultSink` (constant
memory: the CLI writes rows out as they come), :func:`load_results` collects them in lists. A file
that turns out bad half-way is rolled back from the sink, so either all of a file's rows arrive
or none (the same as reading it whole).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from tokenergy.errors import IngestError, UnitError, validation_problem
from tokenergy.ingest.checks import Finding, Spellings, row_checks
from tokenergy.ingest.detect import adapter_named, detect, yaml_skip_reason
from tokenergy.ingest.jsonstream import JsonArrayStream
from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.registry import ADAPTERS, NotResults
from tokenergy.ingest.sources import Document, SkippedFile, count_documents, iter_documents
from tokenergy.progress import ProgressCallback, Tally
from tokenergy.records import ServingResult


class ResultSink(Protocol):
    """Where :func:`ingest_into` puts results: ``add`` per result, then ``commit`` when its file
    was read to the end, or ``rollback`` (forget every ``add`` since the last commit)."""

    def add(self, result: ServingResult, findings: list[Finding]) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


@dataclass
class Ingestion:
    """What a streamed ingest leaves besides the results: skipped files, the number of results
    and the model spellings (for the cross-row check :meth:`spelling`)."""

    skipped: list[SkippedFile] = field(default_factory=list)
    count: int = 0
    spellings: Spellings = field(default_factory=Spellings)

    @property
    def failed(self) -> list[SkippedFile]:
        """Files that could not be ingested (errors), as opposed to benign skips."""
        return [s for s in self.skipped if s.failed]

    def spelling(self, model: str, name: str) -> Finding:
        """The model_spellings finding of a result (see ``Spellings.spelling``)."""
        return self.spellings.finding(model, name)


@dataclass
class IngestResult:
    """Results in input order with their check findings (aligned), and the files skipped."""

    results: list[ServingResult] = field(default_factory=list)
    checks: list[list[Finding]] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    @property
    def failed(self) -> list[SkippedFile]:
        """Files that could not be ingested (errors), as opposed to benign skips."""
        return [s for s in self.skipped if s.failed]


def _validation_error(error: ValidationError, document: Document) -> IngestError:
    field, message = validation_problem(error)
    return IngestError(message, file=document.name, field=field or None)


def _as_ingest_error(
    error: IngestError | UnitError, document: Document, row: int | None = None
) -> IngestError:
    """A UnitError as this document's IngestError, naming the row whose figures raised it (in a
    JSON-lines file its line, counted from 1 as the JSONL adapter names it)."""
    if isinstance(error, IngestError):
        return error
    at = None
    if row is not None:
        at = f"line {row + 1}" if document.suffix == ".jsonl" else f"row {row}"
    where = [part for part in (at, error.field) if part]
    return IngestError(error.message, file=document.name, field=" ".join(where) or None)


def iter_document(
    document: Document, options: IngestOptions, fmt: str | None = None
) -> Iterator[ServingResult]:
    """Results of one document as the adapter makes them; raises IngestError (bad input) or
    NotResults (nothing to read), possibly after yielding some."""
    if fmt is None:
        for candidate in ADAPTERS.values():
            skip = getattr(candidate, "skip_unparsed", None)
            reason = skip(document) if skip else None
            if reason:
                raise NotResults(reason)
        reason = yaml_skip_reason(document)
        if reason:
            raise NotResults(reason)
    data = document.parse()
    probe = data.head if isinstance(data, JsonArrayStream) else data
    adapter = adapter_named(fmt) if fmt else detect(probe, document)
    if isinstance(data, JsonArrayStream) and not getattr(adapter, "streams_rows", False):
        data = list(data)  # a format read as a whole
    try:
        yield from adapter.read(data, document, options)
    except ValidationError as error:
        raise _validation_error(error, document) from None


def read_document(
    document: Document, options: IngestOptions, fmt: str | None = None
) -> list[ServingResult]:
    """Results of one document; raises IngestError (bad input) or NotResults (nothing to read)."""
    return list(iter_document(document, options, fmt))


def ingest_into(
    sink: ResultSink,
    paths: Iterable[str | Path],
    options: IngestOptions | None = None,
    *,
    fmt: str | None = None,
    keep_going: bool = True,
    progress: ProgressCallback | None = None,
) -> Ingestion:
    """Ingest files, directories and `.zip`s into ``sink`` with each result's own checks (all
    but model_spellings, which needs every result: ``Ingestion.spelling`` gives it afterwards).

    With ``keep_going`` (default) a bad file is recorded in ``skipped`` (``failed=True``) and the
    others still ingest; without it the first IngestError propagates. ``progress`` is called
    after each file (a zip: each member) with files done of the total and results so far.
    """
    options = options or IngestOptions()
    out = Ingestion()
    sources = [Path(p) for p in paths]
    files = Tally(progress, count_documents(sources) if progress else 0, "files")
    for item in iter_documents(sources):
        if isinstance(item, SkippedFile):
            if item.failed and not keep_going:
                raise IngestError(item.reason)
            out.skipped.append(item)
        else:
            _one_document(item, sink, options, fmt, keep_going, out)
        files.add(1, out.count)
    files.finish(out.count)
    return out


def _one_document(
    document: Document,
    sink: ResultSink,
    options: IngestOptions,
    fmt: str | None,
    keep_going: bool,
    out: Ingestion,
) -> None:
    """Every result of ``document`` into the sink, or (bad or empty file) none of them.

    A UnitError while results are made or added (a figure no adapter refused, e.g. an infinite
    token rate reaching J/token) is this file's bad input too: an IngestError naming it, so the
    other files still ingest rather than the whole run stopping on an error naming no file."""
    # the document's (model, name) pairs, tallied once it is committed: a Spellings per document,
    # merged, cost ~3.5 µs a document more (a regex per document and name)
    spelled: set[tuple[str, str]] = set()
    count = 0
    try:
        for result in iter_document(document, options, fmt):
            try:
                sink.add(result, row_checks(result, options))
            except UnitError as error:  # (a try costs nothing until it catches: Python ≥ 3.11)
                raise _as_ingest_error(error, document, result.provenance.row) from None
            spelled.add(Spellings.spelling(result))
            count += 1
    except NotResults as signal:
        sink.rollback()
        out.skipped.append(SkippedFile(document.name, signal.reason, failed=False))
        return
    except (IngestError, UnitError) as error:
        sink.rollback()
        failure = _as_ingest_error(error, document)
        if not keep_going:
            if failure is error:
                raise
            raise failure from None
        out.skipped.append(SkippedFile(document.name, str(failure), failed=True))
        # its traceback holds this frame, which holds it: a cycle keeping the parsed document
        # alive until a collection (none while load_results pauses the collector)
        del failure
        return
    sink.commit()
    for model, name in spelled:
        out.spellings.add(model, name)
    out.count += count


class _Lists:
    """A sink that keeps everything (for :func:`load_results`)."""

    def __init__(self) -> None:
        self.results: list[ServingResult] = []
        self.checks: list[list[Finding]] = []
        self._committed = 0

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        self.results.append(result)
        self.checks.append(findings)

    def commit(self) -> None:
        self._committed = len(self.results)

    def rollback(self) -> None:
        del self.results[self._committed :]
        del self.checks[self._committed :]


@contextmanager
def _collection_paused() -> Iterator[None]:
    """The cyclic garbage collector off while :func:`load_results` builds its lists, then as it
    was. Each result is ~50 tracked objects, and the collector walked the growing lists again
    and again: a 20k-row file took ~1,800 passes, ~60 % of the call's CPU (a full pass over
    its 1 M objects alone ~0.6 s). An ingest of good files makes no cyclic garbage (a
    collection after one finds none); a bad file's error is unlinked from its frame
    (_one_document), so nothing waits for the collector meanwhile. The collector is the
    process's: other threads go without it for the call too."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_results(
    paths: Iterable[str | Path],
    options: IngestOptions | None = None,
    *,
    fmt: str | None = None,
    keep_going: bool = True,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Ingest files, directories and `.zip`s into lists; run every check on the results.

    Arguments as :func:`ingest_into`; holds every result in memory (use ``ingest_into`` with a
    sink for files of any size).
    """
    kept = _Lists()
    with _collection_paused():
        ingestion = ingest_into(
            kept, paths, options, fmt=fmt, keep_going=keep_going, progress=progress
        )
        for result, findings in zip(kept.results, kept.checks, strict=True):
            findings.append(ingestion.spelling(*Spellings.spelling(result)))
        return IngestResult(kept.results, kept.checks, ingestion.skipped)
