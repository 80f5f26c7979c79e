"""``tokenergy ingest`` and ``tokenergy check``: published results → J/token, Wh/query, checks.

Exit codes: 0 all files ingested; 2 when any file could not be ingested (the others are still
shown, and the skipped files are summarised on stderr); ``check --strict``: 1 when any check
fails and every file ingested.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections import defaultdict
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from tokenergy import units
from tokenergy.cli.carbon import footprint_caption
from tokenergy.cli.flags import as_flags
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
    console,
    echo,
    err_console,
    fitted_table,
    fmt,
    make_console,
    one_line,
    print_json,
    styled,
)
from tokenergy.cli.work_progress import PROGRESS_EVERY_OPTION, QUIET_OPTION, WorkProgress
from tokenergy.errors import ConfigError
from tokenergy.ingest import (
    ADAPTERS,
    IngestOptions,
    IngestResult,
    Status,
    load_results,
    summary_row,
    with_footprint,
)
from tokenergy.ingest.options import DEFAULT_FAILURE_GATE
from tokenergy.records import LEGACY_ROW_KEYS, LengthSampler


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


def _report_skipped(ingested: IngestResult) -> int:
    """Summarise skipped files on stderr; exit code 2 if any could not be ingested."""
    if ingested.skipped:
        failed = len(ingested.failed)
        err_console.print(
            f"skipped {len(ingested.skipped)} file(s), {failed} with errors:",
            highlight=False,
            soft_wrap=True,
        )
        for item in ingested.skipped:
            tag = styled("error", "bold red") if item.failed else "skip"
            reason = item.reason if item.failed else f"{item.name}: {item.reason}"
            err_console.print(
                "  ", tag, ": ", one_line(reason), sep="", highlight=False, soft_wrap=True
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


def _sorted(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    key = LEGACY_ROW_KEYS.get(key, key)  # `--sort conc` in scripts written before the rename
    if rows:
        sortable = [k for k, v in rows[0].items() if not isinstance(v, list | dict)]
        if key not in sortable:
            raise ConfigError(
                f"cannot sort by {key!r}; use one of {', '.join(sortable)}", field="--sort"
            )
    present = [r for r in rows if r.get(key) is not None]
    absent = [r for r in rows if r.get(key) is None]
    present.sort(key=lambda r: r[key], reverse=descending)
    return present + absent  # unknown values last either way


def _top(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The first ``n`` rows (in sort order) of each workload: model, precision, ISL, OSL."""
    seen: dict[tuple[Any, ...], int] = defaultdict(int)
    kept = []
    for row in rows:
        workload = (row["model"], row["precision"], row["isl"], row["osl"], row["task"])
        if seen[workload] < n:
            seen[workload] += 1
            kept.append(row)
    return kept


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
    Column("GPUs", "right", numeric=True),
    Column("concurrency", "right", numeric=True, drop=5),
    Column("flags", drop=13),
    Column("J per\ntoken", "right", numeric=True),
    Column("J per\noutput token", "right", numeric=True, drop=8),
    Column("Wh/query\nbenchmarked", "right", numeric=True),
    Column("Wh/query\nnominal", "right", numeric=True, drop=11),
    Column("Wh/query per\ncompleted request", "right", numeric=True, drop=7),
    Column("basis/boundary", drop=4),
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
        f"every one of the {counts[source]} rows of {source} warns {name}: {detail}"
        for source, checks in wide.items()
        for name, detail in checks.items()
    ]


def _table(rows: list[dict[str, Any]], wide: dict[str, dict[str, str]], width: int | None) -> Table:
    cells = []
    for row in rows:
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
                f"{row['basis']}/{row['boundary']}" if row["basis"] else "—",
                styled(status, _COLOUR[status]),
            ]
        )
    captions = [
        "Wh/query benchmarked: J/token × the mean lengths run; nominal: × ISL+OSL as advertised "
        "('=' when equal); per completed request: energy ÷ requests completed (needs counts)"
    ]
    if rows and "grid_source" in rows[0]:  # carbon/water columns are in --json/--format csv
        captions.append(footprint_caption(rows[0]) + " (gCO2e/L per row: --json or --format csv)")
    return fitted_table(
        _COLUMNS, cells, title=f"{len(rows)} results", caption="\n".join(captions), width=width
    )


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for CSV/Parquet: checks as 'name:status' pairs (details are in the JSON output)."""
    flat = {k: v for k, v in row.items() if k != "checks"}
    flat["checks"] = ";".join(
        f"{c['name']}:{c['status']}" for c in row["checks"] if c["status"] != "skip"
    )
    return flat


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    flat = [_flat(r) for r in rows]
    if flat:
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    return buffer.getvalue()


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _write(
    rows: list[dict[str, Any]],
    output: OutputFormat,
    out: Path | None,
    wide: dict[str, dict[str, str]],
) -> None:
    """Render or save the rows; an unwritable --out is a one-line error, not a traceback."""
    try:
        _render(rows, output, out, wide)
    except OSError as error:
        raise ConfigError(
            f"cannot write: {error.strerror or error}", file=str(out), field="--out"
        ) from None


def _render(
    rows: list[dict[str, Any]],
    output: OutputFormat,
    out: Path | None,
    wide: dict[str, dict[str, str]],
) -> None:
    if output is OutputFormat.PARQUET:
        if out is None:
            raise ConfigError("parquet is binary: give --out FILE", field="--out")
        import pyarrow as pa
        import pyarrow.parquet as pq

        flat = [{k: _finite(v) for k, v in _flat(r).items()} for r in rows]
        pq.write_table(pa.Table.from_pylist(flat), out)
        return
    if output is OutputFormat.TABLE:
        if out is None:
            console.print(_table(rows, wide, None))
            return
        with out.open("w") as handle:
            make_console(file=handle, width=250).print(_table(rows, wide, 250))
        return
    text = (
        _csv_text(rows)
        if output is OutputFormat.CSV
        else json.dumps([{k: _finite(v) for k, v in r.items()} for r in rows], indent=2) + "\n"
    )
    if out is None:
        if output is OutputFormat.JSON:
            print_json(rows)
        else:
            sys.stdout.write(clean(text))
    else:
        out.write_text(text)


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
    with (
        as_flags({"fmt": "--input-format"}),
        WorkProgress("ingest", quiet=quiet, every_s=progress_every) as progress,
    ):
        ingested = load_results(
            paths, options, fmt=chosen_format, keep_going=keep_going, progress=progress
        )
    if not ingested.results and not ingested.failed:
        # only non-result files or empty arrays: an empty table with exit 0 would look like success
        _report_skipped(ingested)
        raise ConfigError(
            "no result files found in " + ", ".join(str(p) for p in paths), field="PATHS"
        )
    rows = [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]
    wide = file_wide_warnings(rows)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["source"]] += 1
    if layer is not None:
        rows = [
            with_footprint(row, r, layer) for row, r in zip(rows, ingested.results, strict=True)
        ]
    filters = {"model": model, "hw": hw, "isl": isl, "osl": osl}
    rows = [r for r in rows if _keep(r, {**filters, "min_interactivity": min_interactivity})]
    rows = _sorted(rows, sort, descending)
    if top is not None:
        rows = _top(rows, top)
    chosen = OutputFormat.JSON if as_json else output
    _write(rows, chosen, out, wide)
    if chosen is OutputFormat.TABLE:
        for note in _file_notes(wide, counts):
            err_console.print("note: ", note, sep="", highlight=False, soft_wrap=True)
    if save:
        from tokenergy.store import Store  # DuckDB, pyarrow, aiohttp: 1–3 s, only for --save

        store = Store()
        added = sum(store.add(result).added for result in ingested.results)
        err_console.print(f"stored {added} new of {len(ingested.results)} results in {store.home}")
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
    with WorkProgress("check", quiet=quiet, every_s=progress_every) as progress:
        ingested = load_results(paths, options, progress=progress)
    if not ingested.results and not ingested.failed:
        _report_skipped(ingested)  # nothing checked must not look like "all passed" (--strict)
        raise ConfigError(
            "no result files found in " + ", ".join(str(p) for p in paths), field="PATHS"
        )
    tally: dict[str, int] = defaultdict(int)
    shown = {Status.FAIL, Status.WARN} | ({Status.PASS, Status.SKIP} if show_all else set())
    rows = [summary_row(r, c) for r, c in zip(ingested.results, ingested.checks, strict=True)]
    wide = file_wide_warnings(rows)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["source"]] += 1
    for source, checks in wide.items():
        for name, detail in checks.items():
            tally["file-wide"] += 1
            echo(f"{source}  WARN  {name}  every row ({counts[source]}), e.g. {one_line(detail)}")
    for result, findings in zip(ingested.results, ingested.checks, strict=True):
        where = result.provenance.source
        shared = wide.get(where, {})
        if result.provenance.row is not None:
            where += f":{result.provenance.row}"
        for finding in findings:
            if finding.status is Status.WARN and finding.name in shared:
                continue
            tally[finding.status] += 1
            if finding.status in shown:
                echo(
                    f"{where}  {finding.status.value.upper()}  {finding.name}  "
                    + one_line(finding.detail)
                )
    file_wide = f" (+{tally['file-wide']} on every row of a file)" if tally["file-wide"] else ""
    echo(
        f"{len(ingested.results)} results: {tally[Status.FAIL]} failed, "
        f"{tally[Status.WARN]} warnings{file_wide}, {tally[Status.PASS]} passed checks"
    )
    code = _report_skipped(ingested)
    if code:
        return code
    return 1 if strict and tally[Status.FAIL] else 0
