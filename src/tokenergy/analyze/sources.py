"""SOURCES on the command line → ServingResults: run directories, ServingResult JSON, foreign files.

A directory holding run.json files is a set of runs (what `tokenergy bench` writes); a JSON/JSONL
file of ServingResults is read as is; anything else goes through the ingest adapters (InferenceX,
bench_serving, ML.ENERGY …) with the power basis the user gave for unmeasured rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenergy.errors import IngestError, validation_problem
from tokenergy.ingest import IngestOptions, load_results
from tokenergy.ingest.sources import count_documents
from tokenergy.load.runlog import RUN_FILE, find_run_dirs, read_run_json
from tokenergy.progress import Progress, ProgressCallback, Tally
from tokenergy.records import ServingResult


def _is_result(item: Any) -> bool:
    return isinstance(item, dict) and "identity" in item and "provenance" in item


def _validate(item: Any, path: Path, where: str) -> ServingResult:
    try:
        return ServingResult.model_validate(item)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise IngestError(
            f"{where}not a valid ServingResult: {message}", file=str(path), field=field
        ) from None


def _own_results(path: Path) -> list[ServingResult] | None:
    """ServingResults written by tokenergy itself, or None when the file is something else."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        document = json.loads(text)
    except RecursionError:
        raise IngestError("invalid JSON: nested too deeply", file=str(path), field="json") from None
    except json.JSONDecodeError:
        try:
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        except (json.JSONDecodeError, RecursionError):
            return None  # the ingest readers say what is wrong with it
        if lines and all(_is_result(line) for line in lines):
            return [_validate(line, path, f"line {n}: ") for n, line in enumerate(lines, 1)]
        return None
    if _is_result(document):
        return [_validate(document, path, "")]
    if isinstance(document, list) and document and all(_is_result(i) for i in document):
        return [_validate(item, path, f"item {n}: ") for n, item in enumerate(document)]
    return None


def _ingested(
    path: Path, options: IngestOptions, progress: ProgressCallback | None = None
) -> list[ServingResult]:
    ingested = load_results([path], options, keep_going=False, progress=progress)
    if not ingested.results:
        reasons = "; ".join(f"{s.name}: {s.reason}" for s in ingested.skipped[:3])
        raise IngestError(f"no results found ({reasons or 'empty'})", file=str(path))
    return ingested.results


def load_sources(
    paths: Iterable[Path],
    options: IngestOptions | None = None,
    progress: ProgressCallback | None = None,
) -> list[ServingResult]:
    """Results of every source, in order; ``progress`` is told the files done (a run directory:
    its run.json) of the total, with the results so far."""
    options = options or IngestOptions()
    sources = list(paths)
    files = Tally(progress, sum(_files(path) for path in sources) if progress else 0, "files")
    results: list[ServingResult] = []
    for path in sources:
        if path.is_dir() and (runs := find_run_dirs(path)):
            for run in runs:
                results.append(read_run_json(run / RUN_FILE))
                files.add(1, len(results))
        elif path.is_file() and path.name == RUN_FILE:
            results.append(read_run_json(path))
            files.add(1, len(results))
        elif path.is_file() and (own := _own_results(path)) is not None:
            results.extend(own)
            files.add(1, len(results))
        elif path.is_dir() or path.is_file():
            results.extend(_ingested(path, options, _within(files, len(results))))
        else:
            raise IngestError("no such file or directory", file=str(path))
    files.finish(len(results))
    return results


def _files(path: Path) -> int:
    """The files :func:`load_sources` reads for ``path`` (for progress)."""
    if path.is_dir():
        return len(find_run_dirs(path)) or count_documents([path])
    return count_documents([path])


def _within(files: Tally, before: int) -> ProgressCallback:
    """The progress of one ingested source, folded into the count over every source."""
    start = files.done

    def told(step: Progress) -> None:
        files.add(start + step.done - files.done, before + (step.results or 0))

    return told
