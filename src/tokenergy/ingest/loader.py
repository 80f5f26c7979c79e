"""``load_results``: paths → ServingResults with their checks, plus what was skipped and why."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from tokenergy.errors import IngestError, validation_problem
from tokenergy.ingest.checks import Finding, run_checks
from tokenergy.ingest.detect import adapter_named, detect
from tokenergy.ingest.options import IngestOptions
from tokenergy.ingest.registry import NotResults
from tokenergy.ingest.sources import Document, SkippedFile, count_documents, iter_documents
from tokenergy.progress import ProgressCallback, Tally
from tokenergy.records import ServingResult


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


def read_document(
    document: Document, options: IngestOptions, fmt: str | None = None
) -> list[ServingResult]:
    """Results of one document; raises IngestError (bad input) or NotResults (nothing to read)."""
    data = document.parse()
    adapter = adapter_named(fmt) if fmt else detect(data, document)
    try:
        return adapter.read(data, document, options)
    except ValidationError as error:
        raise _validation_error(error, document) from None


def load_results(
    paths: Iterable[str | Path],
    options: IngestOptions | None = None,
    *,
    fmt: str | None = None,
    keep_going: bool = True,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Ingest files, directories and `.zip`s; run every check on the results.

    With ``keep_going`` (default) a bad file is recorded in ``skipped`` (``failed=True``) and the
    others still ingest; without it the first IngestError propagates. ``progress`` is called
    after each file (a zip: each member) with files done of the total and results so far.
    """
    options = options or IngestOptions()
    out = IngestResult()
    sources = [Path(p) for p in paths]
    files = Tally(progress, count_documents(sources) if progress else 0, "files")
    for item in _counted(iter_documents(sources), files, out):
        if isinstance(item, SkippedFile):
            if item.failed and not keep_going:
                raise IngestError(item.reason)
            out.skipped.append(item)
            continue
        try:
            out.results.extend(read_document(item, options, fmt))
        except NotResults as signal:
            out.skipped.append(SkippedFile(item.name, signal.reason, failed=False))
        except IngestError as error:
            if not keep_going:
                raise
            out.skipped.append(SkippedFile(item.name, str(error), failed=True))
    files.finish(len(out.results))
    out.checks = run_checks(out.results, options)
    return out


def _counted(
    items: Iterator[Document | SkippedFile], files: Tally, out: IngestResult
) -> Iterator[Document | SkippedFile]:
    """``items``, telling ``files`` as the loop body finishes each (with the results so far)."""
    for item in items:
        yield item
        files.add(1, len(out.results))
