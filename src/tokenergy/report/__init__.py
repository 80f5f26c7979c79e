"""Reports: matplotlib figures (PNG/SVG), the self-contained HTML report and its summary.md."""
