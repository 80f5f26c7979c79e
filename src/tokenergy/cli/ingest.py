"""``tokenergy ingest`` and ``tokenergy check``: published results → J/token, Wh/query, checks.

Exit codes: 0 all files ingested; 2 when any file could not be ingested (the others are still
shown, and the skipped files are summarised on stderr); ``check --strict``: 1 when any check
fails and every file ingested.
"""

from __future__ import annotations

import csv
import json
import math
import operator
import re
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from enum import StrEnum
from functools import lru_cache
from itertools import chain, islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import typer

from tokenergy import units
from tokenergy.cli import render
from tokenergy.cli.flags import as_flags, with_flags
from tokenergy.cli.options import (
    BASIS_HELP,
    GRID_HELP,
    REGION_HELP,
    WUE_HELP,
    grid_option,
    parse_option,
    power_spec,
)
from tokenergy.cli.paths import output_file
from tokenergy.cli.render import (
    Column,
    clean,
    echo,
    fitted_table,
    fmt,
    json_text,
    make_console,
    one_line,
    styled,
)
from tokenergy.cli.work_progress import PROGRESS_EVERY_OPTION, QUIET_OPTION, WorkProgress
from tokenergy.errors import ConfigError
from tokenergy.footprint import Grid
from tokenergy.ingest import (
    ADAPTERS,
    Finding,
    Ingestion,
    IngestOptions,
    Status,
    ingest_into,
    with_footprint,
)
from tokenergy.ingest.checks import STATUS_TEXT, Spellings
from tokenergy.ingest.options import DEFAULT_FAILURE_GATE
from tokenergy.ingest.rows import checked_row
from tokenergy.ingest.spill import FileWarnings, RowStore, Spill, final_status
from tokenergy.records import LEGACY_ROW_KEYS, LengthSampler, ServingResult

if TYPE_CHECKING:
    from rich.table import Table


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"
    PARQUET = "parquet"


_PATHS = typer.Argument(..., help="Files, directories or GitHub Actions .zip artifacts.")


def _options(
    *,
    basis: str | None,
    power: str | None,
    power_per_gpu: str | None,
    boundary: str | None,
    host_overhead: str | None,
    pue: str | None,
    gpu: str | None,
    gpus: int | None,
    sampler: str | None,
    range_ratio: float | None,
    failure_gate: str,
) -> IngestOptions:
    given = any(x is not None for x in (basis, power, power_per_gpu))
    spec = (
        power_spec(
            power=power,
            power_per_gpu=power_per_gpu,
            basis=basis,
            boundary=boundary,
            host_overhead=host_overhead,
            pue=pue,
        )
        if given
        else None
    )
    if spec is None and any(x is not None for x in (host_overhead, pue, boundary)):
        raise ConfigError(
            "--host-overhead/--pue/--boundary need a power: give --basis or --power",
            field="--pue",
        )
    chosen_sampler = None
    if sampler is not None:
        try:
            chosen_sampler = LengthSampler(sampler)
        except ValueError:
            names = ", ".join(s.value for s in LengthSampler)
            raise ConfigError(
                f"unknown sampler {sampler!r}; use one of {names}", field="--sampler"
            ) from None
    if range_ratio is not None and not 0 <= range_ratio <= 1:
        raise ConfigError(f"must be within [0, 1], got {range_ratio:g}", field="--range-ratio")
    gate = parse_option("--failure-gate", units.parse_fraction, failure_gate)
    if not gate <= 1:
        raise ConfigError(
            f"a failure rate is at most 100%, got {failure_gate!r}", field="--failure-gate"
        )
    return IngestOptions(
        power=spec,
        sampler=chosen_sampler,
        range_ratio=range_ratio,
        gpu=gpu,
        gpus=gpus,
        failure_gate=gate,
    )


def _check_format(name: str | None) -> str | None:
    if name is not None and name not in ADAPTERS:
        raise ConfigError(
            f"unknown input format {name!r}; use one of {', '.join(sorted(ADAPTERS))}",
            field="--input-format",
        )
    return name


def _report_skipped(ingested: Ingestion) -> int:
    """Summarise skipped files on stderr; exit code 2 if any could not be ingested."""
    if ingested.skipped:
        heading = f"skipped {len(ingested.skipped)} file(s), {len(ingested.failed)} with errors:"
        lines = [
            ("error", one_line(item.reason))
            if item.failed
            else ("skip", one_line(f"{item.name}: {item.reason}"))
            for item in ingested.skipped
        ]
        if render.plain_stderr():  # what err_console would write, without rich
            sys.stderr.write(clean(heading) + "\n")
            sys.stderr.write("".join(f"  {tag}: {reason}\n" for tag, reason in lines))
            sys.stderr.flush()
        else:
            render.err_console.print(heading, highlight=False, soft_wrap=True)
            for tag, reason in lines:
                shown = styled(tag, "bold red") if tag == "error" else tag
                render.err_console.print(
                    "  ", shown, ": ", reason, sep="", highlight=False, soft_wrap=True
                )
    return 2 if ingested.failed else 0


# --- ingest -------------------------------------------------------------------------------------


def _keep(row: dict[str, Any], args: dict[str, Any]) -> bool:
    if args["model"] and not any(
        args["model"].lower() in str(row.get(k) or "").lower() for k in ("model", "model_name")
    ):
        return False
    if args["hw"] and args["hw"].lower() not in str(row.get("gpu") or "").lower():
        return False
    if args["isl"] is not None and row["isl"] != args["isl"]:
        return False
    if args["osl"] is not None and row["osl"] != args["osl"]:
        return False
    minimum = args["min_interactivity"]
    return minimum is None or (
        row["mean_intvty_tok_s"] is not None and row["mean_intvty_tok_s"] >= minimum
    )


def _check_sort(rows: Spill, key: str) -> None:
    """A sort key must be a plain column of the rows (not the checks list)."""
    if rows.sortable is not None and key not in rows.sortable:
        raise ConfigError(
            f"cannot sort by {key!r}; use one of {', '.join(rows.sortable)}", field="--sort"
        )


_Item = TypeVar("_Item")


def _workload(row: dict[str, Any]) -> tuple[Any, ...]:
    """What ``--top`` groups by: model, precision, ISL, OSL (and task)."""
    return (row["model"], row["precision"], row["isl"], row["osl"], row["task"])


def _top(rows: Iterable[_Item], n: int, workload: Callable[[_Item], Any]) -> Iterator[_Item]:
    """The first ``n`` rows (in sort order) of each workload."""
    seen: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in rows:
        group = workload(row)
        if seen[group] < n:
            seen[group] += 1
            yield row


def _flags(row: dict[str, Any]) -> str:
    flags = []
    if row.get("dp_attention"):
        flags.append("dpa")
    if row.get("spec_decoding") not in (None, "none", ""):
        flags.append(str(row["spec_decoding"]))
    return ",".join(flags)


def _gpus(row: dict[str, Any]) -> str:
    if row.get("num_prefill_gpus") is not None:
        return f"{row['num_prefill_gpus']}+{row['num_decode_gpus']}"
    return fmt(row.get("num_gpus"))


# (header, justify, numeric, drop rank: higher goes first when the terminal is narrow; 0 never)
_COLUMNS = (
    Column("precision", drop=6),
    Column("model"),
    Column("ISL/OSL", "right", numeric=True),
    Column("interactivity\ntok/s/user", "right", numeric=True, drop=9),
    Column("E2E latency\ns", "right", numeric=True, drop=10),
    Column("GPU"),
    Column("engine", drop=12),
    Column("GPUs", "right", numeric=True, drop=3),
    Column("concurrency", "right", numeric=True, drop=5),
    Column("flags", drop=13),
    Column("J per\ntoken", "right", numeric=True),
    Column("J per\noutput token", "right", numeric=True, drop=8),
    Column("Wh/query\nbenchmarked", "right", numeric=True),
    Column("Wh/query\nnominal", "right", numeric=True, drop=11),
    Column("Wh/query per\ncompleted request", "right", numeric=True, drop=7),
    Column("basis, boundary", drop=4),  # drop 0 when rows differ in it (_table)
    Column("checks"),
)
_COLOUR = {"pass": "green", "warn": "yellow", "fail": "bold red"}


def file_wide_warnings(rows: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Per source file, the checks that warn on every one of its rows, with the first detail.

    Such a warning is a property of the format (InferenceX files never carry request counts, and
    always publish 1/std(TPOT) as a spread), so it is said once per file rather than making
    every row 'warn' and hiding the rows that differ.
    """
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_source[row["source"]].append(row)
    wide: dict[str, dict[str, str]] = {}
    for source, group in by_source.items():
        warned = [
            {c["name"]: c["detail"] for c in r["checks"] if c["status"] == "warn"} for r in group
        ]
        common = set.intersection(*(set(w) for w in warned)) if len(group) > 1 else set()
        if common:
            wide[source] = {name: warned[0][name] for name in sorted(common)}
    return wide


def _status(row: dict[str, Any], wide: dict[str, dict[str, str]]) -> str:
    """The row's own status: warnings every row of its file shares are not the row's."""
    shared = wide.get(row["source"], {})
    statuses = {c["status"] for c in row["checks"] if c["name"] not in shared}
    return "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"


def _file_notes(wide: dict[str, dict[str, str]], counts: dict[str, int]) -> list[str]:
    return [
        f"every one of the {counts[source]} rows of {source} warns {name}: {with_flags(detail)}"
        for source, checks in wide.items()
        for name, detail in checks.items()
    ]


def _table(
    rows: Iterable[dict[str, Any]], wide: dict[str, dict[str, str]], width: int | None
) -> Table:
    """The rows as a terminal table (it holds their cells: the one output that is not streamed
    row by row; ``--top`` or filters keep it short)."""
    cells = []
    first: dict[str, Any] | None = None
    scopes: set[str] = set()
    for row in rows:
        first = first or row
        if row["basis"]:
            scopes.add(f"{row['basis']}, {row['boundary']}")
        lengths = f"{fmt(row['isl'])}/{fmt(row['osl'])}" if row["isl"] is not None else row["task"]
        bench = row["wh_per_query_benchmarked"]
        nominal = row["wh_per_query_nominal"]
        status = _status(row, wide)
        cells.append(
            [
                row["precision"] or "—",
                row["model"],
                lengths or "—",
                fmt(row["mean_intvty_tok_s"]),
                fmt(row["mean_e2el_s"]),
                row["gpu"] or "—",
                row["engine"] or "—",
                _gpus(row),
                fmt(row["batch_cap"]),
                _flags(row),
                fmt(row["j_per_token"]),
                fmt(row["energy_per_token_j"]),
                fmt(bench),
                fmt(nominal) if nominal != bench else "=",
                fmt(row["wh_per_query_measured"]),
                f"{row['basis']}, {row['boundary']}" if row["basis"] else "—",
                styled(status, _COLOUR[status]),
            ]
        )
    captions = [
        "Wh/query benchmarked: J/token × the mean lengths run; nominal: × ISL+OSL as advertised "
        "('=' when equal); per completed request: energy ÷ requests completed (needs counts)"
    ]
    if first and "grid_source" in first:  # carbon/water columns are in --json/--format csv
        from tokenergy.cli.carbon import footprint_caption

        captions.append(footprint_caption(first) + " (gCO2e/L per row: --json or --format csv)")
    # Every number says its basis and boundary: one shared by all rows is said once (its column
    # may go for width), rows that differ keep the column at any width.
    columns = [
        c if c.header != "basis, boundary" or len(scopes) < 2 else replace(c, drop=0)
        for c in _COLUMNS
    ]
    if len(scopes) == 1:
        captions.insert(0, f"energy figures: {next(iter(scopes))} boundary")
    return fitted_table(
        columns, cells, title=f"{len(cells)} results", caption="\n".join(captions), width=width
    )


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for CSV/Parquet: checks as 'name:status' pairs (details are in the JSON output)."""
    flat = {k: v for k, v in row.items() if k != "checks"}
    flat["checks"] = _check_pairs((c["name"], c["status"]) for c in row["checks"])
    return flat


def _check_pairs(checks: Iterable[tuple[str, str]]) -> str:
    """'name:status;…' of the checks that did not skip (names and statuses never need quoting)."""
    return ";".join(f"{name}:{status}" for name, status in checks if status != "skip")


# A text cell csv.writer quotes (QUOTE_MINIMAL: the delimiter, the quote char or a line end in it)
_NEEDS_QUOTES = re.compile('[,"\r\n]').search


class _LastLine:
    """A file for csv.writer that keeps the line last written (one ``write`` per row)."""

    text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


_QUOTE_LINE = _LastLine()
_QUOTE_WRITER = csv.writer(_QUOTE_LINE)


@lru_cache(maxsize=64)  # a column's text repeats row after row (a format's method)
def _quoted(text: str) -> str:
    """A text cell as csv.writer writes it, quotes and all (a blank cell beside it: a lone
    empty cell would be quoted)."""
    _QUOTE_WRITER.writerow([text, ""])
    return _QUOTE_LINE.text[:-3]  # the blank cell's ',' and the line end '\r\n'


# How csv.writer writes a cell of each exact type: a float by repr, None as nothing ('%.0s'
# takes the value and prints none of it), the others by str
_CELL_FORMATS: dict[type, str] = {float: "%r", type(None): "%.0s", str: "%s", int: "%s", bool: "%s"}


def _templates(kinds: tuple[type, ...], status: int) -> tuple[str, str] | None:
    """%-templates of the text before the status cell (each cell then ',') and after it (','
    then each cell) for cells of these types; None when one is not a plain type."""
    if not all(kind in _CELL_FORMATS for kind in kinds):
        return None
    formats = [_CELL_FORMATS[kind] for kind in kinds]
    before, after = formats[:status], formats[status + 1 :]
    return "".join(f"{f}," for f in before), "".join(f",{f}" for f in after)


# What a held CSV record holds in memory besides its two texts: the tuple (72 B) and, for
# --top, the workload's (80 B)
_LINE_BYTES = 152


class _CsvLines(Spill):
    """CSV lines of the rows, made as each row comes (every row of an ingest has the first row's
    columns, taken in that order as DictWriter would): read back, only the status cell and the
    checks cell wait for model_spellings. One text each way through the spill instead of ~45
    values, and no row rebuilt to be written, saved ~15–20 µs of the ~125 µs a row cost.
    ``by_workload`` keeps each row's workload too (``--top`` groups by it)."""

    def __init__(self, sort_key: str | None, *, by_workload: bool = False) -> None:
        super().__init__(sort_key)
        self.header = ""
        self._by_workload = by_workload
        self._columns: list[str] = []
        self._status = 0  # where the status cell is among the columns
        # the cells of a row in column order: an itemgetter of the first row's columns (one C
        # call, ~1 µs a row less than a dict.get per column), _get for a row missing one
        self._take: Callable[[dict[str, Any]], tuple[Any, ...]] = self._get
        self._line = _LastLine()
        self._writer = csv.writer(self._line)
        # per sequence of cell types (a few per ingest): its templates, None for the writer
        self._templates: dict[tuple[type, ...], tuple[str, str] | None] = {}
        self._quoting: set[int] = set()  # the columns where a text cell has needed quotes

    def _cells(self, cells: Sequence[Any]) -> str:
        """The CSV text of some cells of a line ('' for none); a blank cell is added and taken
        off again because the writer quotes a lone empty cell, which inside a line it is not."""
        if not cells:
            return ""
        self._writer.writerow([*cells, ""])
        return self._line.text[:-3]  # the added cell's ',' and the line end '\r\n'

    def _texts(self, cells: tuple[Any, ...]) -> tuple[str, str]:
        """The text before the status cell (each cell then ',') and after it (',' then each).

        A %-template per sequence of cell types writes what csv.writer would (~1 µs a row
        less), with the writer's own text for each text cell that needs quoting in a column
        where one did before (ML.ENERGY's method says "…, summed over GPUs": ~8 µs a row less
        than the writer for the whole row). A cell of another column that needs quoting shows
        in the result as a comma too many, a quote or a line break: its column joins those, and
        a row of types without a template gets the writer."""
        kinds = tuple(map(type, cells))
        try:
            templates = self._templates[kinds]
        except KeyError:
            templates = self._templates[kinds] = _templates(kinds, self._status)
        if templates is not None:
            texts = self._filled(templates, cells)
            if texts is not None:
                return texts
            self._quoting.update(
                at for at, cell in enumerate(cells) if type(cell) is str and _NEEDS_QUOTES(cell)
            )
            texts = self._filled(templates, cells)
            if texts is not None:
                return texts
        status = self._status
        before, after = cells[:status], cells[status + 1 :]
        return (
            self._cells(before) + "," if before else "",
            "," + self._cells(after) if after else "",
        )

    def _filled(self, templates: tuple[str, str], cells: tuple[Any, ...]) -> tuple[str, str] | None:
        """The templates filled with the cells (those of the quoting columns that need it
        quoted); None when another cell needs quotes."""
        put = ""  # the quoted texts put in
        filled: list[Any] | None = None
        for at in self._quoting:
            cell = cells[at]
            if type(cell) is str and _NEEDS_QUOTES(cell):
                if filled is None:
                    filled = list(cells)
                filled[at] = quoted = _quoted(cell)
                put += quoted
        if filled is not None:
            cells = tuple(filled)
        status = self._status
        head, tail = templates[0] % cells[:status], templates[1] % cells[status + 1 :]
        both = head + tail
        if not put:  # the usual row
            if both.count(",") == len(cells) - 1 and not (
                '"' in both or "\n" in both or "\r" in both
            ):
                return head, tail
            return None
        # the characters that make a cell need quotes are all in the texts put in (and the
        # commas between cells): no other cell needs them
        if (
            both.count(",") - put.count(",") == len(cells) - 1
            and both.count('"') == put.count('"')
            and both.count("\n") == put.count("\n")
            and both.count("\r") == put.count("\r")
        ):
            return head, tail
        return None

    def _get(self, row: dict[str, Any]) -> tuple[Any, ...]:
        """The cells of a row in column order, a missing one None (written as nothing)."""
        return tuple(map(row.get, self._columns))

    def encode(self, row: dict[str, Any]) -> tuple[Any, int]:
        if not self._columns:
            self._columns = [key for key in row if key != "checks"]
            self._status = self._columns.index("status")
            self.header = self._cells([*self._columns, "checks"]) + "\r\n"
            # (an itemgetter of one key gives the value, not a 1-tuple)
            many = len(self._columns) > 1
            self._take = operator.itemgetter(*self._columns) if many else self._get
        try:
            cells = self._take(row)
        except KeyError:
            cells = self._get(row)
        head, tail = self._texts(cells)
        skip, text = Status.SKIP, STATUS_TEXT  # the pairs as _check_pairs makes them
        pairs = ";".join(
            [f"{f.name}:{text[f.status]}" for f in row["checks"] if f.status is not skip]
        )
        rest = f"{tail},{pairs};" if pairs else f"{tail},"  # model_spellings' pair comes last
        record = (head, row["status"], rest, _workload(row) if self._by_workload else None)
        return record, _LINE_BYTES + sys.getsizeof(head) + sys.getsizeof(rest)

    def lines(self, spellings: Spellings, *, descending: bool, top: int | None) -> Iterator[str]:
        """The lines in output order (``top``: the first of each workload), each with its final
        status and model_spellings pair."""
        records = self.records(spellings, descending=descending)
        if top is not None:
            records = _top(records, top, lambda record: record[0][3])
        ends = {status: f"model_spellings:{text}\r\n" for status, text in STATUS_TEXT.items()}
        for (head, status, rest, _), spelling in records:
            yield f"{head}{final_status(status, spelling)}{rest}{ends[spelling.status]}"


def _csv(lines: Iterable[str], header: str, write: Callable[[str], Any]) -> None:
    """The header and the lines, a chunk of lines per write (nothing without lines)."""
    remaining = iter(lines)
    chunk = "".join(islice(remaining, _CHUNK_ROWS))
    if chunk:
        chunk = header + chunk
    while chunk:
        write(chunk)
        chunk = "".join(islice(remaining, _CHUNK_ROWS))


def _json_array(items: Iterable[str], write: Callable[[str], Any]) -> None:
    """``json.dumps(list, indent=2)`` + newline, from the items' texts as they stand in it
    (indented one level), a chunk of items per write."""
    remaining = iter(items)
    chunk = ",\n  ".join(islice(remaining, _CHUNK_ROWS))
    if not chunk:
        write("[]\n")
        return
    write("[\n  " + chunk)
    while chunk := ",\n  ".join(islice(remaining, _CHUNK_ROWS)):
        write(",\n  " + chunk)
    write("\n]\n")


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


# A file name that is not UTF-8 (its bytes as os.fsdecode's surrogates) is written to a CSV or
# table file as its own bytes, as on stdout; Parquet strings must be UTF-8, so it is escaped
# there ('\udcff'), as JSON escapes it.
_PATH_BYTES = "surrogateescape"


def _parquet_cell(value: Any) -> Any:
    if isinstance(value, str) and not value.isascii():
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return _finite(value)


def _parquet(rows: Callable[[], Iterator[dict[str, Any]]], out: Path) -> None:
    """Parquet by row groups: a first pass finds the column types every batch agrees on (as one
    ``Table.from_pylist`` of all rows would), a second writes the batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def batches() -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for row in rows():
            batch.append({k: _parquet_cell(v) for k, v in _flat(row).items()})
            if len(batch) == _CHUNK_ROWS:
                yield batch
                batch = []
        if batch:
            yield batch

    schemas = [pa.Table.from_pylist(batch).schema for batch in batches()]
    if not schemas:
        pq.write_table(pa.Table.from_pylist([]), out)
        return
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    with pq.ParquetWriter(out, schema) as writer:
        for batch in batches():
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


_CHUNK_ROWS = 4096  # rows per write and per Parquet row group


def _write(render: Callable[[], None], out: Path | None) -> None:
    """Render or save the rows; an unwritable --out is a one-line error, not a traceback."""
    try:
        render()
    except OSError as error:
        raise ConfigError(
            f"cannot write: {error.strerror or error}", file=str(out), field="--out"
        ) from None


def _render(
    rows: Callable[[], Iterator[dict[str, Any]]],
    output: OutputFormat,
    out: Path | None,
    wide: dict[str, dict[str, str]],
) -> None:
    """Write the rows as a table, JSON or Parquet (``rows()`` iterates them afresh: Parquet reads
    them twice)."""
    if output is OutputFormat.PARQUET:
        if out is None:
            raise ConfigError("parquet is binary: give --out FILE", field="--out")
        _parquet(rows, out)
        return
    if output is OutputFormat.TABLE:
        if out is None:
            render.console.print(_table(rows(), wide, None))
            return
        with out.open("w", errors=_PATH_BYTES) as handle:
            make_console(file=handle, width=250).print(_table(rows(), wide, 250))
        return
    if out is None:  # JSON escapes control characters itself
        _json(rows(), sys.stdout.write, strict=True)
        return
    with out.open("w") as handle:
        _json(rows(), handle.write, strict=False)


def _save_csv(lines: Iterator[str], header: str, out: Path | None) -> None:
    if out is None:
        _csv(lines, header, _clean_stdout)
        return
    with out.open("w", errors=_PATH_BYTES) as handle:
        _csv(lines, header, handle.write)


def _clean_stdout(text: str) -> None:
    sys.stdout.write(clean(text))


def _json(rows: Iterator[dict[str, Any]], write: Callable[[str], Any], *, strict: bool) -> None:
    """A JSON array: on stdout strict (NaN → null everywhere), in a file NaN → null in the
    row's own values."""
    layouts: dict[tuple[Any, ...], _Layout] = {}

    def item(row: dict[str, Any]) -> str:
        made = _array_item(row, layouts)
        if made is not None:
            return made
        own = (
            json_text(row)
            if strict
            else json.dumps({k: _finite(v) for k, v in row.items()}, indent=2)
        )
        return own.replace("\n", "\n  ")

    _json_array(map(item, rows), write)


# Values each on a line of their own: a line break in JSON text is always a separator (strings
# escape theirs), so the text splits back into the values. C-encoded (json indents in Python).
_ONE_PER_LINE = json.JSONEncoder(separators=("\n", ": "), allow_nan=False)

# A row's check dicts with json.dumps(rows, indent=2)'s text between a dict's items, so only
# the text between dicts is left to rewrite (~2 µs a row less than a second replace)
_CHECK_ITEMS = json.JSONEncoder(separators=(",\n        ", ": "), allow_nan=False)

# The values json writes alike in every layout: plain scalars, by exact type as _CELL_FORMATS.
# A container, even one json.dumps(indent=2) keeps on one line ('[]', '{}'), takes json itself.
_SCALARS = frozenset({str, int, float, bool, type(None)})

# Per key order: the keys as JSON and where ``checks`` is; None when a key is not a string
# (json.dumps writes such a key as a string, json.dumps(key) would not)
_Layout = tuple[list[str], int | None] | None


def _array_item(row: dict[str, Any], layouts: dict[tuple[Any, ...], _Layout]) -> str | None:
    """A summary row (plain scalar values, and ``checks``: a list of non-empty dicts of plain
    scalars) as an item of ``json.dumps(rows, indent=2)``, from two C-encoded texts: ~40 µs a
    row less than json's indenting encoder (Python). None for any other row (a container value,
    which json lays out over lines unless it is empty, a key that is not a string) or one with
    a NaN or an infinity."""
    values = list(row.values())
    if not values:
        return None
    keys = tuple(row)
    try:
        layout = layouts[keys]
    except KeyError:
        layout = layouts[keys] = _layout(keys)
    if layout is None:
        return None
    key_texts, at = layout
    checks = values[at] if at is not None else None
    if at is not None:
        values[at] = None
    if not _SCALARS.issuperset(map(type, values)):
        return None
    try:
        texts = _ONE_PER_LINE.encode(values)[1:-1].split("\n")
        checks_text = _checks_item(checks) if at is not None else ""
    except ValueError:  # NaN or infinity
        return None
    if checks_text is None:
        return None
    if at is not None:
        texts[at] = checks_text
    return "{\n    " + ",\n    ".join(map(operator.add, key_texts, texts)) + "\n  }"


def _layout(keys: tuple[Any, ...]) -> _Layout:
    """The keys as JSON and where ``checks`` is, for rows of these keys in this order."""
    if not all(isinstance(key, str) for key in keys):
        return None
    at = keys.index("checks") if "checks" in keys else None
    return [json.dumps(key) + ": " for key in keys], at


def _checks_item(checks: Any) -> str | None:
    """A row's ``checks`` as ``json.dumps(rows, indent=2)`` writes it; None unless a list of
    non-empty dicts of plain scalars (json writes an empty dict '{}', not over lines)."""
    if type(checks) is not list:
        return None
    if not checks:
        return "[]"
    if set(map(type, checks)) != {dict} or not all(checks):
        return None
    if not _SCALARS.issuperset(map(type, chain.from_iterable(map(dict.values, checks)))):
        return None
    text = _CHECK_ITEMS.encode(checks)  # '[{"name": "a",\n        "status": "pass"},\n        {…}]'
    body = text[2:-2].replace("},\n        {", "\n      },\n      {\n        ")  # between dicts
    return "[\n      {\n        " + body + "\n      }\n    ]"


class _RowSink:
    """Where ingest puts each result: its summary row is tallied for file-wide warnings, then,
    if the filters keep it, completed with carbon/water and put on disk (RowStore); with
    ``--save`` the result itself is kept on disk as JSON until the store adds it."""

    def __init__(
        self,
        rows: Spill,
        keep: Callable[[dict[str, Any]], bool] | None = None,
        grid: Grid | None = None,
        save: bool = False,
    ) -> None:
        self.rows, self.keep, self.grid = rows, keep, grid  # keep None: every row
        self.warnings = FileWarnings()
        self.saved: IO[bytes] | None = tempfile.TemporaryFile() if save else None  # noqa: SIM115
        self._saved_mark = 0

    def add(self, result: ServingResult, findings: list[Finding]) -> None:
        row = checked_row(result, findings)  # model_spellings comes at the end (RowStore.rows)
        spelling = Spellings.spelling(result)
        self.warnings.add(row, spelling)
        if self.keep is None or self.keep(row):
            if self.grid is not None:
                row = with_footprint(row, result, self.grid)
            self.rows.append(row, spelling)
        if self.saved is not None:
            self.saved.write(result.model_dump_json().encode() + b"\n")

    def commit(self) -> None:
        self.rows.commit()
        self.warnings.commit()
        if self.saved is not None:
            self._saved_mark = self.saved.tell()

    def rollback(self) -> None:
        self.rows.rollback()
        self.warnings.rollback()
        if self.saved is not None:
            self.saved.seek(self._saved_mark)
            self.saved.truncate()

    def saved_results(self) -> Iterator[ServingResult]:
        assert self.saved is not None
        self.saved.seek(0)
        for line in self.saved:
            yield ServingResult.model_validate_json(line)


def ingest_command(
    paths: list[Path] = _PATHS,
    basis: str | None = typer.Option(None, "--basis", help=BASIS_HELP),
    power: str | None = typer.Option(None, "--power", help="Power of the whole deployment."),
    power_per_gpu: str | None = typer.Option(None, "--power-per-gpu", help="Power per GPU."),
    boundary: str | None = typer.Option(
        None, "--boundary", help="Boundary a --power figure covers (default node)."
    ),
    host_overhead: str | None = typer.Option(
        None, "--host-overhead", help="Host share on top of GPU power, e.g. 10% (→ node)."
    ),
    pue: str | None = typer.Option(None, "--pue", help="Power usage effectiveness (→ facility)."),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU model where files do not name it."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="GPU count where not named."),
    sampler: str | None = typer.Option(
        None, "--sampler", help="Length sampler of the runs: bench-serving|vllm|fixed."
    ),
    range_ratio: float | None = typer.Option(
        None, "--range-ratio", help="Random range ratio R (InferenceX default 0.8)."
    ),
    input_format: str | None = typer.Option(
        None, "--input-format", help="Force a format instead of detecting it."
    ),
    model: str | None = typer.Option(None, "--model", help="Keep models containing this text."),
    hw: str | None = typer.Option(None, "--hw", help="Keep hardware containing this text."),
    isl: int | None = typer.Option(None, "--isl", min=1, help="Keep this nominal input length."),
    osl: int | None = typer.Option(None, "--osl", min=1, help="Keep this nominal output length."),
    min_interactivity: float | None = typer.Option(
        None, "--min-interactivity", help="Keep rows with mean tok/s/user at least this."
    ),
    sort: str = typer.Option("j_per_token", "--sort", help="Column to sort by (JSON key)."),
    descending: bool = typer.Option(False, "--descending", help="Sort largest first."),
    top: int | None = typer.Option(None, "--top", min=1, help="Keep the first N per workload."),
    output: OutputFormat = typer.Option(OutputFormat.TABLE, "--format", help="Output format."),
    out: Path | None = typer.Option(None, "--out", help="Write the output to this file."),
    as_json: bool = typer.Option(False, "--json", help="Same as --format json."),
    keep_going: bool = typer.Option(
        True, "--keep-going/--no-keep-going", help="Skip bad files (exit 2 at the end)."
    ),
    failure_gate: str = typer.Option(
        f"{DEFAULT_FAILURE_GATE:.0%}", "--failure-gate", help="Highest acceptable failure rate."
    ),
    save: bool = typer.Option(
        False, "--save", help="Also add every ingested result to the store (tokenergy runs)."
    ),
    grid: str | None = typer.Option(None, "--grid", help=GRID_HELP),
    region: str | None = typer.Option(None, "--region", help=REGION_HELP),
    wue: str | None = typer.Option(None, "--wue", help=WUE_HELP),
    quiet: bool = QUIET_OPTION,
    progress_every: float = PROGRESS_EVERY_OPTION,
) -> int:
    """Convert published benchmark results into J/token and Wh/query, with checks."""
    options = _options(
        basis=basis,
        power=power,
        power_per_gpu=power_per_gpu,
        boundary=boundary,
        host_overhead=host_overhead,
        pue=pue,
        gpu=gpu,
        gpus=gpus,
        sampler=sampler,
        range_ratio=range_ratio,
        failure_gate=failure_gate,
    )
    if min_interactivity is not None and not 0 <= min_interactivity < math.inf:
        raise ConfigError(
            f"must be a finite number >= 0, got {min_interactivity!r}", field="--min-interactivity"
        )
    if out is not None:
        output_file(out, "--out")
    layer = grid_option(grid, region, wue)
    chosen_format = _check_format(input_format)
    filters = {
        "model": model,
        "hw": hw,
        "isl": isl,
        "osl": osl,
        "min_interactivity": min_interactivity,
    }
    sort = LEGACY_ROW_KEYS.get(sort, sort)  # `--sort conc` in scripts written before the rename
    chosen = OutputFormat.JSON if as_json else output
    spill = (
        _CsvLines(sort, by_workload=top is not None)
        if chosen is OutputFormat.CSV
        else RowStore(sort)
    )
    sink = _RowSink(
        spill,
        keep=(lambda row: _keep(row, filters))
        if any(v is not None for v in filters.values())
        else None,
        grid=layer,
        save=save,
    )
    with (
        as_flags({"fmt": "--input-format"}),
        WorkProgress("ingest", quiet=quiet, every_s=progress_every) as progress,
    ):
        ingested = ingest_into(
            sink,
            paths,
            options,
            fmt=chosen_format,
            keep_going=keep_going,
            progress=None if quiet else progress,  # no count of the files (a second walk)
        )
    if not ingested.count and not ingested.failed:
        # only non-result files or empty arrays: an empty table with exit 0 would look like success
        _report_skipped(ingested)
        raise ConfigError(
            "no result files found in " + ", ".join(str(p) for p in paths), field="PATHS"
        )
    wide = sink.warnings.wide(ingested.spellings)
    _check_sort(spill, sort)
    if isinstance(spill, _CsvLines):
        lines = spill.lines(ingested.spellings, descending=descending, top=top)
        _write(lambda: _save_csv(lines, spill.header, out), out)
    else:
        rows_in = spill

        def rows() -> Iterator[dict[str, Any]]:
            details = chosen is OutputFormat.JSON  # the only output that shows check details
            ordered = rows_in.rows(ingested.spellings, descending=descending, details=details)
            return ordered if top is None else _top(ordered, top, _workload)

        _write(lambda: _render(rows, chosen, out, wide), out)
    if chosen is OutputFormat.TABLE:
        for note in _file_notes(wide, sink.warnings.counts):
            render.err_console.print("note: ", note, sep="", highlight=False, soft_wrap=True)
    if save:
        from tokenergy.store import Store  # DuckDB, pyarrow, aiohttp: 1–3 s, only for --save

        store = Store()
        added = sum(store.add(result).added for result in sink.saved_results())
        render.err_console.print(f"stored {added} new of {ingested.count} results in {store.home}")
    return _report_skipped(ingested)


# --- check --------------------------------------------------------------------------------------


def check_command(
    paths: list[Path] = _PATHS,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any check fails."),
    show_all: bool = typer.Option(False, "--all", help="Also list passed and skipped checks."),
    basis: str | None = typer.Option(None, "--basis", help=BASIS_HELP),
    power: str | None = typer.Option(None, "--power", help="Power of the whole deployment."),
    power_per_gpu: str | None = typer.Option(None, "--power-per-gpu", help="Power per GPU."),
    gpu: str | None = typer.Option(None, "--gpu", help="GPU model where files do not name it."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="GPU count where not named."),
    sampler: str | None = typer.Option(None, "--sampler", help="bench-serving|vllm|fixed."),
    range_ratio: float | None = typer.Option(None, "--range-ratio", help="Random range ratio."),
    failure_gate: str = typer.Option(
        f"{DEFAULT_FAILURE_GATE:.0%}", "--failure-gate", help="Highest acceptable failure rate."
    ),
    quiet: bool = QUIET_OPTION,
    progress_every: float = PROGRESS_EVERY_OPTION,
) -> int:
    """Run the sanity checks: one line per finding, with the file and row."""
    options = _options(
        basis=basis,
        power=power,
        power_per_gpu=power_per_gpu,
        boundary=None,
        host_overhead=None,
        pue=None,
        gpu=gpu,
        gpus=gpus,
        sampler=sampler,
        range_ratio=range_ratio,
        failure_gate=failure_gate,
    )
    store = RowStore()
    sink = _RowSink(store)
    with WorkProgress("check", quiet=quiet, every_s=progress_every) as progress:
        ingested = ingest_into(sink, paths, options, progress=None if quiet else progress)
    if not ingested.count and not ingested.failed:
        _report_skipped(ingested)  # nothing checked must not look like "all passed" (--strict)
        raise ConfigError(
            "no result files found in " + ", ".join(str(p) for p in paths), field="PATHS"
        )
    tally: dict[str, int] = defaultdict(int)
    shown = {Status.FAIL, Status.WARN} | ({Status.PASS, Status.SKIP} if show_all else set())
    wide = sink.warnings.wide(ingested.spellings)
    counts = sink.warnings.counts
    for source, checks in wide.items():
        for name, detail in checks.items():
            tally["file-wide"] += 1
            example = one_line(with_flags(detail))
            echo(f"{source}  WARN  {name}  every row ({counts[source]}), e.g. {example}")
    for row in store.rows(ingested.spellings):
        where = row["source"]
        shared = wide.get(where, {})
        if row["row"] is not None:
            where += f":{row['row']}"
        for finding in row["checks"]:
            status = Status(finding["status"])
            if status is Status.WARN and finding["name"] in shared:
                continue
            tally[status] += 1
            if status in shown:
                echo(
                    f"{where}  {status.value.upper()}  {finding['name']}  "
                    + one_line(with_flags(finding["detail"]))
                )
    file_wide = f" (+{tally['file-wide']} on every row of a file)" if tally["file-wide"] else ""
    echo(
        f"{ingested.count} results: {tally[Status.FAIL]} failed, "
        f"{tally[Status.WARN]} warnings{file_wide}, {tally[Status.PASS]} passed checks"
    )
    code = _report_skipped(ingested)
    if code:
        return code
    return 1 if strict and tally[Status.FAIL] else 0
