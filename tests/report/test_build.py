from __future__ import annotations

from pathlib import Path

import pytest

from analyze.builders import make_result
from tokenergy.analyze.table import to_row
from tokenergy.errors import IngestError
from tokenergy.records import EnergyMeasurement
from tokenergy.report.build import build_report, families_of, latency_metric
from tokenergy.report.html import render_html, render_summary, write_report
from tokenergy.report.timelines import read_timeline
from tokenergy.units import Basis, Boundary


def _results() -> list:
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


def test_families_never_mix_bases() -> None:
    families = families_of(_results())
    assert [(f.key, len(f.results)) for f in families] == [
        ("measured-accelerator", 4),
        ("provisioned-facility", 1),
    ]


def test_report_tables_figures_and_summary(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    run.mkdir()
    (run / "power.csv").write_text(
        "time_s,power_w,device\n10,100,gpu0\n11,150,gpu0\n10,90,gpu1\n11,95,gpu1\n"
    )
    report = build_report(
        families_of(_results()), tmp_path / "out", sources=["hand"], run_dirs=[run], png=True
    )
    measured = report.sections[0]
    per_query, best, compared = measured.tables
    # least energy per query per GPU: H100 cap 8 (500 W / 1000 tok/s × 500 tokens = 250 J)
    h100 = next(r for r in per_query.rows if r[2].text == "H100")
    assert h100[4].sort == pytest.approx(250 / 3600)
    # under ITL ≤ 50 ms: cheapest feasible is H100 cap 8 (0.5 J/token)
    assert best.rows[0][2].text == "H100×1 cap 8 bfloat16" and best.rows[0][
        3
    ].sort == pytest.approx(0.5)
    # B200 vs H100 at 25/50/100 ms: 0.6/0.5, 0.6/0.5 (B200 cap 8 wins within B200), 0.6/0.5
    assert [row[7].sort for row in compared.rows] == [pytest.approx(0.2)] * 3
    assert "B200 uses less energy per token than H100 in 0 of 3" in " ".join(measured.headline)
    assert any(f.key.startswith("measured-accelerator-frontier") for f in measured.figures)
    assert (tmp_path / "out/figures/measured-accelerator-batch.png").exists()
    timelines = report.sections[-1]
    assert timelines.key == "timelines" and len(timelines.figures) == 1
    html = render_html(report)
    # measured: per-query, best, compare, all rows; provisioned (H100 only): no compare
    assert html.count('<table class="data"') == 4 + 3
    index, summary = write_report(report, tmp_path / "out")
    assert index.read_text().startswith("<!DOCTYPE html>")
    assert "## measured energy, accelerator boundary" in summary.read_text()
    summary_md = render_summary(report)
    assert "| workload | model | chosen | J/output token |" in summary_md
    assert "|---|---|---|---:|" in summary_md


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
    report = build_report([family], tmp_path, sources=["hand"])
    section = report.sections[0]
    assert any(
        "1 result(s) whose energy the meters marked invalid" in p for p in section.paragraphs
    )
    best = section.tables[1]
    assert best.rows[0][3].sort == pytest.approx(0.6)
    assert len(section.appendix[0].rows) == 2  # still listed, with its validity
    kept = build_report([family], tmp_path, sources=["hand"], include_invalid=True)
    assert kept.sections[0].tables[1].rows[0][3].sort == pytest.approx(0.1)
