"""The packaged catalog: GPU lookups by the names sources use; unknowns are errors, never 0 W."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tokenergy import catalog
from tokenergy.errors import CatalogError


def test_gpu_names_as_sources_write_them() -> None:
    assert catalog.canonical_gpu("b200-trt") == "B200"
    assert catalog.canonical_gpu("mi355x-amd_0") == "MI355X"
    assert catalog.tdp_w("H100") == 700.0
    assert catalog.tdp_w("h100-pcie") == 350.0
    assert catalog.allin_w("B200") == pytest.approx(2170.0)
    assert catalog.allin_w("gb200") == pytest.approx(2100.0)


def test_unknown_gpu_lists_known_ones() -> None:
    with pytest.raises(CatalogError, match="known: A100, B200"):
        catalog.gpu_spec("X100")


def test_missing_figure_is_an_error_not_zero() -> None:
    with pytest.raises(CatalogError, match="no all-in"):
        catalog.allin_w("A100")
    with pytest.raises(CatalogError, match="no TDP"):
        catalog.tdp_w("GB200")


def test_catalog_is_a_faithful_copy(shared_data: Path) -> None:
    packaged = catalog.catalog_path("gpu_power.csv").read_bytes()
    assert packaged == (shared_data / "gpu_power.csv").read_bytes()
    # the throughput table: the same rows and values, plus our labels rate=output and gpu=H100
    table = catalog.catalog_path(catalog.DEFAULT_THROUGHPUT_TABLE).read_text().splitlines()
    shared = (shared_data / "throughput/h100x8_fp8_trtllm.csv").read_text().splitlines()
    assert table == [shared[0] + ",rate,gpu", *(line + ",output,H100" for line in shared[1:])]


def test_equivalents_have_sources() -> None:
    eqs = catalog.equivalents()
    assert any(eq.key == "ps5_gaming" and eq.value == 200 for eq in eqs)
    for eq in eqs:
        assert eq.source and eq.url.startswith("https://")
    ps5 = next(eq for eq in eqs if eq.key == "ps5_gaming")
    assert catalog.express(10.0, ps5) == pytest.approx(3.0)  # 10 Wh at 200 W = 3 minutes
    with catalog.catalog_path("equivalents.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == len(eqs)
