"""What a report contains, independent of how it is rendered (HTML, Markdown)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    """Displayed text plus the value tables sort by (numbers sort numerically; None sorts last)."""

    text: str
    sort: float | str | None = None


@dataclass
class DataTable:
    key: str
    caption: str
    columns: list[str]
    numeric: list[bool]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str | None = None


@dataclass
class FigureBlock:
    key: str
    title: str
    svg: str
    files: list[str]
    caption: str | None = None


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[DataTable] = field(default_factory=list)
    figures: list[FigureBlock] = field(default_factory=list)
    appendix: list[DataTable] = field(default_factory=list)  # long tables, shown after figures
    headline: list[str] = field(default_factory=list)  # one-line findings for summary.md


@dataclass
class Report:
    title: str
    generated_utc: str
    version: str
    sources: list[str]
    sections: list[Section]
