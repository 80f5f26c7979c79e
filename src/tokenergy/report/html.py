"""Render a Report as one self-contained index.html (inline SVG, inline CSS/JS, no network) and as
summary.md (the headline findings and the key tables in Markdown)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from tokenergy.catalog import catalog_path
from tokenergy.report.model import DataTable, Report

_SUMMARY_ROWS = 25


def render_html(report: Report) -> str:
    environment = Environment(
        loader=PackageLoader("tokenergy.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(report=report, sources_md=catalog_path("SOURCES.md").read_text())


def _markdown_table(table: DataTable, limit: int) -> list[str]:
    escape = str.maketrans({"|": "\\|"})
    lines = [
        f"**{table.caption}**",
        "",
        "| " + " | ".join(c.translate(escape) for c in table.columns) + " |",
        "|" + "|".join("---:" if numeric else "---" for numeric in table.numeric) + "|",
    ]
    for row in table.rows[:limit]:
        lines.append("| " + " | ".join(cell.text.translate(escape) for cell in row) + " |")
    if len(table.rows) > limit:
        lines.append(f"\n… {len(table.rows) - limit} more rows in index.html")
    if table.note:
        lines += ["", f"_{table.note}_"]
    return [*lines, ""]


def render_summary(report: Report) -> str:
    """Headlines per section, then each section's first two tables (truncated)."""
    lines = [
        f"# {report.title}",
        "",
        f"tokenergy {report.version}, generated {report.generated_utc}. "
        f"Sources: {', '.join(report.sources)}. Full report with charts: index.html.",
        "",
    ]
    for section in report.sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph, ""]
        lines += [f"- {line}" for line in section.headline]
        if section.headline:
            lines.append("")
        for table in section.tables[:2]:
            lines += _markdown_table(table, _SUMMARY_ROWS)
    return "\n".join(lines)


def write_report(report: Report, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    index, summary = out / "index.html", out / "summary.md"
    index.write_text(render_html(report), encoding="utf-8")
    summary.write_text(render_summary(report), encoding="utf-8")
    return index, summary
