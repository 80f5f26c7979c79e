from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from analyze.builders import make_result
from tokenergy.analyze.table import to_row
from tokenergy.errors import ConfigError, IngestError
from tokenergy.footprint import stated_grid
from tokenergy.records import EnergyMeasurement, ServingResult
from tokenergy.report.build import (
    ReportContext,
    SectionStep,
    build_report,
    families_of,
    latency_metric,
    make_report,
)
from tokenergy.report.charts import timeline_chart
from tokenergy.report.html import md, render_html, render_summary, report_json, write_report
from tokenergy.report.model import Section
from tokenergy.report.numbers import sig
from tokenergy.report.timelines import read_power_timeline, read_timeline
from tokenergy.units import Basis, Boundary, TimeBase


def _results() -> list[ServingResult]:
    measured = [
        make_result(model="m", gpu=gpu, batch_cap=cap, median_itl_s=itl, power_w=power)
        for gpu, cap, itl, power in [
            ("H100", 8, 0.02, 500),
            ("H100", 64, 0.06, 700),
            ("B200", 8, 0.015, 600),
            ("B200", 64, 0.04, 800),
        ]
    ]
    provisioned = make_result(model="m", gpu="H100", power_w=5000)
    provisioned.energy = EnergyMeasurement(
        avg_power_w=5000,
        boundary=Boundary.FACILITY,
        basis=Basis.PROVISIONED,
        method="catalog-allin",
    )
    return [*measured, provisioned]


def _simulated() -> ServingResult:
    result = make_result(model="sim", gpu="H100", power_w=400)
    result.provenance = result.provenance.model_copy(update={"simulated": True})
    return result


def test_families_never_mix_bases_and_simulated_is_its_own() -> None:
    families = families_of([*_results(), _simulated()])
    assert [(f.key, len(f.results)) for f in families] == [
        ("measured-accelerator", 4),
        ("provisioned-facility", 1),
        ("simulated-accelerator", 1),
    ]
    assert families[2].simulated and not families[0].simulated


def test_report_tables_figures_and_summary(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    run.mkdir()
    (run / "power.csv").write_text(
        "time_s,power_w,device\n10,100,gpu0\n11,150,gpu0\n10,90,gpu1\n11,95,gpu1\n"
    )
    report = build_report(
        families_of(_results()),
        tmp_path / "out",
        sources=["hand"],
        run_dirs=[run],
        png=True,
        estimate=False,
    )
    measured = report.sections[0]
    per_query, best, compared = measured.tables
    # least energy per query per GPU: H100 cap 8 (500 W / 1000 tok/s × 500 tokens = 250 J)
    h100 = next(r for r in per_query.rows if r[2].text == "H100")
    assert h100[4].sort == pytest.approx(250 / 3600)
    assert h100[7].text == "20.0"  # latency in ms
    # under ITL ≤ 50 ms: cheapest feasible is H100 cap 8 (0.5 J/token)
    assert best.rows[0][2].text == "H100×1 cap 8 bfloat16"
    assert best.rows[0][3].sort == pytest.approx(0.5)
    # B200 vs H100 at 25/50/100 ms: 0.6/0.5, 0.6/0.5 (B200 cap 8 wins within B200), 0.6/0.5
    assert [row[7].sort for row in compared.rows] == [pytest.approx(0.2)] * 3
    assert "B200 uses less energy per token than H100 in 0 of 3" in " ".join(measured.headline)
    assert any(f.key.startswith("measured-accelerator-frontier") for f in measured.figures)
    assert (tmp_path / "out/figures/measured-accelerator-batch.png").exists()
    assert (tmp_path / "out/figures/measured-accelerator-batch.svg").exists()
    timelines = report.sections[-1]
    assert timelines.key == "timelines" and len(timelines.figures) == 1
    html = render_html(report)
    # measured: per-query, best, compare, all rows; provisioned (H100 only): no compare
    assert html.count('<table class="data"') == 4 + 3
    assert html.index('id="energy-per-query"') < html.index('id="measured-accelerator"')
    assert "<pre>" not in html and "<table>" in html  # SOURCES.md rendered, not dumped
    files = write_report(report, tmp_path / "out")
    assert [f.name for f in files] == ["index.html", "summary.md", "report.json"]
    assert files[0].read_text().startswith("<!DOCTYPE html>")
    summary_md = render_summary(report)
    assert "## measured energy, accelerator boundary" in summary_md
    assert "| workload | model | chosen | J/output token |" in summary_md
    assert "|---|---|---|---:|" in summary_md
    data = json.loads(files[2].read_text())
    assert data["sections"][0]["tables"][1]["rows"][0]["J/output token"] == pytest.approx(0.5)


def test_headline_comes_first_with_boundary_basis_and_simulated_apart(tmp_path: Path) -> None:
    results = [*_results(), _simulated()]
    report = build_report(families_of(results), tmp_path, sources=["hand"], estimate=False)
    assert report.headline is not None
    chat, reasoning = report.headline.classes
    assert reasoning.figures == []  # 500 output tokens: chat only
    kinds = [(f.basis, f.boundary) for f in chat.figures]
    assert kinds == [
        ("measured", "accelerator"),
        ("provisioned", "facility"),
        ("simulated", "accelerator"),
    ]
    # measured: median of the four configurations' Wh/query (0.5, 0.7, 0.6, 0.8 J/token × 500)
    assert chat.figures[0].wh_per_query == pytest.approx(0.65 * 500 / 3600)
    html = render_html(report)
    assert html.count("SIMULATED — not measured") == 1
    assert "SIMULATED" in render_summary(report)
    figures = report_json(report)["headline"]["classes"][0]["figures"]
    assert [f["basis"] for f in figures] == ["measured", "provisioned", "simulated"]


def test_headline_with_the_estimator(tmp_path: Path) -> None:
    report = build_report(families_of(_results()[:1]), tmp_path, sources=["hand"])
    assert report.headline is not None
    chat, reasoning = report.headline.classes
    assert [f.basis for f in chat.figures] == ["measured", "modeled"]
    assert [f.basis for f in reasoning.figures] == ["modeled"]
    assert any(s.key == "estimate" for s in report.sections)


def test_a_section_is_one_function(tmp_path: Path) -> None:
    def extra(context: ReportContext) -> list[Section]:
        return [Section("extra", f"{len(context.families)} families", paragraphs=["hello"])]

    seen: list[tuple[int, int | None, str]] = []
    report = build_report(
        families_of(_results()),
        tmp_path,
        sources=["hand"],
        estimate=False,
        sections=[SectionStep("extra section", extra)],
        progress=lambda done, total, step: seen.append((done, total, step)),
    )
    assert [s.key for s in report.sections] == [
        "measured-accelerator",
        "provisioned-facility",
        "extra",
    ]
    assert [done for done, _, _ in seen] == list(range(5))
    assert {total for _, total, _ in seen} == {5}
    assert seen[2][2] == "extra section"


def test_make_report_counts_every_step_and_refuses_bad_output(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    make_report(
        [],
        tmp_path / "r",
        estimate=False,
        progress=lambda done, total, step: seen.append((done, total, step)),
    )
    assert seen[0][2].startswith("loading") and seen[-1][2].startswith("writing")
    assert [done for done, _, _ in seen] == list(range(len(seen)))
    assert seen[-1][1] == len(seen)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for bad in (a_file, a_file / "sub", Path("/proc/tokenergy-report")):
        with pytest.raises(ConfigError) as caught:
            make_report([], bad, estimate=False)
        assert caught.value.field == "out"


def test_summary_escapes_html_and_markdown_from_data() -> None:
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))\nrow|b"
    )
    assert md(hostile) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt; "
        "\\[x\\](javascript:alert(1)) row\\|b"
    )
    result = make_result(model=hostile, gpu="H100")
    report = build_report(families_of([result]), Path("/tmp"), sources=["x"], estimate=False)
    summary = render_summary(report)
    assert "<" not in summary  # no tag, no autolink
    assert re.search(r"(?<!\\)\]\(", summary) is None  # no link: every ']' before '(' escaped
    for line in summary.splitlines():
        if line.startswith("| ") and "alert" in line:
            assert line.endswith("|") and line.count(" | ") >= 5  # one row, not split


def test_timeline_reader_checks_columns(tmp_path: Path) -> None:
    good = tmp_path / "power.csv"
    good.write_text("t_s,power_w\n5,10\n6,20\n")
    (series,) = read_timeline(good).values()
    assert list(series[0]) == [0.0, 1.0] and list(series[1]) == [10.0, 20.0]
    meters_format = tmp_path / "power_timeline.csv"  # columns of tokenergy.meters.timeline
    meters_format.write_text(
        "t_s,meter,device,kind,uuid,energy_j,power_w,power_from\n"
        "100.0,nvml,nvml:0,gpu,,10.0,,\n"
        "101.0,nvml,nvml:0,gpu,,710.0,700.000,counter\n"
        "101.5,nvml,nvml:1,gpu,,5.0,350.000,sample\n"
    )
    series_by_device = read_timeline(meters_format)
    assert list(series_by_device["nvml:0"][0]) == [1.0]  # the empty first reading is skipped
    assert list(series_by_device["nvml:1"][1]) == [350.0]
    bad = tmp_path / "timeline.csv"
    bad.write_text("when,watts\n1,2\n")
    with pytest.raises(IngestError, match="needs a time column"):
        read_timeline(bad)


def test_a_simulated_timeline_is_drawn_in_simulated_seconds(tmp_path: Path) -> None:
    """Issue 14 item 14: a sim at speed 2 (device_t_s, its clock) is drawn per simulated second
    with its gauge's watts, labelled so; a hardware timeline stays in wall seconds."""
    simulated = tmp_path / "power_timeline.csv"
    simulated.write_text(
        "t_s,meter,device,kind,uuid,energy_j,power_w,power_from,device_t_s\n"
        "100.0,dcgm,dcgm:vm/gpu0,gpu,,10.0,460.000,sample,50.0\n"
        "101.0,dcgm,dcgm:vm/gpu0,gpu,,930.0,460.000,sample,52.0\n"
    )
    timeline, time_base = read_power_timeline(simulated)
    assert time_base is TimeBase.SIMULATED
    ((time_s, power_w),) = timeline.values()
    assert list(time_s) == [0.0, 2.0] and list(power_w) == [460.0, 460.0]
    wall = tmp_path / "power.csv"
    wall.write_text("t_s,power_w,device_t_s\n5,10,\n6,20,\n")
    assert read_power_timeline(wall)[1] is TimeBase.WALL
    chart = timeline_chart("t", "run", timeline, simulated=True)
    assert (chart.x.label, chart.y.label) == ("time (simulated s)", "power (W, simulated time)")


def test_latency_axis_is_tpot_when_most_rows_have_it() -> None:
    itl_only = [to_row(make_result(median_itl_s=0.02))]
    with_tpot = [to_row(make_result(median_itl_s=1.5, median_tpot_s=0.01))] * 2 + itl_only
    assert latency_metric(itl_only).column == "median_itl_s"
    assert latency_metric(with_tpot).column == "median_tpot_s"


def test_invalid_energy_is_left_out_unless_asked(tmp_path: Path) -> None:
    cheap = make_result(model="m", gpu="H100", median_itl_s=0.01, power_w=100)
    assert cheap.energy is not None
    cheap.energy = cheap.energy.model_copy(update={"valid": False, "reasons": ["gap > 3 s"]})
    results = [cheap, make_result(model="m", gpu="H100", median_itl_s=0.01, power_w=600)]
    (family,) = families_of(results)
    report = build_report([family], tmp_path, sources=["hand"], estimate=False)
    section = report.sections[0]
    assert any(
        "1 result(s) whose energy the meters marked invalid" in p for p in section.paragraphs
    )
    best = section.tables[1]
    assert best.rows[0][3].sort == pytest.approx(0.6)
    assert len(section.appendix[0].rows) == 2  # still listed, with its validity
    kept = build_report([family], tmp_path, sources=["hand"], include_invalid=True, estimate=False)
    assert kept.sections[0].tables[1].rows[0][3].sort == pytest.approx(0.1)


def test_headline_carbon_and_water_with_a_grid(tmp_path: Path) -> None:
    grid = stated_grid(400.0, wue_onsite_l_per_kwh=0.3)
    report = build_report(
        families_of(_results()), tmp_path, sources=["hand"], estimate=False, grid=grid
    )
    assert report.headline is not None and report.headline.grid is not None
    for figure in report.headline.classes[0].figures:
        assert figure.gco2e_per_query == pytest.approx(figure.wh_per_query * 0.4)
        assert figure.water_l_per_query == pytest.approx(figure.wh_per_query / 1000 * 0.3)
    assert "gCO2e" in render_html(report) and "embodied emissions are not included" in (
        " ".join(report.headline.notes)
    )
    # summary.md carries the same water figure as the HTML headline, in mL per query
    summary = render_summary(report)
    assert "| gCO2e/query | mL water/query |" in summary
    first = report.headline.classes[0].figures[0]
    row = next(
        line for line in summary.splitlines() if line.startswith(f"| {sig(first.wh_per_query)} |")
    )
    assert row.split(" | ")[4] == sig(first.water_l_per_query * 1e3)
