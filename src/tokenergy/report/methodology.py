"""The methodology part of the report: the packaged SOURCES.md rendered as HTML (markdown-it,
CommonMark with tables; raw HTML in the Markdown is not passed through)."""

from __future__ import annotations

from importlib.metadata import version

from tokenergy.catalog import catalog_path


def renderer() -> str:
    """What turns SOURCES.md into HTML, with its version (part of the cache key of the HTML)."""
    return f"markdown-it-py-{version('markdown-it-py')}"


def sources_html() -> str:
    """Where every packaged figure came from, as HTML (tables, links, code spans)."""
    from markdown_it import MarkdownIt  # a report whose cache holds this HTML skips the import

    markdown = MarkdownIt("commonmark", {"html": False}).enable("table")
    html = str(markdown.render(catalog_path("SOURCES.md").read_text(encoding="utf-8")))
    for level in (2, 1):  # the file's headings sit under the report's <h2>
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(
            f"</h{level}>", f"</h{level + 2}>"
        )
    return html
