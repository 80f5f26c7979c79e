"""Shared fixtures: the read-only third-party data in ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


def _find_shared_data() -> Path:
    """TOKENERGY_SHARED_DATA, else the nearest ``shared/data`` above this checkout."""
    if "TOKENERGY_SHARED_DATA" in os.environ:
        return Path(os.environ["TOKENERGY_SHARED_DATA"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared" / "data"


SHARED_DATA = _find_shared_data()


@pytest.fixture(scope="session", autouse=True)
def _report_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Report results are cached in a directory of this test session, not the user's cache."""
    previous = os.environ.get("TOKENERGY_CACHE_DIR")
    os.environ["TOKENERGY_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("TOKENERGY_CACHE_DIR", None)
    else:
        os.environ["TOKENERGY_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; tests needing it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("TOKENERGY_REQUIRE_SHARED_DATA"):
            pytest.fail(f"shared data required but not found at {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA
