"""The results store: run directories and ingested results, indexed with DuckDB.

Layout under TOKENERGY_HOME (default: the platform's user data dir)::

    runs/<id>/run.json       the ServingResult (source of truth)
    runs/<id>/row.parquet    its analysis row + id, kind and time added (the index DuckDB scans)
    runs/<id>/...            other files of a run directory (requests.jsonl, power timelines)

The id is a hash of the result, so adding the same result twice is a no-op. There is no database
file to corrupt or migrate: DuckDB queries the Parquet rows directly.
"""

from __future__ import annotations

import hashlib
import os
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
        """Store a result (and the other files of its run directory, if any)."""
        run_id = result_id(result)
        target = self.runs_dir / run_id
        if (target / _ROW_FILE).exists():
            return StoredRun(run_id, target, added=False)
        target.mkdir(parents=True, exist_ok=True)
        if run_dir is not None:
            for item in run_dir.iterdir():
                if item.is_file() and item.name != RUN_FILE:
                    shutil.copy2(item, target / item.name)
        (target / RUN_FILE).write_text(result.model_dump_json(indent=2))
        row = {
            "id": run_id,
            "kind": "run" if run_dir is not None else "ingested",
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **to_row(result).as_dict(),
        }
        pq.write_table(pa.Table.from_pylist([row], schema=_ROW_SCHEMA), target / _ROW_FILE)
        return StoredRun(run_id, target, added=True)

    def add_run_dir(self, run_dir: Path) -> StoredRun:
        return self.add(read_run_json(run_dir / RUN_FILE), run_dir)

    def _glob(self) -> str | None:
        if not any(self.runs_dir.glob(f"*/{_ROW_FILE}")):
            return None
        return str(self.runs_dir / "*" / _ROW_FILE)

    def query(self, where: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Index rows, oldest first; ``where`` compares columns as text, case-insensitively."""
        pattern = self._glob()
        if pattern is None:
            return []
        sql, params = _select(pattern, where or {})
        relation = duckdb.execute(sql + " ORDER BY added_at, id", params)
        names = [d[0] for d in relation.description]
        return [dict(zip(names, values, strict=True)) for values in relation.fetchall()]

    def resolve(self, prefix: str) -> Path:
        """Directory of the run whose id starts with ``prefix`` (unique)."""
        matches = sorted(self.runs_dir.glob(f"{prefix}*")) if prefix else []
        if len(matches) != 1:
            what = "no" if not matches else "several"
            raise ConfigError(f"{what} stored runs match id {prefix!r}", field="RUN_ID")
        return matches[0]

    def get(self, prefix: str) -> ServingResult:
        return read_run_json(self.resolve(prefix) / RUN_FILE)

    def results(self, where: dict[str, str] | None = None) -> list[ServingResult]:
        return [self.get(row["id"]) for row in self.query(where)]

    def export(self, out: Path, fmt: ExportFormat, where: dict[str, str] | None = None) -> int:
        """Write the index rows to a CSV, Parquet or JSON (array) file; returns the row count."""
        pattern = self._glob()
        if pattern is None:
            raise ConfigError(f"the store at {self.home} is empty", field="runs export")
        sql, params = _select(pattern, where or {})
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


def _select(pattern: str, where: dict[str, str]) -> tuple[str, list[str]]:
    clauses = []
    params: list[str] = []
    for column, value in where.items():
        if column not in _ROW_SCHEMA.names:
            raise ConfigError(
                f"unknown column {column!r}; use one of {', '.join(_ROW_SCHEMA.names)}",
                field="--where",
            )
        clauses.append(f'lower(CAST("{column}" AS VARCHAR)) = lower(?)')
        params.append(value)
    # union_by_name: rows written before a column was added still read (as NULL there)
    quoted = pattern.replace("'", "''")
    sql = f"SELECT * FROM read_parquet('{quoted}', union_by_name = true)"
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    return sql, params
