"""Render a Report as one self-contained index.html (inline SVG, CSS and JS; no network at view
time), as summary.md (headline and key tables in Markdown) and as report.json (the same figures
for programs).

Data reaches all three: in HTML jinja2 escapes it; in Markdown ``md`` escapes HTML and the
Markdown characters that make links, emphasis or table cells, and folds line breaks.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from html import escape
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from jinja2.bccache import Bucket
from markupsafe import Markup
from markupsafe import escape as html_escape

from tokenergy.report.cache import ResultCache
from tokenergy.report.files import prepare_out, write_text
from tokenergy.report.methodology import renderer, sources_html
from tokenergy.report.model import Cell, DataTable, HeadlineFigure, Report
from tokenergy.report.numbers import count, sig

_SUMMARY_ROWS = 25
_MARKDOWN = re.compile(r"([\\`*_\[\]|~#])")


def md(text: object) -> str:
    """Data safe inside a Markdown paragraph or table cell: HTML escaped (no tags, no
    autolinks), link/emphasis/cell characters backslash-escaped, line breaks folded."""
    flat = " ".join(str(text).split())
    return _MARKDOWN.sub(r"\\\1", escape(flat, quote=False))


def figure_range(figure: HeadlineFigure) -> str:
    if figure.low_wh is None or figure.high_wh is None:
        return ""
    return f"{sig(figure.low_wh)}–{sig(figure.high_wh)} Wh"


def _cell_html(cell: Cell, numeric: bool, column: str) -> str:
    attributes = ""
    if numeric:
        attributes = ' class="num bar"' if cell.bar is not None else ' class="num"'
    elif len(cell.text) > 28 or column == "model":
        attributes = ' class="long"'
    if cell.sort is not None:
        attributes += f' data-sort="{html_escape(cell.sort)}"'
    fill = ""
    if cell.bar is not None:
        fill = f'<span class="fill" style="width: {cell.bar * 100:.1f}%"></span>'
    return f"<td{attributes}>{fill}{html_escape(cell.text)}</td>"


def table_rows(table: DataTable) -> Markup:
    """A data table's <tr> lines (numeric cells right-aligned with their sort value, long text
    allowed to wrap), escaped: most of index.html, built here rather than cell by cell in the
    template, which took ~60 % of the rendering."""
    kinds = list(zip(table.numeric, table.columns, strict=True))
    return Markup(
        "".join(
            "<tr>"
            + "".join(
                _cell_html(cell, numeric, column)
                for cell, (numeric, column) in zip(row, kinds, strict=True)
            )
            + "</tr>\n"
            for row in table.rows
        )
    )


class _QuietBytecodeCache(FileSystemBytecodeCache):
    """jinja2's compiled-template cache (keyed by the template's checksum and jinja's version);
    a directory that cannot be written is no cache, not a failed report."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache(cache: ResultCache | None) -> FileSystemBytecodeCache | None:
    if cache is None:
        return None
    directory = cache.dir / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _QuietBytecodeCache(str(directory))


def _environment(cache: ResultCache | None = None) -> Environment:
    environment = Environment(
        loader=PackageLoader("tokenergy.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(cache),
    )
    environment.filters["sig"] = sig
    environment.filters["count"] = count
    environment.globals["figure_range"] = figure_range
    environment.globals["table_rows"] = table_rows
    return environment


SOURCES_JOB = "sources-html"


def render_html(report: Report, cache: ResultCache | None = None) -> str:
    """index.html; with ``cache``, the compiled template and the rendered SOURCES.md (both
    package-only) come from it."""
    template = _environment(cache).get_template("report.html.j2")
    if cache is None:
        sources = sources_html()
    else:  # keyed by the renderer's version too: it is not part of the package
        sources = cache.compute(f"{SOURCES_JOB}-{renderer()}", sources_html)
    return template.render(report=report, sources_html=sources)


def _markdown_table(table: DataTable, limit: int) -> list[str]:
    lines = [
        f"**{md(table.caption)}**",
        "",
        "| " + " | ".join(md(c) for c in table.columns) + " |",
        "|" + "|".join("---:" if numeric else "---" for numeric in table.numeric) + "|",
    ]
    for row in table.rows[:limit]:
        lines.append("| " + " | ".join(md(cell.text) for cell in row) + " |")
    if len(table.rows) > limit:
        lines.append(f"\n… {len(table.rows) - limit} more rows in index.html")
    if table.note:
        lines += ["", f"_{md(table.note)}_"]
    return [*lines, ""]


def _headline_markdown(report: Report) -> list[str]:
    if report.headline is None:
        return []
    lines = ["## Energy per query", ""]
    for query in report.headline.classes:
        lines += [f"**{md(query.name)}** ({md(query.description)})", ""]
        if not query.figures:
            lines += ["No figure of this kind in these sources.", ""]
            continue
        lines += [
            "| Wh/query | range | J/output token | gCO2e/query | mL water/query | boundary | basis "
            "| source |",
            "|---:|---|---:|---:|---:|---|---|---|",
        ]
        for figure in query.figures:
            basis = figure.basis.upper() if figure.basis == "simulated" else figure.basis
            water_ml = None if figure.water_l_per_query is None else figure.water_l_per_query * 1e3
            lines.append(
                f"| {sig(figure.wh_per_query)} | {md(figure_range(figure))} "
                f"({md(figure.spread)}) | {sig(figure.j_per_output_token)} | "
                f"{sig(figure.gco2e_per_query)} | {sig(water_ml)} | "
                f"{md(figure.boundary)} | {md(basis)} | {md(figure.source)}: {md(figure.detail)} |"
            )
        lines.append("")
    for note in report.headline.notes:
        lines += [md(note), ""]
    return lines


def render_summary(report: Report) -> str:
    """The headline, then per section its findings and first two tables (truncated)."""
    lines = [
        f"# {md(report.title)}",
        "",
        f"tokenergy {md(report.version)}, generated {md(report.generated_utc)}. "
        f"Sources: {md(', '.join(report.sources))}. Full report with charts: index.html.",
        "",
        *_headline_markdown(report),
    ]
    for section in report.sections:
        lines += [f"## {md(section.title)}", ""]
        for paragraph in section.paragraphs:
            lines += [md(paragraph), ""]
        lines += [f"- {md(line)}" for line in section.headline]
        if section.headline:
            lines.append("")
        for table in section.tables[:2]:
            lines += _markdown_table(table, _SUMMARY_ROWS)
    return "\n".join(lines)


def _value(value: float | str | None) -> float | str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_json(report: Report) -> dict[str, Any]:
    """The headline figures and every table, values as numbers where the column is numeric."""

    def table(t: DataTable) -> dict[str, Any]:
        return {
            "key": t.key,
            "caption": t.caption,
            "note": t.note,
            "rows": [
                {
                    column: _value(cell.sort) if numeric else cell.text
                    for column, numeric, cell in zip(t.columns, t.numeric, row, strict=True)
                }
                for row in t.rows
            ],
        }

    headline = None
    if report.headline is not None:
        headline = {
            "classes": [
                {
                    "name": q.name,
                    "description": q.description,
                    "figures": [
                        {k: _value(v) for k, v in vars(figure).items()} for figure in q.figures
                    ],
                }
                for q in report.headline.classes
            ],
            "notes": report.headline.notes,
            "grid": report.headline.grid,
        }
    return {
        "title": report.title,
        "generated_utc": report.generated_utc,
        "version": report.version,
        "sources": report.sources,
        "headline": headline,
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "paragraphs": s.paragraphs,
                "findings": s.headline,
                "tables": [table(t) for t in [*s.tables, *s.appendix]],
                "figures": [f.files for f in s.figures],
            }
            for s in report.sections
        ],
    }


def write_report(
    report: Report, out: Path, cache: ResultCache | None = None
) -> tuple[Path, Path, Path]:
    prepare_out(out)
    index, summary, data = out / "index.html", out / "summary.md", out / "report.json"
    write_text(index, render_html(report, cache))
    write_text(summary, render_summary(report))
    write_text(data, json.dumps(report_json(report), indent=1, allow_nan=False) + "\n")
    return index, summary, data
