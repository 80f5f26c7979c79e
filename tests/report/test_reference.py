from __future__ import annotations

from pathlib import Path

from tokenergy.catalog import catalog_path
from tokenergy.report.reference import INFERENCEX_DIR, MLENERGY_DIR, reference_sets


def test_snapshot_files_are_unchanged_copies(shared_data: Path) -> None:
    pairs = [
        (path, shared_data / "mlenergy/leaderboard_v3/tasks" / path.name)
        for path in catalog_path(MLENERGY_DIR).glob("*.json")
    ] + [
        (path, shared_data / "inferencex/agg" / path.name)
        for path in catalog_path(INFERENCEX_DIR).glob("*.json")
    ]
    assert len(pairs) == 5 + 8
    for packaged, original in pairs:
        assert packaged.read_bytes() == original.read_bytes(), packaged.name


def test_reference_families_keep_their_basis_and_boundary() -> None:
    mlenergy, inferencex = reference_sets()
    assert len(mlenergy.results) == 838 and len(inferencex.results) == 548
    assert {
        (r.energy.basis.value, r.energy.boundary.value) for r in mlenergy.results if r.energy
    } == {("measured", "accelerator")}
    assert {
        (r.energy.basis.value, r.energy.boundary.value) for r in inferencex.results if r.energy
    } == {("provisioned", "facility")}
