"""What a report contains, independent of how it is rendered (HTML, Markdown, JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tokenergy.report.charts import Chart


@dataclass(frozen=True)
class Cell:
    """Displayed text plus the value tables sort by (numbers sort numerically; None sorts last)."""

    text: str
    sort: float | str | None = None
    bar: float | None = None  # 0–1: drawn as a bar behind the text (shares, indices)


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
    """A chart with its panels already drawn as SVG (for inlining) and the files written."""

    key: str
    title: str
    chart: Chart
    panels_svg: list[str]
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


@dataclass(frozen=True)
class HeadlineFigure:
    """One headline number: a typical Wh/query with its spread and what it covers."""

    wh_per_query: float
    low_wh: float | None  # P10 (or P5 for estimates: ``spread`` says which)
    high_wh: float | None
    spread: str  # e.g. "P10–P90 over 328 configurations"
    j_per_output_token: float | None
    output_tokens: float | None
    boundary: str
    basis: str
    source: str  # where it comes from: family title, workload
    detail: str  # how it was formed (which workload, how many models)
    gco2e_per_query: float | None = None  # with a grid (--grid/--region): same boundary
    water_l_per_query: float | None = None


@dataclass
class QueryClass:
    """A kind of query people ask about (chat, reasoning) and every figure the report has."""

    name: str
    description: str
    figures: list[HeadlineFigure] = field(default_factory=list)


@dataclass
class Headline:
    """The block the report opens with: energy per query, measured vs estimated."""

    classes: list[QueryClass]
    notes: list[str] = field(default_factory=list)
    grid: str | None = None  # the grid carbon/water figures use, with its source


@dataclass
class Report:
    title: str
    generated_utc: str
    version: str
    sources: list[str]
    sections: list[Section]
    headline: Headline | None = None
