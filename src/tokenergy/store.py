"""The results store: run directories and ingested results, indexed with DuckDB.

Layout under TOKENERGY_HOME (default: the platform's user data dir)::

    runs/<id>/run.json       the ServingResult (source of truth)
    runs/<id>/row.parquet    its analysis row + id, kind and time added (the index DuckDB scans)
    runs/<id>/...            other files of a run directory (requests.jsonl, power timelines)

The id is a hash of the result, so adding the same result twice is a no-op. There is no database
file to corrupt or migrate: DuckDB queries the Parquet rows directly.

Crash safety: a run is assembled in ``tmp/`` beside ``runs/`` (same filesystem), each file fsynced,
then the whole directory is renamed into place. A rename is atomic, so a reader sees a run either
complete or not at all, and of several concurrent writers of the same result exactly one wins
(the others' rename fails: the id exists). A row file damaged by other means (an older version
killed mid-write, a disk fault) is skipped by queries and listed by :meth:`Store.damaged`; adding
the same result again repairs it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import types
import typing
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import duckdb
import platformdirs
import pyarrow as pa
import pyarrow.parquet as pq

from tokenergy.analyze.table import AnalysisRow, to_row
from tokenergy.errors import ConfigError
from tokenergy.load.runlog import RUN_FILE, read_run_json
from tokenergy.records import ServingResult

HOME_ENV = "TOKENERGY_HOME"
_ROW_FILE = "row.parquet"
_ID_CHARS = 12


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"
    JSON = "json"


def default_home() -> Path:
    """$TOKENERGY_HOME, else the platform's user data directory for tokenergy."""
    configured = os.environ.get(HOME_ENV)
    return Path(configured) if configured else platformdirs.user_data_path("tokenergy")


def _arrow_type(annotation: Any) -> pa.DataType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if isinstance(annotation, types.UnionType) and args else annotation
    return {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}[base]


_ROW_SCHEMA = pa.schema(
    [pa.field("id", pa.string()), pa.field("kind", pa.string()), pa.field("added_at", pa.string())]
    + [
        pa.field(name, _arrow_type(annotation))
        for name, annotation in typing.get_type_hints(AnalysisRow).items()
    ]
)


@dataclass(frozen=True)
class StoredRun:
    id: str
    path: Path
    added: bool  # False when the same result was already stored


def result_id(result: ServingResult) -> str:
    return hashlib.sha256(result.model_dump_json().encode()).hexdigest()[:_ID_CHARS]


class Store:
    """A directory of stored results; every query goes through DuckDB over their row files."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = home if home is not None else default_home()
        self.runs_dir = self.home / "runs"

    def add(self, result: ServingResult, run_dir: Path | None = None) -> StoredRun:
        """Store a result (and the other files of its run directory, if any), atomically."""
        run_id = result_id(result)
        target = self.runs_dir / run_id
        if _row_is_readable(target / _ROW_FILE):
            return StoredRun(run_id, target, added=False)
        staging = self._stage(result, run_id, run_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        if target.exists() and not _row_is_readable(target / _ROW_FILE):
            _discard(target, self.home / "tmp")  # damaged (torn row): move aside, then replace
        try:
            staging.rename(target)
        except OSError:  # another writer put the same result in place first
            shutil.rmtree(staging, ignore_errors=True)
            return StoredRun(run_id, target, added=False)
        _fsync_dir(self.runs_dir)
        return StoredRun(run_id, target, added=True)

    def _stage(self, result: ServingResult, run_id: str, run_dir: Path | None) -> Path:
        """A complete, fsynced copy of the run under ``tmp/``, ready to be renamed into place."""
        staging = self.home / "tmp" / f"{run_id}-{secrets.token_hex(4)}"
        staging.mkdir(parents=True)
        if run_dir is not None:
            for item in run_dir.iterdir():
                if item.is_file() and item.name != RUN_FILE:
                    shutil.copy2(item, staging / item.name)
                    _fsync_file(staging / item.name)
        _write_synced(staging / RUN_FILE, result.model_dump_json(indent=2).encode())
        row = {
            "id": run_id,
            "kind": "run" if run_dir is not None else "ingested",
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **to_row(result).as_dict(),
        }
        pq.write_table(pa.Table.from_pylist([row], schema=_ROW_SCHEMA), staging / _ROW_FILE)
        _fsync_file(staging / _ROW_FILE)
        _fsync_dir(staging)
        return staging

    def add_run_dir(self, run_dir: Path) -> StoredRun:
        return self.add(read_run_json(run_dir / RUN_FILE), run_dir)

    def _row_files(self) -> list[str]:
        """Readable row files only: a damaged one must not make the whole store unreadable."""
        return [
            str(path)
            for path in sorted(self.runs_dir.glob(f"*/{_ROW_FILE}"))
            if _row_is_readable(path)
        ]

    def damaged(self) -> list[Path]:
        """Run directories whose row file is missing or unreadable (skipped by every query)."""
        if not self.runs_dir.is_dir():
            return []
        return [
            run
            for run in sorted(self.runs_dir.iterdir())
            if run.is_dir() and not _row_is_readable(run / _ROW_FILE)
        ]

    def query(self, where: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Index rows, oldest first; ``where`` compares columns as text, case-insensitively."""
        files = self._row_files()
        if not files:
            return []
        sql, params = _select(files, where or {})
        relation = duckdb.execute(sql + " ORDER BY added_at, id", params)
        names = [d[0] for d in relation.description]
        return [dict(zip(names, values, strict=True)) for values in relation.fetchall()]

    def resolve(self, prefix: str) -> Path:
        """Directory of the run whose id starts with ``prefix`` (unique)."""
        # compare names, never glob: an id like 'a**' or '../..' is text, not a pattern or a path
        names = sorted(self.runs_dir.iterdir()) if prefix and self.runs_dir.is_dir() else []
        matches = [path for path in names if path.name.startswith(prefix)]
        if len(matches) != 1:
            what = "no" if not matches else "several"
            raise ConfigError(f"{what} stored runs match id {prefix!r}", field="prefix")
        return matches[0]

    def get(self, prefix: str) -> ServingResult:
        return read_run_json(self.resolve(prefix) / RUN_FILE)

    def results(self, where: dict[str, str] | None = None) -> list[ServingResult]:
        return [self.get(row["id"]) for row in self.query(where)]

    def export(self, out: Path, fmt: ExportFormat, where: dict[str, str] | None = None) -> int:
        """Write the index rows to a CSV, Parquet or JSON (array) file; returns the row count."""
        files = self._row_files()
        if not files:
            raise ConfigError(f"the store at {self.home} is empty: nothing to export")
        sql, params = _select(files, where or {})
        options = {
            ExportFormat.CSV: "FORMAT csv, HEADER true",
            ExportFormat.PARQUET: "FORMAT parquet",
            ExportFormat.JSON: "FORMAT json, ARRAY true",
        }[fmt]
        connection = duckdb.connect()
        count = connection.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
        connection.execute(
            f"COPY ({sql} ORDER BY added_at, id) TO '{_quote(out)}' ({options})", params
        )
        return int(count[0]) if count else 0


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


_PARQUET_MAGIC = b"PAR1"


def _row_is_readable(path: Path) -> bool:
    """A complete Parquet file: magic bytes at both ends (a torn write lacks the footer)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            handle.seek(-4, os.SEEK_END)
            tail = handle.read(4)
    except OSError:
        return False
    return head == tail == _PARQUET_MAGIC


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _discard(run: Path, tmp: Path) -> None:
    """Move a damaged run out of ``runs/`` (atomic), then delete it."""
    tmp.mkdir(parents=True, exist_ok=True)
    aside = tmp / f"damaged-{run.name}-{secrets.token_hex(4)}"
    try:
        run.rename(aside)
    except OSError:  # a concurrent writer moved or replaced it already
        return
    shutil.rmtree(aside, ignore_errors=True)


def _select(files: list[str], where: dict[str, str]) -> tuple[str, list[str]]:
    clauses = []
    params: list[str] = []
    for column, value in where.items():
        if column not in _ROW_SCHEMA.names:
            raise ConfigError(
                f"unknown column {column!r}; use one of {', '.join(_ROW_SCHEMA.names)}",
                field="where",
            )
        clauses.append(f'lower(CAST("{column}" AS VARCHAR)) = lower(?)')
        params.append(value)
    # union_by_name: rows written before a column was added still read (as NULL there)
    listed = ", ".join("'" + name.replace("'", "''") + "'" for name in files)
    sql = f"SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return sql, params
