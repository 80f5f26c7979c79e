"""SOURCES on the command line → ServingResults: run directories, result JSON, or the store.

A run directory is any directory holding a run.json; a JSON/JSONL file may hold one ServingResult,
a list of them, or one per line (what `runs export`-style tools and the library write).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tokenergy.errors import IngestError
from tokenergy.records import ServingResult
from tokenergy.store import RUN_FILE, read_run_json


def _validate(document: Any, path: Path, where: str) -> ServingResult:
    try:
        return ServingResult.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise IngestError(
            f"{where}not a ServingResult ({first['msg']}); convert foreign formats with "
            "`tokenergy ingest` first",
            file=str(path),
            field=field,
        ) from None


def _from_file(path: Path) -> list[ServingResult]:
    if path.name == RUN_FILE:
        return [read_run_json(path)]
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise IngestError(f"cannot read: {error}", file=str(path)) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        lines = [line for line in text.splitlines() if line.strip()]
        try:
            return [
                _validate(json.loads(line), path, f"line {n}: ")
                for n, line in enumerate(lines, 1)
            ]
        except json.JSONDecodeError as error:
            raise IngestError(f"not JSON or JSONL: {error}", file=str(path)) from None
    if isinstance(document, list):
        return [_validate(item, path, f"item {n}: ") for n, item in enumerate(document)]
    return [_validate(document, path, "")]


def load_sources(paths: Iterable[Path]) -> list[ServingResult]:
    """Results of every source in order; directories are searched for run.json files."""
    results: list[ServingResult] = []
    for path in paths:
        if path.is_dir():
            runs = sorted(path.rglob(RUN_FILE))
            if not runs:
                raise IngestError(f"no {RUN_FILE} found in this directory", file=str(path))
            results.extend(read_run_json(run) for run in runs)
        elif path.is_file():
            results.extend(_from_file(path))
        else:
            raise IngestError("no such file or directory", file=str(path))
    return results
