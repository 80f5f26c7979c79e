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


def _session_dir(
    tmp_path_factory: pytest.TempPathFactory, variable: str, name: str
) -> Iterator[None]:
    """``variable`` names a new directory of this test session until it ends."""
    before = os.environ.get(variable)
    os.environ[variable] = str(tmp_path_factory.mktemp(name))
    yield
    if before is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = before


@pytest.fixture(scope="session", autouse=True)
def _report_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Report results are cached in a directory of this test session, not the user's cache."""
    yield from _session_dir(tmp_path_factory, "TOKENERGY_CACHE_DIR", "cache")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; tests needing it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("TOKENERGY_REQUIRE_SHARED_DATA"):
            pytest.fail(f"shared data required but not found at {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


# --- parallel runs -----------------------------------------------------------------------------
# Most of the suite's wall time is spent waiting (servers starting, subprocesses, meter windows),
# so the full run (`python -m pytest` with no test paths: the README and .ci/run command) spreads
# the tests over FULL_RUN_WORKERS pytest-xdist workers. Targeted runs (`pytest tests/cli -x`) stay
# in one process unless -n is given; `-n 0` or `-p no:xdist` forces one process. Tests that must
# not overlap (each vLLM server pins the same core) share an xdist_group and run on one worker.
FULL_RUN_WORKERS = 3


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Default the full run to FULL_RUN_WORKERS workers (called before xdist reads -n)."""
    if not config.pluginmanager.hasplugin("xdist") or config.option.numprocesses is not None:
        return
    if "PYTEST_XDIST_WORKER" in os.environ:  # a worker runs this hook too: never nest workers
        return
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return
    if config.getoption("usepdb", False) or config.getoption("collectonly", False):
        return
    config.option.numprocesses = FULL_RUN_WORKERS
    if config.option.dist == "no":
        config.option.dist = "loadgroup"


@pytest.fixture(scope="session", autouse=True)
def _private_tokenergy_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A test that forgets TOKENERGY_HOME writes to its own session directory, never to the
    user's store (which parallel workers and other checkouts would share)."""
    yield from _session_dir(tmp_path_factory, "TOKENERGY_HOME", "tokenergy-home")
